#!/usr/bin/env python3
"""Runs test programs (each one starts its own fleet) in parallel lanes.

Each lane has its own ports: REEL_TEST_PORT_OFFSET and REEL_TEST_PG_PORT are
shifted per lane, and every program keeps its state in its own run directory,
so two programs never share a PostgreSQL cluster, a storage root or a port.
A program's output is kept and printed whole when it ends, with its elapsed
seconds; the end lists the times and the failed programs, exit 1 on any.
A program that runs past --timeout is stopped with its whole session (SIGTERM,
then SIGKILL) and counted failed, its output so far printed: a hang shows as
the program that hung, not as a CI run that never ends. The default (20 min)
is several times the longest program on a loaded machine."""
import argparse
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The defaults of tests/e2e (lane 0); lane i adds LANE_STEP * i to the offset
# and i to the PostgreSQL port. 100 apart leaves room for the extra worker
# instances some tests start (port + 10 * instance).
BASE_OFFSET, BASE_PG_PORT, LANE_STEP = 100, 54429, 100
# Seconds between SIGTERM and SIGKILL for a program past its time.
KILL_GRACE_S = 10


def lane_env(lane):
    """The environment of lane `lane`: the caller's ports (or the defaults), shifted."""
    offset = int(os.environ.get("REEL_TEST_PORT_OFFSET", BASE_OFFSET)) + LANE_STEP * lane
    pg_port = int(os.environ.get("REEL_TEST_PG_PORT", BASE_PG_PORT)) + lane
    return dict(os.environ, REEL_TEST_PORT_OFFSET=str(offset), REEL_TEST_PG_PORT=str(pg_port),
                PYTHONUNBUFFERED="1")


def stop_session(proc):
    """SIGTERM to proc's whole session, SIGKILL after KILL_GRACE_S."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            pass


def run_bounded(argv, env, timeout):
    """Runs argv in a session of its own; (exit code or None when it timed out, output)."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_session(proc)
            code = None
        out.seek(0)
        return code, out.read().decode(errors="replace")


class Runner:
    def __init__(self, commands, lanes, timeout):
        self.todo = queue.Queue()
        for cmd in commands:
            self.todo.put(cmd)
        self.lanes = lanes
        self.timeout = timeout
        self.print_lock = threading.Lock()
        self.times = []   # (label, lane, seconds, ok), in the order they ended
        self.failed = []

    def run_one(self, lane, label, argv):
        env = lane_env(lane)
        with self.print_lock:
            print(f"-- {label} started (lane {lane})", flush=True)
        start = time.monotonic()
        code, output = run_bounded(argv, env, self.timeout)
        seconds = time.monotonic() - start
        ok = code == 0
        verdict = ("passed" if ok else f"TIMED OUT after {self.timeout} s, stopped" if code is None
                   else f"FAILED (exit {code})")
        with self.print_lock:
            sys.stdout.write(f"== {label} (lane {lane}, port offset {env['REEL_TEST_PORT_OFFSET']}, "
                             f"PostgreSQL {env['REEL_TEST_PG_PORT']})\n")
            sys.stdout.write(output)
            sys.stdout.write(f"== {label}: {verdict} in {seconds:.0f} s\n")
            sys.stdout.flush()
            self.times.append((label, lane, seconds, ok))
            if not ok:
                self.failed.append(label)

    def lane(self, lane):
        while True:
            try:
                label, argv = self.todo.get_nowait()
            except queue.Empty:
                return
            self.run_one(lane, label, argv)

    def run(self):
        start = time.monotonic()
        threads = [threading.Thread(target=self.lane, args=(i,)) for i in range(self.lanes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"== times ({self.lanes} lanes, {time.monotonic() - start:.0f} s in all)")
        for label, lane, seconds, ok in self.times:
            print(f"  {seconds:6.0f} s  lane {lane}  {label}{'' if ok else '  FAILED'}")
        if self.failed:
            print("failed: " + " ".join(self.failed))
            return 1
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lanes", type=int, default=int(os.environ.get("REEL_TEST_LANES", "2")))
    ap.add_argument("--bin", help="passed as --bin to every .py program")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("REEL_TEST_TIMEOUT", "1200")),
                    help="seconds one program may run before it is stopped and counted failed")
    ap.add_argument("programs", nargs="+",
                    help="test programs, longest first; a .py file runs with python3 (and --bin), "
                         "anything else is a shell command")
    args = ap.parse_args()
    commands = []
    for prog in args.programs:
        if prog.endswith(".py"):
            commands.append((prog, [sys.executable, prog] + (["--bin", args.bin] if args.bin else [])))
        else:
            label = prog if len(prog) <= 80 else prog[:77] + "..."
            commands.append((label, ["/bin/sh", "-c", prog]))
    return Runner(commands, max(1, args.lanes), args.timeout).run()


if __name__ == "__main__":
    sys.exit(main())
