#!/usr/bin/env python3
"""End-to-end test of what the workers charge (issue 18), on its own fleet
(run dir .run/e2e-charges) with offline providers making real media and
REEL_BILLING_FILE pricing every stage differently; the gateway reserves each
job's estimate at create.

Checks: a finished job's captures are exactly its storyboard, each shot's
keyframe and speech and the video's started minutes at the file's prices,
and its reservation is released; a job whose reservation and credits cannot
pay its next keyframe pauses with insufficient-credits before drawing it and
finishes after a top-up and retry (which itself is 402 without credits); a
result made with nothing left to pay it is still charged, taking the credits
below zero, and new jobs are then refused; a re-render reelforge decides on is not charged again, a user's regenerate is;
every owner's ledger sums to its balance."""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_fleet as tf  # noqa: E402

RUN = tf.RUN = os.path.join(tf.ROOT, ".run", "e2e-charges")
PRICES = {"parse": {"*": 3}, "render": {"*": 2, "offline": 5}, "i2v": {"*": 10}, "tts": {"*": 1, "offline": 2},
          "merge": {"*": 4}}
STORY = "The fox ran to the river at dawn.\n\nThe heron watched him from the reeds and did not move."
OWNER = "anonymous"


def set_available(credits):
    tf.sql(f"SELECT reel_credit('{OWNER}', 'adjust', {credits} - available, NULL, 'test') "
           f"FROM reel_account_lock('{OWNER}')")


def create(review=False):
    body = {"template": "storyboard", "input": {"text": STORY}, "options": {"subtitles": "off"}}
    if review:
        body["options"]["review"] = True
    code, _, raw = tf.http("POST", "/v1/jobs", body)
    job = json.loads(raw)
    tf.check("create answers 202", code == 202 and job.get("id"), raw[:200])
    return job["id"]


def wait(job_id, statuses=("done", "failed", "paused", "canceled", "review"), timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = tf.sql(f"SELECT status FROM jobs WHERE id = '{job_id}'")[0][0]
        if status in statuses:
            return status
        time.sleep(0.3)
    return status


def cost(job_id):
    rows = tf.sql(f"SELECT reserved, captured, held FROM job_costs WHERE job_id = '{job_id}'")
    return tuple(int(v) for v in rows[0]) if rows else None


def captures(job_id):
    """(stage, shot) -> credits charged, from the ledger."""
    out = {}
    for stage, shot, credits in tf.sql(f"SELECT stage, coalesce(shot, -1), -held FROM credit_ledger "
                                       f"WHERE job_id = '{job_id}' AND kind = 'capture'"):
        out.setdefault((stage, int(shot)), []).append(int(credits))
    return out


def expected(job_id):
    """What the job's kept results cost by the table: computed here from the shots and the video."""
    n = int(tf.sql(f"SELECT shots_total FROM jobs WHERE id = '{job_id}'")[0][0])
    ms = tf.sql(f"SELECT coalesce(output->>'duration_ms', '0') FROM jobs WHERE id = '{job_id}'")[0][0]
    minutes = math.ceil(float(ms) / 60000)
    want = {("parse", -1): [3], ("merge", -1): [4 * minutes]}
    for i in range(n):
        want[("render", i)] = [5]
        want[("tts", i)] = [2]
    return want, minutes


def error_code(job_id):
    return tf.sql(f"SELECT coalesce(error->>'code', '') FROM jobs WHERE id = '{job_id}'")[0][0]


def retry(job_id):
    code, _, raw = tf.http("POST", f"/v1/jobs/{job_id}/retry", {})
    tf.check(f"retry {job_id[:8]}: 200", code == 200, raw[:200])


def ledger_balanced(label):
    bad = tf.sql("SELECT count(*) FROM credit_accounts a WHERE available + reserved <> "
                 "(SELECT coalesce(sum(amount + held), 0) FROM credit_ledger l WHERE l.owner = a.owner)")[0][0]
    tf.check(f"{label}: every owner's ledger sums to its balance", bad == "0", bad)


def test_exact_price():
    set_available(1000)
    job = create()
    status = wait(job)
    tf.check("priced: the job is done", status == "done", status)
    want, minutes = expected(job)
    got = captures(job)
    tf.check("priced: one capture per kept result at the file's price", got == want, f"{got} != {want}")
    tf.check("priced: the video lasted at least a second and is charged per started minute", minutes >= 1,
             str(minutes))
    total = sum(sum(v) for v in want.values())
    tf.check("priced: captured equals the prices, nothing held after the end", cost(job)[1:] == (total, 0),
             f"{cost(job)} vs {total}")
    return job, total


def test_regenerate_charged(job, total):
    code, _, raw = tf.http("POST", f"/v1/jobs/{job}/shots/0/regenerate", {})
    tf.check("regenerate: 200", code in (200, 202), raw[:200])
    status = wait(job, ("done", "failed", "paused"))  # regenerate set it producing before answering
    tf.check("regenerate: the job is done again", status == "done", status)
    got = captures(job)
    tf.check("regenerate: the new keyframe, speech and video are charged",
             got.get(("render", 0)) == [5, 5] and got.get(("tts", 0)) == [2, 2] and len(got[("merge", -1)]) == 2,
             str(got))
    tf.check("regenerate: the other shot is not charged again", got.get(("render", 1)) == [5], str(got))
    return total + 5 + 2 + got[("merge", -1)][1]


def test_internal_rerender_free(job, total):
    """The stored keyframe lost and the shot rendered again by reelforge (as after a
    crash or the gateway's restart of a stale shot): the new keyframe is not charged."""
    before = int(tf.sql(f"SELECT count(*) FROM job_events WHERE job_id = '{job}' AND kind = 'rendered'")[0][0])
    tf.sql(f"UPDATE jobs SET status = 'paused', shots_ready = shots_ready - 1 WHERE id = '{job}'; "
           f"UPDATE shots SET status = 'pending', image_key = NULL, audio_key = NULL WHERE job_id = '{job}' "
           f"AND idx = 1")
    retry(job)
    status = wait(job, ("done", "failed", "paused"))
    after = int(tf.sql(f"SELECT count(*) FROM job_events WHERE job_id = '{job}' AND kind = 'rendered'")[0][0])
    tf.check("re-render: the job is done again", status == "done", status)
    tf.check("re-render: the shot was really drawn again", after == before + 1, f"{before} -> {after}")
    got = captures(job)
    merges = got[("merge", -1)]
    tf.check("re-render: neither its keyframe nor its speech is charged again",
             got.get(("render", 1)) == [5] and got.get(("tts", 1)) == [2], str(got))
    tf.check("re-render: job_costs agrees with the ledger", cost(job)[1] == total + merges[-1],
             f"{cost(job)} vs {total} + {merges}")


def exhaust_reservation(job):
    """What a job holds given back and the owner's credits gone, as when a job
    spends past its estimate: the next result has nothing to be paid from."""
    tf.sql(f"SELECT reel_release('{job}')")
    set_available(0)


def approve(job_id):
    code, _, raw = tf.http("POST", f"/v1/jobs/{job_id}/approve", {})
    tf.check(f"approve {job_id[:8]}: 200", code in (200, 202), raw[:200])


def test_pause_before_spending():
    """Nothing left to pay the keyframes with: they are not drawn, the job pauses."""
    set_available(1000)
    job = create(review=True)
    tf.check("short: the storyboard waits for review", wait(job) == "review", "")
    exhaust_reservation(job)
    approve(job)
    status = wait(job, ("done", "failed", "paused", "canceled"))
    tf.check("short: the job pauses", status == "paused", status)
    tf.check("short: its error is insufficient-credits", error_code(job) == "insufficient-credits",
             error_code(job))
    msg = tf.sql(f"SELECT error->>'message' FROM jobs WHERE id = '{job}'")[0][0]
    tf.check("short: the message says to top up and retry", "top up" in msg and "retry" in msg, msg)
    drawn = tf.sql(f"SELECT count(*) FROM shots WHERE job_id = '{job}' AND image_key IS NOT NULL")[0][0]
    tf.check("short: no keyframe was drawn", drawn == "0", drawn)
    tf.check("short: only the storyboard is charged", captures(job) == {("parse", -1): [3]}, str(captures(job)))
    ledger_balanced("short")
    code, _, raw = tf.http("POST", f"/v1/jobs/{job}/retry", {})
    tf.check("short: retry without credits is 402", code == 402 and b"insufficient-credits" in raw, raw[:200])
    set_available(1000)
    retry(job)
    status = wait(job, ("done", "failed", "paused"))
    tf.check("short: after a top-up and retry the job is done", status == "done", status)
    want, _ = expected(job)
    tf.check("short: charged exactly its results, once", captures(job) == want, f"{captures(job)} != {want}")
    tf.check("short: nothing held after the end", cost(job)[2] == 0, str(cost(job)))


def test_overrun():
    """A result made with nothing left to pay it from is still charged (the
    vendor was paid): the owner's credits go below zero, the answer says so, and
    new jobs are refused until a top-up."""
    set_available(1000)
    job = create(review=True)
    tf.check("overrun: the storyboard waits for review", wait(job) == "review", "")
    exhaust_reservation(job)
    overrun = tf.sql(f"SELECT reel_capture_batch(ARRAY['{job}']::uuid[], ARRAY['render'], ARRAY['offline'], "
                     "ARRAY[0], ARRAY[5]::bigint[])")[0][0]
    tf.check("overrun: the capture reports it was not covered", overrun == "1", overrun)
    available = int(tf.sql(f"SELECT available FROM credit_accounts WHERE owner = '{OWNER}'")[0][0])
    tf.check("overrun: charged past the credits", available == -5, str(available))
    code, _, raw = tf.http("POST", "/v1/jobs", {"template": "storyboard", "input": {"text": STORY}})
    tf.check("overrun: a new job is refused with 402", code == 402 and b'"available":-5' in raw.replace(b" ", b""),
             raw[:300])
    ledger_balanced("overrun")
    code, _, raw = tf.http("POST", f"/v1/jobs/{job}/cancel", {})
    tf.check("overrun: the job can still be canceled", code in (200, 202), raw[:200])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.fresh_run(bindir)
    path = os.path.join(RUN, "billing.json")
    with open(path, "w") as f:
        json.dump({"prices": PRICES, "plans": {"free": {}}}, f)
    os.environ["REEL_BILLING_FILE"] = path
    started = False
    try:
        tf.fleet("start", bindir)
        started = True
        job, total = test_exact_price()
        total = test_regenerate_charged(job, total)
        test_internal_rerender_free(job, total)
        test_pause_before_spending()
        test_overrun()
        ledger_balanced("at the end")
    finally:
        if started or os.path.exists(os.path.join(RUN, "pids")):
            tf.fleet("stop", bindir)
    return tf.summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
