/*
 * parse-worker: consumes reel.parse, writes each job's storyboard, emits
 * reel.render per shot.
 */
#include "parse.h"
#include "worker.h"

int main(int argc, char **argv)
{
	static const struct worker_spec spec = {
		.name = "parse-worker",
		.stage = "parse",
		.default_http_addr = "127.0.0.1:9101",
		.default_concurrency = 64,
		.ops = &parse_ops,
	};
	return worker_main(argc, argv, &spec);
}
