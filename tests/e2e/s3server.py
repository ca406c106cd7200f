"""A real S3 server for the tests: OpenStack Swift (Debian's swift-* packages)
with its s3api middleware, which checks every request's SigV4 signature
(headers and presigned query strings) against tempauth's users. One replica of
everything under a temporary folder; four processes on ports base..base+3.

Access key "reel:tester", secret "testing"; buckets are made by the tests."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

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
                [PY, "/usr/bin/swift-%s-server" % name, os.path.join(self.root, conf)],
                stdout=log, stderr=subprocess.STDOUT, env=env))
        deadline = time.time() + 30
        for i, p in enumerate(self.procs):
            _wait_port(self.base + (i + 1) % 4, p, deadline)
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
