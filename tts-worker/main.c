/*
 * tts-worker: consumes reel.tts, stores each shot's narration, and sends a
 * job to reel.merge when its last shot is ready.
 */
#include "tts_config.h"
#include "voice.h"
#include "worker.h"

int main(int argc, char **argv)
{
	static struct tts_settings settings;
	/* Not static: the option count is known only at link time; main's frame
	 * outlives the worker. */
	const struct worker_spec spec = {
		.name = "tts-worker",
		.stage = "tts",
		.default_http_addr = "127.0.0.1:9103",
		.default_concurrency = 32,
		.ops = &voice_ops,
		.options = tts_config_options,
		.n_options = tts_config_n_options,
		.config = &settings,
	};
	return worker_main(argc, argv, &spec);
}
