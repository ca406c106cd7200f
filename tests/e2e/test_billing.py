#!/usr/bin/env python3
"""End-to-end test of the gateway's side of billing on a fleet of its own
(.run/e2e-billing) with REEL_BILLING_FILE set and the offline providers:
the free plan's monthly grant (once, also under concurrent requests),
credits granted and adjusted with reelctl, a job's reservation made in its
create transaction (ledger row, job_costs, the account, the job's cost),
402 insufficient-credits with needed and available on both create paths
(nothing created), 403 plan-limit for 1080p, too many shots, i2v and jobs
in flight, cancel and the end of a job giving the reservation back, a
regenerate paying for its rework, the daily check-in, GET /v1/me and the
ledger's pages, and every ledger summing to its account. Captures are not
asserted here (the workers charge them)."""
import argparse
import json
import math
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check as oa  # noqa: E402
import test_fleet as tf  # noqa: E402  (helpers: check, sql, fleet, reelctl)
import test_live as tl  # noqa: E402  (Gateway, wait_for, stalled_job)
import test_shares as ts  # noqa: E402  (api)

RUN = tf.RUN = tl.RUN = ts.RUN = os.path.join(tf.ROOT, ".run", "e2e-billing")
check = tf.check
api = ts.api
OWNER = "anonymous"
MARGIN = 20
PRICES = {"parse": {"*": 1}, "render": {"*": 2, "replicate": 5}, "i2v": {"*": 10}, "tts": {"*": 1},
          "merge": {"*": 1}}
FREE = {"monthly_credits": 30, "max_resolution": "720p", "max_shots": 4, "max_jobs_in_flight": 2,
        "retention_days": 7, "i2v": False}
BILLING = {"prices": PRICES,
           "plans": {"free": FREE,
                     "pro": {"monthly_credits": 1000, "max_resolution": "1080p", "max_shots": 12,
                             "max_jobs_in_flight": 5, "i2v": True, "stripe_price": "price_pro"}},
           "packs": {"starter": {"credits": 500, "stripe_price": "price_starter"}},
           "checkin_credits": 5}
TEXT = "The lighthouse keeper climbs the stairs. The lamp turns over the dark sea."


def estimate(shots, parse=True, merged=None, render="*"):
    """The gateway's estimate, computed here from the price table on its own."""
    merged = shots if merged is None else merged
    total = shots * (PRICES["render"][render] + PRICES["tts"]["*"]) + math.ceil(merged * 15 / 60) * 1
    total += PRICES["parse"]["*"] if parse else 0
    return total + math.ceil(total * MARGIN / 100)


DOC = json.load(open(os.path.join(tf.ROOT, "api-gateway", "openapi.json")))


def conforms(label, value, schema):
    errors = oa.validate(DOC, {"$ref": f"#/components/schemas/{schema}"}, value)
    check(f"openapi: {label} matches {schema}", not errors, str(errors[:3]))


def account():
    row = tf.sql(f"SELECT available, reserved FROM credit_accounts WHERE owner = '{OWNER}'")
    return (int(row[0][0]), int(row[0][1])) if row else (0, 0)


def ledger_sums_ok(label):
    rows = tf.sql("SELECT a.owner, a.available, a.reserved, coalesce(sum(l.amount), 0), coalesce(sum(l.held), 0) "
                  "FROM credit_accounts a LEFT JOIN credit_ledger l USING (owner) GROUP BY 1, 2, 3")
    bad = [r for r in rows if (r[1], r[2]) != (r[3], r[4])]
    check(f"{label}: every ledger sums to its account's available and reserved", rows and not bad, str(bad))


def job_count():
    return int(tf.sql("SELECT count(*) FROM jobs")[0][0])


def create(body, key=None):
    headers = {"Idempotency-Key": key} if key else None
    code, _, raw = ts.request("POST", "/v1/jobs", body, headers)
    return code, json.loads(raw)


def wait_status(job, statuses, timeout=180):
    return tl.wait_for(lambda: api("GET", f"/v1/jobs/{job}")[1]["status"] in statuses, timeout)


def test_me_and_monthly_grant():
    code, me = api("GET", "/v1/me")
    check("me: billing on shows owner, plan free, the monthly credits and the limits",
          code == 200 and me["owner"] == OWNER and me["billing"] is True and me["plan"]["name"] == "free" and
          me["plan"]["renews_at"] is None and me["credits"] == {"available": 30, "reserved": 0} and
          me["limits"]["max_resolution"] == "720p" and me["limits"]["max_shots"] == 4 and
          me["limits"]["i2v"] is False and me["limits"]["max_jobs_in_flight"] == 2, json.dumps(me))
    conforms("GET /v1/me", me, "Me")
    api("GET", "/v1/me")
    grants = tf.sql(f"SELECT amount, reason FROM credit_ledger WHERE owner = '{OWNER}' AND kind = 'grant'")
    month = time.strftime("%Y-%m", time.gmtime())
    check("me: the monthly grant is one row, however often the owner is seen",
          grants == [["30", f"monthly credits {month}"]], str(grants))
    # A new month: many requests at once grant it exactly once.
    tf.sql(f"UPDATE credit_accounts SET granted_month = granted_month - interval '1 month' WHERE owner = '{OWNER}'")
    threads = [threading.Thread(target=api, args=("GET", "/v1/me")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    n = tf.sql(f"SELECT count(*) FROM credit_ledger WHERE owner = '{OWNER}' AND kind = 'grant'")[0][0]
    check("me: eight concurrent requests in a new month grant it once", n == "2", n)
    check("me: the account holds both grants", account() == (60, 0), str(account()))


def test_reelctl(bindir):
    r = tf.reelctl(bindir, "credits", "grant", "--owner", OWNER, "--amount", "40", "--reason", "e2e welcome")
    check("reelctl: credits grant adds credits", r.returncode == 0 and account() == (100, 0), r.stderr + str(account()))
    r = tf.reelctl(bindir, "credits", "adjust", "--owner", OWNER, "--amount", "-10")
    check("reelctl: adjust without --reason is refused, nothing written",
          r.returncode == 2 and "reason" in r.stderr and account() == (100, 0), r.stderr)
    r = tf.reelctl(bindir, "credits", "adjust", "--owner", OWNER, "--amount", "-10", "--reason", "goodwill undone")
    rows = tf.sql(f"SELECT amount, reason FROM credit_ledger WHERE owner = '{OWNER}' AND kind = 'adjust'")
    check("reelctl: adjust keeps its reason in the ledger row",
          r.returncode == 0 and rows == [["-10", "goodwill undone"]] and account() == (90, 0), f"{r.stderr} {rows}")
    r = tf.reelctl(bindir, "credits", "show", "--owner", OWNER)
    check("reelctl: show prints available, reserved, plan and the last rows",
          r.returncode == 0 and "available 90, reserved 0, plan free" in r.stdout and "goodwill undone" in r.stdout
          and "e2e welcome" in r.stdout, r.stdout + r.stderr)


def test_plan_limits():
    before = job_count()
    cases = [({"resolution": "1080p"}, "options.resolution", "max_resolution"),
             ({"max_shots": 10}, "options.max_shots", "max_shots"),
             ({"motion": "i2v"}, "options.motion", "i2v")]
    for options, field, limit in cases:
        code, p = create({"template": "storyboard", "input": {"text": TEXT}, "options": options})
        check(f"plan: {field} beyond the free plan is 403 plan-limit naming {limit}",
              code == 403 and p["type"].endswith("/plan-limit") and p["field"] == field and limit in p["detail"],
              json.dumps(p))
    check("plan: refused creates made no job", job_count() == before)
    stalled = [tl.stalled_job() for _ in range(2)]
    code, p = create({"template": "storyboard", "input": {"text": TEXT}})
    check("plan: a third unfinished job is 403 plan-limit naming max_jobs_in_flight",
          code == 403 and p["type"].endswith("/plan-limit") and p["field"] == "max_jobs_in_flight", json.dumps(p))
    tf.sql("UPDATE jobs SET status = 'canceled' WHERE id IN ('%s')" % "','".join(stalled))


def test_reserve_and_done():
    avail, _ = account()
    code, job = create({"template": "storyboard", "input": {"text": TEXT}, "options": {"max_shots": 2}})
    need = estimate(2)
    check("reserve: a create answers 202 with its cost's reservation",
          code == 202 and job["cost"] == {"reserved": need, "captured": 0}, json.dumps(job)[:400])
    conforms("a created job with its cost", job, "Job")
    jid = job["id"]
    rows = tf.sql(f"SELECT kind, amount, held FROM credit_ledger WHERE job_id = '{jid}' AND kind = 'reserve'")
    costs = tf.sql(f"SELECT reserved FROM job_costs WHERE job_id = '{jid}'")
    check("reserve: one reserve row moves the estimate from available to held",
          rows == [["reserve", str(-need), str(need)]] and costs == [[str(need)]], f"{rows} {costs}")
    # One reading of the account and the job (captures may run meanwhile): what is held is the job's.
    now = tf.sql(f"SELECT a.available, a.reserved, c.held FROM credit_accounts a JOIN job_costs c "
                 f"ON c.owner = a.owner WHERE c.job_id = '{jid}'")[0]
    check("reserve: the account shows it", int(now[0]) == avail - need and now[1] == now[2], str(now))
    check("reserve: the job keeps the plan's retention", tf.sql(
        f"SELECT retention_days FROM jobs WHERE id = '{jid}'") == [["7"]])
    code, view = api("GET", f"/v1/jobs/{jid}")
    check("reserve: GET shows the job's cost", view.get("cost", {}).get("reserved") == need, json.dumps(view)[:300])
    code, page = api("GET", "/v1/jobs?limit=5")
    item = [x for x in page["items"] if x["id"] == jid]
    check("reserve: the jobs list shows the job's cost", item and item[0].get("cost", {}).get("reserved") == need,
          json.dumps(page)[:300])
    conforms("a jobs list page with costs", page, "JobList")
    check("reserve: the storyboard video is made with the offline providers", wait_status(jid, ("done",)), jid)
    held = tf.sql(f"SELECT held FROM job_costs WHERE job_id = '{jid}'")
    kinds = [r[0] for r in tf.sql(f"SELECT kind FROM credit_ledger WHERE job_id = '{jid}' ORDER BY id")]
    check("reserve: the finished job holds nothing; its rest came back in a release row",
          held == [["0"]] and kinds[0] == "reserve" and kinds[-1] == "release" and account()[1] == 0,
          f"{held} {kinds} {account()}")
    shots = int(tf.sql(f"SELECT shots_total FROM jobs WHERE id = '{jid}'")[0][0])
    ms = int(tf.sql(f"SELECT output->>'duration_ms' FROM jobs WHERE id = '{jid}'")[0][0])
    price = PRICES["parse"]["*"] + shots * (PRICES["render"]["*"] + PRICES["tts"]["*"]) + math.ceil(ms / 60000)
    code, view = api("GET", f"/v1/jobs/{jid}")
    check("reserve: the job cost exactly the price table's for what was made, the rest came back",
          view.get("cost") == {"reserved": need, "captured": price} and account()[0] == avail - price,
          f"{view.get('cost')} vs {price}, {account()}")
    return jid


def test_regenerate(jid):
    avail, _ = account()
    code, view = api("POST", f"/v1/jobs/{jid}/shots/0/regenerate", {})
    need = estimate(1, parse=False, merged=2)
    rows = tf.sql(f"SELECT amount, held FROM credit_ledger WHERE job_id = '{jid}' AND kind = 'reserve' "
                  "ORDER BY id DESC LIMIT 1")
    check("regenerate: reserves the rework's estimate first",
          code == 200 and rows == [[str(-need), str(need)]] and account()[0] == avail - need, f"{code} {rows}")
    released = lambda: tf.sql(f"SELECT count(*) FROM credit_ledger WHERE job_id = '{jid}' AND kind = 'release'")
    ended = tl.wait_for(lambda: released() == [["2"]] and tf.sql(
        f"SELECT status FROM jobs WHERE id = '{jid}'") == [["done"]], 180)
    check("regenerate: the job is made again and ends", ended, str(released()))
    check("regenerate: its end gives the rest back", account()[1] == 0, str(account()))


def drain_to(bindir, left):
    avail, _ = account()
    r = tf.reelctl(bindir, "credits", "adjust", "--owner", OWNER, "--amount", str(left - avail), "--reason", "drain")
    assert r.returncode == 0 and account()[0] == left, (r.stderr, account())


def test_insufficient(bindir, jid):
    drain_to(bindir, 4)  # below a regenerate's estimate too
    before, events = job_count(), tf.sql("SELECT count(*) FROM job_events")[0][0]
    outbox = tf.sql("SELECT count(*) FROM outbox")[0][0]
    body = {"template": "storyboard", "input": {"text": TEXT}}
    code, p = create(body)
    need = estimate(4)  # the free plan's max_shots fills in the default
    check("402: a create beyond the credits is insufficient-credits with needed and available",
          code == 402 and p["type"].endswith("/insufficient-credits") and p["needed"] == need and
          p["available"] == 4, json.dumps(p))
    conforms("the 402", p, "Problem")
    code, p = create(body, key="billing-short-1")
    check("402: also with an Idempotency-Key", code == 402 and p["needed"] == need and p["available"] == 4,
          json.dumps(p))
    check("402: nothing was created: no job, event, outbox message, key or ledger row",
          job_count() == before and tf.sql("SELECT count(*) FROM job_events")[0][0] == events and
          tf.sql("SELECT count(*) FROM outbox")[0][0] == outbox and
          not tf.sql("SELECT 1 FROM idempotency_keys WHERE key = 'billing-short-1'") and account() == (4, 0),
          str(account()))
    code, p = api("POST", f"/v1/jobs/{jid}/shots/0/regenerate", {})
    check("402: a regenerate beyond the credits is refused and changes nothing",
          code == 402 and p["needed"] == estimate(1, parse=False, merged=2) and
          tf.sql(f"SELECT status FROM jobs WHERE id = '{jid}'") == [["done"]], json.dumps(p))
    # Two creates at once with credits for one: one 202, one 402.
    drain_to(bindir, need + 3)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(create(body))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a[0] for a in answers)
    check("402: of two creates at once with credits for one, one is made", codes == [202, 402], str(answers))
    made = [a[1]["id"] for a in answers if a[0] == 202]
    return made[0] if made else None


def test_cancel(job):
    avail, _ = account()
    code, _ = api("POST", f"/v1/jobs/{job}/cancel", {})
    rel = tf.sql(f"SELECT amount, held FROM credit_ledger WHERE job_id = '{job}' AND kind = 'release'")
    cost = tf.sql(f"SELECT reserved - captured, held FROM job_costs WHERE job_id = '{job}'")
    check("cancel: gives what the job still held back in one release row",
          code == 200 and len(rel) == 1 and int(rel[0][0]) == -int(rel[0][1]) == int(cost[0][0]) > 0
          and cost[0][1] == "0", f"{code} {rel} {cost}")
    check("cancel: available is restored", rel and account()[0] == avail + int(rel[0][0]), f"{avail} + {rel} -> {account()}")


def test_retry(bindir):
    job = tl.stalled_job()
    tf.sql(f"UPDATE jobs SET status = 'failed' WHERE id = '{job}'")
    drain_to(bindir, 4)
    need = estimate(12)  # a job without shots is parsed again: options.max_shots' default
    code, p = api("POST", f"/v1/jobs/{job}/retry", {})
    check("retry: beyond the credits is 402 and the job stays failed", code == 402 and p["needed"] == need and
          tf.sql(f"SELECT status FROM jobs WHERE id = '{job}'") == [["failed"]], json.dumps(p))
    tf.reelctl(bindir, "credits", "grant", "--owner", OWNER, "--amount", "100")
    code, view = api("POST", f"/v1/jobs/{job}/retry", {})
    rows = tf.sql(f"SELECT amount, held FROM credit_ledger WHERE job_id = '{job}' AND kind = 'reserve'")
    check("retry: reserves the rework's estimate first", code == 200 and rows == [[str(-need), str(need)]] and
          view["cost"]["reserved"] == need, f"{code} {rows}")
    api("POST", f"/v1/jobs/{job}/cancel", {})


def test_paid_plan_grant():
    """Paid plans' credits come with their payments: seeing their owner grants nothing, until the plan has ended."""
    tf.sql("SELECT reel_account_lock('payer')")
    tf.sql("UPDATE credit_accounts SET plan = 'pro' WHERE owner = 'payer'")
    seen = "SELECT plan FROM reel_account_seen('payer', ARRAY['pro'], 30)"
    grants = "SELECT count(*) FROM credit_ledger WHERE owner = 'payer' AND kind = 'grant'"
    check("plan: an owner on a paid plan gets no lazy monthly grant", tf.sql(seen) == [["pro"]] and
          tf.sql(grants) == [["0"]])
    tf.sql("UPDATE credit_accounts SET plan_ends_at = now() - interval '1 day' WHERE owner = 'payer'")
    check("plan: once the paid plan has ended the owner is on free and gets its monthly credits",
          tf.sql(seen) == [["free"]] and tf.sql(grants) == [["1"]])


def test_checkin():
    avail, _ = account()
    code, body = api("POST", "/v1/me/checkin", {})
    check("checkin: grants checkin_credits", code == 200 and body["granted"] == 5 and
          body["credits"]["available"] == avail + 5 and account()[0] == avail + 5, json.dumps(body))
    conforms("the check-in", body, "Checkin")
    code, p = api("POST", "/v1/me/checkin", {})
    check("checkin: a second one the same UTC day is 409 already-checked-in",
          code == 409 and p["type"].endswith("/already-checked-in") and account()[0] == avail + 5, json.dumps(p))
    rows = tf.sql(f"SELECT count(*) FROM credit_ledger WHERE owner = '{OWNER}' AND kind = 'checkin'")
    check("checkin: one ledger row", rows == [["1"]], str(rows))


def test_ledger_pages():
    want = [r[0] for r in tf.sql(f"SELECT id FROM credit_ledger WHERE owner = '{OWNER}' ORDER BY id DESC")]
    got, cursor, pages = [], None, 0
    while True:
        code, page = api("GET", "/v1/me/ledger?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        if code != 200 or pages > 100:
            break
        got += [str(x["id"]) for x in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    check("ledger: pages of 3 give every row once, newest first", got == want and len(want) > 3, f"{got} {want}")
    code, page = api("GET", "/v1/me/ledger?limit=1")
    first = page["items"][0]
    check("ledger: a row carries kind, amount, held, job, reason and time",
          code == 200 and set(first) >= {"id", "kind", "amount", "held", "job_id", "reason", "at"}, json.dumps(page))
    conforms("a ledger page", page, "LedgerPage")
    code, p = api("GET", "/v1/me/ledger?cursor=abc")
    code2, _ = api("GET", "/v1/me/ledger?limit=0")
    check("ledger: a bad cursor or limit is 422", code == 422 and p["field"] == "cursor" and code2 == 422, str(p))


def test_dashboards():
    dash = json.dumps(json.load(open(os.path.join(tf.ROOT, "deploy", "dashboards", "reelforge.json"))))
    views = ("reel_credits_daily", "reel_credits_spend", "reel_credits_vs_cost")
    check("dashboards: the Grafana dashboard has a panel for each credits view", all(v in dash for v in views))
    today = tf.sql("SELECT granted FROM reel_credits_daily WHERE day = date_trunc('day', now())")
    granted = tf.sql(f"SELECT sum(amount) FROM credit_ledger WHERE kind IN ('grant', 'checkin') "
                     "AND at >= date_trunc('day', now())")
    check("dashboards: reel_credits_daily counts today's grants", today and today == granted, f"{today} {granted}")
    check("dashboards: the spend views answer", all(tf.sql(f"SELECT count(*) FROM {v}") for v in views[1:]))


def test_plan_retention(bindir, jid):
    """A gateway whose days last a second, fleet retention off: the plan's 7 days expire the job, and only it."""
    others = tf.sql("SELECT count(*) FROM jobs WHERE retention_days IS NULL AND expired_at IS NULL")[0][0]
    gw = tl.Gateway(bindir, "gateway-sweeper", REEL_RETENTION_DAYS="0", REEL_RETENTION_DAY_S="1",
                    REEL_RETENTION_SWEEP_S="1")
    try:
        gone = tl.wait_for(lambda: tf.sql(f"SELECT expired_at IS NOT NULL FROM jobs WHERE id = '{jid}'") == [["t"]], 40)
        check("retention: the plan's retention_days expire a job's media with the fleet's setting off", gone, jid)
        left = tf.sql("SELECT count(*) FROM jobs WHERE retention_days IS NULL AND expired_at IS NULL")[0][0]
        check("retention: jobs without a plan's days are kept", left == others, f"{left} {others}")
        final = tf.sql(f"SELECT output->>'video_key' FROM jobs WHERE id = '{jid}'")[0][0]
        path = os.path.join(tf.fleet_env()["REEL_STORAGE_URL"][len("file://"):], final)
        check("retention: its video file is deleted", not os.path.exists(path), path)
    finally:
        gw.stop()


def test_billing_off(bindir):
    env = {k: v for k, v in os.environ.items() if k != "REEL_BILLING_FILE"}
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        gw = tl.Gateway(bindir, "gateway-nobilling")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        code, _, me = gw.call("GET", "/v1/me")
        check("off: GET /v1/me says billing false and nothing else", code == 200 and
              me == {"owner": OWNER, "billing": False}, str(me))
        conforms("GET /v1/me with billing off", me, "Me")
        code, _, p = gw.call("POST", "/v1/me/checkin", body={})
        check("off: the check-in is 404", code == 404, str(p))
        before = tf.sql("SELECT count(*) FROM credit_ledger")[0][0]
        code, _, job = gw.call("POST", "/v1/jobs", body={"template": "storyboard", "input": {"text": TEXT},
                                                          "options": {"resolution": "1080p", "max_shots": 10}})
        check("off: a create reserves nothing, checks no plan and shows no cost",
              code == 202 and "cost" not in job and tf.sql("SELECT count(*) FROM credit_ledger")[0][0] == before and
              not tf.sql(f"SELECT 1 FROM job_costs WHERE job_id = '{job['id']}'"), json.dumps(job)[:300])
        gw.call("POST", f"/v1/jobs/{job['id']}/cancel", body={})
    finally:
        gw.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    os.environ.pop("REEL_STORAGE_URL", None)  # the retention check looks into the storage folder
    tf.fresh_run(bindir)
    path = os.path.join(RUN, "billing.json")
    with open(path, "w") as f:
        json.dump(BILLING, f)
    os.environ["REEL_BILLING_FILE"] = path
    os.environ["REEL_RESERVE_MARGIN"] = str(MARGIN)
    started = False
    try:
        tf.fleet("start", bindir)
        started = True
        test_me_and_monthly_grant()
        test_reelctl(bindir)
        test_plan_limits()
        jid = test_reserve_and_done()
        test_regenerate(jid)
        ledger_sums_ok("after a job")
        made = test_insufficient(bindir, jid)
        if made:
            test_cancel(made)
        test_retry(bindir)
        test_paid_plan_grant()
        test_checkin()
        test_ledger_pages()
        ledger_sums_ok("at the end")
        test_dashboards()
        test_plan_retention(bindir, jid)
        test_billing_off(bindir)
    finally:
        if started or os.path.exists(os.path.join(RUN, "pids")):
            tf.fleet("stop", bindir)
    return tf.summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
