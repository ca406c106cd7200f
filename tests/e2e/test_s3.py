#!/usr/bin/env python3
"""End-to-end test of the fleet on s3:// storage.

Starts a real S3 server (OpenStack Swift with s3api, which checks every SigV4
signature; tests/e2e/s3server.py), then the fleet with REEL_STORAGE_URL=s3://
and a TMPDIR per daemon, so no daemon shares a folder with another. Submits a
story, downloads the finished video through its presigned URL and probes it,
reads a byte range, checks that the video went up in parts (REEL_S3_MULTIPART_MB=5),
and that the server refuses a tampered presigned URL, an expired one and a
request signed with a wrong secret."""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import s3server
import test_fleet as tf
import test_live as tl  # Gateway, wait_for

tf.RUN = tl.RUN = os.path.join(tf.ROOT, ".run", "e2e-s3")
BUCKET = "reel-e2e"
TTL_S = 60  # the gateway's smallest REEL_URL_TTL_S: the test waits it out for the expired case
STORY = tf.ENGLISH + "\n\n" + tf.ENGLISH.replace("fox", "bear").replace("rabbit", "owl")
check = tf.check


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def s3_env(server):
    return {"REEL_STORAGE_URL": f"s3://{BUCKET}/media", "REEL_S3_ENDPOINT": server.endpoint,
            "REEL_S3_ACCESS_KEY_ID": s3server.ACCESS_KEY, "REEL_S3_SECRET_ACCESS_KEY": s3server.SECRET_KEY,
            "REEL_S3_REGION": s3server.REGION, "REEL_S3_PATH_STYLE": "1", "REEL_S3_MULTIPART_MB": "5",
            "REEL_URL_TTL_S": str(TTL_S),
            "REEL_MERGE_CRF": "4"}  # near-lossless: the video outgrows the 5 MB parts


def check_presigned_video(job, server):
    url = job["output"]["video_url"]
    check("video_url is presigned on the S3 server", url.startswith(server.endpoint + "/" + BUCKET + "/")
          and "X-Amz-Signature=" in url, url)
    code, body = fetch(url)
    if not check("the presigned URL answers the video", code == 200 and len(body) > 0, f"{code} {body[:200]!r}"):
        return url, b""
    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        f.write(body)
        f.flush()
        info = tf.probe(f.name)
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    check("downloaded video: one H.264 1080x1920 stream", len(video) == 1 and video[0]["codec_name"] == "h264"
          and video[0]["width"] == 1080 and video[0]["height"] == 1920, str(video))
    check("downloaded video: one AAC stream", len(audio) == 1 and audio[0]["codec_name"] == "aac", str(audio))
    code, part = fetch(url, {"Range": "bytes=100-199"})
    check("the presigned URL answers a byte range", code == 206 and part == body[100:200], f"{code} {len(part)}")
    return url, body


def check_multipart(body, server):
    check("the video is over REEL_S3_MULTIPART_MB (5 MB)", len(body) > 5 << 20, str(len(body)))
    status, listing = s3server.request(server.endpoint, "GET", "/" + BUCKET)
    mp4 = [entry for entry in listing.split(b"<Contents>") if b".mp4</Key>" in entry]
    # A multipart object's ETag is the hash of its parts' hashes, then "-" and the part count.
    check("the video went up as a multipart upload (its ETag counts parts)",
          status == 200 and mp4 and all(b'-' in e.split(b"<ETag>")[1].split(b"</ETag>")[0] for e in mp4),
          f"{status} {mp4[:2]!r}")


def check_refusals(url, server, signed_at):
    sig = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["X-Amz-Signature"][0]
    tampered = url.replace("X-Amz-Signature=" + sig, "X-Amz-Signature=" + ("0" if sig[0] != "0" else "1") + sig[1:])
    code, _ = fetch(tampered)
    check("the server refuses a tampered presigned signature", code == 403, str(code))
    other = url.replace("/media/", "/media/x", 1)
    code, _ = fetch(other)
    check("the server refuses a presigned URL pointed at another key", code == 403, str(code))
    status, _ = s3server.request(server.endpoint, "GET", "/" + BUCKET, secret="not-the-secret")
    check("the server refuses a request signed with a wrong secret", status == 403, str(status))
    wait = signed_at + TTL_S + 2 - time.time()
    if wait > 0:
        time.sleep(wait)
    code, body = fetch(url)
    check("the server refuses the presigned URL once expired", code == 403, f"{code} {body[:200]!r}")


def check_no_shared_storage():
    media = [p for p in glob.glob(os.path.join(tf.RUN, "storage", "**"), recursive=True) if os.path.isfile(p)]
    check("nothing was written to a shared storage folder", not media, str(media[:5]))
    left = [p for p in glob.glob(os.path.join(tf.RUN, "tmp", "*", "**"), recursive=True)
            if os.path.isfile(p) and "/reel-cache/" not in p  # the merge worker's clip cache stays
            and p.endswith((".mp4", ".wav", ".jpg", ".png"))]
    check("the daemons dropped their downloads and temporaries", not left, str(left[:5]))


def check_share(job_id, body):
    """A share link streams the video from the bucket through the gateway, with ranges."""
    code, _, raw = tf.http("POST", f"/v1/jobs/{job_id}/shares", {})
    share = json.loads(raw)
    check("a share link of the job on S3 storage is made", code == 201, raw[:200])
    path = share["url"][share["url"].index("/s/"):]
    code, _, part = tf.http("GET", path + "/video.mp4", headers={"Range": "bytes=100-199"})
    check("the share link's video streams a range from the bucket", code == 206 and part == body[100:200],
          f"{code} {len(part)}")
    return path


def check_retention(bindir, job_id, share_path, server):
    """A sweeping gateway deletes the job's objects from the bucket and marks the job expired."""
    keys = lambda: [e for e in s3server.request(server.endpoint, "GET", "/" + BUCKET)[1].split(b"<Key>")  # noqa: E731
                    if e.startswith(f"media/jobs/{job_id}/".encode())]
    check("before retention the bucket holds the job's objects", len(keys()) >= 4, str(len(keys())))
    gw = tl.Gateway(bindir, "s3-sweeper", REEL_RETENTION_DAYS="1", REEL_RETENTION_DAY_S="1",
                    REEL_RETENTION_SWEEP_S="1")
    try:
        ok = tl.wait_for(lambda: tf.sql(f"SELECT expired_at IS NOT NULL FROM jobs WHERE id = '{job_id}'")[0][0] == "t",
                         30)
    finally:
        gw.stop()
    check("retention on S3 marks the job expired", ok)
    check("retention on S3 deleted every object of the job from the bucket", not keys(), str(keys()[:3]))
    code, _, _ = tf.http("GET", share_path)
    check("the expired job's share link is 404", code == 404, str(code))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--timeout", type=float, default=420)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    server = s3server.S3Server(s3server.free_base(19000, 19100)).start()
    started = False
    try:
        status, body = s3server.request(server.endpoint, "PUT", "/" + BUCKET)
        check("the S3 server makes the bucket", status == 200, f"{status} {body[:200]!r}")
        os.environ.update(s3_env(server))
        tf.fresh_run(bindir)
        tf.fleet("start", bindir)
        started = True
        job_id = tf.submit(STORY)
        job = tf.wait_done(job_id, args.timeout)
        if check("the job on S3 storage is done", job.get("status") == "done", str(job)[:500]):
            signed_at = time.time()
            job = json.loads(tf.http("GET", f"/v1/jobs/{job_id}")[2])  # signed now (the job cache holds <= 1 s)
            url, body = check_presigned_video(job, server)
            check_multipart(body, server)
            tf.check_events("s3", job_id)
            check_no_shared_storage()
            share_path = check_share(job_id, body)
            check_refusals(url, server, signed_at)
            check_retention(bindir, job_id, share_path, server)
    finally:
        if started or os.path.exists(os.path.join(tf.RUN, "pids")):
            tf.fleet("stop", bindir)
        if any(not ok for _, ok in tf.results):
            print(server.log()[-4000:])
        server.stop()
    return tf.summary(tf.RUN)


if __name__ == "__main__":
    sys.exit(main())
