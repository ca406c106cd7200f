/*
 * tts-worker: consumes reel.tts, stores each shot's narration, and sends a
 * job to reel.merge when its last shot is ready.
 */
#include "voice.h"
#include "worker.h"

int main(int argc, char **argv)
{
	static const struct worker_spec spec = {
		.name = "tts-worker",
		.stage = "tts",
		.default_http_addr = "127.0.0.1:9103",
		.default_concurrency = 32,
		.ops = &voice_ops,
	};
	return worker_main(argc, argv, &spec);
}
