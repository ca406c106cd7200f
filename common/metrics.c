/*
 * A small registry: a list of series, grouped by name when rendered.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h"

struct metric {
	char *name, *help, *labels;
	const char *type;
	double value;
	struct metric *next;
};

static struct metric *series, **series_tail = &series;

static struct metric *find_or_add(const char *name, const char *help, const char *labels, const char *type)
{
	for (struct metric *m = series; m; m = m->next)
		if (strcmp(m->name, name) == 0 && strcmp(m->labels, labels) == 0)
			return m;
	struct metric *m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(name);
	m->help = xstrdup(help);
	m->labels = xstrdup(labels);
	m->type = type;
	*series_tail = m;
	series_tail = &m->next;
	return m;
}

struct metric *metrics_counter(const char *name, const char *help, const char *labels)
{
	return find_or_add(name, help, labels, "counter");
}

struct metric *metrics_gauge(const char *name, const char *help, const char *labels)
{
	return find_or_add(name, help, labels, "gauge");
}

void metrics_add(struct metric *m, double v)
{
	m->value += v;
}

void metrics_set(struct metric *m, double v)
{
	m->value = v;
}

static int seen_before(const struct metric *upto, const char *name)
{
	for (const struct metric *m = series; m != upto; m = m->next)
		if (strcmp(m->name, name) == 0)
			return 1;
	return 0;
}

char *metrics_render(void)
{
	size_t cap = 4096, len = 0;
	char *out = xmalloc(cap);
	out[0] = '\0';
	for (const struct metric *m = series; m; m = m->next) {
		if (seen_before(m, m->name))
			continue;
		for (const struct metric *s = m; s; s = s->next) {
			if (strcmp(s->name, m->name) != 0)
				continue;
			char line[1024];
			int n = 0;
			if (s == m)
				n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help,
					     m->name, m->type);
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s%s%s %.17g\n", s->name,
				      *s->labels ? "{" : "", s->labels, *s->labels ? "}" : "", s->value);
			if (len + (size_t)n + 1 > cap) {
				cap = (cap + (size_t)n) * 2;
				out = xrealloc(out, cap);
			}
			memcpy(out + len, line, (size_t)n);
			len += (size_t)n;
			out[len] = '\0';
		}
	}
	return out;
}
