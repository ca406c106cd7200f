#!/usr/bin/env python3
"""Submits a story to the gateway, shows its progress stage by stage, and
prints the finished MP4's path as the last line (exit 1 if the job fails)."""
import argparse
import json
import sys
import time
import urllib.request


def call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway", default="http://127.0.0.1:8080")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("file")
    args = ap.parse_args()
    text = open(args.file, encoding="utf-8").read()
    job = call("POST", f"{args.gateway}/v1/jobs", {"template": "storyboard", "input": {"text": text}})
    print(f"job {job['id']} {job['status']}", file=sys.stderr)
    seen, deadline = None, time.time() + args.timeout
    while time.time() < deadline:
        job = call("GET", f"{args.gateway}/v1/jobs/{job['id']}")
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


if __name__ == "__main__":
    sys.exit(main())
