#!/usr/bin/env python3
"""End-to-end test of the gateway's live parts on a fleet of its own
(.run/e2e-live): Server-Sent Events of job_events (a real job to `done`,
fan-out, resume with Last-Event-ID, heartbeats, another user's job, a
PostgreSQL restart under open streams), rate limits, the in-flight cap,
the HTTP limits and a corpus of malformed requests (the daemon answers each
with the right 4xx and keeps serving), outbound webhooks with Standard
Webhooks signatures and retries, and GET /v1/voices."""
import argparse
import base64
import glob
import hashlib
import hmac
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_fleet as tf  # noqa: E402  (helpers: check, http, sql, fleet, jwt)

tf.RUN = os.path.join(tf.ROOT, ".run", "e2e-live")
RUN = tf.RUN
check = tf.check
HOST = "127.0.0.1"
GW_PORT = 8080 + tf.PORT_OFFSET
WEBHOOK_SECRET = "whsec_" + base64.b64encode(bytes(range(1, 33))).decode()
FINAL = ("done", "failed", "canceled")


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ---- a small SSE client ----

class Stream:
    """One GET /v1/jobs/{id}/events; events() yields (id, event, data, comment) as they come."""

    def __init__(self, port, job, last_id=None, token=None, query=""):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=20)
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.conn.request("GET", f"/v1/jobs/{job}/events{query}", headers=headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.ctype = self.resp.getheader("Content-Type", "")
        self.heartbeats = 0

    def next_event(self):
        """The next event as a dict, or None at the end of the stream."""
        ev = {}
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if ev:
                    return ev
                continue
            if line.startswith(":"):
                self.heartbeats += 1
                continue
            key, _, value = line.partition(": ")
            ev[key] = value

    def read_all(self):
        out = []
        while (ev := self.next_event()) is not None:
            out.append(ev)
        return out

    def close(self):
        self.conn.close()


def insert_event(job, kind, shot=None):
    shot_sql = "NULL" if shot is None else str(shot)
    return int(tf.sql(f"INSERT INTO job_events (job_id, shot, kind, detail) VALUES ('{job}', {shot_sql}, '{kind}', "
                      f"'{{\"by\":\"test\"}}') RETURNING seq")[0][0])


def stalled_job(owner="anonymous"):
    """A job row no worker will touch (no outbox message): its events come from the test."""
    return tf.sql(f"INSERT INTO jobs (owner, template, input, trace, status) VALUES ('{owner}', 'storyboard', "
                  f"'{{\"text\":\"x\"}}', 'test', 'producing') RETURNING id")[0][0]


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


# ---- SSE ----

def test_sse_real_job():
    code, _, body = tf.http("POST", "/v1/jobs", {"template": "storyboard", "input": {"text": tf.ENGLISH}})
    job = json.loads(body)["id"]
    s = Stream(GW_PORT, job)
    check("sse: 200 text/event-stream", s.status == 200 and s.ctype.startswith("text/event-stream"), s.ctype)
    events = s.read_all()
    s.close()
    ids = [int(e["id"]) for e in events]
    rows = tf.sql(f"SELECT seq, kind FROM job_events WHERE job_id = '{job}' ORDER BY seq")
    check("sse: the stream ends with done", events and events[-1].get("event") == "done", str(events[-1:]))
    # seq comes from a sequence: the gateway holds rows above a hole for a second, then a row whose
    # transaction committed later still arrives, late (api-gateway/live.c): each row once, in seq
    # order but for such late rows.
    seqs = [int(r[0]) for r in rows]
    check("sse: every job_events row once", sorted(ids) == seqs and len(set(ids)) == len(ids), f"{ids} vs {rows}")
    out_of_order = [b for a, b in zip(ids, ids[1:]) if b < a]
    check("sse: in seq order but for late rows (at most a few)", len(out_of_order) <= 3, f"{ids}")
    data = [json.loads(e["data"]) for e in events]
    check("sse: data is the row as JSON", all(d["job_id"] == job and d["seq"] == i for d, i in zip(data, ids))
          and all(d["kind"] == dict((int(r[0]), r[1]) for r in rows).get(d["seq"]) for d in data), str(data[:2]))
    kinds = [e["event"] for e in events]
    check("sse: events name every stage", all(k in kinds for k in ("queued", "parsing", "producing", "merging")))
    return job


def test_sse_fanout_resume_heartbeat():
    job = stalled_job()
    streams = [Stream(GW_PORT, job) for _ in range(3)]
    first = insert_event(job, "rendered", 0)
    second = insert_event(job, "ready", 0)
    got = [[s.next_event(), s.next_event()] for s in streams]
    check("sse fan-out: three streams each get both new events",
          all([int(e["id"]) for e in g] == [first, second] for g in got), str(got))
    # A dropped connection, events meanwhile, then a resume.
    for s in streams[1:]:
        s.close()
    missed = [insert_event(job, "rendered", 1), insert_event(job, "ready", 1)]
    r = Stream(GW_PORT, job, last_id=second)
    after = [r.next_event(), r.next_event()]
    check("sse resume: Last-Event-ID replays exactly what was missed",
          [int(e["id"]) for e in after] == missed, str(after))
    q = Stream(GW_PORT, job, query=f"?last_event_id={first}")
    replay = [q.next_event() for _ in range(3)]
    check("sse resume: ?last_event_id= works too", [int(e["id"]) for e in replay] == [second] + missed, str(replay))
    kept = [streams[0].next_event(), streams[0].next_event()]
    check("sse: a stream that stayed open had the events the others missed",
          [int(e["id"]) for e in kept] == missed, str(kept))
    live = insert_event(job, "rendered", 2)
    nxt = [r.next_event(), q.next_event(), streams[0].next_event()]
    check("sse resume: resumed streams follow live events without repeats",
          all(int(e["id"]) == live for e in nxt), str(nxt))
    # Heartbeat: the fleet's gateway sends one every second.
    hb = Stream(GW_PORT, job, last_id=live)
    t0 = time.time()
    hb.conn.sock.settimeout(5)
    try:
        line = hb.resp.readline()
    except OSError:
        line = b""
    check("sse: a heartbeat comment arrives on an idle stream", line.startswith(b":"), repr(line))
    check("sse: the heartbeat came within two periods", time.time() - t0 < 2.5, f"{time.time() - t0:.1f} s")
    hb.close()
    done = insert_event(job, "done")
    tf.sql(f"UPDATE jobs SET status = 'done' WHERE id = '{job}'")
    for s in (r, q, streams[0]):
        ev = s.next_event()
        check("sse: a final event ends every stream", ev and int(ev["id"]) == done and s.next_event() is None, str(ev))
        s.close()
    s = Stream(GW_PORT, job, last_id=done)
    check("sse: a final job's stream resumed at its final event is 204 (EventSource stops)",
          s.status == 204 and s.read_all() == [], str(s.status))
    s.close()
    s = Stream(GW_PORT, job, last_id="abc")
    check("sse: a malformed Last-Event-ID is 400 naming it", s.status == 400 and
          json.loads(s.resp.read()).get("field") == "Last-Event-ID")
    s.close()
    s = Stream(GW_PORT, "00000000-0000-0000-0000-000000000000")
    check("sse: an unknown job is 404", s.status == 404)
    s.close()
    conn = http.client.HTTPConnection(HOST, GW_PORT, timeout=10)
    conn.request("HEAD", f"/v1/jobs/{job}/events")
    r = conn.getresponse()
    check("sse: HEAD answers the stream's head and ends", r.status == 200 and
          r.getheader("Content-Type", "").startswith("text/event-stream") and r.read() == b"")
    conn.request("GET", "/healthz")
    check("sse: the connection serves the next request after HEAD", conn.getresponse().status == 200)
    conn.close()


def open_event_insert(job):
    """A psql session that inserted a row for job in a transaction it keeps open; the row's seq."""
    slow = subprocess.Popen(["psql", tf.fleet_env()["REEL_DATABASE_URL"], "-qtAX"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    slow.stdin.write(f"BEGIN; INSERT INTO job_events (job_id, shot, kind) VALUES ('{job}', 0, 'rendered') "
                     f"RETURNING seq;\n")
    slow.stdin.flush()
    return slow, int(slow.stdout.readline())


def commit_event_insert(slow):
    slow.stdin.write("COMMIT;\n")
    slow.stdin.close()
    slow.wait(timeout=30)


def test_sse_late_commit():
    """A transaction that took a lower seq commits after one with a higher seq:
    the stream still gets the lower one, once."""
    job = stalled_job()
    s = Stream(GW_PORT, job)
    slow, low = open_event_insert(job)
    high = insert_event(job, "ready", 1)
    first = s.next_event()
    commit_event_insert(slow)
    second = s.next_event()
    check("sse late commit: the higher seq first, then the late lower one",
          first and second and [int(first["id"]), int(second["id"])] == [high, low], f"{first} {second} {low} {high}")
    nxt = insert_event(job, "done")
    ev = s.next_event()
    check("sse late commit: no repeat afterwards", ev and int(ev["id"]) == nxt, str(ev))
    s.close()


def test_sse_hold_back():
    """A lower seq that commits soon after a higher one (within the gateway's hold): the stream
    gets them in seq order, so resuming after the higher id loses nothing."""
    job = stalled_job()
    s = Stream(GW_PORT, job)
    slow, low = open_event_insert(job)
    high = insert_event(job, "ready", 1)
    time.sleep(0.1)
    commit_event_insert(slow)
    got = [s.next_event(), s.next_event()]
    s.close()
    check("sse hold-back: a lower seq committed just after a higher one comes first",
          all(got) and [int(e["id"]) for e in got] == [low, high], f"{got} {low} {high}")
    r = Stream(GW_PORT, job, last_id=high)
    nxt = insert_event(job, "done")
    ev = r.next_event()
    check("sse hold-back: a resume after the higher id gets the next row", ev and int(ev["id"]) == nxt, str(ev))
    r.close()


def test_sse_pg_restart():
    job = stalled_job()
    s = Stream(GW_PORT, job)
    before = insert_event(job, "rendered", 0)
    check("sse restart: event before the restart", int(s.next_event()["id"]) == before)
    bin_dir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    cmd = [f"{bin_dir}/pg_ctl", "-D", f"{RUN}/pg/data", "-m", "fast", "-w", "restart", "-l", f"{RUN}/pg/server.log"]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, capture_output=True)
    after = insert_event(job, "ready", 0)
    s.conn.sock.settimeout(15)
    ev = s.next_event()
    check("sse restart: an event written after a PostgreSQL restart reaches the open stream",
          ev and int(ev["id"]) == after, str(ev))
    s.close()
    # The gateway's own connection comes back too (it may need a request to notice).
    wait_for(lambda: tf.http("GET", f"/v1/jobs/{job}")[0] == 200, 15)
    code, _, _ = tf.http("GET", f"/v1/jobs/{job}")
    check("sse restart: the gateway serves requests again", code == 200, str(code))


# ---- a second gateway with auth and tight limits ----

class Gateway:
    def __init__(self, bindir, name, **env):
        self.port = free_port()
        full = {**os.environ, **tf.fleet_env(), "REEL_HTTP_ADDR": f"{HOST}:{self.port}",
                "ASAN_OPTIONS": f"log_path={RUN}/sanitizer:detect_leaks=1",
                "UBSAN_OPTIONS": f"log_path={RUN}/sanitizer", **env}
        self.proc = subprocess.Popen([os.path.join(bindir, "api-gateway")], env=full,
                                     stderr=open(f"{RUN}/logs/{name}.log", "w"))
        ok = wait_for(lambda: self.up(), 30)
        check(f"{name}: starts", ok)

    def up(self):
        try:
            urllib.request.urlopen(f"http://{HOST}:{self.port}/healthz", timeout=1)
            return True
        except OSError:
            return False

    def call(self, method, path, token=None, body=None):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=20)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        conn.close()
        return r.status, dict(r.getheaders()), json.loads(raw) if raw else None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


STORY = {"template": "storyboard", "input": {"text": "A short test. It has two sentences."}}


def test_auth_limits(bindir):
    gw = Gateway(bindir, "limits-gateway", REEL_JWT_SECRET=tf.JWT_SECRET, REEL_JWT_AUDIENCE="authenticated",
                 REEL_RATE_LIMIT_RPS="2", REEL_RATE_LIMIT_BURST="6", REEL_MAX_JOBS_IN_FLIGHT="2",
                 REEL_ALLOW_PRIVATE_WEBHOOKS="0")
    try:
        alice, bob, carol, dave = (tf.jwt(u) for u in ("alice", "bob", "carol", "dave"))
        code, _, job = gw.call("POST", "/v1/jobs", alice, STORY)
        s = Stream(gw.port, job["id"], token=bob)
        check("sse auth: another user's job is 404", s.status == 404, str(s.status))
        s.close()
        s = Stream(gw.port, job["id"])
        check("sse auth: no token is 401", s.status == 401, str(s.status))
        s.close()
        s = Stream(gw.port, job["id"], token=alice)
        ev = s.next_event()
        check("sse auth: the owner streams her job", s.status == 200 and ev and ev["event"] == "queued", str(ev))
        s.close()
        code, _, _ = gw.call("GET", f"/v1/jobs/{job['id']}", alice)  # now cached for alice
        code2, _, body = gw.call("GET", f"/v1/jobs/{job['id']}", bob)
        check("job cache: another user's GET of a cached job is 404", code == 200 and code2 == 404, f"{code2} {body}")
        # In-flight cap: dave may have two unfinished jobs.
        codes = [gw.call("POST", "/v1/jobs", dave, STORY) for _ in range(3)]
        check("in-flight cap: two jobs accepted", [c[0] for c in codes[:2]] == [202, 202], str(codes[:2]))
        code, headers, problem = codes[2]
        check("in-flight cap: the third is 429 naming the cap", code == 429 and "cap is 2" in problem.get("detail", "")
              and headers.get("Content-Type", "").startswith("application/problem+json"), str(problem))
        gw.call("POST", f"/v1/jobs/{codes[0][2]['id']}/cancel", dave, {})
        code, _, _ = gw.call("POST", "/v1/jobs", dave, STORY)
        check("in-flight cap: a canceled job frees a place", code == 202, str(code))
        # Rate limit: carol's burst of 6, then 429 with Retry-After; others unaffected.
        got = [gw.call("GET", "/v1/jobs", carol) for _ in range(10)]
        limited = [g for g in got if g[0] == 429]
        check("rate limit: the burst passes, then 429", [g[0] for g in got[:6]] == [200] * 6 and len(limited) >= 3,
              str([g[0] for g in got]))
        retry = limited[0][1].get("Retry-After") if limited else None
        check("rate limit: 429 says Retry-After in seconds", retry is not None and retry.isdigit() and int(retry) >= 1,
              str(retry))
        check("rate limit: 429 is problem+json", limited and limited[0][2].get("status") == 429, str(limited[:1]))
        check("rate limit: another user is not limited", gw.call("GET", "/v1/jobs", bob)[0] == 200)
        time.sleep(int(retry or 1) + 0.2)
        check("rate limit: after Retry-After the user is served", gw.call("GET", "/v1/jobs", carol)[0] == 200)
        # Private webhook URLs are refused at create time on a gateway that does not allow them.
        for i, url in enumerate(("http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]/x",
                                 "http://169.254.169.254/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
                                 "ftp://example.com/", "http://user@example.com/", "http://exa mple.com/")):
            code, _, p = gw.call("POST", "/v1/jobs", tf.jwt(f"hooker{i}"), {**STORY, "options": {"webhook_url": url}})
            check(f"webhook: {url} refused with 422 naming options.webhook_url",
                  code == 422 and p.get("field") == "options.webhook_url", f"{code} {p}")
    finally:
        gw.stop()


# ---- malformed requests ----

def raw_request(data, pause=None, read_timeout=10):
    s = socket.create_connection((HOST, GW_PORT), timeout=read_timeout)
    try:
        s.sendall(data)
        if pause:
            time.sleep(pause)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def post_raw(body, ctype=b"application/json"):
    return raw_request(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: " + ctype +
                       b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def test_malformed():
    story = lambda text: json.dumps({"template": "storyboard", "input": {"text": text}}).encode()  # noqa: E731
    before = tf.sql("SELECT count(*) FROM jobs")[0][0]
    cases = [
        ("garbage request line", lambda: raw_request(b"HELLO\r\n\r\n"), 400),
        ("bad Content-Length", lambda: raw_request(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n"),
         400),
        ("bad chunk size", lambda: raw_request(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                               b"zz\r\n"), 400),
        ("header without colon", lambda: raw_request(b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n"), 400),
        ("bad JSON", lambda: post_raw(b'{"template":'), 400),
        ("JSON array", lambda: post_raw(b'[1,2]'), 400),
        ("trailing garbage", lambda: post_raw(b'{"template":"storyboard","input":{"text":"a"}}xyz'), 400),
        ("wrong type for template", lambda: post_raw(b'{"template":5,"input":{"text":"a"}}'), 422),
        ("wrong type for text", lambda: post_raw(b'{"template":"storyboard","input":{"text":["a"]}}'), 422),
        ("huge max_shots", lambda: post_raw(b'{"template":"storyboard","input":{"text":"a"},'
                                            b'"options":{"max_shots":1e308}}'), 422),
        ("long number", lambda: post_raw(b'{"template":"storyboard","input":{"text":"a"},"options":{"max_shots":' +
                                         b"9" * 5000 + b"}}"), 422),
        ("deep nesting", lambda: post_raw(b"[" * 100000 + b"]" * 100000), 400),
        ("invalid UTF-8", lambda: post_raw(b'{"template":"storyboard","input":{"text":"caf\xe9 \xff"}}'), 400),
        ("overlong UTF-8", lambda: post_raw(b'{"template":"storyboard","input":{"text":"\xc0\xafx"}}'), 400),
        ("NUL byte in body", lambda: post_raw(b'{"template":"storyboard","input":{"text":"a\x00b"}}'), 400),
        ("escaped NUL", lambda: post_raw(story("a\u0000b")), 400),
        ("NUL in path", lambda: raw_request(b"GET /v1/jobs/%00 HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
        ("oversize body", lambda: post_raw(b"{" + b" " * (2 << 20) + b"}"), 413),
        ("oversize header", lambda: raw_request(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 +
                                                b"\r\n\r\n"), 431),
        ("too many headers", lambda: raw_request(b"GET /healthz HTTP/1.1\r\n" +
                                                 b"".join(b"X-%d: 1\r\n" % i for i in range(80)) + b"\r\n"), 431),
        ("slow headers", lambda: raw_request(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", read_timeout=10), 408),
        ("slow body", lambda: raw_request(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
                                          read_timeout=10), 408),
        ("unknown method", lambda: raw_request(b"BREW /v1/jobs HTTP/1.1\r\nHost: x\r\n\r\n"), (400, 405, 501)),
    ]
    for name, send, want in cases:
        resp = send()
        code = status_of(resp)
        wants = want if isinstance(want, tuple) else (want,)
        check(f"malformed: {name} answers {want}", code in wants, repr(resp[:200]))
        if code and code >= 400:
            check(f"malformed: {name} is problem+json", b"application/problem+json" in resp, repr(resp[:300]))
        code, _, _ = tf.http("GET", "/healthz")
        check(f"malformed: the gateway still serves after {name}", code == 200)
    after = tf.sql("SELECT count(*) FROM jobs")[0][0]
    check("malformed: no refused request made a job", after == before, f"{before} -> {after}")
    # A request that arrives in pieces, each in time, is served.
    s = socket.create_connection((HOST, GW_PORT), timeout=10)
    for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
        s.sendall(piece)
        time.sleep(0.3)
    resp = s.recv(4096)
    s.close()
    check("limits: a request sent in timely pieces is served", status_of(resp) == 200, repr(resp[:100]))


# ---- webhooks ----

class Hooks(http.server.BaseHTTPRequestHandler):
    received = []
    fail_first = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Hooks.received.append((dict((k.lower(), v) for k, v in self.headers.items()), body))
        if self.path.startswith("/gone"):
            self.send_response(410)
        elif Hooks.fail_first > 0:
            Hooks.fail_first -= 1
            self.send_response(500)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def verify(headers, body):
    key = base64.b64decode(WEBHOOK_SECRET[len("whsec_"):])
    msg = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    want = base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    return any(sig == f"v1,{want}" for sig in headers.get("webhook-signature", "").split())


PUBLIC_BASE = "https://api.example.com"  # with a trailing slash in the setting, which must not double


def test_webhooks():
    server = http.server.ThreadingHTTPServer((HOST, 0), Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://{HOST}:{server.server_address[1]}/hooks"
    try:
        Hooks.fail_first = 1
        code, _, body = tf.http("POST", "/v1/jobs", {**STORY, "options": {"webhook_url": url}})
        check("webhook: a job with a loopback webhook_url is accepted where allowed", code == 202, body[:200])
        job = json.loads(body)["id"]
        tf.http("POST", f"/v1/jobs/{job}/cancel", {})
        ok = wait_for(lambda: len(Hooks.received) >= 2, 30)
        check("webhook: a failed attempt (500) is retried", ok, str(len(Hooks.received)))
        if not ok:
            return
        (h1, b1), (h2, b2) = Hooks.received[:2]
        check("webhook: valid Standard Webhooks signature", verify(h2, b2), str(h2))
        check("webhook: the retry keeps webhook-id and body", h1["webhook-id"] == h2["webhook-id"] and b1 == b2)
        payload = json.loads(b2)
        check("webhook: the payload names the job and its end", payload.get("type") == "job.canceled" and
              payload["data"]["id"] == job and payload["data"]["status"] == "canceled", str(payload))
        check("webhook: data.url is the job's address under REEL_PUBLIC_BASE_URL",
              payload["data"].get("url") == f"{PUBLIC_BASE}/v1/jobs/{job}", str(payload))
        rows = tf.sql(f"SELECT d.status, d.attempts, count(a.*), min(a.http_status), max(a.http_status) "
                      f"FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id "
                      f"WHERE d.job_id = '{job}' GROUP BY d.id")
        check("webhook: one delivery, both attempts recorded", rows == [["delivered", "2", "2", "204", "500"]],
              str(rows))
        tampered = dict(h2, **{"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()})
        check("webhook: the test's verifier refuses a wrong signature", not verify(tampered, b2))
        # 410 Gone: the endpoint is given up at once, after one recorded attempt.
        gone_url = f"http://{HOST}:{server.server_address[1]}/gone"
        code, _, body = tf.http("POST", "/v1/jobs", {**STORY, "options": {"webhook_url": gone_url}})
        gone = json.loads(body)["id"]
        tf.http("POST", f"/v1/jobs/{gone}/cancel", {})
        q = (f"SELECT d.status, d.attempts, d.last_status, (SELECT count(*) FROM webhook_attempts a "
             f"WHERE a.delivery_id = d.id) FROM webhook_deliveries d WHERE d.job_id = '{gone}'")
        ok = wait_for(lambda: tf.sql(q) == [["failed", "1", "410", "1"]], 30)
        check("webhook: 410 Gone gives up after one attempt", ok, str(tf.sql(q)))
        # A job that runs to the end through the workers is announced once, as done.
        code, _, body = tf.http("POST", "/v1/jobs", {**STORY, "options": {"webhook_url": url + "?job=done"}})
        done_job = json.loads(body)["id"]
        ok = wait_for(lambda: any(json.loads(b)["data"]["id"] == done_job for _, b in Hooks.received), 240)
        time.sleep(1)  # a second delivery, if there were one, would come at once
        mine = [(h, b, json.loads(b)) for h, b in Hooks.received if json.loads(b)["data"]["id"] == done_job]
        check("webhook: a job done by the workers is announced once, signed", ok and len(mine) == 1 and
              mine[0][2]["type"] == "job.done" and verify(mine[0][0], mine[0][1]), str(mine))
        check("webhook: its payload carries the output keys", ok and mine and mine[0][2]["data"]["output"] and
              "video_key" in mine[0][2]["data"]["output"], str(mine[:1]))
    finally:
        server.shutdown()


def test_voices():
    code, _, body = tf.http("GET", "/v1/voices")
    items = json.loads(body)["items"]
    langs = {v["language"] for v in items}
    check("voices: en-US, en-GB and cmn are listed", code == 200 and {"en-US", "en-GB", "cmn"} <= langs, str(langs))
    check("voices: items carry every field", all(set(v) == {"provider", "id", "name", "language", "gender",
                                                            "description"} for v in items), str(items[:1]))
    code, _, body = tf.http("GET", "/v1/voices?language=en&gender=female&provider=espeak")
    got = json.loads(body)["items"]
    check("voices: filters by language prefix, gender and provider",
          got and all(v["language"].startswith("en-") and v["gender"] == "female" for v in got), str(got))
    code, _, body = tf.http("GET", "/v1/voices?gender=robot")
    check("voices: an unknown gender is 422 naming it", code == 422 and json.loads(body).get("field") == "gender")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.fresh_run(bindir)
    os.environ.update(REEL_SSE_HEARTBEAT_S="1", REEL_HTTP_REQUEST_TIMEOUT_S="2", REEL_ALLOW_PRIVATE_WEBHOOKS="1",
                      REEL_WEBHOOK_SECRET=WEBHOOK_SECRET, REEL_WEBHOOK_RETRY_BASE_MS="500",
                      REEL_PUBLIC_BASE_URL=PUBLIC_BASE + "/")
    started = False
    try:
        tf.fleet("start", bindir)
        started = True
        test_voices()
        test_malformed()
        test_sse_fanout_resume_heartbeat()
        test_sse_real_job()
        test_sse_hold_back()
        test_sse_late_commit()
        test_auth_limits(bindir)
        test_webhooks()
        test_sse_pg_restart()
        left_open = Stream(GW_PORT, stalled_job())
    finally:
        if started or os.path.exists(os.path.join(RUN, "pids")):
            tf.fleet("stop", bindir)
    if started:
        check("sse: a gateway stopping ends its open streams cleanly", left_open.read_all() == [])
        log = open(os.path.join(RUN, "logs", "api-gateway.log")).read()
        check("sse: the gateway stops on SIGTERM with streams open", "api-gateway stopped" in log, log[-300:])
    return tf.summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
