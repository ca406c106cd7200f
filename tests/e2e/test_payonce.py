#!/usr/bin/env python3
"""End-to-end test that a job pays its vendors once per picture: its own
fleet (run dir .run/e2e-payonce) renders with the simulator's Replicate and
speaks with its Fish Audio. Every speech call fails with a 503 until the
attempts run out, so the job pauses at speech with every keyframe bought;
`retry` then finishes it with no keyframe bought again: the simulator's
billed submissions and the provider_calls rows of the render stage stay at
one per shot, and the stored pictures are the same files. Shots whose
speech failed go straight back to speech; shots caught between stages, and
one failed shot put back to pending by hand as a redelivered render message
would find it, go through render-worker, which finds their pictures stored
and keeps them."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_fleet as tf  # noqa: E402
import test_render as tr  # noqa: E402  (the simulator and its vendor settings)

RUN = tr.RUN = tf.RUN = os.path.join(tf.ROOT, ".run", "e2e-payonce")
STORY = ("The harbour wakes before the sun.\n\nA fisherman mends his net on the pier.\n\n"
         "Gulls circle the boats as they leave.")
FISH_KEY = "fish-good"


def tts_env():
    return {"REEL_TTS_PROVIDER": "fish", "FISH_BASE_URL": tr.SIM["url"], "FISH_API_KEY": FISH_KEY,
            "REEL_TTS_FISH_FORMAT": "wav", "REEL_TTS_MAX_ATTEMPTS": "2"}


def speech(default):
    tr.sim("POST", "/_sim/script", {"route": "fish", "answers": [], "default": default})


def paid_renders(job_id):
    """Billed submissions per shot, from the simulator's log (our callback URL names the job and the shot)."""
    counts = {}
    for s in tr.job_submissions(job_id):
        if s.get("paid"):
            shot = int(s["webhook"].split("shot=")[1].split("&")[0])
            counts[shot] = counts.get(shot, 0) + 1
    return counts


def recorded_renders(job_id):
    rows = tf.sql(f"SELECT shot, count(*) FROM provider_calls WHERE job_id = '{job_id}' AND stage = 'render' "
                  f"AND outcome = 'ok' GROUP BY shot")
    return {int(s): int(n) for s, n in rows}


def pictures(job_id):
    return {int(r[0]): r[2] for r in tr.shots(job_id)}


def once_each(label, job_id, n_shots):
    paid, recorded = paid_renders(job_id), recorded_renders(job_id)
    want = {i: 1 for i in range(n_shots)}
    tf.check(f"{label}: the simulator billed one keyframe per shot", paid == want, str(paid))
    tf.check(f"{label}: provider_calls holds one render call per shot", recorded == want, str(recorded))


def test_pause_at_speech_then_retry():
    speech({"kind": "error", "status": 503})
    tr.script("replicate", *[{"callback": "ok", "delay_ms": 100}] * 3)
    code, _, body = tf.http("POST", "/v1/jobs", {"template": "storyboard", "input": {"text": STORY},
                                                 "options": {"providers": {"render": "replicate"}}})
    job_id = json.loads(body).get("id")
    if not tf.check("the job is accepted", code == 202 and job_id, body[:200]):
        return
    job = tr.wait_status(job_id, ("paused", "failed", "done"))
    n = int(tf.sql(f"SELECT shots_total FROM jobs WHERE id = '{job_id}'")[0][0])
    err = json.loads(tf.sql(f"SELECT coalesce(error::text, 'null') FROM jobs WHERE id = '{job_id}'")[0][0]) or {}
    tf.check("paused at speech: the job is paused by the tts stage",
             job["status"] == "paused" and err.get("stage") == "tts" and n >= 2, f"{job['status']} {err} {n}")
    # A shot still rendering when the job paused is finished by its vendor's callback.
    tr.wait_until(lambda: all(pictures(job_id).values()), 30)
    before = pictures(job_id)
    tf.check("paused at speech: every shot has its picture", all(before.values()) and len(before) == n, str(before))
    once_each("paused at speech", job_id, n)

    # One failed shot is put back to pending by hand, as a redelivered render message would find a shot whose
    # picture is stored: render-worker must keep it. Failed speech goes straight back to speech.
    failed = [int(r[0]) for r in tf.sql(f"SELECT idx FROM shots WHERE job_id = '{job_id}' AND status = 'failed' "
                                        f"ORDER BY idx")]
    tf.check("paused at speech: a shot failed at speech", failed, str(tr.shots(job_id)))
    if failed:
        tf.sql(f"UPDATE shots SET status = 'pending' WHERE job_id = '{job_id}' AND idx = {failed[0]}")
    speech({"kind": "audio"})
    code, _, body = tf.http("POST", f"/v1/jobs/{job_id}/retry", {})
    tf.check("retry: 200", code == 200, body[:200])
    job = tr.wait_status(job_id, ("done", "failed", "paused"))
    tf.check("retry: the job is done", job["status"] == "done", json.dumps(job)[:400])
    once_each("after retry", job_id, n)
    tf.check("after retry: the shots kept their pictures", pictures(job_id) == before, str(pictures(job_id)))
    tf.check("after retry: each shot was announced rendered once",
             tr.events(job_id, "rendered") == n, str(tr.events(job_id, "rendered")))
    kept = [json.loads(line).get("shot") for line in open(os.path.join(RUN, "logs", "render-worker.log"))
            if "already stored: kept, not rendered again" in line]
    tf.check("after retry: render-worker kept the stored picture of the shot sent back to it",
             failed and failed[0] in kept, f"{kept} {failed}")
    tf.check("after retry: the other shots whose speech failed went straight back to speech",
             not set(failed[1:]) & set(kept), f"{kept} {failed}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.fresh_run(bindir)
    started = False
    try:
        tr.start_sim()
        tr.sim("POST", "/_sim/config", {"keys": {"fish": FISH_KEY}})
        os.environ.update(tr.vendor_env())
        os.environ.update(tts_env())
        tf.fleet("start", bindir)
        started = True
        test_pause_at_speech_then_retry()
    finally:
        if started or os.path.exists(os.path.join(RUN, "pids")):
            tf.fleet("stop", bindir)
        if tr.SIM.get("proc"):
            tr.SIM["proc"].terminate()
            tr.SIM["proc"].wait(timeout=10)
    return tf.summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
