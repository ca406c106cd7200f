#!/usr/bin/env python3
"""The fault suite: the whole fleet on the embedded default (offline providers,
720p frames, media skipped unless --media) runs a batch of jobs while daemons
are SIGKILLed and restarted every few seconds with billing on (every job
reserved at create, every kept result charged), the dev broker is restarted
EMPTY on the same port once and PostgreSQL is restarted once, and the vendors
(simulated, tests/faults/vendor_faults.py) fail, hang, misbehave and are
impersonated all along unless --no-vendors. Then the SQL of
tests/faults/checks.sql must find no broken promise, every accepted job must
exist exactly once, and the figures are printed. Exit 1 on any failure.

Ports: REEL_TEST_PORT_OFFSET shifts the daemons, REEL_TEST_PG_PORT is
PostgreSQL's (as in tests/e2e)."""
import argparse
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import vendor_faults

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, ".run", "faults")
PORT_OFFSET = int(os.environ.get("REEL_TEST_PORT_OFFSET", "300"))
PG_PORT = os.environ.get("REEL_TEST_PG_PORT", "54529")
GATEWAY = f"http://127.0.0.1:{8080 + PORT_OFFSET}"
DAEMON_PORTS = {"api-gateway": 8080, "webhook-receiver": 8081, "parse-worker": 9101, "render-worker": 9102,
                "tts-worker": 9103, "merge-worker": 9104}
FINAL = ("done", "failed", "canceled", "paused")
STORY = ("The lighthouse keeper climbed the stairs at dusk. {n} gulls circled the lamp.\n\n"
         "A ship answered with three short horns. The keeper smiled and wrote it in his log.")

# Short deadlines so the reconciler re-publishes soon after the broker forgot.
FAULT_ENV = {"REEL_PARSE_DEADLINE_S": "8", "REEL_RENDER_DEADLINE_S": "8", "REEL_TTS_DEADLINE_S": "8",
             "REEL_MERGE_DEADLINE_S": "20", "REEL_RECONCILE_INTERVAL_MS": "1000", "REEL_SHUTDOWN_GRACE_S": "5",
             "REEL_RATE_LIMIT_RPS": "100000", "REEL_RATE_LIMIT_BURST": "100000",
             "REEL_MAX_JOBS_IN_FLIGHT": "100000"}

# Billing is on: every kept result is charged by these prices (non-trivial, per
# provider), and the checks hold the captures against them.
PRICES = {"parse": {"*": 3, "openai": 4}, "render": {"*": 2, "replicate": 5, "fal": 6}, "i2v": {"*": 10},
          "tts": {"*": 1, "openai": 2}, "merge": {"*": 4}}

figures = {"jobs": 0, "kills": 0, "restarts": 0, "faults": 0}
VENDORS = {}  # "faults": the VendorFaults of this run, when vendors are simulated
# What one daemon runs with beyond FAULT_ENV: tts-worker speaks for real, so vendor audio is fetched and decoded.
DAEMON_ENV = {}


def say(msg):
    print(msg, flush=True)


def fleet_env(bindir=None):
    env = dict(os.environ, REEL_RUN_DIR=RUN, REEL_PORT_OFFSET=str(PORT_OFFSET), REEL_PG_PORT=PG_PORT,
               ASAN_OPTIONS=f"log_path={RUN}/sanitizer:detect_leaks=0",
               UBSAN_OPTIONS=f"log_path={RUN}/sanitizer:print_stacktrace=1", **FAULT_ENV)
    env.pop("REEL_DATABASE_URL", None)
    env.pop("REEL_KAFKA_BROKERS", None)
    if os.path.exists(os.path.join(RUN, "env")):
        for line in open(os.path.join(RUN, "env")):
            k, v = line.replace("export ", "").strip().split("=", 1)
            env[k] = v.strip("'")
    return env


def fleet(cmd, bindir=None):
    args = [os.path.join(ROOT, "deploy", "fleet.sh"), cmd] + ([bindir] if bindir else [])
    subprocess.run(args, check=True, env=fleet_env())


def sql(query):
    out = subprocess.run(["psql", fleet_env()["REEL_DATABASE_URL"], "-qtAX", "-F", "\t", "-c", query],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def http(method, path, body=None, headers=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(GATEWAY + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.load(r)


def submit(n):
    """Submits job n, retrying through gateway kills with the same Idempotency-Key."""
    key = str(uuid.uuid4())
    body = {"template": "storyboard", "input": {"text": STORY.format(n=n)},
            "options": {"resolution": "720p", "max_shots": 3, "subtitles": "off"}}
    if VENDORS:
        body["options"]["providers"] = vendor_faults.VendorFaults.providers(n)
    for _ in range(200):
        try:
            code, job = http("POST", "/v1/jobs", body, {"Idempotency-Key": key})
            if code in (200, 201, 202):
                return job["id"]
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"job {n} could not be submitted")


def pid_file(name):
    return os.path.join(RUN, "pids", name)


def start_daemon(bindir, name, **extra):
    env = dict(fleet_env(), **DAEMON_ENV.get(name, {}), **extra)
    env["REEL_HTTP_ADDR"] = f"127.0.0.1:{DAEMON_PORTS[name] + PORT_OFFSET}"
    env.setdefault("REEL_KAFKA_SESSION_TIMEOUT_MS", "6000")
    log = open(os.path.join(RUN, "logs", f"{name}.log"), "ab")
    p = subprocess.Popen([os.path.join(bindir, name)], env=env, stdout=log, stderr=log, start_new_session=True)
    with open(pid_file(name), "w") as f:
        f.write(str(p.pid))
    return p


def kill_pid(path):
    try:
        pid = int(open(path).read())
        os.kill(pid, 9)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # not ours (started by fleet.sh): wait until it is gone and its ports free
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
        return True
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return False


def restart_broker(bindir):
    """Kills the dev broker and starts an empty one on the same port."""
    addr = open(os.path.join(RUN, "kafka.addr")).read().strip()
    port = addr.split(",")[0].rsplit(":", 1)[1]
    kill_pid(pid_file("devbroker"))
    log = open(os.path.join(RUN, "logs", "devbroker.log"), "ab")
    for _ in range(40):  # the killed broker (not our child) may still hold the port for a moment
        p = subprocess.Popen([os.path.join(bindir, "reel-devbroker"), "--port", port], stdout=log, stderr=log,
                             start_new_session=True)
        try:
            p.wait(1.0)
        except subprocess.TimeoutExpired:
            break
        time.sleep(0.25)
    with open(pid_file("devbroker"), "w") as f:
        f.write(str(p.pid))
    figures["restarts"] += 1
    figures["faults"] += 1
    say(f"  restarted the dev broker empty on port {port}")


def pg_ctl(*args):
    pg_bin = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql")))[-1]
    cmd = [f"{pg_bin}/pg_ctl", "-D", os.path.join(RUN, "pg", "data"), "-w", *args]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def readyz(name):
    url = f"http://127.0.0.1:{DAEMON_PORTS[name] + PORT_OFFSET}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
    except (urllib.error.URLError, OSError):
        return None, {}


def restart_postgres():
    pg_ctl("-m", "immediate", "stop")
    time.sleep(1.5)
    code, body = readyz("tts-worker")
    # The tts-worker may itself be mid-restart (no answer): only an answer is judged.
    down_ok = code is None or (code == 503 and body.get("postgres") is False)
    pg_ctl("-l", os.path.join(RUN, "pg", "server.log"), "start")
    figures["restarts"] += 1
    figures["faults"] += 1
    say(f"  restarted PostgreSQL (immediate shutdown: a crash); readyz meanwhile {code} {body}")
    figures["pg_readyz_ok"] = down_ok


def chaos(bindir, stop, kill_every):
    """SIGKILLs a random daemon every kill_every seconds and restarts it; the broker
    and PostgreSQL are restarted once each along the way."""
    rng = random.Random(int(os.environ.get("REEL_FAULT_SEED", time.time())))
    rounds = 0
    while not stop.wait(kill_every):
        rounds += 1
        if rounds == 3:
            restart_broker(bindir)
            continue
        if rounds == 6:
            restart_postgres()
            continue
        name = rng.choice(list(DAEMON_PORTS))
        if kill_pid(pid_file(name)):
            figures["kills"] += 1
            figures["faults"] += 1
        time.sleep(rng.uniform(0.2, 1.0))
        start_daemon(bindir, name)
        figures["restarts"] += 1


def check_signals(bindir, name):
    """A fresh instance with REEL_LOG_FILE: SIGHUP reopens the file after it was
    moved away, SIGTERM drains and exits 0."""
    kill_pid(pid_file(name))
    path = os.path.join(RUN, "logs", f"{name}.file.log")
    p = start_daemon(bindir, name, REEL_LOG_FILE=path)
    for _ in range(100):
        if readyz(name)[0] == 200:
            break
        time.sleep(0.2)
    os.rename(path, path + ".1")
    p.send_signal(1)
    time.sleep(1)
    reopened = os.path.exists(path) and "log file reopened" in open(path).read()
    p.terminate()
    try:
        code = p.wait(30)
    except subprocess.TimeoutExpired:
        code = None
    os.unlink(pid_file(name))
    ok = reopened and code == 0
    say(f"{'PASS' if reopened else 'FAIL'}: {name}: SIGHUP reopens REEL_LOG_FILE")
    say(f"{'PASS' if code == 0 else 'FAIL'}: {name}: SIGTERM drains and exits 0 (exit {code})")
    return ok


def start_billing():
    """Billing on: the price table as REEL_BILLING_FILE, and the same prices in
    test_prices for checks.sql's test_price()."""
    path = os.path.join(RUN, "billing.json")
    with open(path, "w") as f:
        json.dump({"prices": PRICES, "plans": {"free": {}}}, f)
    FAULT_ENV["REEL_BILLING_FILE"] = path


def billing_tables():
    """What the checks price with, and credits for every job the suite makes
    (the gateway reserves each job's estimate from them at create)."""
    rows = ", ".join(f"('{stage}', '{provider}', {credits})" for stage, by in PRICES.items()
                     for provider, credits in by.items())
    sql("CREATE TABLE test_prices (stage text, provider text, credits bigint, PRIMARY KEY (stage, provider)); "
        f"INSERT INTO test_prices VALUES {rows}; "
        "CREATE FUNCTION test_price(p_stage text, p_provider text) RETURNS bigint LANGUAGE sql STABLE AS $$ "
        "SELECT coalesce((SELECT credits FROM test_prices WHERE stage = p_stage AND provider = p_provider), "
        "(SELECT credits FROM test_prices WHERE stage = p_stage AND provider = '*'), 0) $$")
    sql("SELECT reel_credit('anonymous', 'grant', 1000000000, NULL, 'fault suite')")


def wait_final(ids, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = sql("SELECT count(*) FILTER (WHERE status IN ('done','failed','canceled','paused')), count(*) "
                   "FROM jobs")
        if int(rows[0][0]) == len(ids):
            return True
        time.sleep(2)
    return False


def run_checks(ids):
    ok = True
    text = open(os.path.join(ROOT, "tests", "faults", "checks.sql")).read()
    text = "\n".join(l for l in text.splitlines() if not l.strip().startswith("--"))
    for body in (q.strip() for q in text.split(";")):
        if not body:
            continue
        name, bad = sql(f"SET reel.skip_media = '{FAULT_ENV.get('REEL_OFFLINE_SKIP_MEDIA', '0')}'; {body}")[0]
        ok &= bad == "0"
        say(f"{'PASS' if bad == '0' else 'FAIL'}: {name}: {bad}")
    in_db = {r[0] for r in sql("SELECT id FROM jobs")}
    lost = len(set(ids) - in_db)
    duplicated = len(in_db - set(ids)) + len(ids) - len(set(ids))
    duplicated += int(sql("SELECT count(*) FROM (SELECT job_id FROM job_events WHERE shot IS NULL AND kind = 'done' "
                          "GROUP BY job_id HAVING count(*) > 1) x")[0][0])
    for status, reason, n in sql("SELECT status, coalesce(error->>'message', ''), count(*) FROM jobs "
                                 "WHERE status IN ('failed', 'paused') GROUP BY 1, 2 ORDER BY 3 DESC"):
        say(f"  {status} ({n}): {reason}")
    return ok and lost == 0 and duplicated == 0, lost, duplicated


def start_vendors(jobs):
    """The simulator, scripted with the vendor faults; the fleet's environment points at it."""
    vf = vendor_faults.VendorFaults(RUN, f"http://127.0.0.1:{DAEMON_PORTS['webhook-receiver'] + PORT_OFFSET}", jobs)
    VENDORS["faults"] = vf
    FAULT_ENV.update(vf.env())
    DAEMON_ENV["tts-worker"] = {"REEL_OFFLINE_SKIP_MEDIA": "0"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--kill-every", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--spread", type=float, default=30, help="seconds over which the jobs are submitted")
    ap.add_argument("--media", action="store_true", help="draw, speak and encode for real (slow)")
    ap.add_argument("--no-vendors", action="store_true", help="offline providers only, no vendor faults")
    args = ap.parse_args()
    if not args.media:
        FAULT_ENV["REEL_OFFLINE_SKIP_MEDIA"] = "1"
    shutil.rmtree(RUN, ignore_errors=True)
    os.makedirs(RUN)
    start_billing()
    stop = threading.Event()
    ok = False
    try:
        if not args.no_vendors:
            start_vendors(args.jobs)
        fleet("start", args.bin)
        billing_tables()
        if VENDORS and not args.media:  # fleet.sh started it skipping media like the others
            kill_pid(pid_file("tts-worker"))
            start_daemon(args.bin, "tts-worker")
        t = threading.Thread(target=chaos, args=(args.bin, stop, args.kill_every), daemon=True)
        t.start()
        if VENDORS:
            threading.Thread(target=VENDORS["faults"].forger, args=(sql, stop), daemon=True).start()
        ids = []
        for n in range(args.jobs):  # spread over the faults, so some jobs meet each of them
            ids.append(submit(n))
            time.sleep(args.spread / args.jobs)
        figures["jobs"] = len(ids)
        while figures["restarts"] < 8 and t.is_alive():  # the broker and PostgreSQL restarts happen at least
            time.sleep(1)
        finished = wait_final(ids, args.timeout)
        stop.set()
        t.join()
        say(f"{'PASS' if finished else 'FAIL'}: every job final or paused within {args.timeout:.0f} s")
        time.sleep(1)
        ok, lost, duplicated = run_checks(ids)
        ok &= finished
        if VENDORS:
            vendors_ok, vendor_faults_n, calls = VENDORS["faults"].check(sql, say)
            ok &= vendors_ok
            figures["faults"] += vendor_faults_n
            say(f"  vendor calls {calls}")
        say(f"{'PASS' if figures.get('pg_readyz_ok') else 'FAIL'}: /readyz answers 503 while PostgreSQL is down")
        ok &= bool(figures.get("pg_readyz_ok"))
        for name in ("render-worker", "api-gateway"):
            ok &= check_signals(args.bin, name)
        reports = glob.glob(os.path.join(RUN, "sanitizer*"))
        say(f"{'PASS' if not reports else 'FAIL'}: no sanitizer reports {reports}")
        ok &= not reports
        states = dict(sql("SELECT status, count(*) FROM jobs GROUP BY status"))
        say(f"jobs {figures['jobs']} ({', '.join(f'{k} {v}' for k, v in sorted(states.items()))}), "
            f"kills {figures['kills']}, restarts {figures['restarts']}, faults injected {figures['faults']}, "
            f"lost {lost}, duplicated {duplicated}")
    finally:
        stop.set()
        try:
            fleet("stop")
        except subprocess.CalledProcessError:
            pass
        if VENDORS:
            VENDORS["faults"].stop()
    say("fault suite: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
