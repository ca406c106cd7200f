#!/usr/bin/env python3
"""End-to-end test of the gateway's public API on its own fleet (run dir
.run/e2e-api): every route's happy path, refusals of unknown and invalid
fields, the state machine of the job and shot actions (409 naming the
state), Idempotency-Key replays (also under concurrent duplicates), the
manifest, GET answers that follow every change at once although they are
cached, and the OpenAPI document: in step with the router, and every real
answer valid against its schemas."""
import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check as oa  # noqa: E402
import test_fleet as tf  # noqa: E402
from test_fleet import check, sql  # noqa: E402

tf.RUN = os.path.join(tf.ROOT, ".run", "e2e-api")
STORY = ("The lighthouse keeper climbed the stairs at dusk. The lamp woke and swept the dark sea.\n\n"
         "Far out, a small boat turned toward the light. Its sail was torn but its crew sang.\n\n"
         "On the shore a child waved both arms. The boat came home before the rain.")
DOC = {}
answers = []  # (method, route, status, content type, parsed body, request body) of every answer, validated at the end


def call(method, path, body=None, raw=None, headers=None, route=None, base=None):
    """(status, headers, parsed JSON or None); records the answer for schema validation under route."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request((base or tf.GATEWAY) + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, hdrs, text = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, e.headers, e.read()
    ctype = hdrs.get("Content-Type", "")
    parsed = json.loads(text) if "json" in ctype and text else None
    if route:
        answers.append((method, route, status, ctype, parsed, body))
    return status, hdrs, parsed


def job_path(job_id, tail=""):
    return f"/v1/jobs/{job_id}{tail}"


def action(job_id, name, body=None, headers=None, shot=None, method="POST"):
    tail = f"/shots/{shot}" + (f"/{name}" if name else "") if shot is not None else f"/{name}"
    route = "/v1/jobs/{id}" + ("/shots/{n}" + (f"/{name}" if name else "") if shot is not None else f"/{name}")
    return call(method, job_path(job_id, tail), body=body if body is not None else {}, headers=headers, route=route)


def get_job(job_id):
    return call("GET", job_path(job_id), route="/v1/jobs/{id}")[2]


def wait_status(job_id, wanted, timeout=300):
    deadline, job = time.time() + timeout, {}
    while time.time() < deadline:
        job = get_job(job_id)
        if job["status"] in wanted or job["status"] in ("failed", "canceled") and "failed" not in wanted:
            break
        time.sleep(0.3)
    return job


def create(body, headers=None, base=None):
    return call("POST", "/v1/jobs", body=body, headers=headers, route="/v1/jobs", base=base)


def second_gateway(bindir):
    """Another gateway process on a free port, beside the fleet's: (process, base URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, **tf.fleet_env(), "REEL_HTTP_ADDR": f"127.0.0.1:{port}",
           "ASAN_OPTIONS": f"log_path={tf.RUN}/sanitizer:detect_leaks=1",
           "UBSAN_OPTIONS": f"log_path={tf.RUN}/sanitizer:print_stacktrace=1"}
    log = open(os.path.join(tf.RUN, "logs", "api-gateway-2.log"), "w")
    proc = subprocess.Popen([os.path.join(bindir, "api-gateway")], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    return proc, base


def is_problem(label, status, body, code, field=None, kind=None):
    ok = status == code and isinstance(body, dict) and body.get("status") == code
    if field is not None:
        ok = ok and body.get("field") == field and body.get("errors", [{}])[0].get("field") == field
    if kind is not None:
        ok = ok and body.get("type") == "https://reelforge.dev/problems/" + kind
    return check(label, ok, f"{status} {body}")


def test_openapi():
    status, hdrs, doc = call("GET", "/openapi.json")
    check("GET /openapi.json answers the document", status == 200 and doc and doc.get("openapi", "").startswith("3.1"))
    DOC.update(doc or {})
    router, documented = oa.router_routes(tf.ROOT), oa.document_routes(DOC)
    check("every route of the router is in the OpenAPI document", not router - documented, str(router - documented))
    missing = documented - router
    check("every route of the OpenAPI document is in the router", not missing, str(missing))
    # The validator itself must be able to fail.
    bad = [({"id": "x"}, "Job"), ({"type": "t", "title": "t", "status": 200}, "Problem"),
           ({"template": "storyboard", "input": {"text": "x"}, "colour": 1}, "CreateJobRequest"),
           ({"template": "storyboard", "input": {"text": "x"}, "options": {"max_shots": 61}}, "CreateJobRequest"),
           ({"template": "storyboard", "input": {"text": "x"}, "options": {"subtitles": "on"}}, "CreateJobRequest")]
    for value, name in bad:
        check(f"the schema validator refuses a bad {name}",
              oa.validate(DOC, {"$ref": f"#/components/schemas/{name}"}, value), json.dumps(value))


ALL_OPTIONS = {"aspect_ratio": "16:9", "resolution": "720p", "language": "en-GB", "voice": "en", "style": "ink wash",
               "max_shots": 3, "review": False, "subtitles": "sidecar", "music": None, "transition": "cut",
               "transition_ms": 500, "motion": "still", "providers": {"parse": "offline", "render": "offline"},
               "webhook_url": "https://hooks.example.com/reel"}


def test_create():
    bodies = {
        "storyboard": {"template": "storyboard", "input": {"text": STORY}, "options": ALL_OPTIONS},
        "script": {"template": "script", "input": {"text": "INT. KITCHEN - NIGHT\n\nANNA: The kettle sings.\n"},
                   "options": {"max_shots": 2, "review": True}},
        "demo": {"template": "demo", "input": {"url": "https://example.com/app", "description": "A todo app."}},
    }
    ids = {}
    for name, body in bodies.items():
        errs = oa.validate(DOC, oa.request_schema(DOC, "POST", "/v1/jobs"), body)
        check(f"the {name} example request is valid against CreateJobRequest", not errs, str(errs))
        status, hdrs, job = create(body)
        check(f"create {name}: 202 with the job and its Location",
              status == 202 and job.get("template") == name and hdrs.get("Location") == f"/v1/jobs/{job.get('id')}",
              f"{status} {job}")
        ids[name] = job.get("id")
    stored = sql(f"SELECT options::text FROM jobs WHERE id = '{ids['storyboard']}'")[0][0]
    check("every option is stored as sent", json.loads(stored) == {k: v for k, v in ALL_OPTIONS.items()}, stored)
    for name in ("script", "demo"):  # accepted and validated; their stages are not what this test is about
        status, _, job = action(ids[name], "cancel")
        check(f"cancel the {name} job: 200 canceled", status == 200 and job["status"] == "canceled", str(status))
        status, _, body = action(ids[name], "cancel")
        is_problem(f"cancel the {name} job again: 409 naming its state", status, body, 409, "status", "conflict")
        check("  the conflict's detail says the state", "canceled" in body.get("detail", ""), str(body))
    return ids["storyboard"]


def test_refusals():
    before = sql("SELECT count(*) FROM jobs")[0][0]
    base = {"template": "storyboard", "input": {"text": "A fox."}}
    cases = [
        ({**base, "priority": 1}, "priority", "unknown-field"),
        ({**base, "input": {"text": "A fox.", "title": "t"}}, "input.title", "unknown-field"),
        ({**base, "options": {"fps": 30}}, "options.fps", "unknown-field"),
        ({**base, "options": {"providers": {"llm": "x"}}}, "options.providers.llm", "unknown-field"),
        ({**base, "options": {"max_shots": 0}}, "options.max_shots", "invalid-field"),
        ({**base, "options": {"transition": "zoom"}}, "options.transition", "invalid-field"),
        ({**base, "options": {"transition_ms": 5000}}, "options.transition_ms", "invalid-field"),
        ({**base, "options": {"subtitles": True}}, "options.subtitles", "invalid-field"),
        ({**base, "options": {"webhook_url": "ftp://x"}}, "options.webhook_url", "invalid-field"),
        ({**base, "options": {"language": "not a tag"}}, "options.language", "invalid-field"),
        ({"template": "demo", "input": {"description": "d"}}, "input.url", "invalid-field"),
        ({"template": "demo", "input": {"url": "https://e.com", "description": ""}}, "input.description", "invalid-field"),
    ]
    for body, field, kind in cases:
        status, _, problem = create(body)
        is_problem(f"create refuses {field} ({kind})", status, problem, 422, field, kind)
    status, _, problem = call("POST", "/v1/jobs", raw=b'{"template":', route="/v1/jobs")
    is_problem("create refuses bad JSON with 400", status, problem, 400, kind="invalid-json")
    check("refused creates wrote no job", sql("SELECT count(*) FROM jobs")[0][0] == before)


def test_idempotency(bindir):
    body = {"template": "storyboard", "input": {"text": "Idempotent fox. " + str(time.time())}, "options": {"max_shots": 1}}
    key = {"Idempotency-Key": "create-" + str(time.time())}
    s1, h1, j1 = create(body, key)
    s2, h2, j2 = create(body, key)
    check("a replayed create answers the first answer", s1 == s2 == 202 and j1 == j2, f"{s1} {s2}")
    check("the replay says so and keeps the Location",
          h2.get("Idempotent-Replayed") == "true" and h2.get("Location") == h1.get("Location"), str(dict(h2)))
    text = body["input"]["text"].replace("'", "''")
    check("the replay made no second job", sql(f"SELECT count(*) FROM jobs WHERE input->>'text' = '{text}'")[0][0] == "1")
    s3, _, p3 = create({**body, "options": {"max_shots": 2}}, key)
    is_problem("the same key with another body answers 422", s3, p3, 422, "Idempotency-Key", "idempotency-mismatch")
    s4, _, p4 = create(body, {"Idempotency-Key": "k" * 256})
    is_problem("a key over 255 characters answers 400", s4, p4, 400, "Idempotency-Key", "invalid-header")
    # Concurrent duplicates, through two gateway processes: one job, the same answer for all.
    body = {**body, "input": {"text": "Concurrent fox. " + str(time.time())}}
    key = {"Idempotency-Key": "burst-" + str(time.time())}
    proc, other = second_gateway(bindir)
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: create(body, key, other if i % 2 else None), range(16)))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    ids = {r[2].get("id") for r in results if r[0] == 202}
    check("16 concurrent duplicates on two gateways all answer 202 with one job id",
          len(ids) == 1 and all(r[0] == 202 for r in results), str([r[0] for r in results]))
    text = body["input"]["text"].replace("'", "''")
    check("concurrent duplicates created one job",
          sql(f"SELECT count(*) FROM jobs WHERE input->>'text' = '{text}'")[0][0] == "1")
    # Actions too: a replayed cancel answers 200 again instead of 409.
    victim = next(iter(ids))
    k = {"Idempotency-Key": "cancel-" + victim}
    s1, _, a1 = action(victim, "cancel", headers=k)
    s2, h2, a2 = action(victim, "cancel", headers=k)
    check("a replayed cancel answers its first 200", s1 == s2 == 200 and a1 == a2 and h2.get("Idempotent-Replayed"),
          f"{s1} {s2}")
    s3, _, p3 = action(victim, "cancel")
    is_problem("a cancel without the key is a 409", s3, p3, 409, "status", "conflict")
    s4, _, p4 = action(victim, "cancel", body={"now": True}, headers={"Idempotency-Key": "cancel-2-" + victim})
    is_problem("an action body with a member is refused by name", s4, p4, 422, "now", "unknown-field")


def shot_rows(job_id):
    return sql(f"SELECT idx, status, prompt, narration FROM shots WHERE job_id = '{job_id}' ORDER BY idx")


def events_since(job_id, seq, kind, shot=None):
    where = "shot IS NULL" if shot is None else f"shot = {shot}"
    return sql(f"SELECT seq, coalesce(detail::text, '') FROM job_events WHERE job_id = '{job_id}' AND seq > {seq} AND kind = '{kind}' AND {where}")


def last_seq():
    return int(sql("SELECT coalesce(max(seq), 0) FROM job_events")[0][0])


def test_done_job(job_id):
    job = wait_status(job_id, ("done",))
    if not check("the storyboard job is done", job.get("status") == "done", json.dumps(job)[:400]):
        return False
    stages, timings = job["progress"].get("stages", {}), job.get("timings", {})
    check("every stage is done", all(s.get("status") == "done" for s in stages.values()) and len(stages) == 4, str(stages))
    check("every stage has created, started and finished times",
          all(t.get("created") and t.get("started") and t.get("finished") for t in timings.values()), str(timings))
    check("stage times are in order", timings["parse"]["finished"] <= timings["render"]["finished"]
          <= timings["tts"]["finished"] <= timings["merge"]["finished"], str(timings))
    out = job["output"]
    check("the output links the video, and a manifest_url member is there",
          out.get("video_url", "").startswith("/v1/files/") and "manifest_url" in out, str(out))
    check("the job links its manifest", out.get("manifest_url") == job_path(job_id, "/manifest"), str(out))
    status, _, body = call("GET", job_path(job_id, "/manifest"), route="/v1/jobs/{id}/manifest")
    assets = (body or {}).get("assets") or [{}]
    check("GET manifest: 200 with a signed url per asset",
          status == 200 and all(a.get("url", "").startswith("/v1/files/") for a in assets), str(body)[:400])
    check("the manifest lists the video, the poster and the subtitles",
          {"video/mp4", "image/jpeg", "application/x-subrip", "text/vtt"} <= {a.get("type") for a in assets},
          str([a.get("type") for a in assets]))
    for asset in assets:
        code, _, got = tf.http("GET", asset.get("url", "/"))
        check(f"  {asset.get('key')} downloads with the manifest's size and sha256",
              code == 200 and len(got) == asset.get("bytes") and hashlib.sha256(got).hexdigest() == asset.get("sha256"),
              str(code))
    status, _, fresh = create({"template": "storyboard", "input": {"text": "A short one."}})
    status, _, body = call("GET", job_path(fresh["id"], "/manifest"), route="/v1/jobs/{id}/manifest")
    is_problem("a job without a manifest yet: 404 no-manifest", status, body, 404, kind="no-manifest")
    action(fresh["id"], "cancel")  # not left merging when the fleet stops
    return True


def test_conflicts(job_id):
    for name in ("approve", "retry", "cancel"):
        status, _, body = action(job_id, name)
        is_problem(f"{name} on a done job: 409", status, body, 409, "status", "conflict")
        check(f"  {name}'s conflict names the state done", "the job is done" in body.get("detail", ""), str(body))
    status, _, body = action(job_id, "skip", shot=0)
    is_problem("skip on a done job: 409", status, body, 409, "status", "conflict")
    status, _, body = action(job_id, None, shot=0, method="PATCH", body={"prompt": "x", "mood": "calm"})
    is_problem("PATCH with an unknown field: 422 naming it", status, body, 422, "mood", "unknown-field")
    status, _, body = action(job_id, None, shot=99, method="PATCH", body={"prompt": "x"})
    is_problem("PATCH of a shot that does not exist: 404", status, body, 404)
    status, _, body = call("POST", job_path(job_id, "/shots/x/skip"), body={}, route="/v1/jobs/{id}/shots/{n}/skip")
    is_problem("a shot number that is no number: 404", status, body, 404)
    status, _, body = action("00000000-0000-0000-0000-000000000000", "retry")
    is_problem("retry of an unknown job: 404", status, body, 404)
    sql(f"UPDATE jobs SET status = 'merging' WHERE id = '{job_id}'")
    status, _, body = action(job_id, None, shot=0, method="PATCH", body={"prompt": "x"})
    is_problem("PATCH while merging: 409 naming the state", status, body, 409, "status", "conflict")
    check("  it says merging", "merging" in body.get("detail", ""), str(body))
    sql(f"UPDATE jobs SET status = 'done' WHERE id = '{job_id}'")


def test_regenerate(job_id):
    status, _, job = action(job_id, None, shot=0, method="PATCH", body={"prompt": "a lighthouse, ink wash, at dawn"})
    check("PATCH a done job's shot: 200 with the new prompt",
          status == 200 and job["shots"][0]["prompt"] == "a lighthouse, ink wash, at dawn", str(status))
    seq = last_seq()
    status, _, job = action(job_id, "regenerate", shot=0)
    check("regenerate shot 0: 200, job producing, shot pending",
          status == 200 and job["status"] == "producing" and job["shots"][0]["status"] == "pending"
          and job["progress"]["shots_ready"] == job["progress"]["shots_total"] - 1, json.dumps(job)[:300])
    job = wait_status(job_id, ("done",))
    check("the regenerated job is done again", job["status"] == "done", job["status"])
    check("shot 0 was rendered and voiced again", events_since(job_id, seq, "rendered", 0) and events_since(job_id, seq, "ready", 0))
    check("the job merged once more", len(events_since(job_id, seq, "merging")) == 1)
    status, _, body = action(job_id, "regenerate", shot=0)
    check("a second regenerate of the done job is accepted", status == 200, str(status))
    status, _, body = action(job_id, "regenerate", shot=0)  # the shot is on its way again
    is_problem("regenerate of a shot in flight: 409 naming its state", status, body, 409, "status", "conflict")
    check("  it says which state", "shot 0 is " in body.get("detail", ""), str(body))
    wait_status(job_id, ("done",))


def pause_with_failed_shot(job_id, shot, status="paused", stuck=None):
    sql(f"UPDATE shots SET status = 'failed', error = '{{\"stage\":\"render\",\"code\":\"x\",\"message\":\"m\"}}' "
        f"WHERE job_id = '{job_id}' AND idx = {shot}")
    if stuck is not None:
        sql(f"UPDATE shots SET status = 'rendered' WHERE job_id = '{job_id}' AND idx = {stuck}")
    sql(f"UPDATE jobs SET status = '{status}', shots_ready = (SELECT count(*) FROM shots WHERE job_id = '{job_id}' "
        f"AND status IN ('ready', 'skipped')) WHERE id = '{job_id}'")


def test_skip_and_retry(job_id):
    pause_with_failed_shot(job_id, 1)
    status, _, body = action(job_id, "skip", shot=0)
    is_problem("skip of a ready shot: 409", status, body, 409, "status", "conflict")
    seq = last_seq()
    status, _, job = action(job_id, "skip", shot=1)
    check("skip the failed shot: 200, the job merges", status == 200 and job["status"] == "merging"
          and job["shots"][1]["status"] == "skipped", json.dumps(job)[:300])
    job = wait_status(job_id, ("done",))
    check("the job with a skipped shot is done", job["status"] == "done", job["status"])
    check("exactly one merge followed the skip", len(events_since(job_id, seq, "merging")) == 1)
    pause_with_failed_shot(job_id, 2, status="failed", stuck=0)
    seq = last_seq()
    status, _, job = action(job_id, "retry")
    check("retry a failed job: 200, producing, failed and stuck shots pending",
          status == 200 and job["status"] == "producing" and job["shots"][2]["status"] == "pending"
          and job["shots"][0]["status"] == "pending" and job["shots"][1]["status"] == "skipped", json.dumps(job)[:300])
    job = wait_status(job_id, ("done",))
    check("the retried job is done", job["status"] == "done" and job["shots"][2]["status"] == "ready", job["status"])
    check("retry recorded producing with its action", '{"action": "retry"}' in [r[1] for r in events_since(job_id, seq, "producing")])


def test_review(job_id):
    sql(f"UPDATE shots SET status = 'pending' WHERE job_id = '{job_id}'")
    sql(f"UPDATE jobs SET status = 'review', shots_ready = 0, output = NULL WHERE id = '{job_id}'")
    before = shot_rows(job_id)
    status, _, body = action(job_id, "approve", body={"shots": [{"index": 0, "prompt": "changed"}, {"index": 7, "prompt": "x"}]})
    is_problem("approve with a shot that does not exist: 422 naming it", status, body, 422, "shots[1].index", "invalid-field")
    check("  and the edit before it was rolled back", shot_rows(job_id) == before)
    status, _, job = action(job_id, None, shot=2, method="PATCH", body={"narration": "The boat came home."})
    check("PATCH in review: 200", status == 200 and job["shots"][2]["narration"] == "The boat came home.", str(status))
    status, _, job = action(job_id, "approve", body={"shots": [{"index": 1, "prompt": "a child on the shore, ink wash"}]})
    check("approve with an edit: 200, producing", status == 200 and job["status"] == "producing"
          and job["shots"][1]["prompt"] == "a child on the shore, ink wash", json.dumps(job)[:300])
    job = wait_status(job_id, ("done",))
    check("the approved job is done with every shot ready", job["status"] == "done"
          and all(s["status"] == "ready" for s in job["shots"]), job["status"])
    # A job that failed before it had shots is parsed again.
    sql(f"DELETE FROM shots WHERE job_id = '{job_id}'")
    sql(f"UPDATE jobs SET status = 'failed', shots_total = 0, shots_ready = 0 WHERE id = '{job_id}'")
    status, _, job = action(job_id, "retry")
    check("retry without shots: 200, queued for parsing", status == 200 and job["status"] == "queued", str(status))
    job = wait_status(job_id, ("done",))
    check("the re-parsed job is done", job["status"] == "done" and job["shots"], job["status"])


# ---- cached GET answers follow every change ----

ORDER = ("queued", "parsing", "producing", "merging", "done")
SHOT_PAST = {"rendered": ("rendered", "voicing", "ready"), "ready": ("ready",)}


def job_stream(job_id):
    """Yields the rows of the job's event stream (GET .../events) as dicts until it ends."""
    host, port = tf.GATEWAY.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.request("GET", job_path(job_id, "/events"), headers={"Accept": "text/event-stream"})
    for line in conn.getresponse():
        if line.startswith(b"data: "):
            yield json.loads(line[6:])
    conn.close()


def shows(view, ev):
    """Whether the job resource view reflects event row ev (or a later state)."""
    if ev["shot"] is not None:
        return ev["kind"] not in SHOT_PAST or view["shots"][ev["shot"]]["status"] in SHOT_PAST[ev["kind"]]
    if ev["kind"] == "done":
        return view["status"] == "done" and view["output"] and view["output"].get("video_url")
    return ev["kind"] not in ORDER or view["status"] in ORDER[ORDER.index(ev["kind"]):]


def test_fresh_after_workers():
    """The gateway drops a job's cached answer when it reads the job's event, before it
    streams the event: a GET sent on receipt shows the change, while another client
    keeps the cache filled."""
    _, _, job = create({"template": "storyboard", "input": {"text": STORY}})
    stop, stale, seen = threading.Event(), [], []

    def hammer():  # about 50 GETs a second: well within the anonymous user's rate limit
        while not stop.is_set():
            tf.http("GET", job_path(job["id"]))
            time.sleep(0.02)

    t, view = None, {}
    for ev in job_stream(job["id"]):
        if t is None:  # no GET before the stream opened: no answer is older than its catch-up
            t = threading.Thread(target=hammer, daemon=True)
            t.start()
        view = get_job(job["id"])
        seen.append(ev["kind"])
        if not shows(view, ev):
            stale.append((ev["kind"], ev["shot"], view["status"]))
    stop.set()
    t and t.join()
    check("GET right after each worker event shows it (cache on, kept warm)", not stale and "done" in seen
          and seen.count("ready") == len(view.get("shots", [])) > 0, f"stale {stale}, events {seen}")


def stalled_job(session):
    """A producing job no worker knows of (no outbox message): its changes come from the test."""
    return session("INSERT INTO jobs (owner, template, input, trace, status) VALUES ('anonymous', 'storyboard', "
                   "'{\"text\":\"x\"}', 'test', 'producing') RETURNING id")


def test_fresh_after_events_and_actions():
    """A change announced by a job_events row reaches GET before the cached answer's
    deadline (so it was dropped, not expired); one written without an event is not
    seen at once (the cache is really on); the gateway's own actions show at once."""
    psql = subprocess.Popen(["psql", tf.fleet_env()["REEL_DATABASE_URL"], "-qtAX"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)

    def session(statement):  # one open connection: a statement costs milliseconds, not a process start
        psql.stdin.write(statement + ";\n")
        psql.stdin.flush()
        return psql.stdout.readline().strip()

    results, took = None, []
    for _ in range(8):  # a round is void when the loaded machine took longer than the deadline
        job_id = stalled_job(session)
        t0 = time.time()
        get_job(job_id)  # the first GET renders and stores the answer
        session(f"UPDATE jobs SET status = 'paused' WHERE id = '{job_id}' RETURNING 1")
        silent = get_job(job_id)["status"]
        session(f"INSERT INTO job_events (job_id, kind) VALUES ('{job_id}', 'paused') RETURNING seq")
        while get_job(job_id)["status"] != "paused" and time.time() < t0 + 1.5:
            time.sleep(0.005)
        took.append(round(time.time() - t0, 3))
        if took[-1] < 0.95:
            results = (silent, get_job(job_id)["status"])
            break
    check("a change without an event: the cached answer is served", results and results[0] == "producing",
          f"{results} rounds took {took} s")
    check("a change with its event: GET shows it before the cached answer expires", results
          and results[1] == "paused", str(results))
    job_id = stalled_job(session)
    get_job(job_id)
    status, _, _ = action(job_id, "cancel")
    check("cancel, then GET at once: canceled", status == 200 and get_job(job_id)["status"] == "canceled", str(status))
    psql.stdin.close()
    psql.wait(timeout=30)


def test_schemas():
    call("GET", "/v1/jobs?limit=5", route="/v1/jobs")
    call("GET", "/healthz", route="/healthz")
    call("GET", "/readyz", route="/readyz")
    checked = accepted = 0
    for method, route, status, ctype, body, request in answers:
        schema = oa.request_schema(DOC, method, route) if request is not None and status < 300 else None
        if schema:  # a request the gateway accepted must be one the document allows
            errs = oa.validate(DOC, schema, request)
            accepted += 1
            if errs:
                check(f"{method} {route} accepted request is valid against its schema", False, "; ".join(errs[:5]))
        schema = oa.response_schema(DOC, method, route, status, ctype.split(";")[0])
        if not check(f"{method} {route} {status} is described in the OpenAPI document", schema is not None, ctype):
            continue
        errs = oa.validate(DOC, schema, body)
        checked += 1
        if errs:
            check(f"{method} {route} {status} answer is valid against its schema", False, "; ".join(errs[:5]))
    check(f"{checked} real answers were validated against the document", checked >= 40, str(checked))
    check(f"{accepted} accepted requests were validated against the document", accepted >= 15, str(accepted))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.fresh_run(bindir)
    started = False
    try:
        tf.fleet("start", bindir)
        started = True
        test_openapi()
        job_id = test_create()
        test_refusals()
        test_idempotency(bindir)
        test_fresh_after_events_and_actions()
        test_fresh_after_workers()
        if test_done_job(job_id):
            test_conflicts(job_id)
            test_regenerate(job_id)
            test_skip_and_retry(job_id)
            test_review(job_id)
        test_schemas()
    finally:
        if started or os.path.exists(os.path.join(tf.RUN, "pids")):
            tf.fleet("stop", bindir)
    return tf.summary(tf.RUN)


if __name__ == "__main__":
    sys.exit(main())
