#!/usr/bin/env python3
"""End-to-end test of operations on a fleet of its own (.run/e2e-ops, two
processes per worker): every daemon's /metrics scraped before, during and
after real jobs and the counters compared with what the jobs did; one trace
id per job in every daemon's log lines; the dashboard views; reelctl
timeline, requeue and submit --wait; two render-workers sharing the render
partitions and a job finishing after one of them is killed. Also the
deployment files: compose and the Kubernetes manifests parse and name every
daemon, probe and variable the daemons' configuration tables hold (read from
their config log lines), and systemd-analyze verify accepts the units."""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_fleet as tf  # noqa: E402  (helpers: check, http, sql, fleet, submit, wait_done)

try:
    import yaml
except ImportError:  # the test fails below, saying so, rather than skipping
    yaml = None

tf.RUN = os.path.join(tf.ROOT, ".run", "e2e-ops")
RUN = tf.RUN
check = tf.check
DEPLOY = os.path.join(tf.ROOT, "deploy")
DAEMONS = {"api-gateway": 8080, "webhook-receiver": 8081, "parse-worker": 9101, "render-worker": 9102,
           "tts-worker": 9103, "merge-worker": 9104}
WORKERS = ["parse-worker", "render-worker", "tts-worker", "merge-worker"]
INSTANCES = 2
STORY = "\n\n".join(f"Scene {i}: the lighthouse keeper climbs the stairs and lights lamp number {i}."
                    for i in range(1, 11))


# ---- metrics ----

def instances():
    """(log name, address) of every daemon process of the fleet."""
    for d, port in DAEMONS.items():
        yield d, f"127.0.0.1:{port + tf.PORT_OFFSET}"
        if d in WORKERS:
            for i in range(1, INSTANCES):
                yield f"{d}.{i}", f"127.0.0.1:{port + tf.PORT_OFFSET + 10 * i}"


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(addr):
    """{(name, frozenset(labels)): value} of one daemon; None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{addr}/metrics", timeout=10) as r:
            ctype, text = r.headers.get("Content-Type", ""), r.read().decode()
    except OSError:
        return None
    out = {"__ctype__": ctype, "__types__": {}}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            out["__types__"][name] = kind
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if m:
            out[(m.group(1), frozenset(LABEL.findall(m.group(2) or "")))] = float(m.group(3))
    return out


def total(samples, name, **labels):
    want = set(labels.items())
    return sum(v for k, v in series(samples) if k[0] == name and want <= set(k[1]))


def series(samples):
    return [(k, v) for k, v in samples.items() if not isinstance(k, str)]


def scrape_all():
    return {name: scrape(addr) for name, addr in instances()}


def stage_total(snap, stage, name, **labels):
    return sum(total(snap[n], name, **labels) for n in snap
               if snap[n] and n.split(".")[0] == f"{stage}-worker")


def settled_group(stage, timeout=60):
    """A scrape once the stage's consumer group has settled: a group rebalances
    when a member joins or leaves (the dev broker waits a session timeout), so
    the partitions are counted once every one is assigned, or at the timeout."""
    deadline = time.time() + timeout
    while True:
        snap = scrape_all()
        if stage_total(snap, stage, "reel_consumer_partitions_assigned") == 12 or time.time() > deadline:
            return snap
        time.sleep(0.5)


def test_metrics_format(snap):
    for name, s in snap.items():
        if not check(f"metrics: {name} serves /metrics", s is not None):
            continue
        check(f"metrics: {name} answers Prometheus text", s["__ctype__"].startswith("text/plain"), s["__ctype__"])
        names = {k[0] for k, _ in series(s)}
        types = s["__types__"]
        bad = [n for n, t in types.items() if not n.startswith("reel_") or (t == "counter") != n.endswith("_total")
               or (t == "histogram" and not n.endswith("_seconds"))]
        check(f"metrics: {name} follows Prometheus naming (reel_, counters _total, histograms _seconds)",
              types and not bad, str(bad))
        check(f"metrics: {name} counts its HTTP requests by route and status",
              total(s, "reel_http_requests_total", route="/readyz", status="200") >= 1, str(names))


def test_metrics_moved(before, during, after, shots):
    gw_b, gw_a = before["api-gateway"], after["api-gateway"]
    check("metrics: the gateway counted the create (POST /v1/jobs 202)",
          total(gw_a, "reel_http_requests_total", route="/v1/jobs", method="POST", status="202") -
          total(gw_b, "reel_http_requests_total", route="/v1/jobs", method="POST", status="202") >= 1)
    check("metrics: the gateway's request latency histogram moved",
          total(gw_a, "reel_http_request_duration_seconds_count", route="/v1/jobs/{id}") >
          total(gw_b, "reel_http_request_duration_seconds_count", route="/v1/jobs/{id}"))
    want = {"parse": 1, "render": shots, "tts": shots, "merge": 1}
    for stage, n in want.items():
        for metric in ("reel_messages_consumed_total", "reel_messages_done_total", "reel_handler_duration_seconds_count"):
            moved = stage_total(after, stage, metric) - stage_total(before, stage, metric)
            check(f"metrics: {stage} {metric} rose by at least {n}", moved >= n, f"rose by {moved}")
        settled = settled_group(stage)
        check(f"metrics: {stage} workers hold all 12 partitions between them",
              stage_total(settled, stage, "reel_consumer_partitions_assigned") == 12,
              str(stage_total(settled, stage, "reel_consumer_partitions_assigned")))
        lag_series = [k for n in settled if n.startswith(f"{stage}-worker") and settled[n]
                      for k, _ in series(settled[n]) if k[0] == "reel_consumer_lag"]
        check(f"metrics: {stage} lag is reported per partition", len(lag_series) >= 12, str(len(lag_series)))
        check(f"metrics: {stage} in-flight gauge present",
              any(k[0] == "reel_messages_in_flight" for n in during if n.startswith(f"{stage}-worker") and during[n]
                  for k, _ in series(during[n])))
    produced = {t: sum(total(after[n], "reel_messages_produced_total", topic=f"reel.{t}") -
                       total(before[n], "reel_messages_produced_total", topic=f"reel.{t}") for n in after)
                for t in ("parse", "render", "tts", "merge", "events")}
    check("metrics: produced messages by topic rose as the job moved",
          produced["parse"] >= 1 and produced["render"] >= shots and produced["tts"] >= shots and
          produced["merge"] >= 1 and produced["events"] >= 2 * shots, str(produced))
    check("metrics: outbox depth reported by topic",
          ("reel_outbox_rows", frozenset({("topic", "reel.render")})) in after["render-worker"])


def test_provider_metrics(sim_port, before, after):
    """A job parsed by the openai provider against the simulator, which answers 500 once."""
    req = urllib.request.Request(f"http://127.0.0.1:{sim_port}/_sim/script", method="POST",
                                 data=json.dumps({"route": "openai", "answers": [{"kind": "error", "status": 500}]}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    job = tf.http("POST", "/v1/jobs", {"template": "storyboard", "input": {"text": STORY},
                                       "options": {"providers": {"parse": "openai"}, "max_shots": 3}})
    job_id = json.loads(job[2])["id"]
    done = tf.wait_done(job_id, 300)
    check("provider: the openai-parsed job is done", done.get("status") == "done", str(done)[:300])
    after.update(scrape_all())
    ok = sum(total(after[n], "reel_provider_requests_total", vendor="openai", status="200") -
             total(before[n], "reel_provider_requests_total", vendor="openai", status="200") for n in after)
    err = sum(total(after[n], "reel_provider_errors_total", vendor="openai", status="500") -
              total(before[n], "reel_provider_errors_total", vendor="openai", status="500") for n in after)
    lat = sum(total(after[n], "reel_provider_request_duration_seconds_count", vendor="openai") for n in after)
    retried = stage_total(after, "parse", "reel_messages_retried_total") - \
        stage_total(before, "parse", "reel_messages_retried_total")
    check("provider: vendor calls counted by vendor and status", ok >= 1, str(ok))
    check("provider: the 500 counted as an error by vendor and status", err == 1, str(err))
    check("provider: vendor latency histogram counted both calls", lat >= 2, str(lat))
    check("provider: the retry after the 500 counted", retried >= 1, str(retried))
    rows = tf.sql("SELECT provider, calls, errors FROM (SELECT provider, sum(calls) AS calls, sum(errors) AS errors "
                  "FROM reel_provider_usage GROUP BY provider) u")
    check("views: reel_provider_usage shows the calls and the error",
          any(p == "openai" and int(c) >= 2 and int(e) >= 1 for p, c, e in rows), str(rows))
    return job_id


# ---- logs, views, reelctl ----

def log_lines():
    """Every JSON log line of every daemon, with the file it came from."""
    for path in glob.glob(os.path.join(RUN, "logs", "*.log")):
        if os.path.basename(path) == "devbroker.log":
            continue
        for line in open(path, errors="replace"):
            try:
                yield os.path.basename(path)[:-4], json.loads(line)
            except ValueError:
                pass


def test_logs(job_id):
    trace = tf.sql(f"SELECT trace FROM jobs WHERE id = '{job_id}'")[0][0]
    lines = [(f, o) for f, o in log_lines() if o.get("job") == job_id]
    daemons = {o.get("daemon") for _, o in lines}
    check("logs: the job's lines come from the gateway and all four workers",
          {"api-gateway", "parse-worker", "render-worker", "tts-worker", "merge-worker"} <= daemons, str(daemons))
    check("logs: every line about the job carries its trace id", lines and all(o.get("trace") == trace for _, o in lines),
          str([o for _, o in lines if o.get("trace") != trace][:3]))
    required = {"time", "level", "daemon", "instance", "msg"}
    every = list(log_lines())
    check("logs: every line is a JSON object with time, level, daemon, instance, msg",
          every and all(required <= set(o) for _, o in every), str([o for _, o in every if not required <= set(o)][:2]))
    shot_lines = [o for _, o in lines if o.get("daemon") == "render-worker"]
    check("logs: render lines name their shot", shot_lines and all(isinstance(o.get("shot"), int) for o in shot_lines))


def test_views(job_id, shots):
    rows = tf.sql(f"SELECT stage, count(*) FROM reel_stage_durations WHERE job_id = '{job_id}' GROUP BY stage")
    got = {s: int(n) for s, n in rows}
    check("views: reel_stage_durations has every stage of the job",
          got == {"parse": 1, "render": shots, "tts": shots, "merge": 1, "total": 1}, str(got))
    lat = tf.sql("SELECT stage, n, p50_s, p95_s FROM reel_stage_latency WHERE stage = 'total'")
    check("views: reel_stage_latency has percentiles", lat and all(float(r[2]) <= float(r[3]) for r in lat), str(lat))
    by = {s for _, s, _ in tf.sql("SELECT minute, status, jobs FROM reel_jobs_by_status")}
    check("views: reel_jobs_by_status counts the statuses jobs entered",
          {"queued", "parsing", "producing", "merging", "done"} <= by, str(by))
    thr = tf.sql("SELECT sum(jobs_created), sum(jobs_done), sum(shots_ready) FROM reel_throughput")[0]
    check("views: reel_throughput counts created and finished jobs and ready shots",
          int(thr[0]) >= 1 and int(thr[1]) >= 1 and int(thr[2]) >= shots, str(thr))
    now = dict((s, int(n)) for s, n in tf.sql("SELECT status, jobs FROM reel_jobs_status_now"))
    check("views: reel_jobs_status_now counts done jobs", now.get("done", 0) >= 1, str(now))


def reelctl(bindir, *args, **kw):
    env = {**os.environ, **tf.fleet_env(), **kw.pop("env", {})}
    return subprocess.run([os.path.join(bindir, "reelctl"), *args], env=env, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 60))


def test_reelctl(bindir, job_id):
    for cmd in ("migrate", "mint-key", "revoke-key", "timeline", "requeue", "submit"):
        p = reelctl(bindir, cmd, "--help", env={"REEL_DATABASE_URL": ""})
        check(f"reelctl {cmd} --help explains it", p.returncode == 0 and p.stdout.startswith(f"usage: reelctl {cmd}"),
              p.stdout + p.stderr)
    p = reelctl(bindir, "timeline", job_id)
    kinds = re.findall(r"shot \S+\s+(\S+)", p.stdout)
    check("reelctl timeline prints the job's events in order", p.returncode == 0 and kinds[:3] ==
          ["queued", "parsing", "producing"] and kinds[-1] == "done", p.stdout[-500:] + p.stderr)
    p = reelctl(bindir, "timeline", "00000000-0000-0000-0000-000000000000")
    check("reelctl timeline of an unknown job fails, saying so", p.returncode == 1 and "no events" in p.stderr,
          p.stderr)
    story = os.path.join(RUN, "story.txt")
    open(story, "w").write(STORY)
    p = reelctl(bindir, "submit", story, "--wait", "--url", tf.GATEWAY, "--interval-ms", "200", timeout=400)
    check("reelctl submit --wait ends with the video's URL", p.returncode == 0 and
          "/v1/files/" in p.stdout.strip().splitlines()[-1], p.stdout + p.stderr[-500:])
    check("reelctl submit --wait draws a progress bar to 100%", "100%" in p.stderr and "[####" in p.stderr,
          p.stderr[-300:])
    p = reelctl(bindir, "submit", os.path.join(RUN, "missing.txt"), "--url", tf.GATEWAY)
    check("reelctl submit of a missing file fails, saying so", p.returncode == 2 and "cannot read" in p.stderr,
          p.stderr)


def test_requeue(bindir):
    """A job written without its outbox row is stuck; requeue announces it and it finishes."""
    job_id = tf.sql("INSERT INTO jobs (owner, template, input, trace, updated_at, created_at) "
                    "VALUES ('anonymous', 'storyboard', jsonb_build_object('text', 'A stuck story. It waits.'), "
                    "'stucktrace0001', now() - interval '1 hour', now() - interval '1 hour') RETURNING id")[0][0]
    stuck = [r[0] for r in tf.sql("SELECT id FROM reel_stuck_jobs")]
    check("views: reel_stuck_jobs lists the stuck job", job_id in stuck, str(stuck))
    p = reelctl(bindir, "requeue", "--dry-run")
    check("reelctl requeue --dry-run plans a parse message", p.returncode == 0 and "would send parse" in p.stdout and
          tf.sql(f"SELECT count(*) FROM outbox WHERE key = '{job_id}'")[0][0] == "0", p.stdout + p.stderr)
    p = reelctl(bindir, "requeue")
    check("reelctl requeue writes the outbox row", p.returncode == 0 and "1 message(s) queued" in p.stdout,
          p.stdout + p.stderr)
    done = tf.wait_done(job_id, 300)
    check("requeue: the stuck job is done after the relay published it", done.get("status") == "done",
          str(done)[:300])


# ---- two render-workers in one group ----

def test_render_pair(bindir):
    logs = {n: open(os.path.join(RUN, "logs", f"{n}.log")).read() for n in ("render-worker", "render-worker.1")}
    for n, text in logs.items():
        check(f"scale: {n} logged render work", "render: handled partition" in text, text[-300:])
    snap = {n: scrape(a) for n, a in instances() if n.startswith("render-worker")}
    parts = {n: total(s, "reel_consumer_partitions_assigned") for n, s in snap.items()}
    check("scale: the two render-workers share the 12 partitions",
          sum(parts.values()) == 12 and all(v >= 1 for v in parts.values()), str(parts))
    pid = int(open(os.path.join(RUN, "pids", "render-worker.1")).read())
    os.kill(pid, signal.SIGKILL)
    job_id = tf.submit(STORY)
    done = tf.wait_done(job_id, 300)
    check("scale: a job completes with one render-worker killed", done.get("status") == "done", str(done)[:300])
    survivor = scrape(dict(instances())["render-worker"])
    check("scale: the survivor took over every render partition",
          total(survivor, "reel_consumer_partitions_assigned") == 12,
          str(total(survivor, "reel_consumer_partitions_assigned")))


# ---- deployment files ----

def config_names():
    """{daemon: set of variables} from each daemon's "config:" log lines (its configuration tables)."""
    names = {}
    for f, o in log_lines():
        if o.get("msg", "").startswith("config: "):
            names.setdefault(o["daemon"], set()).update(re.findall(r"(?:^| )([A-Z][A-Z0-9_]+)=", o["msg"][8:]))
    return names


def env_file_names():
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", open(os.path.join(DEPLOY, "reelforge.env")).read(), re.M))


def source_getenv_names():
    names = set()
    for path in glob.glob(os.path.join(tf.ROOT, "*", "*.c")) + glob.glob(os.path.join(tf.ROOT, "*", "*", "*.c")):
        if "/tests/" in path or "/deploy/" in path:
            continue
        names.update(re.findall(r'getenv\("(REEL_[A-Z0-9_]+)"\)', open(path, errors="replace").read()))
    return names


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def test_compose(read):
    if not check("deploy: python3-yaml is installed (deploy/install-deps.sh)", yaml is not None):
        return
    c = yaml.safe_load(open(os.path.join(DEPLOY, "compose.yaml")))
    svc = c.get("services", {})
    for d, port in DAEMONS.items():
        s = svc.get(d)
        if not check(f"compose: service {d}", s is not None, str(list(svc))):
            continue
        check(f"compose: {d} runs its daemon", s.get("command") == [d], str(s.get("command")))
        check(f"compose: {d} reads reelforge.env", "reelforge.env" in s.get("env_file", []), str(s.get("env_file")))
        addr = s.get("environment", {}).get("REEL_HTTP_ADDR", "")
        check(f"compose: {d} listens on its documented port", addr and port_of(addr) == port, addr)
        check(f"compose: {d} health checks /readyz on that port",
              f"127.0.0.1:{port}/readyz" in " ".join(s.get("healthcheck", {}).get("test", [])))
        if d in WORKERS:
            check(f"compose: {d} runs replicas", s.get("deploy", {}).get("replicas", 1) >= 2)
        deps = s.get("depends_on", {})
        check(f"compose: {d} starts after the migrations and topics",
              deps.get("migrate", {}).get("condition") == "service_completed_successfully" and
              deps.get("kafka-init", {}).get("condition") == "service_completed_successfully", str(deps))
    kafka = svc.get("kafka", {}).get("environment", {})
    check("compose: Kafka runs in KRaft mode (broker and controller, no ZooKeeper)",
          "controller" in str(kafka.get("KAFKA_PROCESS_ROLES")) and "zookeeper" not in str(c).lower(), str(kafka))
    check("compose: PostgreSQL service", "postgres" in svc.get("postgres", {}).get("image", ""))
    init = svc.get("kafka-init", {})
    check("compose: topics are created by an init step", "kafka-topics.sh" in " ".join(init.get("command", [])))
    env = env_file_names()
    for daemon, names in read.items():
        missing = names - env
        check(f"reelforge.env names every variable {daemon} reads", not missing, str(sorted(missing)))
    known = set().union(*read.values()) | source_getenv_names()
    stale = {n for n in env if n.startswith("REEL_") and n not in known}
    check("reelforge.env names no REEL_ variable the daemons do not read", not stale, str(sorted(stale)))


def k8s_docs():
    docs = []
    for path in sorted(glob.glob(os.path.join(DEPLOY, "k8s", "*.yaml"))):
        docs += [d for d in yaml.safe_load_all(open(path)) if d]
    return docs


def test_k8s(read):
    if yaml is None:
        return
    docs = k8s_docs()
    kinds = lambda k: {d["metadata"]["name"]: d for d in docs if d.get("kind") == k}
    deps, scaled, cms = kinds("Deployment"), kinds("ScaledObject"), kinds("ConfigMap")
    config = set(cms.get("reelforge-config", {}).get("data", {})) | \
        set(kinds("Secret").get("reelforge-secrets", {}).get("stringData", {}))
    for d, port in DAEMONS.items():
        dep = deps.get(d)
        if not check(f"k8s: a Deployment for {d}", dep is not None, str(list(deps))):
            continue
        ctr = dep["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in ctr.get("env", [])}
        ports = {p["name"]: p["containerPort"] for p in ctr.get("ports", [])}
        check(f"k8s: {d} runs its daemon", ctr.get("args") == [d], str(ctr.get("args")))
        check(f"k8s: {d} listens on its documented port", port_of(env.get("REEL_HTTP_ADDR", ":0")) == port ==
              ports.get("http"), f"{env} {ports}")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            g = ctr.get(probe, {}).get("httpGet", {})
            check(f"k8s: {d} {probe} on {path}", g.get("path") == path and g.get("port") in ("http", port), str(g))
        refs = {next(iter(r.values()))["name"] for r in ctr.get("envFrom", [])}
        check(f"k8s: {d} reads the ConfigMap and the Secret", {"reelforge-config", "reelforge-secrets"} <= refs)
        missing = read.get(d, set()) - config - set(env)
        check(f"k8s: the manifests name every variable {d} reads", not missing, str(sorted(missing)))
        if d in WORKERS:
            stage = d.split("-")[0]
            so = scaled.get(d, {})
            trig = (so.get("spec", {}).get("triggers") or [{}])[0]
            meta = trig.get("metadata", {})
            check(f"k8s: a KEDA ScaledObject scales {d} on group reel-{stage}'s lag",
                  so.get("spec", {}).get("scaleTargetRef", {}).get("name") == d and trig.get("type") == "kafka" and
                  meta.get("consumerGroup") == f"reel-{stage}" and meta.get("topic") == f"reel.{stage}" and
                  int(meta.get("lagThreshold", 0)) > 0, str(so)[:300])
    jobs = kinds("Job")
    job = next(iter(jobs.values()), {})
    spec = job.get("spec", {}).get("template", {}).get("spec", {})
    steps = spec.get("initContainers", []) + spec.get("containers", [])
    check("k8s: a Job migrates the database and creates the topics",
          any(c.get("args") == ["migrate"] for c in steps) and
          any("kafka-topics.sh" in " ".join(c.get("command", [])) for c in steps), str(steps)[:300])
    script = cms.get("reelforge-kafka-topics", {}).get("data", {}).get("kafka-topics.sh")
    check("k8s: the Job's topic script is deploy/kafka-topics.sh",
          script == open(os.path.join(DEPLOY, "kafka-topics.sh")).read())


def test_dockerfile():
    text = open(os.path.join(DEPLOY, "Dockerfile")).read()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    check("docker: multi-stage, Debian slim runtime", len(froms) >= 2 and froms[-1].startswith("debian:") and
          "slim" in froms[-1], str(froms))
    entry = open(os.path.join(DEPLOY, "docker-entrypoint.sh")).read()
    check("docker: the entry point runs every daemon by name", all(d in entry for d in DAEMONS))
    dash = json.load(open(os.path.join(DEPLOY, "dashboards", "reelforge.json")))
    text = json.dumps(dash)
    views = set(re.findall(r"CREATE VIEW (\w+)", open(os.path.join(DEPLOY, "migrations", "010_dashboards.sql")).read()))
    used = {v for v in views if v in text}
    check("grafana: the dashboard reads the views", used >= views - {"reel_stage_durations"}, str(views - used))
    check("grafana: the dashboard reads the Prometheus metrics",
          all(m in text for m in ("reel_messages_consumed_total", "reel_consumer_lag", "reel_provider_errors_total",
                                  "reel_handler_duration_seconds_bucket", "reel_http_requests_total")))


def test_systemd(bindir):
    tool = shutil.which("systemd-analyze")
    if not check("systemd: systemd-analyze is installed (deploy/install-deps.sh installs systemd)", tool):
        return
    # The units name /opt/reelforge; verify them against this build's tree
    # (bin/ beside lib/ and share/), which also checks every ExecStart exists.
    prefix = os.path.dirname(bindir)
    with tempfile.TemporaryDirectory() as tmp:
        for path in glob.glob(os.path.join(DEPLOY, "systemd", "*")):
            text = open(path).read().replace("/opt/reelforge", prefix)
            open(os.path.join(tmp, os.path.basename(path)), "w").write(text)
        units = ["api-gateway.service", "webhook-receiver.service", "reelforge-migrate.service", "reelforge.target"]
        units += [f"{w}@{i}.service" for w in WORKERS for i in (0, 3)]
        p = subprocess.run([tool, "verify", "--man=no", *units], cwd=tmp, capture_output=True, text=True)
        check("systemd: systemd-analyze verify accepts every unit (render-worker@3 included)",
              p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), p.stdout + p.stderr)
    # What ExecStart runs for instance 3, with systemd's %i and $$ applied and exec shown instead of run.
    unit = open(os.path.join(DEPLOY, "systemd", "render-worker@.service")).read()
    m = re.search(r"^ExecStart=/bin/sh -c '(.*)'$", unit, re.M)
    shell = m.group(1).replace("%i", "3").replace("$$", "$") if m else ""
    runs = shell.endswith("exec /opt/reelforge/bin/render-worker")
    shell = shell.replace("exec /opt/reelforge/bin/render-worker", "printenv REEL_HTTP_ADDR")
    out = subprocess.run(["/bin/sh", "-c", shell], capture_output=True, text=True).stdout if m else ""
    check("systemd: render-worker@3, the fourth instance, runs render-worker on 9102 + 30",
          runs and out.strip() == "127.0.0.1:9132", out + unit)


def start_sim():
    port_file = os.path.join(RUN, "sim.port")
    proc = subprocess.Popen([sys.executable, os.path.join(tf.ROOT, "tests", "sim", "sim.py"), "--port-file", port_file],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(RUN, "sim.log"), "w"))
    for _ in range(100):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return proc, int(open(port_file).read())
        time.sleep(0.1)
    raise RuntimeError("the vendor simulator did not start")


def run_pipeline(bindir):
    before = scrape_all()
    job_id = tf.submit(STORY)
    during, deadline = {}, time.time() + 300
    while time.time() < deadline:  # a scrape while the job moves
        during = scrape_all()
        status = tf.sql(f"SELECT status FROM jobs WHERE id = '{job_id}'")[0][0]
        if status in ("producing", "merging", "done", "failed"):
            break
        time.sleep(0.2)
    done = tf.wait_done(job_id, 300)
    if not check("pipeline: the job is done", done.get("status") == "done", str(done)[:300]):
        return job_id, 0
    shots = int(tf.sql(f"SELECT shots_total FROM jobs WHERE id = '{job_id}'")[0][0])
    time.sleep(1)  # offsets stored, outbox rows deleted
    after = scrape_all()
    test_metrics_format(after)
    test_metrics_moved(before, during, after, shots)
    test_logs(job_id)
    test_views(job_id, shots)
    return job_id, shots


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.fresh_run(bindir)
    sim, sim_port = start_sim()
    # Debug logs for the daemons, not the dev broker: it would trace every fetch (GBs, a core).
    os.environ.update(REEL_WORKER_INSTANCES=str(INSTANCES), REEL_LOG_LEVEL="debug", REEL_DEVBROKER_LOG_LEVEL="info",
                      OPENAI_BASE_URL=f"http://127.0.0.1:{sim_port}/v1", OPENAI_API_KEY="sk-ops-test")
    # The reconciler would re-announce the stuck job test_requeue writes before
    # reelctl does (its own test is test_reliability.py): give it nothing due here.
    os.environ.update({f"REEL_{stage}_DEADLINE_S": "86400" for stage in ("PARSE", "RENDER", "TTS", "MERGE")})
    test_dockerfile()
    test_systemd(bindir)
    started = False
    try:
        tf.fleet("start", bindir)
        started = True
        read = config_names()
        check("config: every daemon logged its configuration", set(read) == set(DAEMONS), str(sorted(read)))
        test_compose(read)
        test_k8s(read)
        job_id, _ = run_pipeline(bindir)
        before = scrape_all()
        test_provider_metrics(sim_port, before, {})
        test_reelctl(bindir, job_id)
        test_requeue(bindir)
        test_render_pair(bindir)
    finally:
        if started or os.path.exists(os.path.join(RUN, "pids")):
            tf.fleet("stop", bindir)
        sim.terminate()
        sim.wait()
    return tf.summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
