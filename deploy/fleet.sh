#!/usr/bin/env bash
# Starts and stops the whole fleet on the embedded default: a private
# PostgreSQL cluster under .run/pg, the dev Kafka broker, the six daemons as
# separate processes, file:// storage under .run/storage.
#
#   fleet.sh start BIN_DIR    start everything, write .run/env, return
#   fleet.sh stop             stop everything this script started
#   fleet.sh run BIN_DIR      start, submit the sample story, show it, serve until Ctrl-C
#   fleet.sh demo BIN_DIR     start, submit the sample story, wait, stop; last line: the MP4
#
# The caller's environment reaches every daemon. A REEL_DATABASE_URL or
# REEL_KAFKA_BROKERS from the caller is used instead of the local cluster or
# dev broker. REEL_RUN_DIR moves .run; REEL_PG_PORT picks PostgreSQL's port;
# REEL_PORT_OFFSET shifts every daemon's port (tests run beside a demo);
# REEL_WORKER_INSTANCES starts that many processes of each worker (the
# instance i > 0 serves health on its port + 10*i).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run=${REEL_RUN_DIR:-$root/.run}
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

start_postgres() {
	local bin data=$run/pg/data
	bin=$(pg_bin)
	mkdir -p "$run/pg"
	[[ $(id -u) -eq 0 ]] && chown postgres "$run/pg"
	if [[ ! -f $data/PG_VERSION ]]; then
		as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$run/pg/initdb.log"
		cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$run/pg'
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
	as_postgres "$bin/pg_ctl" -D "$data" -l "$run/pg/server.log" -w -t 60 start >/dev/null
	as_postgres "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qtAc \
		"SELECT 1 FROM pg_database WHERE datname = 'reelforge'" | grep -q 1 ||
		as_postgres "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres reelforge
	echo "postgresql://postgres@127.0.0.1:$pg_port/reelforge"
}

stop_postgres() {
	local data=$run/pg/data
	[[ -f $data/postmaster.pid ]] || return 0
	as_postgres "$(pg_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
}

start_broker() {
	local bin=$1
	rm -f "$run/kafka.addr"
	# REEL_DEVBROKER_LOG_LEVEL: the broker's own level (its debug traces every request).
	"$bin/reel-devbroker" ${REEL_DEVBROKER_LOG_LEVEL:+--log-level "$REEL_DEVBROKER_LOG_LEVEL"} \
		--addr-file "$run/kafka.addr" >"$run/logs/devbroker.log" 2>&1 &
	echo $! >"$run/pids/devbroker"
	for _ in $(seq 1 100); do
		[[ -s $run/kafka.addr ]] && { cat "$run/kafka.addr"; return; }
		sleep 0.1
	done
	die "the dev broker did not start (see $run/logs/devbroker.log)"
}

wait_ready() {
	local name=$1 addr=$2
	for _ in $(seq 1 300); do
		if curl -fsS "http://$addr/readyz" >/dev/null 2>&1; then return 0; fi
		kill -0 "$(cat "$run/pids/$name")" 2>/dev/null || die "$name exited at start (see $run/logs/$name.log)"
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

start() {
	local bin=$1
	[[ -x $bin/api-gateway ]] || die "no daemons in $bin (run make first)"
	mkdir -p "$run/logs" "$run/pids" "$run/storage"
	local db=${REEL_DATABASE_URL:-} brokers=${REEL_KAFKA_BROKERS:-}
	[[ -n $db ]] || db=$(start_postgres)
	if [[ -z $brokers ]]; then
		brokers=$(start_broker "$bin")
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
	for d in $(instance_names); do
		REEL_HTTP_ADDR=$(daemon_addr "$d") "$bin/${d%.*}" >"$run/logs/$d.log" 2>&1 &
		echo $! >"$run/pids/$d"
	done
	for d in $(instance_names); do wait_ready "$d" "$(daemon_addr "$d")"; done
	say "fleet up: gateway http://$(daemon_addr api-gateway), kafka $REEL_KAFKA_BROKERS, logs in $run/logs"
}

stop_pid() {
	local f=$1 pid
	[[ -f $f ]] || return 0
	pid=$(cat "$f")
	if kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

stop() {
	local f
	for f in "$run"/pids/*; do
		[[ -e $f && $(basename "$f") != devbroker ]] && stop_pid "$f" &
	done
	wait
	stop_pid "$run/pids/devbroker"
	stop_postgres
}

submit_sample() {
	python3 "$root/deploy/submit.py" --gateway "http://$(daemon_addr api-gateway)" "$root/deploy/sample-story.txt"
}

case ${1:-} in
start) start "${2:?bin dir}" ;;
stop) stop ;;
run)
	trap 'stop; exit 0' INT TERM
	start "${2:?bin dir}"
	submit_sample || say "the sample job did not finish; the fleet keeps running"
	say "serving on http://127.0.0.1:8080 — Ctrl-C stops everything"
	while sleep 3600; do :; done
	;;
demo)
	trap stop EXIT
	start "${2:?bin dir}"
	submit_sample
	;;
*) say "usage: $0 start BIN_DIR | stop | run BIN_DIR | demo BIN_DIR"; exit 2 ;;
esac
