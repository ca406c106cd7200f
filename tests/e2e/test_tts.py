#!/usr/bin/env python3
"""End-to-end test of the tts stage with real voices against the simulator.

Starts the provider simulator (tests/sim/sim.py) and the fleet (run dir
.run/e2e-tts) without its tts-worker and merge-worker (jobs end this test in
merging, their merge messages left on reel.merge), then runs tts-worker
itself, phase by phase, with the settings each phase needs. While no tts-worker runs, jobs wait with their shots
rendered; that is when a test changes what the parse stage would have written
(per-job provider, speakers, the storyboard's characters) or redelivers the
tts messages, so what the tts-worker then sees is fixed, not a race.

Checks: each provider's happy path (fish, openai, elevenlabs, espeak) with
the stored WAV measured against the audio the simulator made; a two-character
story gets two voices; a long narration split under the vendor's limit and
joined (duration within a few ms of the sum of its parts); word timings from
ElevenLabs and estimated timings from the rest; corrupt and empty audio fail
the shot with a readable error and pause the job; a refused key fails the job
at once naming the variable; 429 with Retry-After and a timeout are retried;
every tts message delivered three times still gives exactly one merge message
per job, counted on the reel.merge topic with librdkafka (kafka_probe.py);
every vendor call (failed ones too) is a provider_calls row; Fish Audio voices
registered with `reelctl voices` are listed by GET /v1/voices and cast, also
when added while tts-worker runs."""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sim"))
import kafka_probe  # noqa: E402
import test_fleet as tf  # noqa: E402
import vendors_tts  # noqa: E402

RUN = tf.RUN = os.path.join(tf.ROOT, ".run", "e2e-tts")
check, sql = tf.check, tf.sql
KEYS = {"fish": "fish-good", "openai_tts": "sk-good", "elevenlabs": "xi-good"}
SPLIT_LIMIT = 80


class Sim:
    def __init__(self):
        port_file = os.path.join(RUN, "sim.port")
        self.proc = subprocess.Popen([sys.executable, os.path.join(tf.ROOT, "tests", "sim", "sim.py"),
                                      "--port-file", port_file], stdout=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.time() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(open(port_file).read())}"

    def call(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def reset(self):
        self.call("/_sim/reset", {})
        self.call("/_sim/config", {"keys": KEYS})

    def script(self, route, answers=None, default=None):
        body = {"route": route, "answers": answers or []}
        if default is not None:
            body["default"] = default
        self.call("/_sim/script", body)

    def requests(self, route=None):
        return [r for r in self.call("/_sim/requests")["requests"] if route is None or r["route"] == route]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def text_of(req):
    body = req.get("body") or {}
    return body.get("text") or body.get("input") or ""


class TTSWorker:
    """A tts-worker process with the fleet's settings and the phase's own."""

    def __init__(self, bindir, sim, **env):
        full = {**os.environ, **tf.fleet_env(), "REEL_HTTP_ADDR": "127.0.0.1:0", "REEL_TTS_PROVIDER": "espeak",
                "FISH_BASE_URL": sim.url, "OPENAI_BASE_URL": sim.url + "/v1", "ELEVENLABS_BASE_URL": sim.url,
                "FISH_API_KEY": KEYS["fish"], "OPENAI_API_KEY": KEYS["openai_tts"],
                "ELEVENLABS_API_KEY": KEYS["elevenlabs"], "REEL_TTS_FISH_FORMAT": "wav",
                "REEL_TTS_OPENAI_FORMAT": "opus", "REEL_TTS_FISH_MAX_CHARS": str(SPLIT_LIMIT),
                "REEL_TTS_MAX_ATTEMPTS": "3", "REEL_TTS_TIMEOUT_S": "60",
                # as fleet.sh sets it for the dev broker, which reassigns partitions only after a session ends
                "REEL_KAFKA_SESSION_TIMEOUT_MS": "6000",
                "ASAN_OPTIONS": f"log_path={RUN}/sanitizer:detect_leaks=1",
                "UBSAN_OPTIONS": f"log_path={RUN}/sanitizer:print_stacktrace=1", **env}
        self.log = open(os.path.join(RUN, "logs", f"tts-worker.{int(time.time() * 1000)}.log"), "w")
        self.proc = subprocess.Popen([os.path.join(bindir, "tts-worker")], env=full, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return self.proc.returncode


def submit(text, **options):
    code, _, body = tf.http("POST", "/v1/jobs", {"template": "storyboard", "input": {"text": text},
                                                 "options": options})
    job = json.loads(body)
    if not check("create answers 202", code == 202 and job.get("id"), body[:200]):
        raise SystemExit(1)
    return job["id"]


def wait_rendered(job_ids, timeout=300):
    ids = ",".join(f"'{j}'" for j in job_ids)
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = sql(f"SELECT count(*) FILTER (WHERE j.shots_total > 0 AND j.status = 'producing' AND "
                   f"(SELECT count(*) FROM shots s WHERE s.job_id = j.id AND s.status = 'rendered') = j.shots_total) "
                   f"FROM jobs j WHERE j.id IN ({ids})")
        if int(rows[0][0]) == len(job_ids):
            return True
        time.sleep(0.3)
    return check("jobs reached rendered shots", False, ids)


def set_provider(job_id, provider):
    sql(f"UPDATE jobs SET options = options || '{{\"providers\":{{\"tts\":\"{provider}\"}}}}'::jsonb "
        f"WHERE id = '{job_id}'")


def wait_final(job_ids, timeout=300):
    """The jobs' statuses once the tts stage is over for each: merging (every shot ready), failed or paused."""
    ids = ",".join(f"'{j}'" for j in job_ids)
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = sql(f"SELECT count(*) FROM jobs WHERE id IN ({ids}) AND status IN ('merging', 'failed', 'paused')")
        if int(rows[0][0]) == len(job_ids):
            break
        time.sleep(0.3)
    return {r[0]: r[1] for r in sql(f"SELECT id, status FROM jobs WHERE id IN ({ids})")}


def shots_of(job_id):
    rows = sql(f"SELECT idx, status, narration, coalesce(speaker, ''), coalesce(audio_key, ''), "
               f"coalesce(duration_ms, 0), coalesce(timings::text, 'null'), coalesce(error::text, '') "
               f"FROM shots WHERE job_id = '{job_id}' ORDER BY idx")
    return [{"idx": int(r[0]), "status": r[1], "narration": r[2], "speaker": r[3], "audio_key": r[4],
             "duration_ms": int(r[5]), "timings": json.loads(r[6]), "error": r[7]} for r in rows]


def calls_of(job_id):
    """The job's provider_calls rows of the tts stage, in the order they were written."""
    rows = sql("SELECT provider, model, purpose, shot, attempt, coalesce(http_status, 0), outcome, characters, "
               f"latency_ms, coalesce(error, '') FROM provider_calls WHERE job_id = '{job_id}' AND stage = 'tts' "
               "ORDER BY id")
    return [{"provider": r[0], "model": r[1], "purpose": r[2], "shot": int(r[3]), "attempt": int(r[4]),
             "status": int(r[5]), "outcome": r[6], "characters": int(r[7]), "latency_ms": int(r[8]), "error": r[9]}
            for r in rows]


def probe_wav(key):
    path = os.path.join(RUN, "storage", key)
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", path], capture_output=True,
                         text=True, check=True).stdout
    s = json.loads(out)["streams"][0]
    return int(s["sample_rate"]), int(s["channels"]), int(s["duration_ts"]) * 1000 / int(s["sample_rate"])


def spoken_ms(text, voice, rate=24000):
    """How long the simulator's audio of text lasts from its first sound to its last, plus the kept padding."""
    _, align = vendors_tts.speech(text, voice, rate)
    sounding = [(a, b) for c, a, b in align if c.isalnum()]
    end = sounding[-1][1] - (vendors_tts.GAP_S / 2 if vendors_tts.CJK.match(
        [c for c, _, _ in align if c.isalnum()][-1]) else 0)
    return (end - sounding[0][0]) * 1000 + 2 * 50


def check_shot_audio(label, shot, expect_ms=None, slack_ms=None):
    ok = shot["status"] == "ready" and shot["audio_key"] and shot["duration_ms"] > 0
    if not check(f"{label}: shot {shot['idx']} ready with audio", ok, str(shot)[:300]):
        return
    rate, channels, ms = probe_wav(shot["audio_key"])
    check(f"{label}: shot {shot['idx']} stored as 48 kHz mono", rate == 48000 and channels == 1, f"{rate} {channels}")
    check(f"{label}: shot {shot['idx']} duration_ms is the stored audio's length ({shot['duration_ms']} vs {ms:.1f})",
          abs(ms - shot["duration_ms"]) <= 1)
    if expect_ms is not None:
        check(f"{label}: shot {shot['idx']} measured {shot['duration_ms']} ms, the vendor spoke {expect_ms:.0f} ms",
              abs(shot["duration_ms"] - expect_ms) <= slack_ms)
    t = shot["timings"]
    ok = isinstance(t, list) and t and all(a["start_ms"] <= a["end_ms"] for a in t) and \
        all(t[i]["end_ms"] <= t[i + 1]["start_ms"] + 1 for i in range(len(t) - 1)) and \
        t[-1]["end_ms"] <= shot["duration_ms"] and t[0]["start_ms"] >= 0
    check(f"{label}: shot {shot['idx']} has ordered timings within its audio", ok, json.dumps(t)[:300])


STORY = {
    "fish": "A small lighthouse stood on the northern cliff. Its keeper painted the door blue every spring.",
    "openai": "The baker opened her shop before dawn. Warm bread filled the narrow street with its smell.",
    "elevenlabs": "Seven geese crossed the frozen lake at noon. A child counted them twice and laughed.",
    "espeak": "The train left the valley station on time. Nobody noticed the empty seat by the window.",
}


def phase_providers(bindir, sim):
    """Each provider's happy path, chosen per job; timings; two characters, two voices; a long narration split."""
    jobs = {p: submit(text, max_shots=1) for p, text in STORY.items()}
    cast_text = "Mara opened the gate.\n\nTom carried the lantern.\n\nThe night was quiet."
    jobs["cast"] = submit(cast_text)
    long_text = ("The river starts high in the mountains, where the snow melts early. "
                 "It runs through pine forests and past three villages. Fishermen wait on its banks at dawn. "
                 "By summer it is slow, and children swim near the old mill.")
    jobs["long"] = submit(long_text, max_shots=1)
    zh_text = "小镇的清晨总是很安静。面包店的灯第一个亮起来！"
    jobs["zh"] = submit(zh_text, max_shots=1)
    if not wait_rendered(list(jobs.values())):
        return
    for p in ("fish", "openai", "elevenlabs"):
        set_provider(jobs[p], p)
    set_provider(jobs["cast"], "openai")
    set_provider(jobs["long"], "fish")
    set_provider(jobs["zh"], "elevenlabs")
    shots = shots_of(jobs["cast"])
    check("cast: the story has three shots", len(shots) == 3, str(len(shots)))
    sql(f"UPDATE shots SET speaker = CASE idx WHEN 0 THEN 'Mara' WHEN 1 THEN 'Tom' END WHERE job_id = '{jobs['cast']}'")
    sql(f"UPDATE jobs SET storyboard = '{{\"title\":\"Night\",\"language\":\"en\",\"characters\":["
        f"{{\"name\":\"Mara\",\"look\":\"a tall woman\",\"voice\":\"warm woman\"}},"
        f"{{\"name\":\"Tom\",\"look\":\"an old man\",\"voice\":\"gruff old man\"}}]}}'::jsonb "
        f"WHERE id = '{jobs['cast']}'")
    worker = TTSWorker(bindir, sim)
    status = wait_final(list(jobs.values()))
    worker.stop()
    for label, job in jobs.items():
        error = sql(f"SELECT coalesce(error::text, '') FROM jobs WHERE id = '{job}'")
        check(f"{label}: every shot ready, the job merging", status.get(job) == "merging", f"{status.get(job)} {error}")
    reqs = sim.requests()
    voices = {"fish": None, "openai": "alloy", "elevenlabs": "21m00Tcm4TlvDq8ikWAM"}
    for p in ("fish", "openai", "elevenlabs"):
        shot = shots_of(jobs[p])[0]
        mine = [r for r in reqs if text_of(r) and text_of(r) in STORY[p]]
        check(f"{p}: the {p} simulator route spoke the narration",
              mine and all(r["route"].startswith(p) and r.get("status") == 200 for r in mine) and
              " ".join(text_of(r) for r in mine) == STORY[p], str([(r["route"], r.get("status")) for r in mine]))
        rate = {"fish": 44100, "openai": 24000, "elevenlabs": 44100}[p]
        expect = sum(spoken_ms(text_of(r), voices[p], rate) for r in mine) - 10 * (len(mine) - 1)
        check_shot_audio(p, shot, expect, 40)
    models = {"fish": "s1", "openai": "tts-1", "elevenlabs": "eleven_multilingual_v2"}
    for p in ("fish", "openai", "elevenlabs"):
        calls = calls_of(jobs[p])
        sent = [len(text_of(r)) for r in reqs if text_of(r) and text_of(r) in STORY[p]]
        check(f"{p}: a provider_calls row per call, with model, status and the characters sent",
              [(c["provider"], c["model"], c["purpose"], c["shot"], c["status"], c["outcome"], c["characters"],
                c["error"]) for c in calls] == [(p, models[p], "speech", 0, 200, "ok", n, "") for n in sent] and
              sent and all(c["latency_ms"] >= 0 for c in calls), f"{calls} {sent}")
    check("espeak: no provider_calls rows for the offline voice", calls_of(jobs["espeak"]) == [])
    check_shot_audio("espeak", shots_of(jobs["espeak"])[0])
    check("espeak: no vendor was called for the offline job",
          not [r for r in reqs if text_of(r) == STORY["espeak"]])
    el = shots_of(jobs["elevenlabs"])[0]["timings"]
    check("elevenlabs: word timings from the alignment, one per word",
          [w["text"] for w in el] == STORY["elevenlabs"].split(), json.dumps(el)[:300])
    fish_t = shots_of(jobs["fish"])[0]["timings"]
    check("fish: estimated timings, one per sentence", [w["text"] for w in fish_t] == [
        "A small lighthouse stood on the northern cliff.", "Its keeper painted the door blue every spring."],
        json.dumps(fish_t)[:300])
    zh = shots_of(jobs["zh"])[0]
    check("zh: Chinese word timings from the alignment, one per clause",
          [w["text"] for w in zh["timings"] or []] == ["小镇的清晨总是很安静。", "面包店的灯第一个亮起来！"],
          json.dumps(zh["timings"], ensure_ascii=False)[:300])
    check_shot_audio("zh", zh, spoken_ms(zh_text, "21m00Tcm4TlvDq8ikWAM", 44100), 40)
    # two characters, two voices; the narrator keeps the default
    cast = shots_of(jobs["cast"])
    used = {}
    for s in cast:
        r = [q for q in reqs if text_of(q) == s["narration"]]
        used[s["speaker"] or "narrator"] = r[0]["body"].get("voice") if r else None
    check("cast: Mara and Tom speak with two different voices", used.get("Mara") and used.get("Tom") and
          used["Mara"] != used["Tom"], str(used))
    check("cast: the hints chose a female voice for Mara and a male one for Tom",
          used.get("Mara") == "coral" and used.get("Tom") == "ash", str(used))
    check("cast: the narrator speaks with the default voice", used.get("narrator") == "alloy", str(used))
    for s in cast:
        check_shot_audio("cast", s)
    # a long narration: several calls under the limit, joined
    shot = shots_of(jobs["long"])[0]
    parts = [text_of(r) for r in reqs if r["route"] == "fish" and text_of(r) in long_text]
    check(f"long: {len(parts)} calls, each within {SPLIT_LIMIT} characters",
          len(parts) >= 3 and all(len(p) <= SPLIT_LIMIT for p in parts), str(parts))
    check("long: the parts are whole sentences that make up the narration",
          " ".join(parts) == long_text and all(p.endswith(".") for p in parts), str(parts))
    expect = sum(spoken_ms(p, None, 44100) for p in parts) - 10 * (len(parts) - 1)
    check_shot_audio("long", shot, expect, 15)
    calls = calls_of(jobs["long"])
    check("long: one provider_calls row per part, counting each part's characters",
          [c["characters"] for c in calls] == [len(p) for p in parts] and
          all(c["outcome"] == "ok" for c in calls), str(calls))
    check("long: estimated timings cover every sentence",
          len(shot["timings"]) == len(long_text.split(". ")), json.dumps(shot["timings"])[:300])
    return jobs


def paused_with(label, job_id, status, words):
    shot = shots_of(job_id)[0]
    err = json.loads(sql(f"SELECT coalesce(error::text, 'null') FROM jobs WHERE id = '{job_id}'")[0][0]) or {}
    check(f"{label}: the job is paused", status == "paused", str(status))
    check(f"{label}: the shot failed with a readable error", shot["status"] == "failed" and words in shot["error"],
          shot["error"][:300])
    check(f"{label}: the job's error names the stage and the reason",
          err.get("stage") == "tts" and words in err.get("message", ""), str(err))


def phase_failures(bindir, sim):
    """Corrupt and empty audio and a refused key; then Retry-After and a timeout. One job per
    simulator route at a time, so that a scripted answer meets the shot it is meant for."""
    texts = {"corrupt": "The clock in the square stopped at noon.",
             "empty": "A cat slept on the warm roof all afternoon.",
             "refused": "The ferry waited for the last passenger.",
             "retry": "Rain fell on the tin roof of the barn.",
             "timeout": "The owl watched the field in silence.",
             "exhausted": "The bridge was closed for repairs all week."}
    jobs = {k: submit(texts[k], max_shots=1) for k in ("corrupt", "empty", "refused")}
    if not wait_rendered(list(jobs.values())):
        return
    for k, p in (("corrupt", "fish"), ("empty", "openai"), ("refused", "elevenlabs")):
        set_provider(jobs[k], p)
    sim.reset()
    sim.call("/_sim/config", {"keys": {**KEYS, "elevenlabs": "xi-someone-else"}})
    sim.script("fish", [{"kind": "corrupt"}])
    sim.script("openai_tts", [{"kind": "empty"}])
    worker = TTSWorker(bindir, sim)
    results = wait_final(list(jobs.values()))
    worker.stop()
    paused_with("corrupt", jobs["corrupt"], results.get(jobs["corrupt"]),
                "the fish provider returned audio that cannot be used")
    paused_with("empty", jobs["empty"], results.get(jobs["empty"]), "the openai provider returned an empty audio body")
    err = json.loads(sql(f"SELECT coalesce(error::text, 'null') FROM jobs WHERE id = '{jobs['refused']}'")[0][0]) or {}
    calls = [r for r in sim.requests("elevenlabs") if text_of(r) == texts["refused"]]
    check("refused: the job failed", results.get(jobs["refused"]) == "failed", str(results.get(jobs["refused"])))
    check("refused: the error names ELEVENLABS_API_KEY", "ELEVENLABS_API_KEY" in err.get("message", ""), str(err))
    check("refused: at once, with one call and no retry", len(calls) == 1, str(len(calls)))
    usage = {k: calls_of(jobs[k]) for k in ("corrupt", "empty", "refused")}
    check("refused: its provider_calls row says auth, HTTP 401, and names the key",
          [(c["provider"], c["status"], c["outcome"]) for c in usage["refused"]] == [("elevenlabs", 401, "auth")] and
          "ELEVENLABS_API_KEY" in usage["refused"][0]["error"], str(usage["refused"]))
    check("empty: its provider_calls row says empty, with the reason",
          [(c["status"], c["outcome"]) for c in usage["empty"]] == [(200, "empty")] and
          "empty audio body" in usage["empty"][0]["error"], str(usage["empty"]))
    check("corrupt: the call itself is recorded as answered (the decode failed afterwards)",
          [(c["provider"], c["status"], c["outcome"]) for c in usage["corrupt"]] == [("fish", 200, "ok")],
          str(usage["corrupt"]))

    jobs = {k: submit(texts[k], max_shots=1) for k in ("retry", "timeout", "exhausted")}
    if not wait_rendered(list(jobs.values())):
        return
    set_provider(jobs["retry"], "fish")
    set_provider(jobs["timeout"], "openai")
    set_provider(jobs["exhausted"], "elevenlabs")
    sim.reset()
    sim.script("fish", [{"kind": "error", "status": 429, "retry_after": "1"}])
    sim.script("openai_tts", [{"kind": "audio", "delay_ms": 6000}])
    sim.script("elevenlabs", [{"kind": "error", "status": 503}] * 3)  # REEL_TTS_MAX_ATTEMPTS=3
    worker = TTSWorker(bindir, sim, REEL_TTS_TIMEOUT_S="3")
    results = wait_final(list(jobs.values()))
    worker.stop()
    for k in ("retry", "timeout"):
        check(f"{k}: the job is merging after a retry", results.get(jobs[k]) == "merging", str(results.get(jobs[k])))
    calls = [r for r in sim.requests("fish") if text_of(r) == texts["retry"]]
    check("retry: the 429 was retried once", [c.get("status") for c in calls] == [429, 200], str(calls)[:300])
    if len(calls) == 2:
        check("retry: the second call waited for Retry-After (1 s)", calls[1]["at"] - calls[0]["at"] >= 1.0,
              str(calls[1]["at"] - calls[0]["at"]))
    usage = calls_of(jobs["retry"])
    check("retry: provider_calls holds the 429 (attempt 1, with its reason) and the answer (attempt 2)",
          [(c["status"], c["outcome"], c["attempt"]) for c in usage] == [(429, "rate_limited", 1), (200, "ok", 2)] and
          "HTTP 429" in usage[0]["error"] and usage[1]["error"] == "", str(usage))
    calls = [r for r in sim.requests("openai_tts") if text_of(r) == texts["timeout"]]
    check("timeout: the slow answer was given up on and asked again", len(calls) >= 2, str(len(calls)))
    usage = calls_of(jobs["timeout"])
    check("timeout: provider_calls holds the timeout without an HTTP status, then the answer",
          usage and (usage[0]["status"], usage[0]["outcome"]) == (0, "timeout") and
          "REEL_TTS_TIMEOUT_S" in usage[0]["error"] and usage[0]["latency_ms"] >= 2900 and
          usage[-1]["outcome"] == "ok", str(usage))
    log = open(worker.log.name).read()
    check("timeout: the retry names REEL_TTS_TIMEOUT_S", "did not answer within 3 s (REEL_TTS_TIMEOUT_S)" in log)
    paused_with("exhausted", jobs["exhausted"], results.get(jobs["exhausted"]), "(gave up after 3 attempts)")
    calls = [r for r in sim.requests("elevenlabs") if text_of(r) == texts["exhausted"]]
    check("exhausted: three attempts, all answered 503", [c.get("status") for c in calls] == [503] * 3,
          str([c.get("status") for c in calls]))
    usage = calls_of(jobs["exhausted"])
    check("exhausted: three provider_calls rows, server_error, attempts 1 to 3",
          [(c["status"], c["outcome"], c["attempt"]) for c in usage] == [(503, "server_error", a) for a in (1, 2, 3)],
          str(usage))


def phase_redelivery(bindir, sim):
    """Every tts message three times: still exactly one merge message per job."""
    brokers = tf.fleet_env()["REEL_KAFKA_BROKERS"]
    texts = ["The market opened early.\n\nFarmers brought apples and pears.\n\nBy noon the stalls were empty.",
             "The fox crossed the road.\n\nA car slowed down.\n\nThe driver smiled and waved.",
             "Snow fell all night.\n\nIn the morning the town was white.\n\nSchool was closed."]
    jobs = [submit(t) for t in texts]
    if not wait_rendered(jobs):
        return
    for j in jobs:
        set_provider(j, "openai")
    sim.reset()
    sim.script("openai_tts", default={"kind": "audio", "delay_ms": 400})
    tts = [(k, v) for k, v in kafka_probe.read_topic(brokers, "reel.tts") if k and k.split(":")[0] in jobs]
    n_shots = int(sql("SELECT sum(shots_total) FROM jobs WHERE id IN (%s)" % ",".join(f"'{j}'" for j in jobs))[0][0])
    check("redelivery: one tts message per shot on the topic", len(tts) == n_shots, f"{len(tts)} vs {n_shots}")
    kafka_probe.produce(brokers, "reel.tts", tts * 2)
    worker = TTSWorker(bindir, sim, REEL_TTS_CONCURRENCY="4")
    results = wait_final(jobs)
    time.sleep(2)  # let the merge messages of the last jobs be acknowledged
    worker.stop()
    check("redelivery: every job merging", all(results.get(j) == "merging" for j in jobs), str(results))
    merges = [k for k, _ in kafka_probe.read_topic(brokers, "reel.merge")]
    counts = {j: merges.count(j) for j in jobs}
    check("redelivery: exactly one merge message per job on reel.merge", all(c == 1 for c in counts.values()),
          str(counts))
    ready = sql("SELECT count(*) FROM job_events WHERE kind = 'ready' AND job_id IN (%s)"
                % ",".join(f"'{j}'" for j in jobs))[0][0]
    check("redelivery: one ready event per shot", int(ready) == n_shots, f"{ready} vs {n_shots}")
    stats = sim.call("/_sim/requests")
    check("redelivery: shots were spoken concurrently, at most REEL_TTS_CONCURRENCY=4 at once",
          2 <= stats["max_in_flight"] <= 4, str(stats["max_in_flight"]))


def voices(bindir, *args):
    out = tf.reelctl(bindir, "voices", *args)
    return out.returncode, out.stdout + out.stderr


def listed(**filters):
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    code, _, body = tf.http("GET", "/v1/voices?" + query)
    return [v["id"] for v in json.loads(body)["items"]] if code == 200 else code


def script_job(text):
    code, _, body = tf.http("POST", "/v1/jobs", {"template": "script", "input": {"text": text},
                                                 "options": {"providers": {"tts": "fish"}}})
    job = json.loads(body)
    if not check("script create answers 202", code == 202 and job.get("id"), body[:200]):
        raise SystemExit(1)
    return job["id"]


def fish_voices_of(sim, job_id):
    """The reference_id each speaker's lines were spoken with (None: the narrator's default)."""
    reqs = sim.requests("fish")
    used = {}
    for s in shots_of(job_id):
        r = [q for q in reqs if text_of(q) == s["narration"]]
        used[s["speaker"] or "narrator"] = r[0]["body"].get("reference_id") if r else "(not spoken)"
    return used


def phase_voices(bindir, sim):
    """Fish Audio voices registered with reelctl: refused when malformed, listed by the gateway, cast to
    characters; a catalogue changed while tts-worker runs is cast after REEL_TTS_VOICES_REFRESH_S."""
    bad = [(["add", "--provider", "fishy", "--id", "v1", "--name", "V", "--language", "en"], "--provider"),
           (["add", "--provider", "fish", "--id", "v1", "--name", "V", "--language", "en us"], "--language"),
           (["add", "--provider", "fish", "--id", "v1", "--name", "V", "--language", "en", "--gender", "robot"],
            "--gender"),
           (["add", "--provider", "fish", "--name", "V", "--language", "en"], "--id")]
    for args, field in bad:
        rc, out = voices(bindir, *args)
        check(f"voices add refuses a bad {field}, naming it", rc == 2 and field in out, f"{rc} {out}")
    check("voices: nothing was written for the refused adds", listed(provider="fish") == [], str(listed(provider="fish")))
    for vid, name, gender in (("e2e-fish-f1", "Fern", "female"), ("e2e-fish-m1", "Moss", "male")):
        rc, out = voices(bindir, "add", "--provider", "fish", "--id", vid, "--name", name, "--language", "en",
                         "--gender", gender, "--description", f"{name}, a voice model of this test")
        check(f"voices add {vid}", rc == 0 and out.startswith("added fish voice"), out)
    rc, out = voices(bindir, "add", "--provider", "fish", "--id", "e2e-fish-m1", "--name", "Moss", "--language", "en",
                     "--gender", "male", "--description", "calm")
    check("voices add of an existing voice updates it", rc == 0 and out.startswith("updated") and
          sql("SELECT description FROM voices WHERE id = 'e2e-fish-m1'") == [["calm"]], out)
    rc, out = voices(bindir, "list", "--provider", "fish")
    check("voices list shows the fish voices", rc == 0 and "e2e-fish-f1" in out and "e2e-fish-m1" in out and
          "alloy" not in out, out)
    check("GET /v1/voices?provider=fish lists them", listed(provider="fish") == ["e2e-fish-f1", "e2e-fish-m1"],
          str(listed(provider="fish")))
    check("GET /v1/voices filters them by gender", listed(provider="fish", gender="female") == ["e2e-fish-f1"],
          str(listed(provider="fish", gender="female")))
    sim.reset()
    worker = TTSWorker(bindir, sim, REEL_TTS_VOICES_REFRESH_S="1")
    first = script_job("INT. HARBOUR - DAWN\n\nGulls circle over the boats.\n\n"
                       "MARA: The nets are dry already.\n\nTOM: Then we sail at noon.")
    wait_final([first])
    used = fish_voices_of(sim, first)
    check("voices: the two characters speak with the two registered fish voices, the narrator with the default",
          used.get("MARA") == "e2e-fish-f1" and used.get("TOM") == "e2e-fish-m1" and used.get("narrator") is None,
          str(used))
    rc, out = voices(bindir, "remove", "--provider", "fish", "--id", "e2e-fish-f1")
    check("voices remove", rc == 0 and out.startswith("removed"), out)
    rc, out = voices(bindir, "remove", "--provider", "fish", "--id", "e2e-fish-f1")
    check("voices remove of an absent voice exits 1", rc == 1 and "no fish voice" in out, out)
    voices(bindir, "add", "--provider", "fish", "--id", "e2e-fish-f2", "--name", "Fay", "--language", "en",
           "--gender", "female")
    check("GET /v1/voices shows the change", listed(provider="fish") == ["e2e-fish-f2", "e2e-fish-m1"],
          str(listed(provider="fish")))
    time.sleep(1.5)  # REEL_TTS_VOICES_REFRESH_S=1
    second = script_job("INT. HARBOUR - NOON\n\nThe wind turns.\n\n"
                        "MARA: Hold the rope.\n\nTOM: I have it.")
    status = wait_final([second, first])
    worker.stop()
    check("voices: both jobs voiced", set(status.values()) == {"merging"}, str(status))
    used = fish_voices_of(sim, second)
    check("voices: the running tts-worker cast the changed catalogue", used.get("MARA") == "e2e-fish-f2" and
          used.get("TOM") == "e2e-fish-m1", str(used))
    check("voices: every fish call of the two jobs has its provider_calls row",
          len(calls_of(first)) + len(calls_of(second)) == len([r for r in sim.requests("fish")]),
          f"{len(calls_of(first)) + len(calls_of(second))} vs {len(sim.requests('fish'))}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.fresh_run(bindir)
    os.makedirs(os.path.join(RUN, "logs"))
    sim = Sim()
    started = False
    try:
        sim.reset()
        tf.fleet("start", bindir)
        started = True
        tf.stop_fleet_daemon("tts-worker")
        # The merge stage is test_fleet.py's; here its jobs wait in merging, their merge messages on reel.merge.
        tf.stop_fleet_daemon("merge-worker")
        phase_providers(bindir, sim)
        phase_failures(bindir, sim)
        phase_redelivery(bindir, sim)
        phase_voices(bindir, sim)
    finally:
        if started or os.path.exists(os.path.join(RUN, "pids")):
            tf.fleet("stop", bindir)
        sim.stop()
    return tf.summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
