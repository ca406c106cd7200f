#!/usr/bin/env python3
"""Submits a story to the gateway, shows its progress stage by stage, and
prints the finished MP4's path as the last line (exit 1 if the job fails).

The gateway defaults to the local fleet's (8080 shifted by REEL_PORT_OFFSET).
The credential is REEL_API_KEY when set; else, when REEL_JWT_SECRET is set
(the gateway then asks every caller for a token), an HS256 JWT of our own
minted with that secret for REEL_JWT_AUDIENCE, as the gateway checks it."""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request

SUBJECT = "reelforge-sample"  # the owner of the jobs this script creates


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(secret, audience, lifetime_s=3600):
    now = int(time.time())
    claims = {"sub": SUBJECT, "iat": now, "exp": now + lifetime_s}
    if audience:
        claims["aud"] = audience
    signing = f"{b64url(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64url(json.dumps(claims).encode())}"
    sig = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64url(sig)}"


def credential():
    key, secret = os.environ.get("REEL_API_KEY"), os.environ.get("REEL_JWT_SECRET")
    if key:
        return key
    return jwt(secret, os.environ.get("REEL_JWT_AUDIENCE")) if secret else None


class Refused(Exception):
    pass


def call(method, url, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise Refused(f"{method} {url} answered {e.code}: {e.read().decode(errors='replace')}") from None
    except urllib.error.URLError as e:
        raise Refused(f"{method} {url}: {e.reason}") from None


def follow(gateway, token, text, timeout):
    job = call("POST", f"{gateway}/v1/jobs", token, {"template": "storyboard", "input": {"text": text}})
    print(f"job {job['id']} {job['status']}", file=sys.stderr)
    seen, deadline = None, time.time() + timeout
    while time.time() < deadline:
        job = call("GET", f"{gateway}/v1/jobs/{job['id']}", token)
        p = job["progress"]
        line = f"  {job['status']:<10} shots ready {p['shots_ready']}/{p['shots_total']}  {p['percent']:>3}%"
        if line != seen:
            print(line, file=sys.stderr)
            seen = line
        if job["status"] == "done":
            print(job["output"]["video_path"])
            return 0
        if job["status"] in ("failed", "canceled", "paused"):
            print(f"job {job['status']}: {json.dumps(job.get('error'))}", file=sys.stderr)
            return 1
        time.sleep(0.25)
    print("timed out waiting for the job", file=sys.stderr)
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway", default=f"http://127.0.0.1:{8080 + int(os.environ.get('REEL_PORT_OFFSET') or 0)}")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("file")
    args = ap.parse_args()
    text = open(args.file, encoding="utf-8").read()
    try:
        return follow(args.gateway, credential(), text, args.timeout)
    except Refused as e:
        print(f"submit: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
