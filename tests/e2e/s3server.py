"""A real S3 server for the tests: OpenStack Swift (Debian's swift-* packages)
with its s3api middleware, which checks every request's SigV4 signature
(headers and presigned query strings) against tempauth's users. One replica of
everything under a temporary folder; four processes on ports base..base+3.

Access key "reel:tester", secret "testing"; buckets are made by the tests."""
import hashlib
import hmac
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ACCESS_KEY = "reel:tester"
SECRET_KEY = "testing"
REGION = "us-east-1"
PY = "/usr/bin/python3"  # the interpreter Debian's swift modules live under

SERVER_CONF = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
devices = {root}/srv
mount_check = false
workers = 0
user = {user}
swift_dir = {root}
log_level = WARNING
log_facility = LOG_LOCAL7

[pipeline:main]
pipeline = {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}

[{kind}-replicator]
[{kind}-updater]
[{kind}-auditor]
"""

PROXY_CONF = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {user}
swift_dir = {root}
log_level = WARNING

[pipeline:main]
pipeline = catch_errors proxy-logging cache s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
# s3api needs swift.cache in the request; nothing listens here, so every lookup misses
memcache_servers = 127.0.0.1:{nocache}

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo
min_segment_size = 1

[filter:dlo]
use = egg:swift#dlo

[filter:s3api]
use = egg:swift#s3api
location = {region}
s3_acl = false

[filter:tempauth]
use = egg:swift#tempauth
user_reel_tester = {secret} .admin
"""

SWIFT_CONF = """[swift-hash]
swift_hash_path_suffix = reeltests

[storage-policy:0]
name = Policy-0
default = yes
"""


def _port_taken(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def free_base(first, last):
    """The first base in [first, last) whose ports (four servers and the idle memcache
    port at base+9) nobody listens on. Swift binds with SO_REUSEPORT, so a server left
    over on a port would silently share its connections with ours; skip taken ports."""
    for base in range(first, last - 9, 10):
        if not any(_port_taken(base + i) for i in (0, 1, 2, 3, 9)):
            return base
    raise RuntimeError("no free ports for the S3 server in %d-%d" % (first, last))


def _wait_port(port, proc, deadline):
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("swift server on port %d exited with %d" % (port, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("swift server on port %d did not start" % port)


class S3Server:
    """start() lays out and starts the servers; stop() ends them and removes the folder."""

    def __init__(self, base_port):
        self.base = base_port
        self.endpoint = "http://127.0.0.1:%d" % base_port
        self.root = None
        self.procs = []

    def _layout(self):
        root = self.root
        os.makedirs(os.path.join(root, "srv", "d1"))
        user = os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name
        with open(os.path.join(root, "swift.conf"), "w") as f:
            f.write(SWIFT_CONF)
        for i, kind in enumerate(("account", "container", "object"), start=1):
            with open(os.path.join(root, kind + ".conf"), "w") as f:
                f.write(SERVER_CONF.format(port=self.base + i, root=root, user=user, kind=kind))
            builder = os.path.join(root, kind + ".builder")
            for args in (["create", "6", "1", "0"], ["add", "r1z1-127.0.0.1:%d/d1" % (self.base + i), "1"],
                         ["rebalance"]):
                subprocess.run(["swift-ring-builder", builder] + args, check=args[0] != "rebalance",
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(root, "proxy.conf"), "w") as f:
            f.write(PROXY_CONF.format(port=self.base, root=root, user=user, region=REGION,
                                      secret=SECRET_KEY, nocache=self.base + 9))

    def start(self):
        self.root = tempfile.mkdtemp(prefix="reel-swift-")
        self._layout()
        env = dict(os.environ, SWIFT_CONF_FILE=os.path.join(self.root, "swift.conf"))
        log = open(os.path.join(self.root, "servers.log"), "w")
        for name, conf in (("account", "account.conf"), ("container", "container.conf"),
                           ("object", "object.conf"), ("proxy", "proxy.conf")):
            self.procs.append(subprocess.Popen(
                [PY, "/usr/bin/swift-%s-server" % name, os.path.join(self.root, conf), "-v"],
                stdout=log, stderr=subprocess.STDOUT, env=env))
        deadline = time.time() + 120  # a loaded machine takes its time to import swift
        try:
            for i, p in enumerate(self.procs):
                _wait_port(self.base + (i + 1) % 4, p, deadline)
        except RuntimeError:
            self.stop()  # no servers left behind on the ports
            raise
        return self

    def log(self):
        with open(os.path.join(self.root, "servers.log")) as f:
            return f.read()

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def request(endpoint, method, path, body=b"", query="", access=ACCESS_KEY, secret=SECRET_KEY):
    """One SigV4-signed request (header form); returns (status, body). The tests' own
    client, so they can make buckets and send requests signed with a wrong secret."""
    host = urllib.parse.urlparse(endpoint).netloc
    now = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    day = now[:8]
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": now}
    signed = ";".join(sorted(headers))
    canon = "\n".join([method, urllib.parse.quote(path), query,
                       "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers)), signed, payload])
    scope = "%s/%s/s3/aws4_request" % (day, REGION)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", now, scope, hashlib.sha256(canon.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret).encode(), day)
    for part in (REGION, "s3", "aws4_request"):
        key = _hmac(key, part)
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access, scope, signed, sig)
    del headers["host"]
    url = endpoint + urllib.parse.quote(path) + ("?" + query if query else "")
    req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
