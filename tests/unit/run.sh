#!/usr/bin/env bash
# Runs every unit test binary given, printing each one's elapsed seconds;
# fails when any of them fails, naming them at the end. test_worker starts a
# PostgreSQL cluster of its own on REEL_TEST_PG_PORT and serves health on
# 8099 + REEL_TEST_PORT_OFFSET: a lane of `make test` (tests/e2e/run_lanes.py)
# passes its own; alone, the defaults of tests/e2e apply.
set -u
export REEL_TEST_PG_PORT=${REEL_TEST_PG_PORT:-54429} REEL_TEST_PORT_OFFSET=${REEL_TEST_PORT_OFFSET:-0}
failed=()
start=$SECONDS
for t in "$@"; do
	echo "== $(basename "$t")"
	t0=$SECONDS
	if ! "$t"; then
		echo "FAILED: $t"
		failed+=("$(basename "$t")")
	fi
	echo "== $(basename "$t"): $((SECONDS - t0)) s"
done
echo "unit test binaries: $#, failed: ${#failed[@]}${failed[*]:+ (${failed[*]})}, $((SECONDS - start)) s"
[[ ${#failed[@]} -eq 0 ]]
