#!/usr/bin/env bash
# make test-fresh: proves that `make demo` works the first time on a bare
# Debian 12 that has nothing but git and make, as root, cloned into root's
# 0700 home. It builds a minimal bookworm root with debootstrap from the apt
# mirror this host uses, installs only git and make in it, clones this
# checkout's HEAD into /root/reelforge and runs `make demo` there in a chroot;
# the demo's last line must be a playable MP4 (H.264 1080x1920 + AAC).
#
# Nothing is cached between runs: the root is built anew each time, so a
# package the project forgets to install, or a step that only works the second
# time, fails here. It needs root (debootstrap, chroot, mounts).
#
# Ports: REEL_TEST_PORT_OFFSET (default 500) and REEL_TEST_PG_PORT (default
# 54629) become the demo's REEL_PORT_OFFSET and REEL_PG_PORT, so it runs beside
# the other tests (the chroot shares the host's network).
# Logs stay in build/fresh/ for a look after a failure.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
logs=$repo/build/fresh
port_offset=${REEL_TEST_PORT_OFFSET:-500}
pg_port=${REEL_TEST_PG_PORT:-54629}
checkout=/root/reelforge
root=
passed=0
started=$SECONDS

say() { printf 'test-fresh: %s\n' "$*"; }

# Runs "$@" (env assignments first, then the command) as root inside the root,
# with the environment a root login would have. Each call gets its own mount
# namespace, so /proc, /sys, /dev and friends are never visible on the host and
# vanish with the last process that uses them.
in_root() {
	unshare --mount --propagation private -- bash -c '
		set -e
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount -t sysfs sysfs "$r/sys"
		mount --bind /dev "$r/dev"
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"
		mount -t tmpfs -o mode=1777 shm "$r/dev/shm"
		exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' in_root "$root" "$@"
}

# Runs phase NAME: "$@" with its output in build/fresh/NAME.log, prints how
# long it took, and the log's end when it fails.
phase() {
	local name=$1 start=$SECONDS rc
	shift
	# Not `"$@" || rc=$?`: bash would ignore set -e inside the phase.
	set +e
	(
		set -e
		"$@"
	) >"$logs/$name.log" 2>&1
	rc=$?
	set -e
	say "$(printf '%-8s %5d s' "$name" $((SECONDS - start)))$([[ $rc -eq 0 ]] || echo "  FAILED (exit $rc)")"
	if [[ $rc -ne 0 ]]; then
		tail -n 40 "$logs/$name.log" | sed 's/^/    /'
		return "$rc"
	fi
}

# The processes whose root directory is the fresh root.
root_pids() {
	local p
	for p in /proc/[0-9]*; do
		[[ $p/root -ef $root ]] 2>/dev/null && echo "${p#/proc/}"
	done
	return 0
}

# Stops every process left in the root (TERM, then KILL after 10 s); their
# mount namespaces, and so every mount made for them, go with them. Then
# removes the root.
cleanup() {
	local rc=$? pids i
	trap - EXIT INT TERM HUP
	if [[ -n $root && -d $root ]]; then
		pids=$(root_pids)
		if [[ -n $pids ]]; then
			say "stopping what is left in the root: $(echo $pids)"
			kill -TERM $pids 2>/dev/null || true
			for ((i = 0; i < 100; i++)); do
				[[ -z $(root_pids) ]] && break
				sleep 0.1
			done
			pids=$(root_pids)
			[[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
		fi
		for ((i = 0; i < 50; i++)); do
			[[ -z $(root_pids) ]] && break
			sleep 0.1
		done
		if [[ -n $(root_pids) ]] || findmnt -rn -o TARGET | grep -q "^$root/"; then
			say "error: processes or mounts are left in $root; it is not removed"
			passed=0
		else
			rm -rf --one-file-system "$root"
		fi
	fi
	say "total    $((SECONDS - started)) s"
	if [[ $passed -eq 1 && $rc -eq 0 ]]; then
		echo "test-fresh: 1 passed, 0 failed"
		exit 0
	fi
	echo "test-fresh: 0 passed, 1 failed"
	exit $((rc == 0 ? 1 : rc))
}

# The host's active apt sources (the files apt itself reads).
host_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] && echo "$f"
	done
	return 0
}

# The URIs a sources file names, comments left out.
source_uris() {
	grep -vE '^[[:space:]]*#' "$1" | grep -oE '(https?|file)://[^[:space:]]+' || true
}

# The host's sources that point only at the Debian archive (the only one reachable).
debian_sources() {
	local f uris
	for f in $(host_sources); do
		uris=$(source_uris "$f")
		[[ -n $uris ]] && ! grep -qvE '/debian(-security)?/?$' <<<"$uris" && echo "$f"
	done
	return 0
}

# The Debian archive's mirror among them, for debootstrap.
debian_mirror() {
	local f
	for f in $(debian_sources); do
		source_uris "$f"
	done | grep -vE -- '-security/?$' | head -n 1
}

# debootstrap's smallest Debian 12: what `apt-get install` needs, nothing more.
make_base() {
	command -v debootstrap >/dev/null || {
		apt-get update -q
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
	}
	debootstrap --variant=minbase bookworm "$root" "$1"
}

# The root as a new machine would have it, plus the two packages the README asks for.
add_git_make() {
	rm -f "$root/etc/apt/sources.list"
	cp $(debian_sources) "$root/etc/apt/sources.list.d/"
	# As container images do: packages may not start services in this root.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
	chmod 0700 "$root/root"
	in_root apt-get update -q
	in_root DEBIAN_FRONTEND=noninteractive apt-get install -y -q git make
}

clone() {
	git -C "$repo" bundle create "$root/tmp/reelforge.bundle" HEAD
	in_root git -c advice.detachedHead=false clone -q /tmp/reelforge.bundle "$checkout"
	rm -f "$root/tmp/reelforge.bundle"
	local want got
	want=$(git -C "$repo" rev-parse HEAD)
	got=$(in_root git -C "$checkout" rev-parse HEAD)
	[[ $got == "$want" ]] || { echo "cloned $got, expected $want"; return 1; }
	echo "cloned $got into $checkout ($(stat -c %a "$root/root") home)"
}

# The first run, exactly as the README gives it. Its output: demo.log; the
# MP4's path is the last line of its standard output (demo.out).
demo() {
	in_root REEL_PORT_OFFSET="$port_offset" REEL_PG_PORT="$pg_port" \
		bash -c "cd $checkout && make demo" >"$logs/demo.out"
}

# How the demo's time was spent: apt's last run ended the package install,
# the newest binary ended the build.
demo_split() {
	local start=$1 end=$2 installed built
	installed=$(stat -c %Y "$root/var/log/apt/history.log")
	built=$(find "$root$checkout/build/rel/bin" -type f -printf '%T@\n' | sort -n | tail -n 1)
	built=${built%.*}
	say "$(printf '  of which: packages %d s, build %d s, fleet and video %d s' \
		$((installed - start)) $((built - installed)) $((end - built)))"
}

# The demo's last line is an MP4 with H.264 1080x1920 video and AAC audio that
# decodes to the end without an error.
check_video() {
	local mp4 video audio duration errors
	mp4=$(tail -n 1 "$logs/demo.out")
	echo "last line: $mp4"
	[[ $mp4 == /*.mp4 && -f $root$mp4 ]] || { echo "not an MP4 file in the root"; return 1; }
	video=$(in_root ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 "$mp4")
	audio=$(in_root ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 "$mp4")
	duration=$(in_root ffprobe -v error -show_entries format=duration -of csv=p=0 "$mp4")
	echo "video: $video; audio: $audio; duration: $duration s"
	[[ $video == h264,1080,1920 ]] || { echo "want video h264,1080,1920"; return 1; }
	[[ $audio == aac ]] || { echo "want audio aac"; return 1; }
	[[ $duration =~ ^[0-9]+(\.[0-9]+)?$ && ! $duration =~ ^0*(\.0*)?$ ]] || { echo "want a duration > 0"; return 1; }
	errors=$(in_root ffmpeg -nostdin -v error -i "$mp4" -f null - 2>&1)
	[[ -z $errors ]] || { echo "decoding it fails: $errors"; return 1; }
}

main() {
	[[ $(id -u) -eq 0 ]] || { say "error: needs root (debootstrap, chroot, mounts)"; exit 1; }
	trap cleanup EXIT
	trap 'exit 130' INT TERM HUP
	mkdir -p "$logs"
	rm -f "$logs"/*.log "$logs"/*.out
	local mirror demo_start
	mirror=$(debian_mirror)
	[[ -n $mirror ]] || { say "error: no Debian archive among the host's apt sources"; exit 1; }
	root=$(mktemp -d /var/tmp/reelforge-fresh.XXXXXX)
	chmod 755 "$root"
	say "root $root, mirror $mirror, commit $(git -C "$repo" rev-parse --short HEAD)," \
		"ports +$port_offset, PostgreSQL $pg_port"
	phase base make_base "$mirror"
	phase git-make add_git_make
	phase clone clone
	demo_start=$(date +%s)
	phase demo demo
	demo_split "$demo_start" "$(date +%s)"
	phase video check_video
	sed 's/^/  /' "$logs/video.log"
	passed=1
}

main "$@"
