/*
 * dlopen()-based plugin loading.
 */
#include "plugin.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "file.h"
#include "log.h"
#include "banned.h"

/* The folder plugins are looked for in; the caller frees. */
static char *plugin_dir(void)
{
	const char *env = getenv("REEL_PLUGIN_DIR");
	if (env && *env)
		return xstrdup(env);
	return file_exe_relative("../lib");
}

int plugin_load(const char *name, const char *const *symbols, void **addrs, size_t n, char *err, size_t errlen)
{
	char *dir = plugin_dir(), *path = xasprintf("%s/reel-%s.so", dir, name);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	int rc = 0;
	if (!h) {
		rc = errbuf_set(err, errlen, "cannot load plugin %s: %s (set REEL_PLUGIN_DIR)", path, dlerror());
	} else {
		for (size_t i = 0; i < n && rc == 0; i++)
			if (!(addrs[i] = dlsym(h, symbols[i])))
				rc = errbuf_set(err, errlen, "plugin %s lacks %s", path, symbols[i]);
		if (rc == 0)
			log_info("loaded plugin %s", path);
	}
	free(path);
	free(dir);
	return rc;
}
