#!/usr/bin/env python3
"""End-to-end test of share links and retention on a fleet of its own
(.run/e2e-shares): creating, listing and revoking links, 409 before done,
404 for another user, the public page (title, OpenGraph tags, everything
escaped), the video with byte ranges (probed with ffprobe), revoked and
expired links, and the retention sweeper deleting the files and marking the
jobs expired (checked in the tables and the storage folder)."""
import argparse
import hashlib
import html.parser
import http.client
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_fleet as tf  # noqa: E402  (helpers: check, sql, fleet, jwt, probe)
import test_live as tl  # noqa: E402  (Gateway, free_port, wait_for, stalled_job)

tf.RUN = tl.RUN = os.path.join(tf.ROOT, ".run", "e2e-shares")
RUN = tf.RUN
check = tf.check
HOST = tl.HOST
GW_PORT = tl.GW_PORT


def request(method, path, body=None, headers=None, port=GW_PORT):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=hdrs)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, r.headers, raw


def api(method, path, body=None, token=None, port=GW_PORT):
    code, _, raw = request(method, path, body, {"Authorization": f"Bearer {token}"} if token else None, port)
    try:
        return code, json.loads(raw) if raw else None
    except ValueError:
        return code, raw


def storage_root():
    url = tf.fleet_env()["REEL_STORAGE_URL"]
    return url[len("file://"):]


def done_job(token=None, port=GW_PORT):
    code, job = api("POST", "/v1/jobs", tl.STORY, token, port)
    assert code == 202, (code, job)
    ok = tl.wait_for(lambda: api("GET", f"/v1/jobs/{job['id']}", token=token, port=port)[1]["status"] == "done", 180)
    check("a job for sharing reaches done", ok, job["id"])
    return job["id"]


class Meta(html.parser.HTMLParser):
    """The page's meta tags, <video>, <track> and title, as the parser sees them."""
    def __init__(self):
        super().__init__()
        self.meta, self.video, self.tracks, self.title, self._in_title = {}, None, [], "", False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and ("property" in a or "name" in a):
            self.meta[a.get("property") or a.get("name")] = a.get("content")
        elif tag == "video":
            self.video = a
        elif tag == "track":
            self.tracks.append(a)
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def test_create_list(job):
    code, p = api("POST", f"/v1/jobs/{tl.stalled_job()}/shares", {})
    check("share: a job not yet done is 409 job-not-done", code == 409 and p["type"].endswith("/job-not-done"), str(p))
    code, p = api("POST", f"/v1/jobs/{job}/shares", {"expires_in_s": 0})
    check("share: expires_in_s 0 is 422 naming it", code == 422 and p.get("field") == "expires_in_s", str(p))
    code, p = api("POST", "/v1/jobs/00000000-0000-0000-0000-000000000000/shares", {})
    check("share: an unknown job is 404", code == 404, str(code))
    before = time.time()
    code, s = api("POST", f"/v1/jobs/{job}/shares", {"expires_in_s": 3600})
    check("share: POST on a done job answers 201 {id, token, url, expires_at}",
          code == 201 and set(s) == {"id", "token", "url", "expires_at"}, f"{code} {s}")
    check("share: the token carries at least 128 random bits (hex)", re.fullmatch(r"[0-9a-f]{32,}", s["token"]),
          s["token"])
    check("share: the url is the gateway's own address by default",
          s["url"] == f"http://{HOST}:{GW_PORT}/s/{s['token']}", s["url"])
    exp = time.mktime(time.strptime(s["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    check("share: expires_at is expires_in_s away", abs(exp - (before + 3600)) < 5, s["expires_at"])
    digest = hashlib.sha256(s["token"].encode()).hexdigest()
    rows = tf.sql(f"SELECT token_hash, views FROM shares WHERE job_id = '{job}'")
    check("share: the table holds the token's SHA-256, never the token",
          rows == [[digest, "0"]] and not tf.sql(f"SELECT 1 FROM shares WHERE shares::text LIKE '%{s['token']}%'"),
          str(rows))
    code, s2 = api("POST", f"/v1/jobs/{job}/shares")
    check("share: without a body it lives ten years", code == 201 and s2["expires_at"][:4] >= str(
        time.gmtime().tm_year + 9), str(s2))
    check("share: two links have different tokens", s2["token"] != s["token"])
    code, lst = api("GET", f"/v1/jobs/{job}/shares")
    check("share: GET lists both, active, with zero views", code == 200 and [
        (x["id"], x["status"], x["views"]) for x in lst["data"]] == [(s["id"], "active", 0), (s2["id"], "active", 0)],
          str(lst))
    return s, s2


def test_page(job, s):
    title = 'Fox & "friends" <script>alert(1)</script>'
    tf.sql(f"UPDATE jobs SET storyboard = jsonb_set(coalesce(storyboard, '{{}}'), '{{title}}', "
           f"to_jsonb($t${title}$t$::text)) WHERE id = '{job}'")
    code, h, body = request("GET", f"/s/{s['token']}")
    page = body.decode()
    check("page: GET /s/{token} without credentials is 200 HTML", code == 200 and
          h.get("Content-Type", "").startswith("text/html"), f"{code} {h.get('Content-Type')}")
    check("page: the title is escaped everywhere", "<script>" not in page and
          "Fox &amp; &quot;friends&quot; &lt;script&gt;" in page, page[:600])
    m = Meta()
    m.feed(page)
    base = f"http://{HOST}:{GW_PORT}/s/{s['token']}/"
    check("page: <title> and og:title are the job's title", m.title == title and m.meta.get("og:title") == title,
          f"{m.title!r} {m.meta}")
    check("page: og:video, og:image, og:url are absolute share URLs",
          m.meta.get("og:video") == base + "video.mp4" and m.meta.get("og:image") == base + "poster.jpg" and
          m.meta.get("og:url") == base[:-1], str(m.meta))
    check("page: Twitter card tags", m.meta.get("twitter:card") == "summary_large_image" and
          m.meta.get("twitter:image") == base + "poster.jpg" and m.meta.get("twitter:title") == title, str(m.meta))
    rel = f"/s/{s['token']}/"
    check("page: a <video> with the share's video and poster (paths: the page works at any address)",
          m.video and m.video.get("src") == rel + "video.mp4" and m.video.get("poster") == rel + "poster.jpg",
          str(m.video))
    check("page: the subtitles as a <track>", len(m.tracks) == 1 and m.tracks[0].get("src") == rel + "subtitles.vtt"
          and m.tracks[0].get("kind") == "subtitles", str(m.tracks))
    check("page: nothing of the owner's besides (no /v1/ links)", "/v1/" not in page, page)
    request("GET", f"/s/{s['token']}")
    code, lst = api("GET", f"/v1/jobs/{job}/shares")
    views = {x["id"]: x["views"] for x in lst["data"]}
    check("page: views are counted per page load", views.get(s["id"]) == 2, str(lst))


def fetch_ranges(path, size, part):
    out = b""
    while len(out) < size:
        code, h, body = request("GET", path, headers={"Range": f"bytes={len(out)}-{len(out) + part - 1}"})
        want = f"bytes {len(out)}-{min(len(out) + part, size) - 1}/{size}"
        if code != 206 or h.get("Content-Range") != want:
            check("video: every ranged request is 206 with its Content-Range", False, f"{code} {h.get('Content-Range')} != {want}")
            return None
        out += body
    return out


def test_media(job, s):
    out = json.loads(tf.sql(f"SELECT output::text FROM jobs WHERE id = '{job}'")[0][0])
    stored = open(os.path.join(storage_root(), out["video_key"]), "rb").read()
    code, h, body = request("GET", f"/s/{s['token']}/video.mp4", headers={"Range": "bytes=0-99"})
    check("video: a range is 206 video/mp4 with Content-Range and the file's bytes",
          code == 206 and h.get("Content-Type") == "video/mp4" and body == stored[:100] and
          h.get("Content-Range") == f"bytes 0-99/{len(stored)}" and h.get("Accept-Ranges") == "bytes",
          f"{code} {h.items()}")
    code, h, body = request("GET", f"/s/{s['token']}/video.mp4", headers={"Range": f"bytes={len(stored)}-"})
    check("video: a range past the end is 416", code == 416 and h.get("Content-Range") == f"bytes */{len(stored)}",
          f"{code} {h.get('Content-Range')}")
    whole = fetch_ranges(f"/s/{s['token']}/video.mp4", len(stored), 64 * 1024 + 7)
    check("video: downloaded in ranges it is the stored file", whole == stored)
    path = os.path.join(RUN, "shared.mp4")
    with open(path, "wb") as f:
        f.write(whole or b"")
    try:
        info = tf.probe(path)
        streams = sorted(x["codec_name"] for x in info["streams"])
        check("video: ffprobe reads the download: H.264 and AAC with a duration",
              streams == ["aac", "h264"] and float(info["format"]["duration"]) > 1, str(streams))
    except subprocess.CalledProcessError as e:
        check("video: ffprobe reads the download", False, e.stderr)
    code, h, body = request("GET", f"/s/{s['token']}/poster.jpg")
    check("poster: 200 JPEG", code == 200 and body[:3] == b"\xff\xd8\xff" and h.get("Content-Type") == "image/jpeg",
          str(code))
    code, h, body = request("GET", f"/s/{s['token']}/subtitles.vtt")
    check("subtitles: 200 WebVTT", code == 200 and body.startswith(b"WEBVTT"), f"{code} {body[:40]!r}")
    for name in ("manifest.json", "..%2Fmanifest.json", "final.mp4", "shot-0.jpg", "video.mp4/x"):
        code, _, _ = request("GET", f"/s/{s['token']}/{name}")
        check(f"share: {name} is not reachable through a share (400/404)", code in (400, 404), str(code))
    for bad in ("nothex", "0" * 40, s["token"].upper(), s["token"] + "0"):
        code, _, _ = request("GET", f"/s/{bad}/video.mp4")
        check(f"share: a wrong token ({bad[:12]}...) is 404", code == 404, str(code))


def test_other_user(bindir):
    gw = tl.Gateway(bindir, "jwt-gateway", REEL_JWT_SECRET=tf.JWT_SECRET, REEL_JWT_AUDIENCE="authenticated",
                    REEL_PUBLIC_BASE_URL="https://videos.example.com/")
    try:
        alice, bob = tf.jwt("alice"), tf.jwt("bob")
        job = done_job(alice, gw.port)
        code, s = api("POST", f"/v1/jobs/{job}/shares", {}, alice, gw.port)
        check("share: alice shares her job; REEL_PUBLIC_BASE_URL makes the url",
              code == 201 and s["url"] == f"https://videos.example.com/s/{s['token']}", str(s))
        for method, path in (("POST", f"/v1/jobs/{job}/shares"), ("GET", f"/v1/jobs/{job}/shares"),
                             ("DELETE", f"/v1/jobs/{job}/shares/{s['token']}")):
            code, p = api(method, path, {} if method == "POST" else None, bob, gw.port)
            check(f"share: bob's {method} on alice's job is 404", code == 404, f"{code} {p}")
            code, p = api(method, path, {} if method == "POST" else None, None, gw.port)
            check(f"share: {method} without credentials is 401", code == 401, f"{code} {p}")
        code, _, page = request("GET", f"/s/{s['token']}", port=gw.port)
        m = Meta()
        m.feed(page.decode())
        check("share: bob's attempts left alice's link working", code == 200, str(code))
        check("page: its preview tags use REEL_PUBLIC_BASE_URL",
              m.meta.get("og:video") == f"https://videos.example.com/s/{s['token']}/video.mp4", str(m.meta))
    finally:
        gw.stop()


def test_revoke(job, s, s2):
    code, _ = api("DELETE", f"/v1/jobs/{job}/shares/{s['token']}")
    check("revoke: DELETE by token is 204", code == 204, str(code))
    for path in (f"/s/{s['token']}", f"/s/{s['token']}/video.mp4", f"/s/{s['token']}/poster.jpg"):
        code, _, _ = request("GET", path)
        check(f"revoke: {path.replace(s['token'], 'TOKEN')} is 404 at once", code == 404, str(code))
    code, _ = api("DELETE", f"/v1/jobs/{job}/shares/{s2['id']}")
    code2, _, _ = request("GET", f"/s/{s2['token']}")
    check("revoke: DELETE by the listed id revokes too", code == 204 and code2 == 404, f"{code} {code2}")
    code, _ = api("DELETE", f"/v1/jobs/{job}/shares/{'f' * 40}")
    check("revoke: an unknown token is 404", code == 404, str(code))
    code, s3 = api("POST", f"/v1/jobs/{job}/shares", {"expires_in_s": 1})
    time.sleep(2.2)
    code, _, _ = request("GET", f"/s/{s3['token']}")
    code2, _, _ = request("GET", f"/s/{s3['token']}/video.mp4")
    check("expiry: an expired link is 404, page and video", code == 404 and code2 == 404, f"{code} {code2}")
    code, lst = api("GET", f"/v1/jobs/{job}/shares")
    check("list: revoked and expired links say so", [x["status"] for x in lst["data"]] ==
          ["revoked", "revoked", "expired"] and lst["data"][0]["revoked_at"], str(lst))


def job_files(job):
    """Storage keys of the job's output and shots, and whether each file exists."""
    out = json.loads(tf.sql(f"SELECT output::text FROM jobs WHERE id = '{job}'")[0][0])
    final = [out[k] for k in ("video_key", "poster_key", "srt_key", "vtt_key", "manifest_key") if out.get(k)]
    shots = [k for row in tf.sql(f"SELECT image_key, video_key, audio_key FROM shots WHERE job_id = '{job}'")
             for k in row if k]
    exists = lambda keys: [os.path.exists(os.path.join(storage_root(), k)) for k in keys]  # noqa: E731
    return final, shots, exists


def test_retention(bindir, job):
    code, s = api("POST", f"/v1/jobs/{job}/shares", {})
    final, shots, exists = job_files(job)
    check("retention: before, the job's files are all in the storage folder",
          len(final) >= 4 and shots and all(exists(final + shots)), f"{final} {shots}")
    # A day of 2 s: shot media go after 2 s, the rest after 8 s; two gateways sweep at once.
    env = dict(REEL_RETENTION_DAYS="4", REEL_RETENTION_INTERMEDIATE_DAYS="1", REEL_RETENTION_DAY_S="2",
               REEL_RETENTION_SWEEP_S="1")
    sweepers = [tl.Gateway(bindir, f"sweeper-{i}", **env) for i in range(2)]
    try:
        marks = lambda: tf.sql(f"SELECT shots_expired_at IS NOT NULL, expired_at IS NOT NULL FROM jobs "  # noqa: E731
                               f"WHERE id = '{job}'")[0]
        ok = tl.wait_for(lambda: marks()[0] == "t", 30)
        state = marks()
        view = api("GET", f"/v1/jobs/{job}")[1]
        check("retention: shot media go first; the final video stays", ok and state == ["t", "f"] and
              not any(exists(shots)) and all(exists(final)), f"{state} {exists(shots)} {exists(final)}")
        check("retention: ...the job shows no shot URLs but its video", not view["expired"] and
              all(x["image_url"] is None and x["audio_url"] is None for x in view["shots"]) and
              view["output"]["video_url"], json.dumps(view)[:600])
        code, _, _ = request("GET", f"/s/{s['token']}")
        check("retention: the share still works while the video is kept", code == 200, str(code))
        ok = tl.wait_for(lambda: marks()[1] == "t", 30)
        check("retention: after REEL_RETENTION_DAYS the job is marked expired", ok, str(marks()))
        left = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(storage_root(), "jobs", job)) for f in fs]
        check("retention: every file of the job is gone from the storage folder",
              not any(exists(final + shots)) and not left, f"{exists(final + shots)} {left}")
        time.sleep(1.1)  # the job cache holds a rendered answer up to a second
        code, view = api("GET", f"/v1/jobs/{job}")
        out = view["output"]
        check("retention: the job row stays, says expired: true, with no URLs",
              code == 200 and view["status"] == "done" and view["expired"] is True and
              all(out[k] is None for k in ("video_url", "poster_url", "srt_url", "vtt_url", "manifest_url")) and
              "video_path" not in out and all(x["video_url"] is None for x in view["shots"]), json.dumps(view)[:600])
        code, _, _ = request("GET", f"/s/{s['token']}")
        code2, _, _ = request("GET", f"/s/{s['token']}/video.mp4")
        check("retention: its share links answer 404", code == 404 and code2 == 404, f"{code} {code2}")
        code, p = api("POST", f"/v1/jobs/{job}/shares", {})
        check("retention: an expired job cannot be shared (409 media-expired)", code == 409 and
              p["type"].endswith("/media-expired"), str(p))
        code, p = api("POST", f"/v1/jobs/{job}/shots/0/regenerate", {})
        check("retention: an expired job's shots cannot be made again (409 media-expired)", code == 409 and
              p["type"].endswith("/media-expired"), str(p))
        code, p = api("GET", f"/v1/jobs/{job}/manifest")
        check("retention: the manifest is gone too (404)", code == 404, f"{code} {p}")
    finally:
        for gw in sweepers:
            gw.stop()
    logs = "".join(open(os.path.join(RUN, "logs", f"sweeper-{i}.log")).read() for i in range(2))
    swept = sum(int(n) for n in re.findall(r"expired the media of (\d+) jobs", logs))
    check("retention: two sweepers at once, no errors", "the sweep stopped" not in logs and swept >= 2, logs[-600:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    os.environ.pop("REEL_STORAGE_URL", None)  # the retention checks look into the storage folder
    tf.fresh_run(bindir)
    started = False
    try:
        tf.fleet("start", bindir)
        started = True
        job = done_job()
        s, s2 = test_create_list(job)
        test_page(job, s)
        test_media(job, s)
        test_other_user(bindir)
        test_revoke(job, s, s2)
        test_retention(bindir, done_job())
    finally:
        if started or os.path.exists(os.path.join(RUN, "pids")):
            tf.fleet("stop", bindir)
    return tf.summary(RUN)


if __name__ == "__main__":
    sys.exit(main())
