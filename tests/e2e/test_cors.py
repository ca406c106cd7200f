#!/usr/bin/env python3
"""End-to-end test of browser access on a fleet of its own (.run/e2e-cors):
CORS preflights and headers for listed and unlisted origins, '*' refused
beside credentials, stream tokens (a good one streams a real job to done;
another job's, an expired, an altered one and another secret's are refused;
gateways sharing REEL_URL_SECRET accept each other's), the 204 that stops an
EventSource after the final event, and a real browser (Debian's chromium
through playwright-core) on a page of another origin that creates a job
through CORS, follows it with EventSource and a stream token to done,
shares it and plays the share page's video to its end."""
import argparse
import functools
import http.client
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_fleet as tf  # noqa: E402  (helpers: check, http, sql, fleet, jwt)
import test_live as tl  # noqa: E402  (Stream, Gateway, free_port, wait_for)

tf.RUN = tl.RUN = os.path.join(tf.ROOT, ".run", "e2e-cors")
RUN = tf.RUN
check = tf.check
HOST = tl.HOST
GW_PORT = tl.GW_PORT
APP = f"http://{HOST}:{tl.free_port()}"  # the page's origin; its server starts later on that port
OTHER = "https://evil.example"
URL_SECRET = "cors-test-url-secret-shared-by-gateways"
BROWSER_DIR = os.path.join(tf.ROOT, "tests", "browser")


def request(method, path, headers=None, body=None, port=GW_PORT):
    conn = http.client.HTTPConnection(HOST, port, timeout=20)
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=hdrs)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, r.headers, raw


def preflight(path, origin, method="POST"):
    return request("OPTIONS", path, {"Origin": origin, "Access-Control-Request-Method": method,
                                     "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"})


def test_preflight():
    for path in ("/v1/jobs", "/v1/jobs/00000000-0000-0000-0000-000000000000/events/tokens", "/v1/voices"):
        code, h, _ = preflight(path, APP)
        allow_headers = {x.strip().lower() for x in (h.get("Access-Control-Allow-Headers") or "").split(",")}
        check(f"cors: a listed origin's preflight of {path} is 204", code == 204, str(code))
        check(f"cors: the preflight of {path} echoes the origin and allows POST and GET",
              h.get("Access-Control-Allow-Origin") == APP and
              {"GET", "POST", "PATCH"} <= {m.strip() for m in (h.get("Access-Control-Allow-Methods") or "").split(",")},
              str(h.items()))
        check(f"cors: the preflight of {path} allows the API's request headers",
              {"authorization", "content-type", "idempotency-key", "last-event-id"} <= allow_headers, str(allow_headers))
        check(f"cors: the preflight of {path} has Max-Age and Vary: Origin",
              (h.get("Access-Control-Max-Age") or "").isdigit() and "Origin" in (h.get("Vary") or ""), str(h.items()))
    code, h, body = preflight("/v1/jobs", OTHER)
    check("cors: an unlisted origin's preflight is 403 problem+json", code == 403 and
          h.get("Content-Type", "").startswith("application/problem+json") and
          json.loads(body)["type"].endswith("/origin-not-allowed"), f"{code} {body[:200]!r}")
    check("cors: ...with no CORS headers", not any(k.lower().startswith("access-control-") for k in h.keys()),
          str(h.items()))
    code, h, _ = request("OPTIONS", "/v1/jobs")
    check("cors: a plain OPTIONS (not a preflight) is still 405 with Allow", code == 405 and "POST" in h.get("Allow", ""),
          f"{code} {h.items()}")


def test_real_responses():
    code, h, body = request("POST", "/v1/jobs", {"Origin": APP}, tl.STORY)
    check("cors: a listed origin's create is 202 with its origin echoed",
          code == 202 and h.get("Access-Control-Allow-Origin") == APP, f"{code} {h.items()}")
    expose = {x.strip() for x in (h.get("Access-Control-Expose-Headers") or "").split(",")}
    check("cors: Location, Idempotent-Replayed and Retry-After are exposed",
          {"Location", "Idempotent-Replayed", "Retry-After"} <= expose, str(expose))
    check("cors: answers vary by Origin", "Origin" in (h.get("Vary") or ""), str(h.items()))
    code, h, _ = request("GET", "/v1/jobs/00000000-0000-0000-0000-000000000000", {"Origin": APP})
    check("cors: a 404 carries the CORS headers too", code == 404 and h.get("Access-Control-Allow-Origin") == APP)
    code, h, _ = request("GET", "/v1/jobs", {"Origin": OTHER})
    check("cors: an unlisted origin's answer has no CORS headers", code == 200 and
          not any(k.lower().startswith("access-control-") for k in h.keys()), str(h.items()))
    return json.loads(body)["id"]


def test_refusals(bindir):
    code, err = tf.run_daemon(bindir, "api-gateway", REEL_CORS_ORIGINS="*", REEL_JWT_SECRET=tf.JWT_SECRET)
    check("cors: '*' beside JWTs stops the gateway, naming REEL_CORS_ORIGINS",
          code == 2 and "REEL_CORS_ORIGINS" in err and "'*'" in err, f"{code} {err[-300:]}")
    code, err = tf.run_daemon(bindir, "api-gateway", REEL_CORS_ORIGINS="*", REEL_REQUIRE_AUTH="1")
    check("cors: '*' beside API keys stops the gateway", code == 2 and "REEL_CORS_ORIGINS" in err, f"{code} {err[-300:]}")
    code, err = tf.run_daemon(bindir, "api-gateway", REEL_CORS_ORIGINS="https://app.example.com/path")
    check("cors: an origin with a path stops the gateway, naming it",
          code == 2 and "https://app.example.com/path" in err, f"{code} {err[-300:]}")


def stream_token(job, body=None, port=GW_PORT, auth=None):
    code, _, raw = request("POST", f"/v1/jobs/{job}/events/tokens",
                           {"Authorization": f"Bearer {auth}"} if auth else {}, body if body is not None else {}, port)
    return code, json.loads(raw) if raw else None


def test_tokens(job):
    code, tok = stream_token(job)
    check("token: POST .../events/tokens answers 201 {token, expires_at}", code == 201 and
          set(tok) == {"token", "expires_at"}, f"{code} {tok}")
    exp = time.mktime(time.strptime(tok["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    check("token: it lives five minutes at most", 0 < exp - time.time() <= 301, tok["expires_at"])
    s = tl.Stream(GW_PORT, job, query=f"?token={tok['token']}")
    kinds = [e.get("event") for e in s.read_all()]
    s.close()
    check("token: a good token streams the job to done", s.status == 200 and kinds and kinds[-1] == "done",
          f"{s.status} {kinds}")
    last = tf.sql(f"SELECT max(seq) FROM job_events WHERE job_id = '{job}'")[0][0]
    s = tl.Stream(GW_PORT, job, last_id=last, query=f"?token={tok['token']}")
    check("sse: resuming at the final event answers 204 (EventSource stops)", s.status == 204 and s.read_all() == [],
          str(s.status))
    s.close()
    s = tl.Stream(GW_PORT, job, query=f"?last_event_id={last}&token={tok['token']}")
    check("sse: ?last_event_id at the final event is 204 too", s.status == 204, str(s.status))
    s.close()
    other = tl.stalled_job()
    code, other_tok = stream_token(other, {"expires_in_s": 1})
    refused = {
        "another job's token": (other, tok["token"]),
        "an altered token": (job, tok["token"][:-1] + ("0" if tok["token"][-1] != "0" else "1")),
        "a token naming another owner": (job, tok["token"].split(".")[0] + "." + b"bob".hex() + "." +
                                         tok["token"].split(".")[2]),
        "a malformed token": (job, "garbage"),
    }
    time.sleep(2)
    refused["an expired token"] = (other, other_tok["token"])
    for name, (j, t) in refused.items():
        s = tl.Stream(GW_PORT, j, query=f"?token={t}")
        body = json.loads(s.resp.read() or b"{}")
        s.close()
        check(f"token: {name} is 401 problem+json", s.status == 401 and body.get("type", "").endswith(
            "/invalid-stream-token"), f"{s.status} {body}")
    check("token: an expired one says so", "expired" in json.dumps(body), str(body))
    code, p = stream_token(job, {"expires_in_s": 301})
    check("token: expires_in_s above 300 is 422 naming it", code == 422 and p.get("field") == "expires_in_s", str(p))
    code, p = stream_token("00000000-0000-0000-0000-000000000000")
    check("token: an unknown job is 404", code == 404, str(code))



def test_token_gateways(bindir):
    """A JWT gateway sharing the secret: owners only; tokens cross gateways; another secret refuses."""
    gw = tl.Gateway(bindir, "jwt-gateway", REEL_JWT_SECRET=tf.JWT_SECRET, REEL_JWT_AUDIENCE="authenticated")
    gw2 = tl.Gateway(bindir, "other-secret-gateway", REEL_URL_SECRET="another-secret")
    try:
        alice, bob = tf.jwt("alice"), tf.jwt("bob")
        code, _, job = gw.call("POST", "/v1/jobs", alice, tl.STORY)
        code, _ = stream_token(job["id"], port=gw.port, auth=bob)
        check("token: another user asking for a token of alice's job gets 404", code == 404, str(code))
        code, _ = stream_token(job["id"], port=gw.port)
        check("token: asking without credentials is 401", code == 401, str(code))
        code, tok = stream_token(job["id"], port=gw.port, auth=alice)
        s = tl.Stream(gw.port, job["id"], query=f"?token={tok['token']}")
        ev = s.next_event()
        s.close()
        check("token: alice's token opens her stream without a header", s.status == 200 and ev and
              ev.get("event") == "queued", f"{s.status} {ev}")
        s = tl.Stream(GW_PORT, job["id"], query=f"?token={tok['token']}")
        ev = s.next_event()
        s.close()
        check("token: another gateway with the same REEL_URL_SECRET accepts it", s.status == 200 and ev, str(s.status))
        s = tl.Stream(gw2.port, job["id"], query=f"?token={tok['token']}")
        s.close()
        check("token: a gateway with another secret refuses it", s.status == 401, str(s.status))
        gw.call("POST", f"/v1/jobs/{job['id']}/cancel", alice, {})
    finally:
        gw.stop()
        gw2.stop()


class Page(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_page(port, root):
    server = http.server.ThreadingHTTPServer((HOST, port), functools.partial(Page, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_browser():
    root = tempfile.mkdtemp(prefix="reel-cors-page-")
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<!doctype html><title>reelforge app</title><p>app</p>\n")
    app_port, blocked_port = int(APP.rsplit(":", 1)[1]), tl.free_port()
    servers = [serve_page(app_port, root), serve_page(blocked_port, root)]
    try:
        p = subprocess.run(["node", os.path.join(BROWSER_DIR, "cors_page.mjs"), f"{APP}/index.html",
                            f"http://{HOST}:{blocked_port}/index.html", f"http://{HOST}:{GW_PORT}"],
                           capture_output=True, text=True, timeout=300, cwd=BROWSER_DIR)
    finally:
        for s in servers:
            s.shutdown()
    if not check("browser: chromium ran the page", p.returncode == 0, p.stderr[-1500:]):
        return
    r = json.loads(p.stdout.strip().splitlines()[-1])
    check("browser: the page is on another origin", r["origin"] == APP and not APP.endswith(f":{GW_PORT}"), str(r))
    check("browser: fetch through CORS creates a job, Location readable", r["create_status"] == 202 and
          r["location"] == f"/v1/jobs/{r['job']}", str(r))
    check("browser: the page gets a stream token", r["token_status"] == 201, str(r))
    check("browser: EventSource with the token follows the job to done",
          r["kinds"][:1] == ["queued"] and r["kinds"][-1] == "done" and r["final_status"] == "done", str(r))
    check("browser: a page of an unlisted origin is refused by the browser", r["blocked"].startswith("refused"),
          str(r))
    check("browser: the page creates a share link through CORS", r["share_status"] == 201 and
          r["share_url"].startswith(f"http://{HOST}:{GW_PORT}/s/"), str(r))
    play = r.get("playback") or {}
    print(f"browser playback: {play}", flush=True)
    check("browser: chromium says it plays H.264/AAC MP4", play.get("can_h264_aac") == "probably", str(play))
    check("browser: the share page loads with the video and its subtitles track",
          play.get("page_status") == 200 and play.get("tracks") == 1, str(play))
    check("browser: the share page's video plays to its end (HTMLVideoElement 'ended')",
          play.get("ended") is True and play.get("duration", 0) > 1 and
          abs(play["current_time"] - play["duration"]) < 0.1, str(play))
    check("browser: ...decoding real frames at the job's size", play.get("width") == 1080 and
          play.get("height") == 1920 and play.get("decoded_frames", 0) > 10, str(play))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.fresh_run(bindir)
    os.environ.update(REEL_CORS_ORIGINS=f"https://app.example.com, {APP}", REEL_URL_SECRET=URL_SECRET)
    started = False
    try:
        tf.fleet("start", bindir)
        started = True
        test_preflight()
        job = test_real_responses()
        test_refusals(bindir)
        test_tokens(job)
        test_token_gateways(bindir)
        test_browser()
    finally:
        if started or os.path.exists(os.path.join(RUN, "pids")):
            tf.fleet("stop", bindir)
    return tf.summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
