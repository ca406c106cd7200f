#!/usr/bin/env bash
# Installs the Debian packages reelforge builds, runs and tests with;
# `--test` adds what only the tests need (a browser, Node.js for playwright-core,
# clang-format for make format-check).
# Idempotent: when everything is there it only asks dpkg, which takes a moment.
set -euo pipefail

packages=(
	build-essential pkg-config
	librdkafka-dev libpq-dev libcurl4-openssl-dev libcjson-dev libuv1-dev libssl-dev
	libavformat-dev libavcodec-dev libavfilter-dev libswresample-dev libswscale-dev libavutil-dev
	libespeak-ng-dev espeak-ng-data fonts-noto-cjk node-llhttp
	check libsubunit-dev
	postgresql postgresql-contrib
	ffmpeg python3 python3-yaml systemd curl wrk iproute2
	clang libclang-rt-14-dev
	swift swift-proxy swift-account swift-container swift-object
)
if [[ ${1:-} == --test ]]; then
	packages+=(chromium clang-format)
	# Node.js from elsewhere (it brings its own npm) is used as it is.
	command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "error: these Debian packages are missing: ${missing[*]}" >&2
	echo "install them as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
