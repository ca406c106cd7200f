#!/usr/bin/env bash
# Starts and stops the whole fleet on the embedded default: a private
# PostgreSQL cluster under .run/pg, the dev Kafka broker, the six daemons as
# separate processes, file:// storage under .run/storage.
#
#   fleet.sh start BIN_DIR    start everything, write .run/env, return
#   fleet.sh stop             stop everything this script started
#   fleet.sh run BIN_DIR      start, submit the sample story, show it, serve until Ctrl-C
#   fleet.sh demo BIN_DIR     start, submit the sample story, wait, stop; last line: the MP4
#   fleet.sh pg-start         only the PostgreSQL cluster (tests' own); prints its URL
#   fleet.sh pg-stop          stop that cluster
#
# The caller's environment reaches every daemon. A REEL_DATABASE_URL or
# REEL_KAFKA_BROKERS from the caller is used instead of the local cluster or
# dev broker. REEL_RUN_DIR moves .run; REEL_PG_PORT picks PostgreSQL's port;
# REEL_PORT_OFFSET shifts every daemon's port (tests run beside a demo);
# REEL_WORKER_INSTANCES starts that many processes of each worker (the
# instance i > 0 serves health on its port + 10*i).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run=$(realpath -m "${REEL_RUN_DIR:-$root/.run}") # absolute: its path names its cluster as root
pg_port=${REEL_PG_PORT:-54329}
port_offset=${REEL_PORT_OFFSET:-0}
instances=${REEL_WORKER_INSTANCES:-1}
daemons=(api-gateway webhook-receiver parse-worker render-worker tts-worker merge-worker)
workers=(parse-worker render-worker tts-worker merge-worker)

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_postgres() {
	if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[[ -n $d ]] || die "PostgreSQL is not installed (run deploy/install-deps.sh)"
	echo "$d"
}

# As root, PostgreSQL runs as `postgres`, which may not enter the checkout (a
# 0700 home): the cluster lives in /var/lib/reelforge/pg-<hash of the run
# dir's path>, owned by postgres, and .run/pg links to it. A run dir without
# that link is a new one, so a cluster left there by an earlier run dir of the
# same path is stale and goes. As another user, .run/pg is a plain directory.
pg_home() {
	local link=$run/pg target
	[[ $(id -u) -eq 0 ]] || { mkdir -p "$link"; return; }
	target=/var/lib/reelforge/pg-$(printf '%s' "$run" | sha256sum | cut -c1-16)
	mkdir -p /var/lib/reelforge
	chmod 0755 /var/lib/reelforge
	if [[ -d $link && ! -L $link ]]; then # a cluster from before this layout
		rm -rf "$target"
		mv "$link" "$target"
		chown -R postgres: "$target"
	elif [[ ! -L $link && -d $target ]]; then
		[[ -f $target/data/postmaster.pid ]] &&
			{ as_postgres "$(pg_bin)/pg_ctl" -D "$target/data" -m fast -w stop >/dev/null 2>&1 || true; }
		rm -rf "$target"
	fi
	mkdir -p "$target"
	chown postgres: "$target"
	chmod 0700 "$target"
	ln -sfn "$target" "$link"
}

# The cluster's data directory by its real path: postgres may not pass
# through the checkout to the .run/pg link.
pg_data() {
	echo "$(cd "$run/pg" 2>/dev/null && pwd -P)/data"
}

# Sets db. Settings are written on every start, so a changed REEL_PG_PORT
# applies to an existing cluster too; the server must turn out to be ours.
start_postgres() {
	local bin data sock
	bin=$(pg_bin)
	pg_home
	data=$(pg_data)
	sock=${data%/data}
	if [[ ! -f $data/PG_VERSION ]]; then
		as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$run/pg/initdb.log"
		cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
fsync = on
synchronous_commit = on
max_connections = 200
shared_buffers = 256MB
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track_planning = on
log_lock_waits = on
deadlock_timeout = 5ms
CONF
	fi
	grep -qx "include_if_exists = 'reelforge.conf'" "$data/postgresql.conf" ||
		echo "include_if_exists = 'reelforge.conf'" >>"$data/postgresql.conf"
	printf "port = %s\nunix_socket_directories = '%s'\n" "$pg_port" "$sock" >"$data/reelforge.conf"
	chown postgres: "$data/reelforge.conf" 2>/dev/null || true
	as_postgres "$bin/pg_ctl" -D "$data" -l "$sock/server.log" -w -t 60 start >/dev/null ||
		die "PostgreSQL did not start on port $pg_port (see $sock/server.log)"
	local served
	served=$(as_postgres "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qtAc "SHOW data_directory")
	[[ $served == "$data" ]] || die "port $pg_port serves another cluster ($served), not $data"
	as_postgres "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qtAc \
		"SELECT 1 FROM pg_database WHERE datname = 'reelforge'" | grep -q 1 ||
		as_postgres "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres reelforge
	db=postgresql://postgres@127.0.0.1:$pg_port/reelforge
}

stop_postgres() {
	local data
	data=$(pg_data)
	[[ -f $data/postmaster.pid ]] || return 0
	as_postgres "$(pg_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
}

# Sets brokers.
start_broker() {
	local bin=$1
	rm -f "$run/kafka.addr"
	# REEL_DEVBROKER_LOG_LEVEL: the broker's own level (its debug traces every request).
	# In a session of its own, as pg_ctl puts PostgreSQL: a Ctrl-C reaches the
	# daemons, which drain through the broker, and stop ends the broker after them.
	setsid "$bin/reel-devbroker" ${REEL_DEVBROKER_LOG_LEVEL:+--log-level "$REEL_DEVBROKER_LOG_LEVEL"} \
		--addr-file "$run/kafka.addr" >"$run/logs/devbroker.log" 2>&1 &
	echo $! >"$run/pids/devbroker"
	for _ in $(seq 1 100); do
		[[ -s $run/kafka.addr ]] && { brokers=$(cat "$run/kafka.addr"); return; }
		sleep 0.1
	done
	die "the dev broker did not start (see $run/logs/devbroker.log)"
}

wait_ready() {
	local name=$1 addr=$2
	for _ in $(seq 1 300); do
		if curl -fsS "http://$addr/readyz" >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$(cat "$run/pids/$name")" 2>/dev/null; then
			tail -n 3 "$run/logs/$name.log" >&2
			die "$name exited at start (see $run/logs/$name.log)"
		fi
		sleep 0.1
	done
	die "$name is not ready (see $run/logs/$name.log)"
}

# Instance names: the daemon itself, then worker.1, worker.2... for extra instances.
instance_names() {
	local d i
	for d in "${daemons[@]}"; do
		echo "$d"
		if [[ " ${workers[*]} " == *" $d "* ]]; then
			for ((i = 1; i < instances; i++)); do echo "$d.$i"; done
		fi
	done
}

daemon_addr() {
	local port i=0 name=$1
	[[ $name == *.* ]] && i=${name##*.} && name=${name%.*}
	case $name in
	api-gateway) port=8080 ;;
	webhook-receiver) port=8081 ;;
	parse-worker) port=9101 ;;
	render-worker) port=9102 ;;
	tts-worker) port=9103 ;;
	merge-worker) port=9104 ;;
	esac
	echo "127.0.0.1:$((port + port_offset + 10 * i))"
}

# "name (pid N)" of the process listening on a TCP port, when ss can see it
# (as another user, only that user's own processes).
port_holder() {
	ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -n 1 |
		sed -E 's/users:\(\("([^"]*)",pid=([0-9]*)/\1 (pid \2)/'
}

port_taken() {
	if command -v ss >/dev/null; then
		[[ -n $(ss -Hltn "sport = :$1") ]]
	else
		(: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# Stops the start before anything runs when a port it needs is held, naming
# the port and its holder: the fleet never shares a port, nor attaches to a
# database it did not start.
check_ports() {
	local d port
	if [[ -z ${REEL_DATABASE_URL:-} ]]; then
		if as_postgres "$(pg_bin)/pg_ctl" -D "$(pg_data)" status >/dev/null 2>&1; then
			die "PostgreSQL of $run is still running; stop that fleet first: $0 stop"
		fi
		check_port "$pg_port" PostgreSQL
	fi
	for d in $(instance_names); do
		port=$(daemon_addr "$d")
		check_port "${port##*:}" "$d"
	done
}

check_port() {
	local port=$1 what=$2 holder
	port_taken "$port" || return 0
	holder=$(port_holder "$port" || true)
	die "port $port ($what) is already in use${holder:+ by $holder}; stop it, or move the fleet with REEL_PORT_OFFSET / REEL_PG_PORT"
}

live_pids() {
	local f
	for f in "$run"/pids/*; do
		[[ -e $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && basename "$f"
	done
	return 0
}

start() {
	local bin=$1 left
	[[ -x $bin/api-gateway ]] || die "no daemons in $bin (run make first)"
	mkdir -p "$run/logs" "$run/pids" "$run/storage"
	left=$(live_pids)
	[[ -z $left ]] || die "a fleet of $run is still running (${left//$'\n'/ }); stop it first: $0 stop"
	check_ports
	# From here on, a failure or a signal stops whatever this start began.
	stop_at_exit=1
	local db=${REEL_DATABASE_URL:-} brokers=${REEL_KAFKA_BROKERS:-}
	[[ -n $db ]] || start_postgres
	if [[ -z $brokers ]]; then
		start_broker "$bin"
		# The dev broker reassigns partitions only after a leaving or joining
		# member's session times out (45 s by default): keep it short here.
		export REEL_KAFKA_SESSION_TIMEOUT_MS=${REEL_KAFKA_SESSION_TIMEOUT_MS:-6000}
	fi
	export REEL_DATABASE_URL=$db REEL_KAFKA_BROKERS=$brokers
	export REEL_STORAGE_URL=${REEL_STORAGE_URL:-file://$run/storage}
	{
		echo "export REEL_DATABASE_URL='$REEL_DATABASE_URL'"
		echo "export REEL_KAFKA_BROKERS='$REEL_KAFKA_BROKERS'"
		echo "export REEL_STORAGE_URL='$REEL_STORAGE_URL'"
		# Daemons started beside the fleet (tests, restarts) need the short session too.
		if [[ -n ${REEL_KAFKA_SESSION_TIMEOUT_MS:-} ]]; then
			echo "export REEL_KAFKA_SESSION_TIMEOUT_MS='$REEL_KAFKA_SESSION_TIMEOUT_MS'"
		fi
	} >"$run/env"
	"$bin/reelctl" migrate "$root/deploy/migrations" >&2
	# A TMPDIR per daemon: on s3:// storage a daemon must not find another's downloads.
	for d in $(instance_names); do
		mkdir -p "$run/tmp/$d"
		TMPDIR=$run/tmp/$d REEL_HTTP_ADDR=$(daemon_addr "$d") "$bin/${d%.*}" >"$run/logs/$d.log" 2>&1 &
		echo $! >"$run/pids/$d"
	done
	for d in $(instance_names); do wait_ready "$d" "$(daemon_addr "$d")"; done
	say "fleet up: gateway http://$(daemon_addr api-gateway), kafka $REEL_KAFKA_BROKERS, logs in $run/logs"
}

# Stops the processes of these pid files: SIGTERM to all at once, up to 10 s
# (the drain grace) for them to finish by the clock, then SIGKILL. No subshell
# per process: forks are slow on a loaded machine, and the daemons may be this
# shell's own children (a bare `wait` would wait for them all).
stop_pids() {
	local f i pid pids=() end=$((SECONDS + 10))
	for f in "$@"; do
		[[ -f $f ]] || continue
		pid=$(<"$f")
		kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
		rm -f "$f"
	done
	while ((${#pids[@]} > 0 && SECONDS < end)); do
		sleep 0.1
		for i in "${!pids[@]}"; do kill -0 "${pids[i]}" 2>/dev/null || unset "pids[i]"; done
	done
	((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null || true
}

# The daemons first, while the broker and PostgreSQL they drain through still run.
stop() {
	local f daemons=()
	for f in "$run"/pids/*; do
		[[ -e $f && $(basename "$f") != devbroker ]] && daemons+=("$f")
	done
	stop_pids "${daemons[@]}"
	stop_pids "$run/pids/devbroker"
	stop_postgres
}

# In the background, so that a signal to this script stops the fleet at once
# rather than when the job ends; stop ends the submission with the rest.
submit_sample() {
	python3 "$root/deploy/submit.py" --gateway "http://$(daemon_addr api-gateway)" "$root/deploy/sample-story.txt" &
	echo $! >"$run/pids/submit"
	local rc=0
	wait $! || rc=$?
	rm -f "$run/pids/submit"
	return "$rc"
}

# stop_at_exit: set once a start has begun something, cleared when `start`
# leaves a running fleet behind on purpose. A signal ends the script through
# exit, so this one trap covers failures, Ctrl-C and SIGTERM alike.
stop_at_exit=0
on_exit() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM # a second Ctrl-C must not cut the stop short
	if ((stop_at_exit)); then
		((rc == 0)) || say "stopping what this start began"
		stop
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case ${1:-} in
start)
	start "${2:?bin dir}"
	stop_at_exit=0
	;;
stop) stop ;;
run)
	start "${2:?bin dir}"
	submit_sample || say "the sample job did not finish; the fleet keeps running"
	trap 'exit 0' INT TERM
	# Recorded before the announcement, so a Ctrl-C the moment it shows finds
	# the sleep to stop (a background job ignores SIGINT in a script).
	sleep infinity & # waited for in the background, as above
	echo $! >"$run/pids/sleep"
	say "serving on http://$(daemon_addr api-gateway) — Ctrl-C stops everything"
	wait $!
	;;
demo)
	start "${2:?bin dir}"
	submit_sample
	;;
pg-start)
	mkdir -p "$run"
	start_postgres
	echo "$db"
	;;
pg-stop) stop_postgres ;;
*) say "usage: $0 start BIN_DIR | stop | run BIN_DIR | demo BIN_DIR | pg-start | pg-stop"; exit 2 ;;
esac
