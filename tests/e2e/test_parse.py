#!/usr/bin/env python3
"""End-to-end test of parse-worker with language models: the fleet (its own
run dir, .run/e2e-parse) with the provider simulator (tests/sim/sim.py) in
place of OpenAI and Anthropic. The fleet's own parse-worker is stopped; each
case queues jobs through the gateway (adjusting template, input and options
in PostgreSQL where the case needs them), scripts the simulator and starts
one parse-worker with the case's environment, then checks the jobs, the
requests the simulator saw and the usage rows.

    python3 tests/e2e/test_parse.py --bin build/san/bin
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sim"))
import simctl  # noqa: E402
import test_fleet as tf  # noqa: E402  (helpers: http, sql, check, fleet)

RUN = os.path.join(tf.ROOT, ".run", "e2e-parse")
tf.RUN = RUN
check = tf.check

STORY = """Mara opened the lighthouse door before dawn. The lamp had gone dark in the storm.
She climbed the hundred steps with a can of oil and a box of matches.
At the top the sea was grey and wild. A small boat was fighting the waves near the rocks.
Mara lit the lamp. Its beam swept over the water, and the boat turned toward the harbour."""

SCREENPLAY = """INT. KITCHEN - NIGHT

Rain hammers the window. ANNA stirs a pot on the stove.

ANNA: He is late again.
BEN: The road is flooded. I came the long way.

EXT. GARDEN - DAWN

The storm has passed. Anna and Ben look at the broken fence.

ANNA
We fix it together.
"""

SIM = []  # the one simulator of this run


def sim_reset(config=None, **scripts):
    SIM[0].reset(config, **scripts)


def sim_requests():
    return SIM[0].requests()


def stop_fleet_parse_worker():
    """The fleet's parse-worker (offline) goes; each case starts its own."""
    tf.stop_fleet_daemon("parse-worker")


def start_parse_worker(bindir, case, **env):
    full = {**os.environ, **tf.fleet_env(), **SIM[0].env(), "REEL_HTTP_ADDR": "127.0.0.1:0",
            "OPENAI_API_KEY": "sk-good", "ANTHROPIC_API_KEY": "sk-ant-good",
            "ASAN_OPTIONS": f"log_path={RUN}/sanitizer:detect_leaks=1",
            "UBSAN_OPTIONS": f"log_path={RUN}/sanitizer:print_stacktrace=1", **env}
    log = open(os.path.join(RUN, "logs", f"parse-{case}.log"), "w")
    return subprocess.Popen([os.path.join(bindir, "parse-worker")], env=full, stdout=log, stderr=subprocess.STDOUT)


def stop_parse_worker(p):
    p.send_signal(signal.SIGTERM)
    try:
        code = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        code = None
    check("parse-worker stops cleanly on SIGTERM", code == 0, f"exit {code}")


def queue_jobs(n, text=STORY, template=None, input=None, options=None):
    """Jobs created through the gateway, then given the case's template, input and options."""
    ids = []
    for _ in range(n):
        code, _, body = tf.http("POST", "/v1/jobs", {"template": "storyboard", "input": {"text": text}})
        if code != 202:
            raise RuntimeError(f"create answered {code}: {body[:200]}")
        ids.append(json.loads(body)["id"])
    sets = []
    if template:
        sets.append(f"template = '{template}'")
    if input is not None:
        sets.append(f"input = $j${json.dumps(input)}$j$::jsonb")
    if options is not None:
        sets.append(f"options = $j${json.dumps(options)}$j$::jsonb")
    if sets:
        tf.sql(f"UPDATE jobs SET {', '.join(sets)} WHERE id IN ({quoted(ids)})")
    return ids


def quoted(ids):
    return ",".join(f"'{i}'" for i in ids)


def wait_status(ids, statuses, timeout=120):
    deadline = time.time() + timeout
    rows = []
    while time.time() < deadline:
        rows = tf.sql(f"SELECT id, status FROM jobs WHERE id IN ({quoted(ids)})")
        if len(rows) == len(ids) and all(s in statuses for _, s in rows):
            break
        time.sleep(0.2)
    return {i: s for i, s in rows}


def job_error(job_id):
    rows = tf.sql(f"SELECT coalesce(error::text, '{{}}') FROM jobs WHERE id = '{job_id}'")
    return json.loads(rows[0][0])


def calls_of(job_id):
    return tf.sql(f"SELECT provider, model, purpose, attempt, coalesce(http_status, 0), outcome, tokens_in, "
                  f"tokens_out, latency_ms, cost_usd FROM provider_calls WHERE job_id = '{job_id}' ORDER BY id")


def shots_of(job_id):
    return tf.sql(f"SELECT idx, prompt, narration, coalesce(speaker, ''), coalesce(camera, ''), est_duration_ms, "
                  f"status FROM shots WHERE job_id = '{job_id}' ORDER BY idx")


def run_case(bindir, case, env, ids, statuses, timeout=120):
    p = start_parse_worker(bindir, case, **env)
    try:
        return wait_status(ids, statuses, timeout)
    finally:
        stop_parse_worker(p)


PAST_PARSE = ("producing", "merging", "done", "review")


def case_openai(bindir):
    sim_reset(config={"keys": {"openai": "sk-good"}})
    [job] = queue_jobs(1, options={"style": "watercolor", "max_shots": 3})
    st = run_case(bindir, "openai", {"REEL_PARSE_PROVIDER": "openai", "REEL_PARSE_OPENAI_PRICES": "1,2"}, [job],
                  ("done", "failed"), timeout=300)
    check("openai: the job is done", st.get(job) == "done", str(st) + str(job_error(job)))
    reqs = sim_requests()["requests"]
    check("openai: one call", len(reqs) == 1, str(len(reqs)))
    r = reqs[0]
    check("openai: bearer key sent", r["headers"].get("authorization") == "Bearer sk-good")
    rf = r["body"].get("response_format", {})
    check("openai: json_schema response_format with the storyboard schema",
          rf.get("type") == "json_schema" and rf["json_schema"]["name"] == "storyboard"
          and "shots" in rf["json_schema"]["schema"]["properties"], json.dumps(rf)[:300])
    roles = [m["role"] for m in r["body"]["messages"]]
    check("openai: system and user messages", roles == ["system", "user"], str(roles))
    check("openai: the user message holds the story and the shot limit",
          "lighthouse door" in r["body"]["messages"][1]["content"] and "at most 3 shots" in r["body"]["messages"][1]["content"])
    shots = shots_of(job)
    check("openai: the shots of the answer are written", len(shots) == 3, str(len(shots)))
    check("openai: style begins every prompt", all(s[1].startswith("watercolor, Scene ") for s in shots),
          str([s[1][:40] for s in shots]))
    check("openai: the character's look is in the prompts she appears in",
          all("Mara: a tall woman in a red wool coat" in s[1] for s in shots), shots[0][1])
    check("openai: camera moves and durations kept", [s[4] for s in shots] == ["zoom_in", "pan_right", "static"]
          and all(s[5] == "4000" for s in shots), str([(s[4], s[5]) for s in shots]))
    meta = json.loads(tf.sql(f"SELECT storyboard::text FROM jobs WHERE id = '{job}'")[0][0])
    check("openai: jobs.storyboard has title, language and characters",
          meta.get("title") and meta.get("language") == "en" and meta["characters"][0]["name"] == "Mara", str(meta))
    calls = calls_of(job)
    check("openai: one usage row with tokens, latency and cost",
          len(calls) == 1 and calls[0][0] == "openai" and calls[0][5] == "ok" and int(calls[0][6]) > 0
          and int(calls[0][7]) > 0 and float(calls[0][9]) > 0, str(calls))
    tf.check_events("openai", job)


def case_anthropic(bindir):
    sim_reset(config={"keys": {"anthropic": "sk-ant-good"}})
    [job] = queue_jobs(1, options={"max_shots": 2})
    st = run_case(bindir, "anthropic", {"REEL_PARSE_PROVIDER": "anthropic"}, [job], ("done", "failed"), timeout=300)
    check("anthropic: the job is done", st.get(job) == "done", str(st) + str(job_error(job)))
    reqs = sim_requests()["requests"]
    check("anthropic: one call", len(reqs) == 1, str(len(reqs)))
    r = reqs[0]
    check("anthropic: x-api-key and anthropic-version sent",
          r["headers"].get("x-api-key") == "sk-ant-good" and r["headers"].get("anthropic-version") == "2023-06-01")
    b = r["body"]
    check("anthropic: a forced tool call whose input schema is the storyboard schema",
          b.get("tool_choice") == {"type": "tool", "name": "emit_storyboard"}
          and b["tools"][0]["name"] == "emit_storyboard" and "shots" in b["tools"][0]["input_schema"]["properties"],
          json.dumps(b.get("tool_choice")))
    check("anthropic: system prompt top-level, max_tokens set", b.get("system") and b.get("max_tokens", 0) > 0)
    check("anthropic: two shots written", len(shots_of(job)) == 2)
    calls = calls_of(job)
    check("anthropic: usage row", len(calls) == 1 and calls[0][0] == "anthropic" and int(calls[0][6]) > 0, str(calls))


def case_templates_and_override(bindir):
    """Default provider offline; one job overrides it; screenplay and demo templates; review stops the job."""
    sim_reset()
    [script_off] = queue_jobs(1, template="script", input={"text": SCREENPLAY}, options={"style": "ink sketch"})
    [script_llm] = queue_jobs(1, template="script", input={"text": SCREENPLAY},
                              options={"providers": {"parse": "openai"}})
    [demo] = queue_jobs(1, template="demo", input={"url": "https://example.com/app",
                                                   "description": "Sign in with your email. Open the dashboard. "
                                                                  "Click New Project and name it."})
    [review] = queue_jobs(1, options={"review": True, "providers": {"parse": "anthropic"}})
    [unknown] = queue_jobs(1, options={"providers": {"parse": "nonesuch"}})
    ids = [script_off, script_llm, demo, review, unknown]
    st = run_case(bindir, "templates", {}, ids, PAST_PARSE + ("failed",))
    check("templates: every job left parsing", len(st) == 5 and all(s != "parsing" for s in st.values()), str(st))
    shots = shots_of(script_off)
    speakers = [s[3] for s in shots]
    check("script (offline): dialogue keeps its speakers", "ANNA" in speakers and "BEN" in speakers, str(speakers))
    check("script (offline): action lines are narrated", any(s[3] == "" and "Rain hammers" in s[2] for s in shots))
    check("script (offline): the scene's place and time are in its prompts",
          any("ink sketch, interior, kitchen, night" in s[1] for s in shots)
          and any("exterior, garden, dawn" in s[1] for s in shots), str([s[1][:60] for s in shots]))
    check("script (offline): a centred name's line keeps its speaker",
          any(s[3] == "ANNA" and s[2] == "We fix it together." for s in shots), str([(s[3], s[2]) for s in shots]))
    reqs = sim_requests()["requests"]
    routes = sorted(r["route"] for r in reqs)
    check("per-job providers: one openai and one anthropic call, nothing for offline jobs",
          routes == ["anthropic", "openai"], str(routes))
    llm = [r for r in reqs if r["route"] == "openai"][0]["body"]["messages"][1]["content"]
    check("script (openai): the screenplay prompt is used", "screenplay" in llm and "INT. KITCHEN - NIGHT" in llm)
    check("script (openai): speakers from the answer are kept",
          {"ANNA", "BEN"} <= {s[3] for s in shots_of(script_llm)}, str([s[3] for s in shots_of(script_llm)]))
    dshots = shots_of(demo)
    check("demo (offline): steps in order on the product's screen",
          len(dshots) >= 1 and all("https://example.com/app" in s[1] for s in dshots)
          and "Sign in" in dshots[0][2], str([(s[1][:80], s[2]) for s in dshots]))
    check("review: the job waits in review with its shots written and nothing rendering",
          st.get(review) == "review" and len(shots_of(review)) > 0
          and all(s[6] == "pending" for s in shots_of(review)), str(st.get(review)))
    kinds = [k for (k,) in tf.sql(f"SELECT kind FROM job_events WHERE job_id = '{review}' AND shot IS NULL ORDER BY seq")]
    check("review: events queued, parsing, review", kinds == ["queued", "parsing", "review"], str(kinds))
    err = job_error(unknown)
    check("an unknown per-job provider fails the job, saying which",
          st.get(unknown) == "failed" and "nonesuch" in err.get("message", ""), str(err))


def case_repair(bindir):
    sim_reset(openai={"answers": [{"kind": "invalid_json"}]})
    [job] = queue_jobs(1)
    st = run_case(bindir, "repair", {"REEL_PARSE_PROVIDER": "openai"}, [job], PAST_PARSE + ("failed",))
    check("repair: invalid JSON repaired in one round", st.get(job) in PAST_PARSE, str(st) + str(job_error(job)))
    reqs = sim_requests()["requests"]
    check("repair: two calls", len(reqs) == 2, str(len(reqs)))
    if len(reqs) == 2:
        msgs = reqs[1]["body"]["messages"]
        check("repair: the rejected answer and the errors are quoted",
              [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
              and msgs[2]["content"].startswith('{"title": "Broken"') and "not valid JSON" in msgs[3]["content"],
              json.dumps(msgs[2:])[:300])
    calls = calls_of(job)
    check("repair: usage rows for both calls",
          [(c[2], c[5]) for c in calls] == [("storyboard", "invalid"), ("repair", "ok")], str(calls))


def case_stays_wrong(bindir):
    sim_reset(openai={"default": {"kind": "wrong_schema"}})
    [job] = queue_jobs(1)
    st = run_case(bindir, "wrong", {"REEL_PARSE_PROVIDER": "openai", "REEL_PARSE_MAX_ATTEMPTS": "2"}, [job],
                  PAST_PARSE + ("failed",))
    err = job_error(job)
    check("wrong schema: the job fails", st.get(job) == "failed", str(st))
    check("wrong schema: the reason names what is wrong and the attempts",
          err.get("code") == "invalid_storyboard" and "duration_s" in err.get("message", "")
          and "gave up after 2 attempts" in err.get("message", ""), str(err))
    n = len(sim_requests()["requests"])
    check("wrong schema: 2 attempts of a call and a repair each", n == 4, str(n))
    check("wrong schema: no shots written", not shots_of(job))


def case_rate_limited(bindir):
    sim_reset(anthropic={"answers": [{"kind": "error", "status": 429, "retry_after": "2"},
                                     {"kind": "error", "status": 529}]})
    [job] = queue_jobs(1)
    st = run_case(bindir, "429", {"REEL_PARSE_PROVIDER": "anthropic"}, [job], PAST_PARSE + ("failed",))
    check("429/529: the job gets through", st.get(job) in PAST_PARSE, str(st) + str(job_error(job)))
    reqs = sim_requests()["requests"]
    check("429/529: three calls", len(reqs) == 3, str(len(reqs)))
    if len(reqs) >= 2:
        gap = reqs[1]["at"] - reqs[0]["done"]
        check("429: Retry-After (2 s) honoured before the next call", gap >= 1.9, f"{gap:.2f} s")
    outcomes = [c[5] for c in calls_of(job)]
    check("429/529: usage outcomes", outcomes == ["rate_limited", "server_error", "ok"], str(outcomes))


def case_server_error_and_bad_answers(bindir):
    sim_reset(openai={"answers": [{"kind": "error", "status": 500}, {"kind": "truncated"}, {"kind": "empty"},
                                  {"kind": "oversize", "bytes": 200000}]})
    [job] = queue_jobs(1)
    st = run_case(bindir, "500", {"REEL_PARSE_PROVIDER": "openai", "REEL_PARSE_MAX_ANSWER_KB": "64"}, [job],
                  PAST_PARSE + ("failed",))
    check("500, truncated, empty, oversize: retried until a good answer", st.get(job) in PAST_PARSE,
          str(st) + str(job_error(job)))
    outcomes = [c[5] for c in calls_of(job)]
    check("500, truncated, empty, oversize: each recorded",
          outcomes == ["server_error", "truncated", "empty", "oversize", "ok"], str(outcomes))


def case_timeout(bindir):
    sim_reset(openai={"answers": [{"kind": "storyboard", "delay_ms": 6000}]})
    [job] = queue_jobs(1)
    st = run_case(bindir, "timeout", {"REEL_PARSE_PROVIDER": "openai", "REEL_PARSE_TIMEOUT_S": "1"}, [job],
                  PAST_PARSE + ("failed",))
    check("hung call: timed out and retried", st.get(job) in PAST_PARSE, str(st) + str(job_error(job)))
    calls = calls_of(job)
    check("hung call: recorded as a timeout, then ok", [c[5] for c in calls] == ["timeout", "ok"]
          and int(calls[0][8]) < 3000, str(calls))


def case_refused_key(bindir):
    sim_reset(config={"keys": {"openai": "sk-good"}})
    [job] = queue_jobs(1)
    st = run_case(bindir, "auth", {"REEL_PARSE_PROVIDER": "openai", "OPENAI_API_KEY": "sk-wrong"}, [job],
                  PAST_PARSE + ("failed",))
    err = job_error(job)
    check("refused key: the job fails at once", st.get(job) == "failed", str(st))
    check("refused key: the error names OPENAI_API_KEY",
          err.get("code") == "provider_auth" and "OPENAI_API_KEY" in err.get("message", ""), str(err))
    n = len(sim_requests()["requests"])
    check("refused key: no retries", n == 1, str(n))


def case_quota_and_should_retry(bindir):
    sim_reset(openai={"answers": [{"kind": "error", "status": 429, "code": "insufficient_quota",
                                   "message": "You exceeded your current quota"},
                                  {"kind": "error", "status": 503, "should_retry": "false"}]})
    ids = queue_jobs(2)
    st = run_case(bindir, "quota", {"REEL_PARSE_PROVIDER": "openai"}, ids, PAST_PARSE + ("failed",))
    errors = sorted(job_error(i).get("message", "") for i in ids)
    check("429 insufficient_quota and a 503 with x-should-retry: false fail their jobs at once",
          all(st.get(i) == "failed" for i in ids), str(st))
    check("the reasons say what the vendor said",
          any("HTTP 429: You exceeded your current quota" in e for e in errors) and any("HTTP 503" in e for e in errors),
          str(errors))
    n = len(sim_requests()["requests"])
    check("quota, x-should-retry: one call each", n == 2, str(n))


def case_json_schema_fallback(bindir):
    sim_reset(config={"openai_json_schema": False})
    [job] = queue_jobs(1)
    st = run_case(bindir, "fallback", {"REEL_PARSE_PROVIDER": "openai"}, [job], PAST_PARSE + ("failed",))
    check("json_schema refused: falls back to JSON mode", st.get(job) in PAST_PARSE, str(st) + str(job_error(job)))
    kinds = [r["body"]["response_format"]["type"] for r in sim_requests()["requests"]]
    check("json_schema refused: json_schema then json_object", kinds == ["json_schema", "json_object"], str(kinds))


def case_concurrency(bindir):
    sim_reset(openai={"default": {"kind": "storyboard", "delay_ms": 2000}})
    ids = queue_jobs(64, options={"max_shots": 2})
    p = start_parse_worker(bindir, "concurrency", REEL_PARSE_PROVIDER="openai")
    try:
        st = wait_status(ids, PAST_PARSE + ("failed",), timeout=120)
        done_at = time.time()
    finally:
        stop_parse_worker(p)
    passed = sum(1 for s in st.values() if s in PAST_PARSE)
    check("64 jobs: all parsed by one parse-worker", passed == 64, str(passed))
    info = sim_requests()
    reqs = info["requests"]
    first = min(r["at"] for r in reqs) if reqs else done_at
    print(f"64 jobs with a 2 s simulated LLM: parsed in {done_at - first:.2f} s from the first call "
          f"({len(reqs)} calls, at most {info['max_in_flight']} in flight at once)")
    check("64 jobs: the calls overlapped (>= 32 in flight at once)", info["max_in_flight"] >= 32,
          str(info["max_in_flight"]))


CASES = [case_openai, case_anthropic, case_templates_and_override, case_repair, case_stays_wrong, case_rate_limited,
         case_server_error_and_bad_answers, case_timeout, case_refused_key, case_quota_and_should_retry,
         case_json_schema_fallback,
         case_concurrency]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--only", help="run the cases whose name contains this")
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.fresh_run(bindir)
    os.makedirs(os.path.join(RUN, "logs"))
    try:
        tf.fleet("start", bindir)
        SIM.append(simctl.Sim(os.path.join(RUN, "logs")))
        stop_fleet_parse_worker()
        for case in CASES:
            if args.only and args.only not in case.__name__:
                continue
            print(f"-- {case.__name__}", flush=True)
            case(bindir)
    finally:
        for sim in SIM:
            sim.stop()
        if os.path.exists(os.path.join(RUN, "pids")):
            tf.fleet("stop", bindir)
    return tf.summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
