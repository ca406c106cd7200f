#!/bin/sh
# The image's entry point: the first argument names the daemon (or reelctl)
# to run; everything else is its configuration from the environment.
# `migrate` applies the bundled migrations.
set -eu
cmd=${1:---help}
[ $# -gt 0 ] && shift
case $cmd in
api-gateway | webhook-receiver | parse-worker | render-worker | tts-worker | merge-worker)
	exec "/opt/reelforge/bin/$cmd" "$@" ;;
reelctl)
	exec /opt/reelforge/bin/reelctl "$@" ;;
migrate)
	exec /opt/reelforge/bin/reelctl migrate /opt/reelforge/share/reelforge/migrations ;;
*)
	echo "usage: reelforge api-gateway|webhook-receiver|parse-worker|render-worker|tts-worker|merge-worker" >&2
	echo "       reelforge migrate | reelforge reelctl COMMAND..." >&2
	[ "$cmd" = --help ] && exit 0
	exit 2 ;;
esac
