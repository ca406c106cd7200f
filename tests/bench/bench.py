#!/usr/bin/env python3
"""make bench: measures the fleet itself on the workload of the benchmark
issue. A job enters reel.parse, fans out into 8 shots that each go render ->
tts, fans in to merge, and is done; the offline providers answer at once
(REEL_OFFLINE_SKIP_MEDIA=1), PostgreSQL runs with fsync and synchronous
commit on. Runs once with one process per daemon and once with two per
worker, and prints `metric name=value unit` lines and a table; then a fleet
with real media on file:// and on s3:// storage (bench_storage.py); and the
one-process fleet's throughput with billing off and on (REEL_BILLING_FILE,
every result captured), measured one after the other in the same run. Asserts no
timings; --smoke runs a few jobs and checks that every metric line appears
(it leaves out the storage comparison, which takes minutes)."""
import argparse
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
import simctl  # noqa: E402  (the provider simulator, for the parse concurrency figure)
import bench_storage  # noqa: E402
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
    def __init__(self, bindir, instances, run_dir, offset, extra_env=None):
        self.bindir, self.instances, self.run, self.offset = bindir, instances, run_dir, offset
        self.env = dict(os.environ, **(extra_env or {}), REEL_RUN_DIR=run_dir, REEL_PORT_OFFSET=str(offset), REEL_PG_PORT=os.environ.get("REEL_TEST_PG_PORT", "54529"),
                        REEL_WORKER_INSTANCES=str(instances), REEL_OFFLINE_SKIP_MEDIA="1",
                        REEL_LOG_LEVEL="warn", REEL_RATE_LIMIT_RPS="0", REEL_MAX_JOBS_IN_FLIGHT="0")
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


def post_jobs(port, count, threads, rate=None, job=None):
    """Submits count jobs (the bench's storyboard, or job); at a steady rate (jobs/s) from one thread,
    or as fast as threads allow."""
    body = json.dumps(job or {"template": "storyboard", "input": {"text": STORY}})
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


def parse_concurrency(fleet, bindir, jobs=64, delay_ms=2000):
    """One parse-worker against a simulated LLM that takes delay_ms per call:
    seconds from the first submit until every job has left parsing."""
    sim = simctl.Sim(fleet.run)
    try:
        for name, pid in fleet.pids().items():
            if name.startswith("parse-worker"):
                os.kill(pid, signal.SIGTERM)
                while True:
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.05)
        env = dict(fleet.env, **sim.env(), REEL_PARSE_PROVIDER="openai", OPENAI_API_KEY="sk-bench",
                   REEL_HTTP_ADDR="127.0.0.1:0")
        log = open(os.path.join(fleet.run, "logs", "parse-worker-llm.log"), "w")
        p = subprocess.Popen([os.path.join(bindir, "parse-worker")], env=env, stdout=log, stderr=subprocess.STDOUT)
        with open(os.path.join(fleet.run, "pids", "parse-worker"), "w") as f:
            f.write(str(p.pid))  # fleet.stop() stops it with the rest
        t0 = time.time()
        post_jobs(fleet.port, 1, threads=1)  # warm up: the consumer group assigned
        wait_done(fleet, t0 - 1, 1, timeout=120)
        sim.reset(openai={"default": {"kind": "storyboard", "delay_ms": delay_ms}})
        t0 = time.time()
        post_jobs(fleet.port, jobs, threads=8)
        deadline = t0 + 120
        while time.time() < deadline:
            rows = fleet.sql(f"SELECT count(*) FILTER (WHERE status IN ('queued', 'parsing')), count(*) FROM jobs "
                             f"WHERE created_at >= to_timestamp({t0 - 0.5})")
            if rows[0][0] == "0" and int(rows[0][1]) >= jobs:
                break
            time.sleep(0.05)
        elapsed = time.time() - t0
        info = sim.requests()
        print(f"parse: {jobs} jobs, simulated LLM {delay_ms} ms per call, {len(info['requests'])} calls, "
              f"at most {info['max_in_flight']} in flight")
        metric(f"parse.llm_{delay_ms // 1000}s_{jobs}_jobs_s", elapsed, "s")
        wait_done(fleet, t0 - 1, jobs, timeout=300)
    finally:
        sim.stop()
def wrk(url, seconds, script=None):
    """Runs wrk with 64 keep-alive connections: (requests/s, p99 ms, non-2xx answers)."""
    cmd = ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency"] + (["-s", script] if script else []) + [url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(bad.group(1)) if bad else 0


def open_streams(port, path, count):
    """Opens count SSE streams on path (in batches, so the listen backlog holds) and
    returns their sockets once every one has its answer's head."""
    socks, request = [], f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n".encode()
    for start in range(0, count, 500):
        batch = []
        for _ in range(min(500, count - start)):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(request)
            batch.append(s)
        for s in batch:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    raise SystemExit("an event stream was closed while opening")
                head += chunk
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"event stream refused: {head[:80]!r}")
        socks += batch
    return socks


def gateway_bench(fleet, args):
    """The gateway alone (one process): GET /v1/jobs/{id} and POST /v1/jobs under wrk with
    64 keep-alive connections, and its resident memory holding many open event streams."""
    seconds = 2 if args.smoke else 10
    streams = 500 if args.smoke else 10000
    base = f"http://127.0.0.1:{fleet.port}"
    job = fleet.sql("SELECT id FROM jobs WHERE status = 'done' LIMIT 1")[0][0]
    rps, p99, bad = wrk(f"{base}/v1/jobs/{job}", seconds)
    if bad:
        raise SystemExit(f"GET /v1/jobs/{{id}}: {bad} answers were not 2xx")
    metric("gateway.get_rps", rps, "requests/s")
    metric("gateway.get_p99_ms", p99, "ms")
    script = os.path.join(fleet.run, "post.lua")
    with open(script, "w") as f:
        body = json.dumps({"template": "storyboard", "input": {"text": STORY}})
        f.write(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = {json.dumps(body)}\n')
    rps, _, bad = wrk(f"{base}/v1/jobs", seconds, script)
    if bad:
        raise SystemExit(f"POST /v1/jobs: {bad} answers were not 202")
    metric("gateway.post_jobs_per_s", rps, "jobs/s")
    # A job nobody works on keeps its streams open; the stalled rows do not disturb the other figures.
    stalled = fleet.sql("INSERT INTO jobs (owner, template, input, trace, status) VALUES ('anonymous', 'storyboard', "
                        "'{\"text\":\"x\"}', 'bench', 'producing') RETURNING id")[0][0]
    socks = open_streams(fleet.port, f"/v1/jobs/{stalled}/events", streams)
    time.sleep(1)
    rss = fleet.memory("VmRSS").get("api-gateway", 0)
    metric("gateway.sse_10k_rss_kb", rss, "kB")
    print(f"(gateway resident memory with {len(socks)} open event streams)")
    for s in socks:
        s.close()


def warm_fleet(bindir, instances, extra_env=None, prepare=None):
    """A started fleet that has finished a few jobs: consumer groups assigned, statements prepared.
    prepare(fleet), when given, runs before the first job."""
    fleet = Fleet(bindir, instances, os.path.join(ROOT, ".run", f"bench-{instances}"),
                  int(os.environ.get("REEL_TEST_PORT_OFFSET", "200")), extra_env)
    fleet.start()
    try:
        if prepare:
            prepare(fleet)
        post_jobs(fleet.port, 16, threads=4)
        wait_done(fleet, 0, 16, timeout=120)
        time.sleep(0.5)
    except BaseException:
        fleet.stop()
        raise
    return fleet


def run(bindir, instances, args):
    label = "" if instances == 1 else f"x{instances}."
    fleet = warm_fleet(bindir, instances)
    try:
        idle = fleet.memory("VmRSS")
        jobs_per_s = throughput(fleet, args.jobs, label, args.repeat)
        peak = fleet.memory("VmHWM")
        p50, p99 = latency(fleet, args.rate, args.seconds, label)
        for d in DAEMONS:
            metric(f"{label}memory.{d}.rss_idle_kb", idle.get(d, 0), "kB")
            metric(f"{label}memory.{d}.rss_max_kb", peak.get(d, 0), "kB")
        worst = max(peak.get(d, 0) for d in DAEMONS if d.endswith("-worker"))
        if instances == 1:
            parse_concurrency(fleet, bindir)
            gateway_bench(fleet, args)
        return {"jobs_per_s": jobs_per_s, "p50": p50, "p99": p99, "worker_rss_mb": worst / 1024}
    finally:
        fleet.stop()


# Billing on: every stage priced, so every kept result is captured in its
# store transaction and the workers read what a job may spend in their claims.
BILLING = {"prices": {"parse": {"*": 1}, "render": {"*": 2}, "i2v": {"*": 10}, "tts": {"*": 1}, "merge": {"*": 1}},
           "plans": {"free": {}}}


def grant_credits(fleet):
    """Credits for the whole run: the gateway reserves each job's estimate from them."""
    fleet.sql("SELECT reel_credit('anonymous', 'grant', 1000000000000, NULL, 'bench')")


def billing_bench(bindir, args):
    """The one-process fleet's throughput with billing off, then on, in this run."""
    path = os.path.join(ROOT, ".run", "bench-billing.json")
    with open(path, "w") as f:
        json.dump(BILLING, f)
    figures = {}
    for label, extra, prepare in (("off", None, None), ("on", {"REEL_BILLING_FILE": path}, grant_credits)):
        fleet = warm_fleet(bindir, 1, extra, prepare)
        try:
            figures[label] = throughput(fleet, args.jobs, f"billing.{label}.", args.repeat)
            if label == "on":
                captured = int(fleet.sql("SELECT count(*) FROM credit_ledger WHERE kind = 'capture'")[0][0])
                print(f"billing on: {captured} captures recorded")
        finally:
            fleet.stop()
    metric("billing.on_vs_off", figures["on"] / figures["off"], "")


def merge_bench(bindir, smoke):
    """The merge stage alone: a 10-shot, 1080x1920, 40 s job of stills and narration through our assembler
    (reel-assemble) and through the ffmpeg program running the same graph (Lanczos cover scale, a zoom per
    shot, concatenation, loudness normalisation) with the same encoder settings; then a re-merge after one
    shot's image changed, which reuses the other shots' cached segments."""
    shots, (w, h), ms = (3, (360, 640), 1000) if smoke else (10, (1080, 1920), 4000)
    work = os.path.join(ROOT, ".run", "bench-merge")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "cache"))

    def ff(*args):
        subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)

    def image(k, hue):
        ff("-f", "lavfi", "-i", f"testsrc2=s={w}x{h}", "-frames:v", "1", "-vf", f"hue=h={hue}",
           os.path.join(work, f"img{k}.jpg"))

    for k in range(shots):
        image(k, 36 * k)
        ff("-f", "lavfi", "-i", f"sine=f={200 + 50 * k}:r=22050:d={ms / 1000 - 0.1}", os.path.join(work, f"voice{k}.wav"))
    args = [f"{os.path.join(work, f'img{k}.jpg')}:{os.path.join(work, f'voice{k}.wav')}:{ms}" for k in range(shots)]
    env = dict(os.environ, REEL_MERGE_PRESET="veryfast", REEL_MERGE_CRF="23")

    def timed(cmd, **kw):
        """Wall and CPU seconds (all threads) of a child: the CPU figure is fair on a shared machine."""
        before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.time() - t0, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, out

    def ours():
        wall, cpu, out = timed([os.path.join(bindir, "reel-assemble"), os.path.join(work, "ours.mp4"), f"{w}x{h}",
                                os.path.join(work, "cache"), *args], env=env)
        return wall, cpu, json.loads(out)

    ours_s, ours_cpu, first = ours()
    n = ms * 25 // 1000
    graph = []
    for k in range(shots):
        graph.append(f"[{2 * k}:v]scale={round(w * 1.15) // 2 * 2}:{round(h * 1.15) // 2 * 2}:flags=lanczos,"
                     f"zoompan=z='pow(1.15,on/{n - 1})':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s={w}x{h}:fps=25,"
                     f"setsar=1[v{k}]")
        graph.append(f"[{2 * k + 1}:a]aresample=48000,apad,atrim=0:{ms / 1000}[a{k}]")
    graph.append("".join(f"[v{k}]" for k in range(shots)) + f"concat=n={shots}:v=1:a=0[v]")
    graph.append("".join(f"[a{k}]" for k in range(shots)) + f"concat=n={shots}:v=0:a=1,"
                 "loudnorm=I=-14:TP=-1,aresample=48000[a]")
    inputs = []
    for k in range(shots):
        inputs += ["-loop", "1", "-framerate", "25", "-t", str(ms / 1000), "-i", os.path.join(work, f"img{k}.jpg"),
                   "-i", os.path.join(work, f"voice{k}.wav")]
    ffmpeg_s, ffmpeg_cpu, _ = timed(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", ";".join(graph),
                                     "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast",
                                     "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
                                     "-movflags", "+faststart", os.path.join(work, "ffmpeg.mp4")])
    image(shots // 2, 200)  # one shot regenerated
    remerge_s, remerge_cpu, again = ours()
    print(f"merge: {shots} shots {w}x{h}, {shots * ms / 1000:.0f} s; first encoded {first['encoded']} segments, "
          f"re-merge encoded {again['encoded']} and reused {again['reused']}")
    metric("merge.ours_s", ours_s, "s")
    metric("merge.ffmpeg_s", ffmpeg_s, "s")
    metric("merge.ratio", ours_s / ffmpeg_s, "")
    metric("merge.remerge_ratio", remerge_s / ours_s, "")
    metric("merge.ours_cpu_s", ours_cpu, "s")
    metric("merge.ffmpeg_cpu_s", ffmpeg_cpu, "s")
    metric("merge.cpu_ratio", ours_cpu / ffmpeg_cpu, "")
    metric("merge.remerge_cpu_ratio", remerge_cpu / ours_cpu, "")
    print("merge targets: ratio <= 1.0 (ours / the ffmpeg program), remerge_ratio <= 0.25; the cpu_ figures count "
          "the CPU time of all threads, which other load on the machine does not inflate")
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
    ap.add_argument("--only", choices=["gateway", "merge", "storage", "billing"],
                    help="run one part alone: the gateway's figures, the merge (no fleet), file vs S3 storage, "
                         "or the throughput with billing off and on")
    ap.add_argument("--storage-jobs", type=int, default=4, help="jobs with media per storage in the file vs S3 figures")
    args = ap.parse_args()
    if args.only == "merge":
        merge_bench(os.path.abspath(args.bin), args.smoke)
        return 0
    if args.smoke:
        args.jobs, args.seconds, args.repeat = 24, 1, 1
    bindir = os.path.abspath(args.bin)
    # 10,000 event streams need as many descriptors in the gateway (which inherits this) and here.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    versions()
    if args.only == "storage":
        bench_storage.run(sys.modules[__name__], bindir, args.storage_jobs)
        return 0
    if args.only == "billing":
        billing_bench(bindir, args)
        return 0
    if args.only == "gateway":
        fleet = warm_fleet(bindir, 1)
        try:
            gateway_bench(fleet, args)
        finally:
            fleet.stop()
        return 0
    render_vendors(bindir, args)
    results = [("reelforge, 1 process per daemon", run(bindir, 1, args)),
               ("reelforge, 2 processes per worker", run(bindir, 2, args))]
    table(results, args)
    billing_bench(bindir, args)
    merge_bench(bindir, args.smoke)
    if args.smoke:
        print("storage: the file vs S3 figures are left out of --smoke (an S3 server and two fleets with media "
              "take minutes); make bench and bench.py --only storage print them")
    else:
        bench_storage.run(sys.modules[__name__], bindir, args.storage_jobs)
    if args.smoke:
        expected = ["throughput.jobs_per_s", "throughput.shot_transitions_per_s", f"latency{args.rate}.e2e_p50_ms",
                    f"latency{args.rate}.e2e_p95_ms", f"latency{args.rate}.e2e_p99_ms"]
        expected += [f"latency{args.rate}.hop_{h}_p50_ms" for h in HOPS]
        expected += [f"memory.{d}.rss_max_kb" for d in DAEMONS]
        expected += ["x2." + e for e in expected]
        expected.append("parse.llm_2s_64_jobs_s")
        expected += ["gateway.get_rps", "gateway.get_p99_ms", "gateway.post_jobs_per_s", "gateway.sse_10k_rss_kb"]
        expected += ["merge.ours_s", "merge.ffmpeg_s", "merge.ratio", "merge.remerge_ratio", "merge.ours_cpu_s",
                     "merge.ffmpeg_cpu_s", "merge.cpu_ratio", "merge.remerge_cpu_ratio"]
        expected += ["render.submits_per_s", "webhooks.callbacks_per_s"]
        expected += [f"billing.{b}.throughput.jobs_per_s" for b in ("off", "on")] + ["billing.on_vs_off"]
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
