/*
 * render-worker: consumes reel.render; stores each shot's offline keyframe
 * and emits reel.tts, or submits it to an image or video vendor whose
 * callback the webhook-receiver takes.
 */
#include "render.h"
#include "vendors/vendors.h"
#include "worker.h"

int main(int argc, char **argv)
{
	static struct vendors vendors;
	/* Not static: the option count is known only at link time; main's frame outlives the worker. */
	const struct worker_spec spec = {
		.name = "render-worker",
		.stage = "render",
		.default_http_addr = "127.0.0.1:9102",
		.default_concurrency = 32,
		.ops = &render_ops,
		.options = vendors_options,
		.n_options = vendors_n_options,
		.config = &vendors,
	};
	return worker_main(argc, argv, &spec);
}
