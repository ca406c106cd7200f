#!/usr/bin/env python3
"""End-to-end test of uploads, on file storage and then on a real S3 server
(tests/e2e/s3server.py, which checks SigV4 on presigned PUTs too).

Per storage: an MP3 made here with the ffmpeg program is uploaded as music
(the gateway's signed PUT, or a presigned S3 PUT with its Content-Type signed),
completed (sniffed by FFmpeg's libraries) and named as "upload:<id>" in a job
whose final mix then carries the MP3's tone, unlike a job without music; a
PNG declared as audio/mpeg for music is refused 422 and its object deleted;
another user's upload is 404 to them and 422 in their job; sizes other than
the declared one are refused; the sweeper deletes an upload never completed
(REEL_UPLOAD_PENDING_S is made short)."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import openapi_check as oa
import s3server
import test_fleet as tf
import test_s3

check = tf.check
PENDING_S = 10          # REEL_UPLOAD_PENDING_S here: the sweeper runs every 2.5 s
TONE_HZ = 5000          # the MP3's tone: far above the narration's voice
DOC = json.load(open(os.path.join(tf.ROOT, "api-gateway", "openapi.json")))
STORY = "A quiet test. The tone should be heard under these words. It has three sentences."


def conforms(label, name, value):
    errors = oa.validate(DOC, {"$ref": f"#/components/schemas/{name}"}, value)
    check(f"{label}: the answer is an OpenAPI {name}", not errors, f"{errors} {json.dumps(value)[:300]}")


def token(user):
    return tf.jwt(user)


def api(method, path, user="alice", body=None):
    headers = {"Authorization": f"Bearer {token(user)}"} if user else {}
    code, _, raw = tf.http(method, path, body, headers=headers)
    try:
        return code, json.loads(raw) if raw else None
    except ValueError:
        return code, raw


def put(target, data, gateway):
    url = target["upload_url"]
    url = tf.GATEWAY + url if url.startswith("/") else url
    req = urllib.request.Request(url, data=data, method="PUT", headers=target["headers"])
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def make_media(folder):
    mp3, png = os.path.join(folder, "tone.mp3"), os.path.join(folder, "red.png")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency={TONE_HZ}:duration=20",
                    "-ac", "2", "-b:a", "128k", mp3], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=red:s=64x48", "-frames:v", "1", png],
                   check=True)
    return open(mp3, "rb").read(), open(png, "rb").read()


class Storage:
    """Where an upload's object is, to see whether it exists."""

    def __init__(self, server=None):
        self.server = server

    def exists(self, upload_id):
        if self.server:
            status, _ = s3server.request(self.server.endpoint, "HEAD", f"/{test_s3.BUCKET}/media/uploads/{upload_id}")
            return status == 200
        return os.path.exists(os.path.join(tf.RUN, "storage", "uploads", upload_id))

    def gone(self, upload_id, within_s=5):
        """Whether the object is gone within a few seconds (the gateway deletes on its thread pool)."""
        deadline = time.time() + within_s
        while self.exists(upload_id) and time.time() < deadline:
            time.sleep(0.2)
        return not self.exists(upload_id)


def upload(label, data, content_type, purpose, user="alice", declared=None):
    code, up = api("POST", "/v1/uploads", user, {"filename": "x", "content_type": content_type,
                                                 "bytes": declared or len(data), "purpose": purpose})
    check(f"{label}: create answers 201 pending with a PUT target", code == 201 and up["status"] == "pending"
          and up["method"] == "PUT" and up["headers"] == {"Content-Type": content_type} and up["expires_at"], str(up))
    conforms(label, "UploadTarget", up)
    return up


def test_music_upload(label, mp3, storage):
    up = upload(f"{label} mp3", mp3, "audio/mpeg", "music")
    if storage.server:
        check(f"{label}: upload_url is a presigned PUT signing Content-Type", up["upload_url"].startswith(
            storage.server.endpoint) and "X-Amz-SignedHeaders=content-type%3Bhost" in up["upload_url"], up["upload_url"])
    else:
        check(f"{label}: upload_url is the gateway's signed PUT", up["upload_url"].startswith(
            f"/v1/uploads/{up['id']}?exp="), up["upload_url"])
    code, body = put(up, mp3, tf.GATEWAY)
    check(f"{label}: the PUT stores the bytes", code == 200 and storage.exists(up["id"]), f"{code} {body[:200]!r}")
    code, done = api("POST", f"/v1/uploads/{up['id']}/complete")
    check(f"{label}: complete sniffs an MP3 of 20 s", code == 200 and done["status"] == "ready"
          and done["content_type"] == "audio/mpeg" and done["bytes"] == len(mp3) and done["width"] is None
          and abs(done["duration_ms"] - 20000) < 300, str(done))
    conforms(label, "Upload", done)
    code, again = api("GET", f"/v1/uploads/{up['id']}")
    check(f"{label}: GET shows it ready", code == 200 and again == done, str(again))
    code, page = api("GET", "/v1/uploads")
    check(f"{label}: alice's list has it", code == 200 and up["id"] in [u["id"] for u in page["items"]], str(page)[:300])
    conforms(label, "UploadList", page)
    return up["id"]


def test_other_user(label, upload_id):
    code, page = api("GET", "/v1/uploads", "bob")
    check(f"{label}: bob's list lacks alice's upload", code == 200 and upload_id not in [u["id"] for u in page["items"]])
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/complete")):
        code, body = api(method, f"/v1/uploads/{upload_id}{path}", "bob", {} if method == "POST" else None)
        check(f"{label}: bob's {method} of alice's upload{path} is 404", code == 404, str(body))
    code, body = api("POST", "/v1/jobs", "bob", job_body(f"upload:{upload_id}"))
    check(f"{label}: bob's job naming alice's upload is 422 on options.music", code == 422
          and body.get("field") == "options.music", str(body))


def test_png_as_music(label, png, storage):
    up = upload(f"{label} png", png, "audio/mpeg", "music")
    put(up, png, tf.GATEWAY)
    check(f"{label}: the PNG was stored", storage.exists(up["id"]))
    code, body = api("POST", f"/v1/uploads/{up['id']}/complete")
    check(f"{label}: a PNG declared audio/mpeg for music is 422 on content_type", code == 422
          and body.get("field") == "content_type" and "image/png" in body.get("detail", ""), str(body))
    check(f"{label}: the refused PNG's object is deleted", not storage.exists(up["id"]))
    image = upload(f"{label} image", png, "image/png", "image")
    put(image, png, tf.GATEWAY)
    code, done = api("POST", f"/v1/uploads/{image['id']}/complete")
    check(f"{label}: a PNG as an image is ready, 64x48", code == 200 and done["content_type"] == "image/png"
          and done["width"] == 64 and done["height"] == 48 and done["duration_ms"] is None, str(done))
    code, body = api("POST", "/v1/jobs", "alice", job_body(f"upload:{image['id']}"))
    check(f"{label}: an image as music is 422 on options.music", code == 422 and body.get("field") == "options.music"
          and "image" in body.get("detail", ""), str(body))
    pending = upload(f"{label} pending", png, "audio/mpeg", "music")
    code, body = api("POST", "/v1/jobs", "alice", job_body(f"upload:{pending['id']}"))
    check(f"{label}: a pending upload as music is 422 on options.music", code == 422
          and "not ready" in body.get("detail", ""), str(body))
    code, _ = api("DELETE", f"/v1/uploads/{image['id']}")
    check(f"{label}: DELETE answers 204 and removes the object", code == 204 and storage.gone(image["id"]))
    code, _ = api("GET", f"/v1/uploads/{image['id']}")
    check(f"{label}: a deleted upload is 404", code == 404)


def test_sizes(label, mp3, storage):
    code, body = api("POST", "/v1/uploads", "alice", {"filename": "big.jpg", "content_type": "image/jpeg",
                                                      "bytes": 11 << 20, "purpose": "face"})
    check(f"{label}: a face over REEL_UPLOAD_MAX_MB_FACE (10) is 422 on bytes", code == 422
          and body.get("field") == "bytes", str(body))
    base = {"filename": "a.mp3", "content_type": "audio/mpeg", "bytes": 1000, "purpose": "music"}
    for change, field in (({"bytes": 1e300}, "bytes"), ({"bytes": 10.5}, "bytes"), ({"bytes": 0}, "bytes"),
                          ({"purpose": "poster"}, "purpose"), ({"content_type": "mp3"}, "content_type"),
                          ({"filename": ""}, "filename"), ({"colour": "red"}, "colour")):
        code, body = api("POST", "/v1/uploads", "alice", {**base, **change})
        check(f"{label}: a create with {change} is 422 naming {field}", code == 422 and body.get("field") == field,
              str(body))
    up = upload(f"{label} short", mp3, "audio/mpeg", "music", declared=len(mp3) + 10)
    code, body = put(up, mp3, tf.GATEWAY)
    if not storage.server:
        check(f"{label}: a PUT shorter than declared is 422", code == 422 and not storage.exists(up["id"]),
              f"{code} {body[:200]!r}")
        long = upload(f"{label} long", mp3, "audio/mpeg", "music", declared=len(mp3) - 10)
        code, body = put(long, mp3, tf.GATEWAY)
        check(f"{label}: a PUT longer than declared is 413", code == 413 and not storage.exists(long["id"]),
              f"{code} {body[:200]!r}")
        return
    code, body = api("POST", f"/v1/uploads/{up['id']}/complete")
    check(f"{label}: complete refuses a size other than declared, 422 on bytes", code == 422
          and body.get("field") == "bytes", str(body))
    check(f"{label}: the mis-sized object is deleted", not storage.exists(up["id"]))


def test_sweeper(label, mp3, storage):
    up = upload(f"{label} stale", mp3, "audio/mpeg", "music")
    put(up, mp3, tf.GATEWAY)
    check(f"{label}: the stale upload's bytes are stored", storage.exists(up["id"]))
    deadline = time.time() + PENDING_S + 15
    while time.time() < deadline and api("GET", f"/v1/uploads/{up['id']}")[0] == 200:
        time.sleep(1)
    code, _ = api("GET", f"/v1/uploads/{up['id']}")
    check(f"{label}: the sweeper deleted the pending upload and its object", code == 404
          and storage.gone(up["id"]) and not tf.sql(f"SELECT 1 FROM uploads WHERE id = '{up['id']}'"))


def job_body(music):
    return {"template": "storyboard", "input": {"text": STORY}, "options": {"music": music}}


def wait_done(job_id, timeout):
    deadline = time.time() + timeout
    job = {}
    while time.time() < deadline:
        job = api("GET", f"/v1/jobs/{job_id}")[1]
        if job["status"] in ("done", "failed", "paused", "canceled"):
            break
        time.sleep(1)
    return job


def band_level(path, hz):
    """Mean volume (dB) of path's audio in a narrow band (three 40 Hz band-passes) around hz."""
    band = ",".join([f"bandpass=f={hz}:width_type=h:w=40"] * 3)
    out = subprocess.run(["ffmpeg", "-hide_banner", "-i", path, "-af", band + ",volumedetect", "-f", "null", "-"],
                         capture_output=True, text=True).stderr
    m = re.search(r"mean_volume: (-?[\d.]+) dB", out)
    return float(m.group(1)) if m else float("nan")


def tone_levels(job):
    """The final video's level at TONE_HZ, and how far it stands above the bands 1 kHz either side."""
    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        url = job["output"]["video_url"]
        with urllib.request.urlopen(tf.GATEWAY + url if url.startswith("/") else url, timeout=60) as r:
            f.write(r.read())
        f.flush()
        tone = band_level(f.name, TONE_HZ)
        return tone, tone - max(band_level(f.name, TONE_HZ - 1000), band_level(f.name, TONE_HZ + 1000))


def test_music_in_mix(label, upload_id, timeout):
    code, with_music = api("POST", "/v1/jobs", "alice", job_body(f"upload:{upload_id}"))
    check(f"{label}: a job with music upload:<id> is accepted", code == 202, str(with_music))
    code, without = api("POST", "/v1/jobs", "alice", job_body(None))
    check(f"{label}: a job without music is accepted", code == 202, str(without))
    if code != 202 or "id" not in with_music:
        return
    a, b = wait_done(with_music["id"], timeout), wait_done(without["id"], timeout)
    if not check(f"{label}: both jobs are done", a.get("status") == "done" and b.get("status") == "done",
                 f"{str(a)[:300]} {str(b)[:300]}"):
        return
    check(f"{label}: the job keeps options.music as sent", a["options"].get("music") == f"upload:{upload_id}",
          str(a["options"]))
    (loud, peak), (quiet, flat) = tone_levels(a), tone_levels(b)
    check(f"{label}: the final mix carries the uploaded MP3's {TONE_HZ} Hz tone (8 dB over the job without music, "
          f"10 dB over its neighbouring bands, which the job without music lacks)",
          loud > quiet + 8 and peak > 10 and flat < 6,
          f"with music {loud} dB ({peak} over neighbours), without {quiet} dB ({flat} over neighbours)")


def run(label, bindir, mp3, png, storage, timeout):
    os.environ.update({"REEL_JWT_SECRET": tf.JWT_SECRET, "REEL_JWT_AUDIENCE": "authenticated",
                       "REEL_UPLOAD_PENDING_S": str(PENDING_S)})
    tf.fresh_run(bindir)
    try:
        tf.fleet("start", bindir)
        upload_id = test_music_upload(label, mp3, storage)
        test_other_user(label, upload_id)
        test_png_as_music(label, png, storage)
        test_sizes(label, mp3, storage)
        test_sweeper(label, mp3, storage)
        test_music_in_mix(label, upload_id, timeout)
    finally:
        if os.path.exists(os.path.join(tf.RUN, "pids")):
            tf.fleet("stop", bindir)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--timeout", type=float, default=420)
    ap.add_argument("--only", choices=("file", "s3"), help="run one storage (default both)")
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    tf.RUN = os.path.join(tf.ROOT, ".run", "e2e-uploads")
    with tempfile.TemporaryDirectory() as folder:
        mp3, png = make_media(folder)
        if args.only != "s3":
            run("file", bindir, mp3, png, Storage(), args.timeout)
            tf.summary(tf.RUN)  # sanitizer reports of the first fleet, before its folder goes
        if args.only != "file":
            server = s3server.S3Server(s3server.free_base(19100, 19200)).start()
            try:
                status, body = s3server.request(server.endpoint, "PUT", "/" + test_s3.BUCKET)
                check("s3: the S3 server makes the bucket", status == 200, f"{status} {body[:200]!r}")
                env = test_s3.s3_env(server)
                del env["REEL_MERGE_CRF"]  # test_s3's near-lossless video is for its multipart check
                os.environ.update(env)
                run("s3", bindir, mp3, png, Storage(server), args.timeout)
            finally:
                if any(not ok for _, ok in tf.results):
                    print(server.log()[-3000:])
                server.stop()
    return tf.summary(tf.RUN)


if __name__ == "__main__":
    sys.exit(main())
