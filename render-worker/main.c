/*
 * render-worker: consumes reel.render, stores each shot's keyframe, emits
 * reel.tts.
 */
#include "render.h"
#include "worker.h"

int main(int argc, char **argv)
{
	static const struct worker_spec spec = {
		.name = "render-worker",
		.stage = "render",
		.default_http_addr = "127.0.0.1:9102",
		.default_concurrency = 32,
		.ops = &render_ops,
	};
	return worker_main(argc, argv, &spec);
}
