#!/usr/bin/env python3
"""End-to-end test of starting and stopping the fleet (deploy/fleet.sh).

A start whose gateway refuses its configuration, and a start that finds one of
its ports (the gateway's, PostgreSQL's) held by another process, fail naming
the reason and leave no process of the run behind (daemons, dev broker,
PostgreSQL, sleep). `fleet.sh run` with REEL_JWT_SECRET submits its sample
with a token of its own and prints the shifted address; SIGINT to its process
group, and SIGTERM to the script, stop everything within the daemons' drain
grace. A run dir inside a 0700 directory works (as root, PostgreSQL runs as
postgres), a changed REEL_PG_PORT applies to an existing cluster, and
reelctl's default gateway follows REEL_PORT_OFFSET."""
import argparse
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_fleet as tf  # noqa: E402  (helpers: check, free_port, summary)

tf.RUN = os.path.join(tf.ROOT, ".run", "e2e-startstop")
RUN = tf.RUN
check = tf.check
FLEET = os.path.join(tf.ROOT, "deploy", "fleet.sh")
GATEWAY_PORT = 8080 + tf.PORT_OFFSET
GRACE_S = 10 + 5  # fleet.sh's drain grace per daemon, plus PostgreSQL's fast stop and the dev broker


def fleet_env(run, **extra):
    return {**os.environ, "REEL_RUN_DIR": run, "REEL_PORT_OFFSET": str(tf.PORT_OFFSET), "REEL_PG_PORT": tf.PG_PORT,
            "ASAN_OPTIONS": f"log_path={RUN}/sanitizer:detect_leaks=1",
            "UBSAN_OPTIONS": f"log_path={RUN}/sanitizer:print_stacktrace=1", **extra}


def fleet(cmd, bindir, run=RUN, **extra):
    """Runs fleet.sh to its end; (exit code, stderr)."""
    args = [FLEET, cmd] + ([bindir] if cmd != "stop" else [])
    p = subprocess.run(args, env=fleet_env(run, **extra), capture_output=True, text=True, timeout=300)
    return p.returncode, p.stderr


def leftovers(run):
    """(pid, command) of every process the run left: started with the run dir in
    its environment (daemons, broker, sleep, submit) or its path on the command
    line (postgres -D …)."""
    pgdata = os.path.realpath(os.path.join(run, "pg", "data")).encode()
    mark = f"REEL_RUN_DIR={run}\0".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{pid}/stat") as f:
                zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            continue
        if not zombie and (mark in env or pgdata in cmd or run.encode() in cmd):
            found.append((int(pid), cmd.replace(b"\0", b" ").decode(errors="replace").strip()))
    return found


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def check_nothing_left(label, run, pg_port=None):
    left = leftovers(run)
    check(f"{label}: no process of the run is left", not left, str(left))
    check(f"{label}: no pid file is left", not os.listdir(os.path.join(run, "pids")),
          str(os.listdir(os.path.join(run, "pids"))))
    check(f"{label}: no postmaster is left", not os.path.exists(os.path.join(run, "pg", "data", "postmaster.pid")))
    ports = [GATEWAY_PORT, int(pg_port or tf.PG_PORT)]
    check(f"{label}: the gateway's and PostgreSQL's ports are free", all(port_free(p) for p in ports), str(ports))


def test_refused_start(bindir):
    code, err = fleet("start", bindir, REEL_JWT_SECRET="too-short")
    check("refusal: a gateway refusing a short JWT secret fails the start", code != 0, err[-500:])
    check("refusal: the error names the gateway and why", "api-gateway exited at start" in err and "secret" in err,
          err[-800:])
    logs = os.listdir(os.path.join(RUN, "logs"))
    check("refusal: the start had begun the broker and every daemon",
          {"devbroker.log", "tts-worker.log", "merge-worker.log"} <= set(logs), str(logs))
    check("refusal: the start had begun PostgreSQL", os.path.exists(os.path.join(RUN, "pg", "server.log")))
    check_nothing_left("refusal", RUN)


def test_port_held(bindir, port, what):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the TIME_WAITs of earlier fleets
        s.bind(("127.0.0.1", port))
        s.listen()
        t0 = time.monotonic()
        code, err = fleet("start", bindir)
        took = time.monotonic() - t0
    check(f"{what} port held: the start fails at once", code != 0 and took < 10, f"{code} in {took:.1f} s: {err}")
    check(f"{what} port held: the error names the port and its holder",
          f"port {port}" in err and f"pid {os.getpid()}" in err, err)
    check(f"{what} port held: PostgreSQL was never started", "PostgreSQL did not start" not in err, err)
    check_nothing_left(f"{what} port held", RUN)


def wait_line(proc, pattern, timeout):
    """Reads proc's stderr until a line matches; (match or None, lines read).
    A thread reads, so a script that goes silent cannot hold the test past
    timeout; it drains the pipe to its end, so the script never blocks on it."""
    lines, found = [], queue.Queue()

    def read():
        for line in proc.stderr:
            lines.append(line)
            if found.empty() and (m := re.search(pattern, line)):
                found.put(m)
        found.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        return found.get(timeout=timeout), list(lines)
    except queue.Empty:
        return None, list(lines)


def wait_exit(proc, timeout):
    t0 = time.monotonic()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    return time.monotonic() - t0


def as_terminal_job():
    """What a terminal's shell gives its foreground job: SIGINT and SIGQUIT at
    their defaults. A harness that started this test in the background without
    job control left them ignored, and bash cannot trap a signal ignored at its
    start, so without this a Ctrl-C test would test the harness instead."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def test_run_sigint(bindir):
    """`fleet.sh run` with authentication: its sample gets done; Ctrl-C stops it all."""
    env = fleet_env(RUN, REEL_JWT_SECRET=tf.JWT_SECRET, REEL_JWT_AUDIENCE="authenticated")
    proc = subprocess.Popen([FLEET, "run", bindir], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=as_terminal_job)
    try:
        m, lines = wait_line(proc, r"serving on (\S+)", 300)
        check("run: prints its gateway with REEL_PORT_OFFSET", m and m.group(1) == f"http://127.0.0.1:{GATEWAY_PORT}",
              "".join(lines[-20:]))
        check("run: the sample was submitted with a token of its own and got done",
              any(re.search(r"^\s+done\s", ln) for ln in lines) and not any("answered 401" in ln for ln in lines),
              "".join(lines[-20:]))
        pgdata = os.path.realpath(os.path.join(RUN, "pg", "data"))
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        took = wait_exit(proc, 60)
        check(f"run: SIGINT to its process group ends it within {GRACE_S} s", proc.returncode is not None
              and took <= GRACE_S, f"{took:.1f} s, exit {proc.returncode}")
        while leftovers(RUN) and time.monotonic() - t0 < GRACE_S:
            time.sleep(0.2)
        check("run: after SIGINT the postmaster is gone", not any(pgdata in c for _, c in leftovers(RUN)))
        check_nothing_left("run, SIGINT", RUN)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_run_sigterm(bindir):
    """SIGTERM to the script alone, while its sample is still being made."""
    proc = subprocess.Popen([FLEET, "run", bindir], env=fleet_env(RUN), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        m, lines = wait_line(proc, r"^job \S+ queued", 120)
        check("sigterm: the sample job was created", m, "".join(lines[-20:]))
        proc.send_signal(signal.SIGTERM)
        took = wait_exit(proc, 60)
        check(f"sigterm: the script ends within {GRACE_S} s, mid-job", proc.returncode is not None and took <= GRACE_S,
              f"{took:.1f} s, exit {proc.returncode}")
        check_nothing_left("run, SIGTERM", RUN)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def reelctl_submit(bindir, env):
    story = os.path.join(tf.ROOT, "deploy", "sample-story.txt")
    return subprocess.run([os.path.join(bindir, "reelctl"), "submit", story], env=env, capture_output=True, text=True)


def psql(url, query):
    return subprocess.run(["psql", url, "-qtAXc", query], capture_output=True, text=True).stdout.strip()


def test_private_dir(bindir):
    """A run dir in a 0700 directory; REEL_PG_PORT moved between two starts; reelctl's default gateway."""
    private = tempfile.mkdtemp(prefix="reel-private-")  # mode 0700, as root's home
    run = os.path.join(private, "run")
    moved_port = str(tf.free_port())
    pg_home = None
    try:
        code, err = fleet("start", bindir, run)
        check("private dir: the fleet starts in a 0700 directory", code == 0, err[-800:])
        pg_home = os.path.realpath(os.path.join(run, "pg"))
        if os.getuid() == 0:
            check("private dir: as root the cluster lives where postgres can reach it",
                  os.path.islink(os.path.join(run, "pg")) and pg_home.startswith("/var/lib/reelforge/pg-"), pg_home)
        check("private dir: the start names the shifted gateway", f"gateway http://127.0.0.1:{GATEWAY_PORT}" in err, err)
        env = {k: v for k, v in os.environ.items() if k != "REEL_GATEWAY_URL"}
        sub = reelctl_submit(bindir, {**env, "REEL_PORT_OFFSET": str(tf.PORT_OFFSET)})
        job_id = sub.stdout.strip()
        check("reelctl: submits to 8080 + REEL_PORT_OFFSET by default", sub.returncode == 0 and job_id, sub.stderr)
        sub = reelctl_submit(bindir, {**env, "REEL_PORT_OFFSET": "lots"})
        check("reelctl: a bad REEL_PORT_OFFSET is refused by name",
              sub.returncode == 2 and "REEL_PORT_OFFSET" in sub.stderr, sub.stderr)
        code, err = fleet("stop", bindir, run)
        check("private dir: stops", code == 0, err)
        code, err = fleet("start", bindir, run, REEL_PG_PORT=moved_port)
        check("pg port: a second start with another REEL_PG_PORT succeeds", code == 0, err[-800:])
        url = open(os.path.join(run, "env")).read().split("REEL_DATABASE_URL='")[1].split("'")[0]
        check("pg port: the fleet uses the new port", f":{moved_port}/" in url, url)
        check("pg port: the cluster listens on it and kept its data",
              psql(url, f"SELECT current_setting('port'), count(*) FROM jobs WHERE id = '{job_id}'")
              == f"{moved_port}|1", url)
        code, _, _ = tf.http("GET", f"/v1/jobs/{job_id}")
        check("pg port: the gateway serves the earlier job", code == 200, str(code))
        code, err = fleet("stop", bindir, run)
        check("pg port: stops", code == 0, err)
        check_nothing_left("private dir", run, moved_port)
    finally:
        fleet("stop", bindir, run)
        if pg_home and pg_home.startswith("/var/lib/reelforge/"):
            shutil.rmtree(pg_home, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.fresh_run(bindir)
    try:
        test_private_dir(bindir)
        test_refused_start(bindir)
        test_port_held(bindir, GATEWAY_PORT, "gateway")
        test_port_held(bindir, int(tf.PG_PORT), "PostgreSQL")
        test_run_sigint(bindir)
        test_run_sigterm(bindir)
    finally:
        fleet("stop", bindir)
    return tf.summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
