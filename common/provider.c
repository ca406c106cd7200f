/*
 * Lookups over a stage's provider registry, and the options of a provider
 * that keeps its own settings (see provider.h).
 */
#include "provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

const struct provider_info *provider_find(const struct provider_registry *r, const char *name)
{
	for (size_t i = 0; name && i < r->n; i++)
		if (strcmp(r->list[i]->name, name) == 0)
			return r->list[i];
	return NULL;
}

const char *provider_names(const struct provider_registry *r, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", r->list[i]->name);
	return buf;
}

size_t provider_n_options(const struct provider_info *p)
{
	size_t n = 0;
	while (p->options && p->options[n].name)
		n++;
	return n;
}

void *provider_config_load(const struct provider_info *p, char *err, size_t errlen)
{
	size_t n = provider_n_options(p);
	void *cfg = xcalloc(1, p->config_size);
	if (config_load(p->options, n, cfg, err, errlen) < 0) {
		provider_config_free(p, cfg);
		return NULL;
	}
	config_log(p->options, n, cfg);
	return cfg;
}

void provider_config_free(const struct provider_info *p, void *cfg)
{
	if (!cfg)
		return;
	config_release(p->options, provider_n_options(p), cfg);
	free(cfg);
}
