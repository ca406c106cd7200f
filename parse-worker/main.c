/*
 * parse-worker: consumes reel.parse, writes each job's storyboard, emits
 * reel.render per shot.
 */
#include <stdlib.h>

#include "parse.h"
#include "parse_config.h"
#include "worker.h"

int main(int argc, char **argv)
{
	static struct parse_config settings;
	size_t n_options;
	struct config_option *options = parse_config_table(&n_options);
	/* Not static: the option table is made at start; main's frame outlives the worker. */
	const struct worker_spec spec = {
		.name = "parse-worker",
		.stage = "parse",
		.default_http_addr = "127.0.0.1:9101",
		.default_concurrency = 64,
		.ops = &parse_ops,
		.options = options,
		.n_options = n_options,
		.config = &settings,
	};
	int rc = worker_main(argc, argv, &spec);
	free(options);
	return rc;
}
