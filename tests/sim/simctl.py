"""Starting and scripting the provider simulator (sim.py) from tests and
benchmarks: one Sim per process, its port found through a port file."""
import json
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


class Sim:
    def __init__(self, run_dir):
        port_file = os.path.join(run_dir, "sim.port")
        if os.path.exists(port_file):
            os.remove(port_file)
        self.log = open(os.path.join(run_dir, "sim.log"), "w")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "sim.py"), "--port-file", port_file],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.port = int(open(port_file).read())
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the provider simulator did not start")

    def env(self):
        """Where the vendors' clients find the simulator."""
        return {"OPENAI_BASE_URL": f"http://127.0.0.1:{self.port}/v1",
                "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{self.port}"}

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        rq = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                    headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(rq, timeout=30) as r:
            return json.loads(r.read())

    def reset(self, config=None, **scripts):
        """Forgets everything, then applies config and each route's script ({"answers": [...], "default": {...}})."""
        self.call("POST", "/_sim/reset", {})
        if config:
            self.call("POST", "/_sim/config", config)
        for route, script in scripts.items():
            self.call("POST", "/_sim/script", dict(script, route=route))

    def requests(self):
        return self.call("GET", "/_sim/requests")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()
