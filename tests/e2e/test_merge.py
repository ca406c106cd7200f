#!/usr/bin/env python3
"""End-to-end test of the merge stage's options through the running fleet.

Starts its own fleet (run dir .run/e2e-merge, helpers from test_fleet.py),
submits jobs with merge options and probes what comes out: the MP4's
streams for the aspect ratio and resolution asked, audio and video lengths,
loudness with music (the ffmpeg program's ebur128), cut boundaries against
the narration, poster, SRT and WebVTT, the manifest's checksums, progress
events; then a re-merge reusing the cached segments and taking the timings
written to shots.timings, a cancel stopping an encode, a bad music option failing the job with a
readable error, and a SIGTERM during an encode: the worker stops the
encode, frees it and exits within its grace without a sanitizer report,
and the job is finished by the next merge-worker."""
import argparse
import glob
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_fleet as tf  # noqa: E402

tf.RUN = os.path.join(tf.ROOT, ".run", "e2e-merge")
check, http, sql = tf.check, tf.http, tf.sql

STORY = """The lighthouse keeper climbed the stairs at dusk. The lamp was cold and the sea was loud.

He wiped the glass and struck a match. A warm light spread across the waves.

Far away a small boat turned toward the shore. The sailors sang as they rowed home."""

LONG_STORY = "\n\n".join(f"Chapter {i + 1}. The caravan crossed another valley under a pale and endless sky, "
                         "and the travellers told old stories to keep the night away." for i in range(8))


def storage(key):
    return os.path.join(tf.RUN, "storage", key)


def submit(text, options):
    code, _, body = http("POST", "/v1/jobs", {"template": "storyboard", "input": {"text": text}, "options": options})
    job = json.loads(body)
    check(f"create with {sorted(options)} answers 202", code == 202 and job.get("id"), body[:300])
    return job.get("id")


def output_of(job_id):
    rows = sql(f"SELECT coalesce(output::text, 'null') FROM jobs WHERE id = '{job_id}'")
    return json.loads(rows[0][0]) if rows else None


def loudness(path):
    out = subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", path, "-map", "0:a", "-af", "ebur128",
                          "-f", "null", "-"], capture_output=True, text=True).stderr
    found = re.findall(r"I:\s+(-?[\d.]+) LUFS", out)
    return float(found[-1]) if found else None


def cut_times(path):
    """Times where the picture changes abruptly: the shot boundaries of a cut."""
    out = subprocess.run(["ffmpeg", "-hide_banner", "-i", path, "-map", "0:v",
                          "-vf", "select='gt(scene,0.25)',showinfo", "-f", "null", "-"],
                         capture_output=True, text=True).stderr
    return [float(t) for t in re.findall(r"pts_time:([\d.]+)", out)]


def srt_cues(path):
    text = open(path, encoding="utf-8").read()
    cues = []
    for a, b in re.findall(r"(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)", text):
        def ms(t):
            h, m, rest = t.split(":")
            s, milli = rest.split(",")
            return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(milli)
        cues.append((ms(a), ms(b)))
    return cues


def check_streams(label, path, width, height):
    info = tf.probe(path)
    v = [s for s in info["streams"] if s["codec_type"] == "video"]
    a = [s for s in info["streams"] if s["codec_type"] == "audio"]
    check(f"{label}: H.264 {width}x{height} yuv420p",
          len(v) == 1 and v[0]["codec_name"] == "h264" and v[0]["width"] == width and v[0]["height"] == height
          and v[0]["pix_fmt"] == "yuv420p", str(v)[:300])
    check(f"{label}: AAC 48 kHz", len(a) == 1 and a[0]["codec_name"] == "aac" and a[0]["sample_rate"] == "48000",
          str(a)[:300])
    if v and a:
        dv, da = float(v[0]["duration"]), float(a[0]["duration"])
        check(f"{label}: audio and video last the same within a frame", abs(dv - da) <= 0.04, f"{dv} {da}")
    return info


def check_manifest(label, out):
    manifest = json.load(open(storage(out["manifest_key"])))
    assets = manifest.get("assets", [])
    keys = {a["key"] for a in assets}
    check(f"{label}: manifest lists video, poster and subtitles",
          {out["video_key"], out["poster_key"], out.get("srt_key"), out.get("vtt_key")} - {None} <= keys, str(keys))
    ok = True
    for a in assets:
        data = open(storage(a["key"]), "rb").read()
        ok &= a["bytes"] == len(data) and a["sha256"] == hashlib.sha256(data).hexdigest()
    check(f"{label}: every manifest checksum and size matches the stored file", ok and assets)
    types = {a["key"]: a["type"] for a in assets}
    check(f"{label}: manifest types", types.get(out["video_key"]) == "video/mp4"
          and types.get(out["poster_key"]) == "image/jpeg", str(types)[:300])


MERGE_OPTIONS = {"subtitles": "burn", "music": "calm", "transition": "fade", "transition_ms": 400}


def test_options():
    job = submit(STORY, {"aspect_ratio": "16:9", "resolution": "720p", **MERGE_OPTIONS})
    done = tf.wait_done(job, 600)
    if not check("options job done", done.get("status") == "done", json.dumps(done)[:500]):
        return
    stored = json.loads(sql(f"SELECT options::text FROM jobs WHERE id = '{job}'")[0][0])
    if any(stored.get(k) != v for k, v in MERGE_OPTIONS.items()):
        # A gateway that does not pass these options on yet: set them as it would and merge again.
        print(f"note: the gateway stored {stored}; setting the merge options directly", flush=True)
        sql(f"UPDATE jobs SET options = options || '{json.dumps(MERGE_OPTIONS)}'::jsonb WHERE id = '{job}'")
        remerge(job)
        done = tf.wait_done(job, 600)
        check("options job merged again with its options", done.get("status") == "done", json.dumps(done)[:300])
    out = output_of(job)
    check("jobs.output names every asset", all(k in out for k in ("video_key", "poster_key", "srt_key", "vtt_key",
                                                                  "manifest_key", "duration_ms")), str(out))
    video = storage(out["video_key"])
    check_streams("16:9 720p", video, 1280, 720)
    lufs = loudness(video)
    check("loudness -14 LUFS +-1 with music", lufs is not None and abs(lufs + 14) <= 1, str(lufs))
    poster = tf.probe(storage(out["poster_key"]))["streams"][0]
    check("poster is a 1280x720 JPEG", poster["codec_name"] == "mjpeg" and poster["width"] == 1280, str(poster))
    vtt = open(storage(out["vtt_key"]), encoding="utf-8").read()
    check("WebVTT sidecar", vtt.startswith("WEBVTT\n") and "-->" in vtt, vtt[:200])
    check_manifest("options", out)
    # The first merge's events: a re-merge above may run twice at once (the relays of several daemons
    # can each publish the row it inserted), and their events interleave.
    rows = sql(f"SELECT (detail->>'percent')::int, extract(epoch FROM at) FROM job_events "
               f"WHERE job_id = '{job}' AND kind = 'progress' AND detail->>'stage' = 'merge' AND seq < "
               f"(SELECT min(seq) FROM job_events WHERE job_id = '{job}' AND kind = 'done') ORDER BY seq")
    pct, at = [int(p) for p, _ in rows], [float(t) for _, t in rows]
    check("progress events rise to 100", pct and pct == sorted(pct) and pct[-1] == 100, str(pct))
    check("at most two progress events a second", all(at[i + 2] - at[i] >= 0.9 for i in range(len(at) - 2)),
          str(at))


def remerge(job):
    """What the gateway's regenerate does once the shot is ready again: back to merging, a merge message."""
    value = json.dumps({"v": 1, "job": job, "attempt": 1, "trace": "e2e-remerge"})
    # With its event, as every status change is written, so the gateway's cached answer is dropped too.
    sql(f"BEGIN; UPDATE jobs SET status = 'merging', output = NULL WHERE id = '{job}'; "
        f"INSERT INTO job_events (job_id, kind, detail) VALUES ('{job}', 'merging', '{{\"by\":\"e2e\"}}'); "
        f"INSERT INTO outbox (topic, key, value, created_at) VALUES ('reel.merge', '{job}', '{value}', "
        f"now() - interval '1 hour'); COMMIT")


def merge_log_counts():
    text = open(os.path.join(tf.RUN, "logs", "merge-worker.log"), errors="replace").read()
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+) segment\(s\) encoded, (\d+) reused", text)]


def test_cut_and_remerge():
    job = submit(STORY, {"resolution": "720p"})
    done = tf.wait_done(job, 600)
    if not check("9:16 720p job done", done.get("status") == "done", json.dumps(done)[:500]):
        return
    out = output_of(job)
    video = storage(out["video_key"])
    check_streams("9:16 720p", video, 720, 1280)
    durations = [int(r[0]) for r in sql(f"SELECT duration_ms FROM shots WHERE job_id = '{job}' ORDER BY idx")]
    bounds = [sum(durations[:k + 1]) / 1000 for k in range(len(durations) - 1)]
    cuts = cut_times(video)
    check(f"each of {len(bounds)} cuts within 40 ms of the narration's boundary",
          len(cuts) == len(bounds) and all(abs(c - b) <= 0.04 for c, b in zip(cuts, bounds)), f"{cuts} vs {bounds}")
    cues = srt_cues(storage(out["srt_key"]))
    starts = [sum(durations[:k]) for k in range(len(durations))]
    timings = [json.loads(r[0]) for r in sql(f"SELECT timings FROM shots WHERE job_id = '{job}' ORDER BY idx")]
    spoken = [(s + t["start_ms"], s + t["end_ms"]) for s, shot in zip(starts, timings) for t in shot]
    check("the cues are the timings the tts stage wrote, placed at their shots",
          cues and len(cues) == len(spoken) and all(abs(a - c) <= 1 and abs(b - d) <= 1
                                                    for (a, b), (c, d) in zip(cues, spoken)), f"{cues} vs {spoken}")

    # Timings as the tts stage writes them, then a re-merge: the picture comes from the cache.
    sql(f"UPDATE shots SET timings = jsonb_build_array(jsonb_build_object('start_ms', 100, 'end_ms', 900, "
        f"'text', 'cue of shot ' || idx)) WHERE job_id = '{job}'")
    before = len(merge_log_counts())
    remerge(job)
    done = tf.wait_done(job, 300)
    check("re-merge done", done.get("status") == "done", json.dumps(done)[:300])
    counts = merge_log_counts()
    check("re-merge encoded nothing and reused every segment",
          len(counts) > before and counts[-1][0] == 0 and counts[-1][1] == len(durations), str(counts[before:]))
    check("SRT cues are the shots' timings", srt_cues(storage(output_of(job)["srt_key"])) ==
          [(s + 100, s + 900) for s in starts], str(srt_cues(storage(output_of(job)["srt_key"]))))


def test_cancel():
    job = submit(LONG_STORY, {"resolution": "1080p"})
    deadline = time.time() + 300
    while time.time() < deadline and sql(f"SELECT status FROM jobs WHERE id = '{job}'")[0][0] != "merging":
        time.sleep(0.1)
    time.sleep(0.5)
    code, _, body = http("POST", f"/v1/jobs/{job}/cancel", {})
    t0 = time.time()
    check("cancel while merging answers 202 or 200", code in (200, 202), body[:200])
    stopped = False
    while time.time() < t0 + 10 and not stopped:
        stopped = f"job {job} left merging; stopping its encode" in open(
            os.path.join(tf.RUN, "logs", "merge-worker.log"), errors="replace").read()
        time.sleep(0.1)
    print(f"the encode was told to stop {time.time() - t0:.2f} s after the cancel", flush=True)
    check("the cancel stops the running encode", stopped)
    time.sleep(1.5)
    check("the canceled job stays canceled, with no video",
          sql(f"SELECT status FROM jobs WHERE id = '{job}'")[0][0] == "canceled"
          and not os.path.exists(storage(f"jobs/{job}/final.mp4")))


def test_bad_music():
    job = submit("A short tale of one quiet night.", {"music": "music/missing.wav"})
    done = tf.wait_done(job, 300)
    if done.get("status") == "done":  # a gateway that does not pass music on yet
        sql(f"UPDATE jobs SET options = options || '{{\"music\": \"music/missing.wav\"}}'::jsonb WHERE id = '{job}'")
        remerge(job)
        done = tf.wait_done(job, 300)
    err = done.get("error") or {}
    check("a missing music file fails the job, naming it",
          done.get("status") == "failed" and "music/missing.wav" in (err.get("message") or ""), json.dumps(done)[:400])
    check("the error does not show server paths", tf.RUN not in (err.get("message") or ""), str(err))


GRACE_S = 3  # the restarted merge-worker's REEL_SHUTDOWN_GRACE_S: far shorter than the encode


def merge_pid():
    return int(open(os.path.join(tf.RUN, "pids", "merge-worker")).read())


def gone(pid, proc):
    """Whether the process has exited (our own child is reaped)."""
    if proc is not None:
        return proc.poll() is not None
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True


def stop_merge_worker(pid, timeout, proc=None):
    """SIGTERM; the seconds until the process was gone, or None if still there after timeout."""
    t0 = time.time()
    os.kill(pid, signal.SIGTERM)
    while time.time() < t0 + timeout:
        if gone(pid, proc):
            return time.time() - t0
        time.sleep(0.05)
    return None


def start_merge_worker(bindir, **env):
    """A merge-worker as deploy/fleet.sh starts it, appending to its log; its pid file is updated."""
    full = {**os.environ, **tf.fleet_env(), "REEL_HTTP_ADDR": f"127.0.0.1:{9104 + tf.PORT_OFFSET}",
            "REEL_KAFKA_SESSION_TIMEOUT_MS": "6000", "ASAN_OPTIONS": f"log_path={tf.RUN}/sanitizer:detect_leaks=1",
            "UBSAN_OPTIONS": f"log_path={tf.RUN}/sanitizer:print_stacktrace=1", **env}
    log = open(os.path.join(tf.RUN, "logs", "merge-worker.log"), "a")
    proc = subprocess.Popen([os.path.join(bindir, "merge-worker")], env=full, stdout=log, stderr=log,
                            start_new_session=True)
    log.close()  # the child holds its own copy
    with open(os.path.join(tf.RUN, "pids", "merge-worker"), "w") as f:
        f.write(str(proc.pid))
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{9104 + tf.PORT_OFFSET}/readyz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.1)
    return proc


def merge_progress_seen(job):
    return sql(f"SELECT count(*) FROM job_events WHERE job_id = '{job}' AND kind = 'progress' "
               f"AND detail->>'stage' = 'merge' AND (detail->>'percent')::int > 0")[0][0] != "0"


def sanitizer_reports(pid):
    return glob.glob(os.path.join(tf.RUN, f"sanitizer.{pid}"))


def wait_encoding(job):
    """Waits until the job's encode has reported progress; whether it is still merging then."""
    deadline = time.time() + 300
    while time.time() < deadline and not merge_progress_seen(job):
        time.sleep(0.1)
    status = sql(f"SELECT status FROM jobs WHERE id = '{job}'")[0][0]
    return check(f"the encode of {job} is running", status == "merging" and merge_progress_seen(job), status)


def merge_log():
    return open(os.path.join(tf.RUN, "logs", "merge-worker.log"), errors="replace").read()


def test_shutdown_during_encode(bindir):
    """One merge-worker of our own with a short grace sees (a) a job canceled mid-encode and (b) a SIGTERM
    mid-encode; under LeakSanitizer it must exit soon after its grace without a report."""
    elapsed = stop_merge_worker(merge_pid(), 60)
    check("the fleet's idle merge-worker stops on SIGTERM", elapsed is not None)
    proc = start_merge_worker(bindir, REEL_SHUTDOWN_GRACE_S=str(GRACE_S))
    canceled = submit(LONG_STORY, {"resolution": "1080p"})
    if wait_encoding(canceled):
        http("POST", f"/v1/jobs/{canceled}/cancel", {})
        deadline = time.time() + 30
        while time.time() < deadline and f"job {canceled} left merging" not in merge_log():
            time.sleep(0.1)
        check("(a) the canceled job's encode is stopped", f"job {canceled} left merging" in merge_log())
    job = submit(LONG_STORY, {"resolution": "720p"})
    if not wait_encoding(job):
        return
    elapsed = stop_merge_worker(proc.pid, GRACE_S + 60, proc)
    print(f"merge-worker exited {elapsed} s after SIGTERM (grace {GRACE_S} s)", flush=True)
    if elapsed is None:
        proc.kill()
        proc.wait()
    check("(b) SIGTERM during an encode: the worker exits soon after its grace, exit code 0",
          elapsed is not None and elapsed < GRACE_S + 15 and proc.returncode == 0,
          f"{elapsed} s, code {proc.returncode}")
    reports = sanitizer_reports(proc.pid)
    for r in reports:
        print(open(r, errors="replace").read()[:3000])
    check("(a, b) no sanitizer report: the stopped encoders were freed", not reports, str(reports))
    check("(b) the running encode was stopped for the shutdown",
          f"shutting down; stopping the encode of job {job}" in merge_log())
    check("(b) the stopped encode neither fails nor cancels the job",
          sql(f"SELECT status FROM jobs WHERE id = '{job}'")[0][0] == "merging")
    proc = start_merge_worker(bindir)
    done = tf.wait_done(job, 900)
    check("(b) the next merge-worker finishes the job", done.get("status") == "done", json.dumps(done)[:300])
    elapsed = stop_merge_worker(proc.pid, 60, proc)
    check("the idle merge-worker then stops with exit code 0, no sanitizer report",
          elapsed is not None and proc.returncode == 0 and not sanitizer_reports(proc.pid),
          f"{elapsed} s, code {proc.returncode}, {sanitizer_reports(proc.pid)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--only", help="run one part: shutdown")
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.fresh_run(bindir)
    started = False
    try:
        tf.fleet("start", bindir)
        started = True
        if not args.only:
            test_options()
            test_cut_and_remerge()
            test_cancel()
            test_bad_music()
        test_shutdown_during_encode(bindir)
    finally:
        if started or os.path.exists(os.path.join(tf.RUN, "pids")):
            tf.fleet("stop", bindir)
    return tf.summary(tf.RUN)


if __name__ == "__main__":
    sys.exit(main())
