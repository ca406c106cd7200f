#!/usr/bin/env python3
"""End-to-end test of the reliability machinery on its own fleet (media
skipped): the reconciler re-publishes an overdue job and a retry written in
the database (retry_at), carrying the retry's attempt number; a message no
stage can read becomes a dead letter (table row), which `reelctl dlq list`
shows and `reelctl dlq replay` publishes again through the outbox."""
import argparse
import os
import shutil
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, ".run", "e2e-reliability")
PORT_OFFSET = int(os.environ.get("REEL_TEST_PORT_OFFSET", "100"))
PG_PORT = os.environ.get("REEL_TEST_PG_PORT", "54429")
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'}: {name}{(' — ' + str(detail)) if detail and not ok else ''}", flush=True)


def env():
    e = dict(os.environ, REEL_RUN_DIR=RUN, REEL_PORT_OFFSET=str(PORT_OFFSET), REEL_PG_PORT=PG_PORT,
             REEL_OFFLINE_SKIP_MEDIA="1", REEL_PARSE_DEADLINE_S="3", REEL_MERGE_DEADLINE_S="3",
             REEL_RECONCILE_INTERVAL_MS="300",
             ASAN_OPTIONS=f"log_path={RUN}/sanitizer:detect_leaks=1",
             UBSAN_OPTIONS=f"log_path={RUN}/sanitizer:print_stacktrace=1")
    if os.path.exists(os.path.join(RUN, "env")):
        for line in open(os.path.join(RUN, "env")):
            k, v = line.replace("export ", "").strip().split("=", 1)
            e[k] = v.strip("'")
    return e


def sql(query):
    out = subprocess.run(["psql", env()["REEL_DATABASE_URL"], "-qtAX", "-F", "\t", "-c", query], check=True,
                         capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def wait_for(query, want, timeout=40):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        rows = sql(query)
        got = rows[0][0] if rows else None
        if got == want:
            return True, got
        time.sleep(0.3)
    return False, got


def wait_at_least(query, least, timeout=40):
    deadline = time.time() + timeout
    got = 0
    while time.time() < deadline:
        got = int(sql(query)[0][0])
        if got >= least:
            return True, got
        time.sleep(0.3)
    return False, got


def insert_job(status, extra=""):
    job = str(uuid.uuid4())
    sql(f"INSERT INTO jobs (id, owner, status, template, input, trace, shots_total, shots_ready {extra[0] if extra else ''}) "
        f"VALUES ('{job}', 'anonymous', '{status}', 'storyboard', '{{\"text\":\"A cat sat. It slept.\"}}', "
        f"'t{job[:8]}', 0, 0 {extra[1] if extra else ''})")
    return job


def test_overdue_job():
    # As if the broker lost its parse message: queued for a minute, nothing sent.
    job = insert_job("queued")
    sql(f"UPDATE jobs SET updated_at = now() - interval '1 minute' WHERE id = '{job}'")
    ok, got = wait_for(f"SELECT status FROM jobs WHERE id = '{job}'", "done")
    check("an overdue queued job with no message is re-published and finishes", ok, got)


def test_retry_at():
    # A merge retry written in the database: due now, attempt 3.
    job = insert_job("merging", (", retry_at, retry_attempt", ", now() - interval '1 second', 3"))
    ok, got = wait_for(f"SELECT status FROM jobs WHERE id = '{job}'", "done")
    check("a merge whose retry_at has come is published again and finishes", ok, got)
    logs = open(os.path.join(RUN, "logs", "merge-worker.log")).read()
    check("the reconciler logged the re-published merge", "re-published" in logs)
    check("retry_at is cleared once published",
          sql(f"SELECT count(*) FROM jobs WHERE id = '{job}' AND retry_at IS NULL")[0][0] == "1")
    job = insert_job("merging", (", retry_at, retry_attempt", ", now() + interval '1 hour', 2"))
    time.sleep(2)
    check("a merge whose retry_at is in the future waits",
          sql(f"SELECT status FROM jobs WHERE id = '{job}'")[0][0] == "merging")


def reelctl(*args):
    return subprocess.run([os.path.join(BIN, "reelctl"), *args], env=env(), capture_output=True, text=True)


def test_dead_letters():
    sql("INSERT INTO outbox (topic, key, value, created_at) "
        "VALUES ('reel.render', 'garbage', 'this is not an envelope', now() - interval '1 minute')")
    # Every daemon's outbox relay may publish the orphan row (at least once): count from 1.
    ok, got = wait_at_least("SELECT count(*) FROM dead_letters WHERE key = 'garbage'", 1)
    check("an unreadable message becomes a dead letter", ok, got)
    time.sleep(3)
    before = int(sql("SELECT count(*) FROM dead_letters WHERE key = 'garbage'")[0][0])
    row = sql("SELECT id, stage, value, job_id IS NULL, error <> '' FROM dead_letters WHERE key = 'garbage' "
              "ORDER BY id LIMIT 1")
    check("the dead letter keeps its stage, value and error",
          row and row[0][1:] == ["render", "this is not an envelope", "t", "t"], row)
    out = reelctl("dlq", "list")
    check("reelctl dlq list shows it", out.returncode == 0 and "garbage" in out.stdout, out.stdout + out.stderr)
    bad = reelctl("dlq", "replay", "x1")
    check("reelctl dlq replay refuses a bad id", bad.returncode == 2, bad.stderr)
    out = reelctl("dlq", "replay", row[0][0])
    check("reelctl dlq replay ID replays one", out.returncode == 0 and "replayed 1" in out.stdout,
          out.stdout + out.stderr)
    listed = reelctl("dlq", "list").stdout
    check("the replayed letter is marked and left the list",
          f"\n{row[0][0]} " not in listed and
          sql(f"SELECT count(*) FROM dead_letters WHERE id = {row[0][0]} AND replayed_at IS NOT NULL")[0][0] == "1",
          listed)
    ok, got = wait_at_least("SELECT count(*) FROM dead_letters WHERE key = 'garbage'", before + 1)
    check("the replayed message was published again (and is refused again)", ok, got)
    out = reelctl("dlq", "replay", "--all")
    check("reelctl dlq replay --all replays what is left", out.returncode == 0 and "replayed " in out.stdout and
          sql("SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL")[0][0] == "0", out.stdout)


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    BIN = os.path.abspath(ap.parse_args().bin)
    shutil.rmtree(RUN, ignore_errors=True)
    os.makedirs(RUN)
    fleet = os.path.join(ROOT, "deploy", "fleet.sh")
    try:
        subprocess.run([fleet, "start", BIN], check=True, env=env())
        test_overdue_job()
        test_retry_at()
        test_dead_letters()
    finally:
        subprocess.run([fleet, "stop"], env=env())
    reports = [f for f in os.listdir(RUN) if f.startswith("sanitizer")]
    check("no sanitizer reports", not reports, reports)
    print(f"{sum(results)}/{len(results)} passed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
