/*
 * parse-worker: consumes reel.parse, writes each job's storyboard, emits
 * reel.render per shot.
 */
#include "parse.h"
#include "parse_config.h"
#include "worker.h"

int main(int argc, char **argv)
{
	static struct parse_settings settings;
	/* Not static: the option count is known only at link time; main's frame outlives the worker. */
	const struct worker_spec spec = {
		.name = "parse-worker",
		.stage = "parse",
		.default_http_addr = "127.0.0.1:9101",
		.default_concurrency = 64,
		.ops = &parse_ops,
		.options = parse_config_options,
		.n_options = parse_config_n_options,
		.config = &settings,
	};
	return worker_main(argc, argv, &spec);
}
