/*
 * A small registry: a list of series, grouped by name when rendered. A
 * histogram is one series holding its bucket counts; it renders as the
 * _bucket, _sum and _count lines Prometheus expects.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h"

/* Upper bounds in seconds: vendor calls and media work span milliseconds to minutes. */
static const double bucket_le[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120 };
#define N_BUCKETS ARRAY_SIZE(bucket_le)

struct metric {
	char *name, *help, *labels;
	const char *type;
	double value;           /* counter, gauge; a histogram's sum */
	unsigned long *buckets; /* histogram only: counts per bound (not cumulative) */
	unsigned long count;    /* histogram only */
	struct metric *next;
};

struct collector {
	void (*fn)(void *arg);
	void *arg;
};

static struct metric *series, **series_tail = &series;
static struct collector collectors[8];
static size_t n_collectors;

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

struct metric *metrics_histogram(const char *name, const char *help, const char *labels)
{
	struct metric *m = find_or_add(name, help, labels, "histogram");
	if (!m->buckets)
		m->buckets = xcalloc(N_BUCKETS, sizeof(*m->buckets));
	return m;
}

void metrics_add(struct metric *m, double v)
{
	m->value += v;
}

void metrics_set(struct metric *m, double v)
{
	m->value = v;
}

void metrics_observe(struct metric *m, double v)
{
	for (size_t i = 0; i < N_BUCKETS; i++)
		if (v <= bucket_le[i]) {
			m->buckets[i]++;
			break;
		}
	m->count++;
	m->value += v;
}

void metrics_on_render(void (*fn)(void *arg), void *arg)
{
	if (n_collectors < ARRAY_SIZE(collectors))
		collectors[n_collectors++] = (struct collector){ fn, arg };
}

void metrics_label_value(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 3 < cap; s++) {
		if (*s == '"' || *s == '\\' || *s == '\n') {
			out[n++] = '\\';
			out[n++] = *s == '\n' ? 'n' : *s;
		} else {
			out[n++] = *s;
		}
	}
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
}

struct text {
	char *p;
	size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)(n > 0 ? n : 64)) * 2;
		t->p = xrealloc(t->p, t->cap);
	}
}

/* "{labels}" or "{labels,extra}" or "{extra}" or "". */
static void put_labels(struct text *t, const char *labels, const char *extra)
{
	if (!*labels && !*extra)
		return;
	put(t, "{%s%s%s}", labels, *labels && *extra ? "," : "", extra);
}

static void put_histogram(struct text *t, const struct metric *s)
{
	unsigned long cum = 0;
	char le[32];
	for (size_t i = 0; i < N_BUCKETS; i++) {
		cum += s->buckets[i];
		snprintf(le, sizeof(le), "le=\"%g\"", bucket_le[i]);
		put(t, "%s_bucket", s->name);
		put_labels(t, s->labels, le);
		put(t, " %lu\n", cum);
	}
	put(t, "%s_bucket", s->name);
	put_labels(t, s->labels, "le=\"+Inf\"");
	put(t, " %lu\n%s_sum", s->count, s->name);
	put_labels(t, s->labels, "");
	put(t, " %.17g\n%s_count", s->value, s->name);
	put_labels(t, s->labels, "");
	put(t, " %lu\n", s->count);
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
	struct text t = { xmalloc(4096), 0, 4096 };
	t.p[0] = '\0';
	for (size_t i = 0; i < n_collectors; i++)
		collectors[i].fn(collectors[i].arg);
	for (const struct metric *m = series; m; m = m->next) {
		if (seen_before(m, m->name))
			continue;
		put(&t, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
		for (const struct metric *s = m; s; s = s->next) {
			if (strcmp(s->name, m->name) != 0)
				continue;
			if (s->buckets) {
				put_histogram(&t, s);
				continue;
			}
			put(&t, "%s", s->name);
			put_labels(&t, s->labels, "");
			put(&t, " %.17g\n", s->value);
		}
	}
	return t.p;
}
