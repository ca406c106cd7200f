"""The fleet with real media on file:// storage and then on s3:// storage, in
the same run: the S3 server is the one test_s3.py checks signatures against
(OpenStack Swift with s3api, tests/e2e/s3server.py), each daemon has its own
TMPDIR (deploy/fleet.sh), so on S3 every picture, voice and video crosses the
bucket. Jobs go one after another, so no stage waits behind another job.
Prints `metric fleet.<storage>.e2e_p50_ms` (queued to done) and
`metric merge.<storage>.stage_p50_ms` (the merge stage inside the fleet:
merging to done, which on S3 includes fetching every shot's media and the
upload of the video)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
import s3server  # noqa: E402

BUCKET = "reel-bench"
SHOTS = 3
STORY = "\n\n".join(f"Scene {i + 1}: the lantern glows over the quiet harbour." for i in range(SHOTS))
JOB = {"template": "storyboard", "input": {"text": STORY}, "options": {"resolution": "720p"}}


def s3_env(server):
    return {"REEL_STORAGE_URL": f"s3://{BUCKET}/media", "REEL_S3_ENDPOINT": server.endpoint,
            "REEL_S3_ACCESS_KEY_ID": s3server.ACCESS_KEY, "REEL_S3_SECRET_ACCESS_KEY": s3server.SECRET_KEY,
            "REEL_S3_REGION": s3server.REGION, "REEL_S3_PATH_STYLE": "1"}


def measure(bench, bindir, label, env, jobs):
    """Starts a fleet on env's storage, runs jobs one after another and reads their events."""
    fleet = bench.Fleet(bindir, 1, os.path.join(bench.ROOT, ".run", f"bench-{label}"),
                        int(os.environ.get("REEL_TEST_PORT_OFFSET", "200")))
    fleet.env.pop("REEL_OFFLINE_SKIP_MEDIA")
    fleet.env.pop("REEL_STORAGE_URL", None)  # the caller's own storage is not the benchmark's
    fleet.env.update(env)
    fleet.start()
    try:
        t0, ids = time.time(), []
        for n in range(1, jobs + 1):  # one at a time: a job's merge never waits behind another's
            ids += bench.post_jobs(fleet.port, 1, threads=1, job=JOB)
            bench.wait_done(fleet, t0 - 1, n, timeout=600)
        idlist = ",".join(f"'{i}'" for i in ids)
        rows = fleet.sql("SELECT job_id, kind, extract(epoch FROM at) FROM job_events "
                         f"WHERE job_id IN ({idlist}) AND shot IS NULL ORDER BY seq")
    finally:
        fleet.stop()
    ev = {}
    for job, kind, at in rows:
        ev.setdefault(job, {})[kind] = float(at) * 1000
    e2e = [e["done"] - e["queued"] for e in ev.values()]
    merge = [e["done"] - e["merging"] for e in ev.values()]
    bench.metric(f"fleet.{label}.e2e_p50_ms", bench.pct(e2e, 50), "ms")
    bench.metric(f"merge.{label}.stage_p50_ms", bench.pct(merge, 50), "ms")
    return bench.pct(e2e, 50), bench.pct(merge, 50)


def run(bench, bindir, jobs):
    """bench is tests/bench/bench.py's module (its Fleet, metric, pct, post_jobs, wait_done)."""
    figures = [("file", measure(bench, bindir, "file", {}, jobs))]
    # A port range of its own: test_s3.py starts servers in 19000-19100 and test_uploads.py in 19100-19200,
    # and Swift binds with SO_REUSEPORT, so two servers started at once on one port would share its connections.
    server = s3server.S3Server(s3server.free_base(19200, 19300)).start()
    try:
        status, body = s3server.request(server.endpoint, "PUT", "/" + BUCKET)
        if status != 200:
            raise SystemExit(f"the S3 server did not make the bucket: {status} {body[:200]!r}")
        figures.append(("s3", measure(bench, bindir, "s3", s3_env(server), jobs)))
    finally:
        server.stop()
    print(f"\nstorage: {jobs} jobs of {SHOTS} shots with media (720p), one after another, 1 process per daemon")
    print(f"{'storage':<8} {'e2e p50':>10} {'merge p50':>10}")
    for name, (e2e, merge) in figures:
        print(f"{name:<8} {e2e:>7.0f} ms {merge:>7.0f} ms")
    bench.metric("fleet.s3_vs_file.e2e_ratio", figures[1][1][0] / figures[0][1][0], "")
    bench.metric("merge.s3_vs_file.stage_ratio", figures[1][1][1] / figures[0][1][1], "")
