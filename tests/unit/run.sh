#!/usr/bin/env bash
# Runs every unit test binary given, printing each one's elapsed seconds;
# fails when any of them fails, naming them at the end.
set -u
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
