"""Vendor faults for the fault suite (run_faults.py): the provider simulator
(tests/sim) stands in for OpenAI (storyboards and speech), Replicate and fal,
and is scripted to answer 500s, 429s with Retry-After, hangs longer than the
client timeouts, malformed bodies and audio, failed predictions, callbacks
that never come, come twice, late, expired or forged. Jobs pick their vendors
by number, so every mix of offline and vendor stages runs under the kills.
Meanwhile a forger posts callbacks to webhook-receiver that are not the
vendors': wrong signatures, stale timestamps, and replays of deliveries
already received; none may change anything. Afterwards no picture may have
been paid for twice outside the documented cases (VendorFaults.paid_twice)."""
import base64
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sim"))
import simctl  # noqa: E402
import vendors_render  # noqa: E402  (the simulator's signing keys and helpers)

MARK = "BY-FAULT-SUITE"  # in every forged or replayed body; must never reach the database
TIMEOUT_S = 2            # parse and tts vendor calls; a hang lasts twice as long

# One fault after every two good answers, so a stage rarely runs out of its five attempts.
LLM_FAULTS = [{"kind": "error", "status": 500}, {"kind": "error", "status": 429, "retry_after": "1"},
              {"delay_ms": TIMEOUT_S * 2000}, {"kind": "invalid_json"}, {"kind": "error", "status": 503},
              {"kind": "truncated"}]
TTS_FAULTS = [{"kind": "error", "status": 500}, {"kind": "error", "status": 429, "retry_after": "1"},
              {"delay_ms": TIMEOUT_S * 2000}, {"kind": "error", "status": 502}]
# Malformed audio pauses its job at once (not retried): a few, so some jobs end paused with the reason.
TTS_MALFORMED = [{"kind": "corrupt"}, {"kind": "empty"}]
# The hang comes second, so that even a short run meets it on Replicate.
RENDER_FAULTS = [{"callback": "never"},
                 {"submit_hang_ms": 4000},  # past REEL_RENDER_SUBMIT_TIMEOUT_S: given up; Replicate finds it
                                            # again, fal sends it again
                 {"callback": "forged"}, {"callback": "twice"}, {"callback": "failed"},
                 {"callback": "late", "late_ms": 4000}, {"submit_status": 500},
                 {"submit_status": 429, "retry_after": "1"}, {"callback": "expired"},
                 {"callback": "ok", "delay_ms": 60000},  # a hang: polled "starting" until REEL_RENDER_MAX_AGE_S
                 {"callback": "out_of_order"}]
GOOD = {"openai": {"kind": "storyboard"}, "openai_tts": {"kind": "audio"}, "render": {"callback": "ok"}}


def interleave(faults, good, n):
    """n answers: two good ones, then the next fault, round and round."""
    out = []
    for i in range(n):
        out.append(dict(faults[(i // 3) % len(faults)]) if i % 3 == 2 else dict(good))
    return out


def is_fault(answer):
    return answer.get("kind") not in (None, "storyboard", "audio") or "delay_ms" in answer \
        and answer["delay_ms"] > 1000 or answer.get("callback", "ok") != "ok" or "submit_status" in answer \
        or "submit_hang_ms" in answer


class VendorFaults:
    def __init__(self, run_dir, public_url, jobs):
        self.public = public_url
        self.sim = simctl.Sim(run_dir)
        self.url = f"http://127.0.0.1:{self.sim.port}"
        n = jobs * 6  # more answers than calls: what is left unused is not counted
        tts = interleave(TTS_FAULTS, GOOD["openai_tts"], n)
        for k, bad in enumerate(TTS_MALFORMED):
            tts[10 + 17 * k] = dict(bad)
        self.scripts = {"openai": interleave(LLM_FAULTS, GOOD["openai"], n), "openai_tts": tts,
                        "replicate": interleave(RENDER_FAULTS, GOOD["render"], n),
                        "fal": interleave(RENDER_FAULTS[3:] + RENDER_FAULTS[:3], GOOD["render"], n)}
        self.sim.reset(**{r: {"answers": self.scripts[r]} for r in ("openai", "openai_tts")})
        for route in ("replicate", "fal"):
            self.sim.call("POST", "/_sim/render/script", {"route": route, "answers": self.scripts[route]})
        self.forged = {"sent": 0, "refused": 0, "unreached": 0, "wrong": []}
        self.replayed = {"sent": 0, "answered": 0, "unreached": 0, "wrong": []}

    def env(self):
        """The vendors' addresses and keys, and short deadlines; a render task may take 30 s, as the
        simulator answers slowly on a loaded machine and webhook-receiver is killed along the way."""
        u = self.url
        return dict(self.sim.env(), OPENAI_API_KEY="sk-sim", REEL_PARSE_TIMEOUT_S=str(TIMEOUT_S),
                    REEL_TTS_TIMEOUT_S=str(TIMEOUT_S), REEL_TTS_OPENAI_FORMAT="wav", REEL_PUBLIC_URL=self.public,
                    REPLICATE_BASE_URL=f"{u}/v1", REPLICATE_API_TOKEN="r8_test",
                    REPLICATE_WEBHOOK_SECRET=vendors_render.REPLICATE_SECRET, REPLICATE_MODEL="acme/flux",
                    FAL_QUEUE_BASE_URL=f"{u}/fal", FAL_KEY="fal_test", FAL_JWKS_URL=f"{u}/fal/.well-known/jwks.json",
                    REEL_RENDER_CALLBACK_TIMEOUT_S="3", REEL_RENDER_POLL_MS="500", REEL_RENDER_MAX_AGE_S="30",
                    REEL_RENDER_SUBMIT_TIMEOUT_S="2")

    @staticmethod
    def providers(n):
        """Job n's vendors: a 12-job cycle over offline and simulated parse, render and tts."""
        return {"parse": "openai" if n % 2 else "offline", "render": ("offline", "replicate", "fal")[n % 3],
                "tts": "openai" if n % 4 in (1, 2) else "offline"}

    # ---- callbacks that are not the vendors' ----

    def post(self, route, body, headers):
        req = urllib.request.Request(f"{self.public}/webhooks/{route}", data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except OSError:
            return None, b""  # webhook-receiver is being killed and restarted

    def forge(self, provider, external_id):
        """A failure notice for an open task, signed with the wrong key or stamped an hour ago."""
        stale = random.random() < 0.5
        if provider == "replicate":
            body = json.dumps({"id": external_id, "status": "failed", "error": f"forged {MARK}", "output": None,
                               "urls": {}}).encode()
            msg_id, ts = f"forged_{uuid.uuid4().hex}", int(time.time()) - (3600 if stale else 0)
            secret = vendors_render.REPLICATE_SECRET if stale else \
                "whsec_" + base64.b64encode(os.urandom(32)).decode()
            sig = vendors_render.hmac.new(base64.b64decode(secret[6:]), f"{msg_id}.{ts}.".encode() + body,
                                          vendors_render.hashlib.sha256).digest()
            headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts),
                       "webhook-signature": "v1," + base64.b64encode(sig).decode()}
        else:
            body = json.dumps({"request_id": external_id, "status": "ERROR", "error": f"forged {MARK}",
                               "payload": {"detail": MARK}}).encode()
            headers = fal_headers(external_id, body, int(time.time()) - (3600 if stale else 0),
                                  vendors_render.FAL_SEED if stale else os.urandom(32))
        status, answer = self.post(provider, body, headers)
        self.forged["sent"] += 1
        if status is None:
            self.forged["unreached"] += 1
        elif status == 401:
            self.forged["refused"] += 1
        else:
            self.forged["wrong"].append(f"{provider} {external_id}: {status} {answer[:200]!r}")

    def replay(self, provider, external_id, delivery_id):
        """A delivery already received, sent again correctly signed but saying the task failed."""
        if provider == "replicate":
            body = json.dumps({"id": external_id, "status": "failed", "error": f"replayed {MARK}",
                               "output": None, "urls": {}}).encode()
            ts = str(int(time.time()))
            key = base64.b64decode(vendors_render.REPLICATE_SECRET[6:])
            sig = vendors_render.hmac.new(key, f"{delivery_id}.{ts}.".encode() + body,
                                          vendors_render.hashlib.sha256).digest()
            headers = {"webhook-id": delivery_id, "webhook-timestamp": ts,
                       "webhook-signature": "v1," + base64.b64encode(sig).decode()}
        else:
            body = json.dumps({"request_id": external_id, "status": "ERROR", "error": f"replayed {MARK}",
                               "payload": {"detail": MARK}}).encode()
            headers = fal_headers(external_id, body, int(time.time()), vendors_render.FAL_SEED)
        status, answer = self.post(provider, body, headers)
        self.replayed["sent"] += 1
        if status is None:
            self.replayed["unreached"] += 1
        elif status == 200 and json.loads(answer or b"{}").get("replayed") is True:
            self.replayed["answered"] += 1
        elif status != 503:  # 503: PostgreSQL is down; the vendor would deliver again
            self.replayed["wrong"].append(f"{provider} {delivery_id}: {status} {answer[:200]!r}")

    def forger(self, sql, stop):
        """Every second: a forged notice for an open task and a replay of a settled one, per vendor."""
        while not stop.wait(1.0):
            try:
                open_tasks = sql("SELECT provider, external_id FROM provider_tasks WHERE status = 'submitted' "
                                 "AND provider IN ('replicate', 'fal') ORDER BY random() LIMIT 2")
                settled = sql("SELECT t.provider, t.external_id, r.delivery_id FROM provider_tasks t "
                              "JOIN webhook_receipts r ON r.provider = t.provider AND r.delivery_id IN "
                              "(t.external_id, 'msg_' || t.external_id) WHERE t.status = 'done' "
                              "ORDER BY random() LIMIT 2")
            except Exception:  # PostgreSQL is restarting
                continue
            for provider, external_id in open_tasks:
                self.forge(provider, external_id)
            for provider, external_id, delivery_id in settled:
                self.replay(provider, external_id, delivery_id)

    # ---- figures and checks ----

    def injected(self):
        """Faults the simulator actually served, by kind of vendor, plus the forger's callbacks."""
        calls = self.sim.requests()["requests"]
        log = self.sim.call("GET", "/_sim/render/log")
        used = {r: sum(1 for c in calls if c["route"] == r) for r in ("openai", "openai_tts")}
        used.update({r: sum(1 for s in log["submissions"] if s["route"] == r) for r in ("replicate", "fal")})
        faults = {r: sum(1 for a in self.scripts[r][:used[r]] if is_fault(a)) for r in used}
        faults["forged callbacks"] = self.forged["sent"]
        faults["replayed callbacks"] = self.replayed["sent"]
        return used, faults

    def check(self, sql, say):
        ok = True
        marked = int(sql(f"SELECT (SELECT count(*) FROM provider_tasks WHERE error::text LIKE '%{MARK}%') + "
                         f"(SELECT count(*) FROM shots WHERE error::text LIKE '%{MARK}%') + "
                         f"(SELECT count(*) FROM jobs WHERE error::text LIKE '%{MARK}%') + "
                         f"(SELECT count(*) FROM job_events WHERE detail::text LIKE '%{MARK}%') + "
                         f"(SELECT count(*) FROM webhook_receipts WHERE delivery_id LIKE 'forged%')")[0][0])
        checks = [("forged callbacks refused with 401", not self.forged["wrong"] and self.forged["refused"] > 0,
                   self.forged),
                  ("replayed deliveries answered as replays", not self.replayed["wrong"] and
                   self.replayed["answered"] > 0, self.replayed),
                  ("nothing of a forged or replayed callback in the database", marked == 0, marked)]
        used, faults = self.injected()
        checks.append(("every kind of vendor fault was served", all(faults[r] > 0 for r in used), faults))
        twice = self.paid_twice(sql)
        checks.append(("no picture paid for twice outside the documented cases", not twice, twice[:10]))
        for name, good, detail in checks:
            say(f"{'PASS' if good else 'FAIL'}: {name}: {detail}")
            ok &= bool(good)
        return ok, sum(faults.values()), used

    def paid_twice(self, sql):
        """Pictures (a shot's keyframe or clip) the vendor billed more often than the documented cases allow.

        Billed: the simulator's accepted submissions, and the provider_calls rows of the render stage, which
        must name exactly the tasks of provider_tasks, each one billed. A picture is bought once, plus once
        more for each of its vendor tasks that ended without a result (failed, timed out after
        REEL_RENDER_MAX_AGE_S, canceled: a new one is needed), plus, for fal only, once for each submission
        whose answer was lost (a hang past REEL_RENDER_SUBMIT_TIMEOUT_S, or render-worker killed before it
        stored the request id): fal offers no way to find a request by anything of ours, while a lost
        Replicate prediction is found by its webhook URL and adopted, so it never counts."""
        billed = {}
        for sub in self.sim.call("GET", "/_sim/render/log")["submissions"]:
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(sub.get("webhook") or "").query)
            if sub.get("paid") and q.get("job") and q.get("shot"):
                key = (q["job"][0], int(q["shot"][0]), "video" if sub["video"] else "image")
                billed.setdefault(key, []).append((sub["route"], sub["id"]))
        tasks, unfinished, calls = {}, {}, {}
        for job, shot, kind, provider, ext, status in sql(
                "SELECT job_id, shot, kind, provider, external_id, status FROM provider_tasks WHERE stage = 'render'"):
            key = (job, int(shot), kind)
            tasks.setdefault(key, set()).add((provider, ext))
            unfinished[key] = unfinished.get(key, 0) + (status != "done")
        for job, shot, kind, n in sql("SELECT job_id, shot, purpose, count(*) FROM provider_calls "
                                      "WHERE stage = 'render' GROUP BY 1, 2, 3"):
            calls[(job, int(shot), kind)] = int(n)
        wrong = []
        for key in set(billed) | set(tasks) | set(calls):
            subs, known = billed.get(key, []), tasks.get(key, set())
            lost_fal = sum(1 for sub in subs if sub[0] == "fal" and sub not in known)
            allowed = 1 + unfinished.get(key, 0) + lost_fal
            if len(subs) > allowed or not known <= set(subs) or calls.get(key, 0) != len(known):
                wrong.append(f"{key}: billed {len(subs)} (allowed {allowed}), tasks {len(known)}, "
                             f"provider_calls {calls.get(key, 0)}")
        return wrong

    def stop(self):
        self.sim.stop()


def fal_headers(request_id, body, ts, seed):
    """fal's four webhook headers for body, signed with seed's Ed25519 key."""
    msg = f"{request_id}\n{vendors_render.FAL_USER}\n{ts}\n{vendors_render.hashlib.sha256(body).hexdigest()}"
    return {"X-Fal-Webhook-Request-Id": request_id, "X-Fal-Webhook-User-Id": vendors_render.FAL_USER,
            "X-Fal-Webhook-Timestamp": str(ts),
            "X-Fal-Webhook-Signature": vendors_render.ed25519_sign(seed, msg.encode()).hex()}
