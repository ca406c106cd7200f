/*
 * merge-worker: consumes reel.merge, assembles the job's MP4 and marks the
 * job done.
 */
#include "merge.h"
#include "worker.h"

int main(int argc, char **argv)
{
	static const struct worker_spec spec = {
		.name = "merge-worker",
		.stage = "merge",
		.default_http_addr = "127.0.0.1:9104",
		.default_concurrency = 2,
		.ops = &merge_ops,
		.options = merge_options,
		.n_options = ARRAY_SIZE(merge_options),
		.config = &merge_config,
	};
	return worker_main(argc, argv, &spec);
}
