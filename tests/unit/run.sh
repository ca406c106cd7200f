#!/usr/bin/env bash
# Runs every unit test binary given; fails when any of them fails.
set -u
failed=0
for t in "$@"; do
	echo "== $(basename "$t")"
	if ! "$t"; then
		echo "FAILED: $t"
		failed=$((failed + 1))
	fi
done
echo "unit test binaries: $#, failed: $failed"
[[ $failed -eq 0 ]]
