#!/usr/bin/env python3
"""End-to-end test of the whole fleet on the embedded default.

Starts PostgreSQL, the dev broker and the six daemons as separate processes
(deploy/fleet.sh, on shifted ports so it can run beside a demo), sends bad
requests and checks the problems and that nothing was written, submits an
English and a Chinese story, waits for both to be done, probes each MP4 with
ffprobe, reads job_events for the order of stages, and stops the fleet,
failing on any sanitizer report a daemon left behind."""
import argparse
import base64
import glob
import hashlib
import hmac
import json
import os
import signal
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, ".run", "e2e")
# REEL_TEST_PORT_OFFSET / REEL_TEST_PG_PORT let two checkouts test side by side.
PORT_OFFSET = int(os.environ.get("REEL_TEST_PORT_OFFSET", "100"))
PG_PORT = os.environ.get("REEL_TEST_PG_PORT", "54429")
GATEWAY = f"http://127.0.0.1:{8080 + PORT_OFFSET}"

ENGLISH = """The old fox lived at the edge of a quiet forest. Every morning he walked to the river to watch the fish.

One day a young rabbit followed him. They sat together on the warm stones and counted the clouds."""

CHINESE = """小镇的清晨总是很安静。面包店的灯第一个亮起来！

老奶奶推开窗户，向路过的孩子们招手。孩子们笑着跑向学校。"""

results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok)))
    detail = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
    print(f"{'PASS' if ok else 'FAIL'}: {name}{(' — ' + detail) if detail and not ok else ''}", flush=True)
    return ok


def http(method, path, body=None, raw=None, headers=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(GATEWAY + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def sql(query):
    env_db = fleet_env()["REEL_DATABASE_URL"]
    out = subprocess.run(["psql", env_db, "-qtAX", "-F", "\t", "-c", query], check=True,
                         capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


_env = {}


def fleet_env():
    if not _env:
        for line in open(os.path.join(RUN, "env")):
            k, v = line.replace("export ", "").strip().split("=", 1)
            _env[k] = v.strip("'")
    return _env


def fleet(cmd, bindir):
    env = dict(os.environ, REEL_RUN_DIR=RUN, REEL_PORT_OFFSET=str(PORT_OFFSET), REEL_PG_PORT=PG_PORT,
               ASAN_OPTIONS=f"log_path={RUN}/sanitizer:detect_leaks=1",
               UBSAN_OPTIONS=f"log_path={RUN}/sanitizer:print_stacktrace=1")
    args = [os.path.join(ROOT, "deploy", "fleet.sh"), cmd] + ([bindir] if cmd == "start" else [])
    subprocess.run(args, check=True, env=env)


def test_bad_inputs():
    before = sql("SELECT count(*) FROM jobs")[0][0]
    cases = [
        ("invalid JSON", b'{"template":', 400, None),
        ("missing text", json.dumps({"template": "storyboard", "input": {}}).encode(), 422, "input.text"),
        ("empty text", json.dumps({"template": "storyboard", "input": {"text": "  \n "}}).encode(), 422,
         "input.text"),
        ("text over 100 KB", json.dumps({"template": "storyboard",
                                         "input": {"text": "word " * 21000}}).encode(), 413, "input.text"),
        ("unknown template", json.dumps({"template": "opera", "input": {"text": "Hi."}}).encode(), 422,
         "template"),
    ]
    for name, raw, status, field in cases:
        code, ctype, body = http("POST", "/v1/jobs", raw=raw)
        problem = json.loads(body) if body else {}
        check(f"bad input '{name}' answers {status}", code == status, f"got {code} {body[:200]!r}")
        check(f"bad input '{name}' is problem+json", ctype.startswith("application/problem+json"), ctype)
        check(f"bad input '{name}' problem has status and title",
              problem.get("status") == status and problem.get("title"), str(problem))
        if field:
            check(f"bad input '{name}' names field {field}", problem.get("field") == field, str(problem))
    after = sql("SELECT count(*) FROM jobs")[0][0]
    check("bad inputs wrote no job rows", before == after, f"{before} -> {after}")
    check("bad inputs wrote no outbox rows", sql("SELECT count(*) FROM outbox")[0][0] == "0")


def stop_fleet_daemon(name):
    """SIGTERMs a daemon the fleet started and waits (up to 30 s) until it is gone."""
    pid_file = os.path.join(RUN, "pids", name)
    pid = int(open(pid_file).read())
    os.kill(pid, signal.SIGTERM)
    for _ in range(300):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    os.remove(pid_file)


def run_daemon(bindir, name, **env):
    """Runs a daemon that is expected to refuse to start; returns (exit code, stderr)."""
    full = {**os.environ, **fleet_env(), "REEL_HTTP_ADDR": "127.0.0.1:0", **env}
    try:
        p = subprocess.run([os.path.join(bindir, name)], env=full, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None, "still running after 60 s"
    return p.returncode, p.stderr


def test_refusals(bindir):
    code, err = run_daemon(bindir, "parse-worker", REEL_PARSE_CONCURRENCY="lots")
    check("a bad value stops a daemon, naming the variable", code == 2 and "REEL_PARSE_CONCURRENCY" in err,
          f"{code} {err[-300:]}")
    code, err = run_daemon(bindir, "render-worker", REEL_RENDER_PROVIDER="nope")
    check("an unknown provider stops a daemon, naming the variable", code == 2 and "REEL_RENDER_PROVIDER" in err,
          f"{code} {err[-300:]}")
    sql("DROP DATABASE IF EXISTS reelforge_unmigrated")
    sql("CREATE DATABASE reelforge_unmigrated")
    empty = fleet_env()["REEL_DATABASE_URL"].rsplit("/", 1)[0] + "/reelforge_unmigrated"
    code, err = run_daemon(bindir, "tts-worker", REEL_DATABASE_URL=empty)
    check("a daemon refuses a database without the schema, saying so", code == 2 and "schema" in err,
          f"{code} {err[-300:]}")


def submit(text):
    code, _, body = http("POST", "/v1/jobs", {"template": "storyboard", "input": {"text": text}})
    job = json.loads(body)
    check("create answers 202 with a job id", code == 202 and job.get("id"), body[:200])
    check("a new job is queued", job.get("status") == "queued", str(job.get("status")))
    return job["id"]


def wait_done(job_id, timeout):
    deadline = time.time() + timeout
    job = {}
    while time.time() < deadline:
        _, _, body = http("GET", f"/v1/jobs/{job_id}")
        job = json.loads(body)
        if job["status"] in ("done", "failed", "paused", "canceled"):
            break
        time.sleep(0.5)
    return job


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def check_video(label, job):
    path = job["output"]["video_path"]
    check(f"{label}: MP4 exists", os.path.isfile(path), path)
    info = probe(path)
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    check(f"{label}: one H.264 video stream", len(video) == 1 and video[0]["codec_name"] == "h264", str(video))
    check(f"{label}: 1080x1920", video and video[0]["width"] == 1080 and video[0]["height"] == 1920)
    check(f"{label}: one AAC audio stream", len(audio) == 1 and audio[0]["codec_name"] == "aac", str(audio))
    rows = sql(f"SELECT coalesce(sum(duration_ms), 0), count(*), count(duration_ms) FROM shots "
               f"WHERE job_id = '{job['id']}'")
    narration_ms, n_shots, n_measured = (int(x) for x in rows[0])
    duration_ms = float(info["format"]["duration"]) * 1000
    check(f"{label}: every shot has a measured narration", n_shots > 0 and n_measured == n_shots,
          f"{n_measured}/{n_shots}")
    check(f"{label}: duration {duration_ms:.0f} ms within 10% of narration {narration_ms} ms",
          narration_ms > 0 and abs(duration_ms - narration_ms) <= 0.1 * narration_ms)
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    moov, mdat = head.find(b"moov"), head.find(b"mdat")
    check(f"{label}: faststart (moov before mdat)", 0 <= moov and (mdat < 0 or moov < mdat), f"{moov} {mdat}")


def check_downloads(label, job):
    url = job["output"]["video_url"]
    size = os.path.getsize(job["output"]["video_path"])
    code, ctype, body = http("GET", url, headers={"Range": "bytes=0-99"})
    check(f"{label}: signed video URL answers a range", code == 206 and len(body) == 100 and ctype == "video/mp4",
          f"{code} {ctype} {len(body)}")
    with open(job["output"]["video_path"], "rb") as f:
        check(f"{label}: the range holds the file's first bytes", body == f.read(100))
    code, _, body = http("GET", url, headers={"Range": f"bytes={size - 10}-"})
    check(f"{label}: an open range reaches the end", code == 206 and len(body) == 10, f"{code} {len(body)}")
    code, ctype, body = http("GET", job["shots"][0]["image_url"])
    check(f"{label}: signed keyframe URL answers the JPEG", code == 200 and body[:3] == b"\xff\xd8\xff", str(code))
    tampered = url.replace("sig=", "sig=0") if "sig=" in url else url
    code, ctype, _ = http("GET", tampered)
    check(f"{label}: a tampered signature is refused", code == 403 and "problem+json" in ctype, str(code))
    code, _, _ = http("GET", "/v1/files/../../../etc/passwd" + url[url.index("?"):])
    check(f"{label}: a path escaping storage is refused", code in (400, 404), str(code))


JWT_SECRET = "e2e-secret-of-at-least-thirty-two-bytes!"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


AUTH_PORT = free_port()  # the second gateway's: free beside other lanes' and checkouts' fleets


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(sub, exp_in=600, aud="authenticated", secret=JWT_SECRET, alg="HS256"):
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": sub, "aud": aud, "exp": int(time.time()) + exp_in}).encode())
    signing = f"{header}.{payload}".encode()
    sig = b64url(hmac.new(secret.encode(), signing, hashlib.sha256).digest()) if alg == "HS256" else ""
    return f"{header}.{payload}.{sig}"


def auth_http(method, path, token=None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"http://127.0.0.1:{AUTH_PORT}{path}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def reelctl(bindir, *args):
    env = {**os.environ, **fleet_env()}
    return subprocess.run([os.path.join(bindir, "reelctl"), *args], env=env, capture_output=True, text=True)


def test_auth(bindir):
    """A second gateway with authentication, beside the fleet's anonymous one."""
    env = {**os.environ, **fleet_env(), "REEL_HTTP_ADDR": f"127.0.0.1:{AUTH_PORT}", "REEL_JWT_SECRET": JWT_SECRET,
           "REEL_JWT_AUDIENCE": "authenticated",
           "ASAN_OPTIONS": f"log_path={RUN}/sanitizer:detect_leaks=1", "UBSAN_OPTIONS": f"log_path={RUN}/sanitizer"}
    gw = subprocess.Popen([os.path.join(bindir, "api-gateway")], env=env, stderr=open(f"{RUN}/logs/auth-gateway.log", "w"))
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{AUTH_PORT}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        story = {"template": "storyboard", "input": {"text": "A short test. It has two sentences."}}
        code, body = auth_http("POST", "/v1/jobs", None, story)
        check("auth: no token answers 401", code == 401 and body.get("status") == 401, str(body))
        code, job = auth_http("POST", "/v1/jobs", jwt("alice"), story)
        check("auth: alice creates a job", code == 202, str(job))
        code, _ = auth_http("GET", f"/v1/jobs/{job['id']}", jwt("alice"))
        check("auth: alice reads her job", code == 200)
        code, body = auth_http("GET", f"/v1/jobs/{job['id']}", jwt("bob"))
        check("auth: bob gets 404 for alice's job, not her data", code == 404 and "shots" not in body, str(body))
        code, page = auth_http("GET", "/v1/jobs", jwt("bob"))
        check("auth: bob's list is empty", code == 200 and page["items"] == [], str(page))
        for name, token in [("expired", jwt("alice", exp_in=-3600)), ("wrong audience", jwt("alice", aud="other")),
                            ("wrong key", jwt("alice", secret="another-secret-of-at-least-32-bytes!!")),
                            ("alg none", jwt("alice", alg="none"))]:
            code, body = auth_http("GET", f"/v1/jobs/{job['id']}", token)
            check(f"auth: {name} token refused with 401", code == 401, f"{code} {body}")
        minted = reelctl(bindir, "mint-key", "--owner", "alice", "--name", "e2e")
        key = minted.stdout.strip()
        check("auth: reelctl mints an API key", minted.returncode == 0 and key.startswith("rk_"), minted.stderr)
        code, _ = auth_http("GET", f"/v1/jobs/{job['id']}", key)
        check("auth: the API key reads its owner's job", code == 200)
        stored = sql(f"SELECT count(*) FROM api_keys WHERE hash = '{hashlib.sha256(key.encode()).hexdigest()}'")
        check("auth: only the key's hash is stored", stored[0][0] == "1" and not sql(
            f"SELECT 1 FROM api_keys WHERE hash = '{key}' OR prefix = '{key}'"))
        reelctl(bindir, "revoke-key", key.split("_")[1])
        code, _ = auth_http("GET", f"/v1/jobs/{job['id']}", key)
        check("auth: a revoked API key is refused", code == 401)
        ids = [auth_http("POST", "/v1/jobs", jwt("carol"), story)[1]["id"] for _ in range(3)]
        code, first = auth_http("GET", "/v1/jobs?limit=2", jwt("carol"))
        code2, second = auth_http("GET", f"/v1/jobs?limit=2&cursor={first['next_cursor']}", jwt("carol"))
        got = [j["id"] for j in first["items"]] + [j["id"] for j in second["items"]]
        check("list: two pages hold each job once, newest first", code == code2 == 200 and got == ids[::-1]
              and second["next_cursor"] is None, f"{got} vs {ids[::-1]}")
        code, body = auth_http("GET", "/v1/jobs?status=bogus", jwt("carol"))
        check("list: an unknown status answers 422 naming it", code == 422 and body.get("field") == "status", str(body))
        code, body = auth_http("GET", "/v1/jobs?cursor=zz", jwt("carol"))
        check("list: a forged cursor answers 422", code == 422 and body.get("field") == "cursor", str(body))
        code, doomed = auth_http("POST", "/v1/jobs", jwt("dave"), story)
        code, body = auth_http("POST", f"/v1/jobs/{doomed['id']}/cancel", jwt("bob"), {})
        check("cancel: another user's job answers 404", code == 404, str(body))
        code, body = auth_http("POST", f"/v1/jobs/{doomed['id']}/cancel", jwt("dave"), {})
        check("cancel: an unfinished job is canceled", code == 200 and body.get("status") == "canceled", str(body))
        code, body = auth_http("POST", f"/v1/jobs/{doomed['id']}/cancel", jwt("dave"), {})
        check("cancel: a second cancel answers 409 saying the state", code == 409 and "canceled" in body.get("detail", ""),
              str(body))
        time.sleep(3)
        rows = sql(f"SELECT status, (SELECT count(*) FROM job_events WHERE job_id = '{doomed['id']}' AND kind = 'canceled') "
                   f"FROM jobs WHERE id = '{doomed['id']}'")
        check("cancel: the job stays canceled, with its event", rows == [["canceled", "1"]], str(rows))
        return [job["id"]] + ids
    finally:
        gw.terminate()
        gw.wait(timeout=30)


def check_events(label, job_id):
    rows = sql(f"SELECT kind, coalesce(shot, -1) FROM job_events WHERE job_id = '{job_id}' ORDER BY seq")
    job_kinds = [k for k, s in rows if s == "-1" and k != "progress"]  # progress rows come between
    check(f"{label}: job events in order", job_kinds == ["queued", "parsing", "producing", "merging", "done"],
          str(job_kinds))
    n_shots = int(sql(f"SELECT shots_total FROM jobs WHERE id = '{job_id}'")[0][0])
    kinds = [(k, int(s)) for k, s in rows]
    pos = {e: i for i, e in enumerate(kinds)}
    ok = True
    for shot in range(n_shots):
        r, t = pos.get(("rendered", shot)), pos.get(("ready", shot))
        ok &= r is not None and t is not None and pos[("producing", -1)] < r < t < pos[("merging", -1)]
    check(f"{label}: each of {n_shots} shots rendered then ready between producing and merging", ok, str(kinds))


def fresh_run(bindir):
    """Stops whatever an interrupted run left behind and empties the run directory."""
    if os.path.isdir(os.path.join(RUN, "pids")):
        fleet("stop", bindir)
    shutil.rmtree(RUN, ignore_errors=True)
    os.makedirs(RUN)


def summary(run):
    """Fails on any sanitizer report a daemon of the run left; prints the tally; the exit code."""
    reports = glob.glob(os.path.join(run, "sanitizer*"))
    for r in reports:
        print(open(r, errors="replace").read()[:3000])
    check("no sanitizer reports from any daemon", not reports, ", ".join(reports))
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--timeout", type=float, default=420)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    fresh_run(bindir)
    started = False
    try:
        fleet("start", bindir)
        started = True
        code, _, body = http("GET", "/healthz")
        check("gateway /healthz", code == 200, body[:100])
        test_bad_inputs()
        test_refusals(bindir)
        jobs = {"english": submit(ENGLISH), "chinese": submit(CHINESE)}
        for label, job_id in jobs.items():
            job = wait_done(job_id, args.timeout)
            if not check(f"{label}: job done", job.get("status") == "done", json.dumps(job)[:500]):
                continue
            check(f"{label}: progress 100%", job["progress"]["percent"] == 100)
            check_video(label, job)
            check_downloads(label, job)
            check_events(label, job_id)
        lang = sql(f"SELECT narration FROM shots WHERE job_id = '{jobs['chinese']}' ORDER BY idx LIMIT 1")
        check("chinese: narration kept in Chinese", lang and "小镇" in lang[0][0], str(lang))
        code, _, _ = http("GET", "/v1/jobs/00000000-0000-0000-0000-000000000000")
        check("unknown job answers 404", code == 404)
        auth_jobs = test_auth(bindir)
        ids = ",".join(f"'{i}'" for i in auth_jobs)
        deadline = time.time() + args.timeout  # let the fleet finish them before it stops
        while time.time() < deadline and sql(f"SELECT count(*) FROM jobs WHERE id IN ({ids}) AND status <> 'done'")[0][0] != "0":
            time.sleep(0.5)
        check("auth: the authenticated users' jobs are done too",
              sql(f"SELECT count(*) FROM jobs WHERE id IN ({ids}) AND status = 'done'")[0][0] == str(len(auth_jobs)))
    finally:
        if started or os.path.exists(os.path.join(RUN, "pids")):
            fleet("stop", bindir)
    return summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
