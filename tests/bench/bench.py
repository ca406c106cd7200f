#!/usr/bin/env python3
"""make bench: measures the fleet itself on the workload of the benchmark
issue. A job enters reel.parse, fans out into 8 shots that each go render ->
tts, fans in to merge, and is done; the offline providers answer at once
(REEL_OFFLINE_SKIP_MEDIA=1), PostgreSQL runs with fsync and synchronous
commit on. Runs once with one process per daemon and once with two per
worker, and prints `metric name=value unit` lines and a table. Asserts no
timings; --smoke runs a few jobs and checks that every metric line appears."""
import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = 8
# Eight paragraphs of one short sentence each: the offline splitter makes one shot of each.
STORY = "\n\n".join(f"Scene {i + 1}: the lantern glows over the quiet harbour." for i in range(SHOTS))
DAEMONS = ["api-gateway", "webhook-receiver", "parse-worker", "render-worker", "tts-worker", "merge-worker"]
# Each hop is a Kafka hop plus the next stage's transaction, from one job_events
# row to the next: queued→parsing, producing→rendered, rendered→ready, merging→done.
HOPS = ["gateway_parse", "parse_render", "render_tts", "tts_merge"]
# Figures measured on this machine kind for the same workload (the benchmark issue).
REFERENCE = [
    ("Node.js + BullMQ on Redis", "78", "21 ms / 351 ms", "~105 MB"),
    ("Python + Celery on Redis", "39", "p50 2.4 s and rising", "~49 MB"),
    ("bare librdkafka chain, commit per message", "105", "13 ms / 25 ms", "11-18 MB"),
    ("same, consumer batches of 64", "233", "-", "11-15 MB"),
    ("same, one transaction per batch", "866", "-", "-"),
]

metrics = []


def metric(name, value, unit):
    metrics.append((name, value, unit))
    print(f"metric {name}={value:.1f} {unit}" if isinstance(value, float) else f"metric {name}={value} {unit}",
          flush=True)


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


class Fleet:
    def __init__(self, bindir, instances, run_dir, offset):
        self.bindir, self.instances, self.run, self.offset = bindir, instances, run_dir, offset
        self.env = dict(os.environ, REEL_RUN_DIR=run_dir, REEL_PORT_OFFSET=str(offset), REEL_PG_PORT=os.environ.get("REEL_TEST_PG_PORT", "54529"),
                        REEL_WORKER_INSTANCES=str(instances), REEL_OFFLINE_SKIP_MEDIA="1",
                        REEL_LOG_LEVEL="warn")
        for k in ("REEL_DATABASE_URL", "REEL_KAFKA_BROKERS"):
            self.env.pop(k, None)

    def start(self):
        if os.path.isdir(self.run):
            self.stop()  # whatever an interrupted run left behind
        shutil.rmtree(self.run, ignore_errors=True)
        os.makedirs(self.run)
        subprocess.run([os.path.join(ROOT, "deploy", "fleet.sh"), "start", self.bindir], check=True, env=self.env,
                       stdout=subprocess.DEVNULL)
        for line in open(os.path.join(self.run, "env")):
            k, v = line.replace("export ", "").strip().split("=", 1)
            self.env[k] = v.strip("'")
        self.db = self.env["REEL_DATABASE_URL"]

    def stop(self):
        subprocess.run([os.path.join(ROOT, "deploy", "fleet.sh"), "stop"], env=self.env)

    def sql(self, query):
        out = subprocess.run(["psql", self.db, "-qtAX", "-F", "\t", "-c", query], check=True,
                             capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def pids(self):
        found = {}
        for name in sorted(os.listdir(os.path.join(self.run, "pids"))):
            if name != "devbroker":
                found[name] = int(open(os.path.join(self.run, "pids", name)).read())
        return found

    def memory(self, field):
        """Resident memory of every daemon process in kB, keyed by daemon (max over instances)."""
        out = {}
        for name, pid in self.pids().items():
            try:
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith(field + ":"):
                        kb = int(line.split()[1])
                        d = name.split(".")[0]
                        out[d] = max(out.get(d, 0), kb)
            except FileNotFoundError:
                pass
        return out

    def cpu(self):
        """CPU seconds used so far by the fleet's processes, grouped: each daemon, the broker, PostgreSQL."""
        tick = os.sysconf("SC_CLK_TCK")
        groups = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode()
                stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            name = os.path.basename(cmd)
            if cmd.startswith("postgres"):
                name = "postgresql"
            elif not (cmd.startswith(self.bindir) or name == "postgres"):
                continue
            groups[name] = groups.get(name, 0) + (int(stat[11]) + int(stat[12])) / tick
        return groups

    @property
    def port(self):
        return 8080 + self.offset


def post_jobs(port, count, threads, rate=None):
    """Submits count jobs; at a steady rate (jobs/s) from one thread, or as fast as threads allow."""
    body = json.dumps({"template": "storyboard", "input": {"text": STORY}})
    ids, errors, lock = [], [], threading.Lock()
    counter = iter(range(count))

    def worker(paced):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start = time.monotonic()
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            if paced:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            conn.request("POST", "/v1/jobs", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            with lock:
                (ids if r.status == 202 else errors).append(json.loads(data).get("id") if r.status == 202 else data)
        conn.close()

    pool = [threading.Thread(target=worker, args=(rate is not None,)) for _ in range(1 if rate else threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} submissions refused, first: {errors[0][:300]!r}")
    return ids


def submit_burst(fleet, count, conns):
    """Submits count jobs as fast as the gateway takes them, from the C submitter
    (a Python client would take a core of its own from the fleet)."""
    body = os.path.join(fleet.run, "job.json")
    with open(body, "w") as f:
        json.dump({"template": "storyboard", "input": {"text": STORY}}, f)
    loadgen = os.path.join(os.path.dirname(fleet.bindir), "tests", "reel-loadgen")
    out = subprocess.run([loadgen, str(fleet.port), str(count), str(conns), "/v1/jobs", body],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"submissions failed: {out.stdout.strip()} {out.stderr.strip()}")


def wait_done(fleet, since, count, timeout):
    """Waits until no job is unfinished (the benchmark's database holds only its own jobs)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        # Counted through the partial index on unfinished jobs, so polling costs the fleet little.
        busy = int(fleet.sql("SELECT count(*) FROM jobs WHERE status NOT IN ('done', 'failed', 'canceled')")[0][0])
        if busy and int(fleet.sql("SELECT count(*) FROM jobs WHERE status = 'paused'")[0][0]) == busy:
            busy = 0  # only paused jobs are left: the check below reports them
        if busy == 0:
            rows = fleet.sql(f"SELECT count(*) FILTER (WHERE status = 'done'), count(*) FROM jobs "
                             f"WHERE created_at >= to_timestamp({since})")
            done, total = int(rows[0][0]), int(rows[0][1])
            if done < total:
                raise SystemExit(f"{total - done} benchmark jobs did not finish well")
            if done >= count:
                return
        time.sleep(0.5)  # each poll is a psql process: kept rare, it shares the cores
    raise SystemExit(f"timed out: jobs not done within {timeout} s")


def throughput_once(fleet, n):
    """One burst of n jobs: (jobs/s, shot transitions/s, submissions/s, CPU seconds used per process group)."""
    cpu0 = fleet.cpu()
    t0 = time.time()
    since = t0 - 0.05  # the same clock as PostgreSQL's; earlier bursts' jobs are older
    submit_burst(fleet, n, conns=64)
    submitted = time.time() - t0
    wait_done(fleet, since, n, timeout=600)
    rows = fleet.sql(f"SELECT extract(epoch FROM max(finished_at)), count(*) FROM jobs "
                     f"WHERE created_at >= to_timestamp({since})")
    elapsed = float(rows[0][0]) - t0
    shot_events = int(fleet.sql(f"SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id "
                                f"WHERE j.created_at >= to_timestamp({since}) AND e.kind IN ('rendered', 'ready')")[0][0])
    cpu1 = fleet.cpu()
    used = {k: cpu1.get(k, 0) - cpu0.get(k, 0) for k in cpu1}
    return n / elapsed, shot_events / elapsed, n / submitted, used, elapsed


def throughput(fleet, n, label, repeat):
    """The median of repeat bursts (the machine is shared: one burst can meet a neighbour's load)."""
    runs = sorted((throughput_once(fleet, n) for _ in range(repeat)), key=lambda r: r[0])
    jobs_s, shots_s, submit_s, used, elapsed = runs[len(runs) // 2]
    print(f"{label}throughput bursts (jobs/s): " + ", ".join(f"{r[0]:.1f}" for r in runs))
    print(f"{label}CPU seconds during the median burst (of {elapsed * os.cpu_count():.1f} available): " +
          ", ".join(f"{k} {v:.2f}" for k, v in sorted(used.items(), key=lambda kv: -kv[1])))
    metric(f"{label}throughput.jobs_per_s", jobs_s, "jobs/s")
    metric(f"{label}throughput.shot_transitions_per_s", shots_s, "transitions/s")
    metric(f"{label}throughput.submit_per_s", submit_s, "requests/s")
    return jobs_s


def latency(fleet, rate, seconds, label):
    n = max(5, int(rate * seconds))
    t0 = time.time()
    ids = post_jobs(fleet.port, n, threads=1, rate=rate)
    wait_done(fleet, t0 - 1, n, timeout=300)
    idlist = ",".join(f"'{i}'" for i in ids)
    rows = fleet.sql(
        "SELECT job_id, coalesce(shot, -1), kind, extract(epoch FROM at) FROM job_events "
        f"WHERE job_id IN ({idlist}) ORDER BY seq")
    jobs = {}
    for job, shot, kind, at in rows:
        jobs.setdefault(job, {}).setdefault(int(shot), {})[kind] = float(at) * 1000
    e2e, hops = [], {h: [] for h in HOPS}
    for ev in jobs.values():
        j = ev[-1]
        shots = [s for k, s in ev.items() if k >= 0]
        e2e.append(j["done"] - j["queued"])
        hops["gateway_parse"].append(j["parsing"] - j["queued"])
        hops["parse_render"] += [s["rendered"] - j["producing"] for s in shots]
        hops["render_tts"] += [s["ready"] - s["rendered"] for s in shots]
        hops["tts_merge"].append(j["done"] - j["merging"])
    prefix = f"{label}latency{rate}"
    metric(f"{prefix}.e2e_p50_ms", pct(e2e, 50), "ms")
    metric(f"{prefix}.e2e_p95_ms", pct(e2e, 95), "ms")
    metric(f"{prefix}.e2e_p99_ms", pct(e2e, 99), "ms")
    for h in HOPS:
        metric(f"{prefix}.hop_{h}_p50_ms", pct(hops[h], 50), "ms")
        metric(f"{prefix}.hop_{h}_p99_ms", pct(hops[h], 99), "ms")
    return pct(e2e, 50), pct(e2e, 99)


def run(bindir, instances, args):
    label = "" if instances == 1 else f"x{instances}."
    fleet = Fleet(bindir, instances, os.path.join(ROOT, ".run", f"bench-{instances}"),
                  int(os.environ.get("REEL_TEST_PORT_OFFSET", "200")))
    fleet.start()
    try:
        post_jobs(fleet.port, 16, threads=4)  # warm up: consumer groups assigned, statements prepared
        wait_done(fleet, 0, 16, timeout=120)
        time.sleep(0.5)
        idle = fleet.memory("VmRSS")
        jobs_per_s = throughput(fleet, args.jobs, label, args.repeat)
        peak = fleet.memory("VmHWM")
        p50, p99 = latency(fleet, args.rate, args.seconds, label)
        for d in DAEMONS:
            metric(f"{label}memory.{d}.rss_idle_kb", idle.get(d, 0), "kB")
            metric(f"{label}memory.{d}.rss_max_kb", peak.get(d, 0), "kB")
        worst = max(peak.get(d, 0) for d in DAEMONS if d.endswith("-worker"))
        return {"jobs_per_s": jobs_per_s, "p50": p50, "p99": p99, "worker_rss_mb": worst / 1024}
    finally:
        fleet.stop()


WEBHOOK_SECRET = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="


def signed_callbacks(path, count):
    """Writes count Replicate deliveries signed per Standard Webhooks, one per line, for webhooks.lua."""
    import base64
    import hashlib
    import hmac
    key = base64.b64decode(WEBHOOK_SECRET[6:])
    ts = str(int(time.time()))
    with open(path, "w") as f:
        for i in range(count):
            body = json.dumps({"id": f"bench{i}", "status": "succeeded", "output": ["https://replicate.delivery/x.png"],
                               "error": None, "urls": {}})
            sig = base64.b64encode(hmac.new(key, f"msg_{i}.{ts}.{body}".encode(), hashlib.sha256).digest()).decode()
            f.write(f"msg_{i}\t{ts}\tv1,{sig}\t{body}\n")


def render_vendors(bindir, args):
    """render-worker's submissions to an image vendor that answers at once (a C stub, so the
    simulator is not the limit), and webhook-receiver verifying and recording signed callbacks."""
    run_dir = os.path.join(ROOT, ".run", "bench-render")
    os.makedirs(run_dir, exist_ok=True)
    stub_port_file = os.path.join(run_dir, "stub.port")
    stub_bin = os.path.join(os.path.dirname(bindir), "tests", "reel-vendor-stub")
    if os.path.exists(stub_port_file):
        os.unlink(stub_port_file)
    stub = subprocess.Popen([stub_bin, stub_port_file])
    fleet = Fleet(bindir, 1, run_dir, int(os.environ.get("REEL_TEST_PORT_OFFSET", "200")))
    try:
        while not (os.path.exists(stub_port_file) and open(stub_port_file).read().strip()):
            time.sleep(0.05)
        stub_port = open(stub_port_file).read().strip()
        hook_port = 8081 + fleet.offset
        fleet.env.update(REEL_RENDER_PROVIDER="replicate", REPLICATE_BASE_URL=f"http://127.0.0.1:{stub_port}/v1",
                         REPLICATE_API_TOKEN="r8_bench", REPLICATE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                         REEL_PUBLIC_URL=f"http://127.0.0.1:{hook_port}", REEL_RENDER_CONCURRENCY="256",
                         REEL_RENDER_CALLBACK_TIMEOUT_S="3600")
        fleet.start()
        jobs = max(8, args.jobs // 4)
        post_jobs(fleet.port, jobs, threads=4)
        want = jobs * SHOTS
        deadline = time.time() + 300
        while time.time() < deadline and int(fleet.sql("SELECT count(*) FROM provider_tasks")[0][0]) < want:
            time.sleep(0.2)
        n, secs = fleet.sql("SELECT count(*), extract(epoch FROM max(created_at) - min(created_at)) FROM provider_tasks")[0]
        metric("render.submits_per_s", int(n) / max(float(secs or 0), 1e-3), "submits/s")
        callbacks = os.path.join(run_dir, "callbacks.tsv")
        seconds = 2 if args.smoke else 10
        signed_callbacks(callbacks, 2000 if args.smoke else 300000)
        before = int(fleet.sql("SELECT count(*) FROM webhook_receipts")[0][0])
        t0 = time.time()
        out = subprocess.run(["wrk", "-t2", "-c256", f"-d{seconds}s", "-s",
                              os.path.join(ROOT, "tests", "bench", "webhooks.lua"), f"http://127.0.0.1:{hook_port}",
                              "--", callbacks, "2"], capture_output=True, text=True).stdout
        elapsed = time.time() - t0
        took = [w for w in out.split() if w.endswith("s,") and w[:-2].replace(".", "").isdigit()]
        elapsed = float(took[0][:-2]) if took else elapsed  # wrk's own run time, without loading the file
        after = int(fleet.sql("SELECT count(*) FROM webhook_receipts")[0][0])
        print(out.strip())
        metric("webhooks.callbacks_per_s", (after - before) / elapsed, "callbacks/s")
    finally:
        fleet.stop()
        stub.terminate()
        stub.wait()


def versions():
    def cmd(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}")
    print(f"librdkafka {cmd('pkg-config', '--modversion', 'rdkafka')}, libpq {cmd('pkg-config', '--modversion', 'libpq')}, "
          f"{cmd('psql', '--version')}, libuv {cmd('pkg-config', '--modversion', 'libuv')}")
    print("settings: PostgreSQL fsync=on synchronous_commit=on; dev broker (librdkafka mock cluster), 12 partitions; "
          f"REEL_KAFKA_FETCH_WAIT_MS={os.environ.get('REEL_KAFKA_FETCH_WAIT_MS', '2')}; K={SHOTS} shots per job")


def table(results, args):
    print()
    print(f"{'system':<48} {'jobs/s':>9}  {'p50 / p99 at ' + str(args.rate) + ' jobs/s':<24} {'RSS per worker':>14}")
    for name, r in results:
        print(f"{name:<48} {r['jobs_per_s']:>9.1f}  {r['p50']:>6.1f} ms / {r['p99']:>6.1f} ms      "
              f"{r['worker_rss_mb']:>11.1f} MB")
    for name, jps, lat, rss in REFERENCE:
        print(f"{name:<48} {jps:>9}  {lat:<24} {rss:>14}")
    base = results[0][1]["jobs_per_s"]
    print(f"\nreelforge vs BullMQ: {base / 78:.1f}x the jobs/s; targets: >= 600 jobs/s, p50 < 15 ms, p99 < 40 ms, "
          "< 16 MB per worker")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--smoke", action="store_true", help="a few jobs; checks every metric line is printed")
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--rate", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3, help="throughput bursts per fleet; the median is reported")
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    if args.smoke:
        args.jobs, args.seconds, args.repeat = 24, 1, 1
    bindir = os.path.abspath(args.bin)
    versions()
    render_vendors(bindir, args)
    results = [("reelforge, 1 process per daemon", run(bindir, 1, args)),
               ("reelforge, 2 processes per worker", run(bindir, 2, args))]
    table(results, args)
    if args.smoke:
        expected = ["throughput.jobs_per_s", "throughput.shot_transitions_per_s", f"latency{args.rate}.e2e_p50_ms",
                    f"latency{args.rate}.e2e_p95_ms", f"latency{args.rate}.e2e_p99_ms"]
        expected += [f"latency{args.rate}.hop_{h}_p50_ms" for h in HOPS]
        expected += [f"memory.{d}.rss_max_kb" for d in DAEMONS]
        expected += ["x2." + e for e in expected] + ["render.submits_per_s", "webhooks.callbacks_per_s"]
        names = {m[0]: m[1] for m in metrics}
        missing = [e for e in expected if e not in names]
        bad = [e for e in expected if e in names and not (names[e] == names[e] and names[e] > 0)]
        passed = len(expected) - len(missing) - len(bad)
        print(f"bench smoke: {passed} passed, {len(missing) + len(bad)} failed")
        if missing or bad:
            print(f"missing: {missing} non-positive: {bad}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
