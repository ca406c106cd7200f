"""The image and video vendors of the simulator: Replicate predictions, the
fal queue and ComfyUI, as /work/shared/reference/providers.md (sections 3, 4,
5, 7) describes them. Submissions are accepted at once; the vendor then calls
our webhook-receiver with correctly signed callbacks after a scripted delay,
or misbehaves as the test asks. Real PNG and MP4 files are made with the
ffmpeg program; oversize and non-media downloads are served too.

Routes (under the simulator's address):
    /v1/...                 Replicate (REPLICATE_BASE_URL = http://HOST:PORT/v1), with GET /v1/predictions
                            listing them newest first (each with its webhook URL), paginated by `next`
    /fal/...                fal queue (FAL_QUEUE_BASE_URL = http://HOST:PORT/fal),
                            JWKS at /fal/.well-known/jwks.json
    /comfy/...              ComfyUI (COMFYUI_URL = http://HOST:PORT/comfy), honouring a client's prompt_id;
                            GET /comfy/queue lists unfinished prompts
    /media/NAME             outputs: image.png, clip.mp4, big.mp4 (a real clip padded to 56 MiB),
                            oversize.png (80 MiB streamed with no Content-Length), page.html, fake.png

Control (JSON):
    POST /_sim/render/script {"route": "replicate"|"fal"|"comfyui", "answers": [B, ...], "default": B}
    POST /_sim/render/reset
    GET  /_sim/render/log    {"submissions": [...], "callbacks": [...], "polls": [...], "cancels": [...],
                              "lookups": [...]}; a submission's "paid" says whether the vendor bills it
                              (it accepted it, also when its answer hung past our timeout)

B (a behaviour for one submission): {"callback": "ok" | "twice" | "late" | "never" | "forged" | "expired" |
    "failed" | "out_of_order", "delay_ms": 200, "late_ms": 6000, "output": "image" | "big" | "oversize" |
    "page" | "fake" | "private" | "data", "submit_status": 201, "retry_after": "3", "submit_hang_ms": 0}
    submit_status >= 400 refuses the submission (with a Retry-After header when retry_after is set);
    submit_hang_ms holds the submission's answer that long (a vendor that hangs), then accepts it.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

REPLICATE_SECRET = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
FAL_SEED = b"\x07" * 32  # the reference's test key; its JWKS x is 6kpsY-...
FAL_USER = "user-sim"

LOCK = threading.Lock()
STATE = {"scripts": {}, "defaults": {}, "tasks": {}, "log": {"submissions": [], "callbacks": [], "polls": [],
                                                               "cancels": [], "lookups": []}}
MEDIA = {}


# ---- Ed25519 signing (RFC 8032, section 6), for fal's webhooks ----

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493


def _inv(x):
    return pow(x, P - 2, P)


D = -121665 * _inv(121666) % P


def _add(a, b):
    x, y = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    c, dd = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    e, f, g, h = y - x, dd - c, dd + c, y + x
    return (e * f, g * h, f * g, e * h)


def _mul(s, pt):
    acc = (0, 1, 1, 0)
    while s:
        if s & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        s >>= 1
    return acc


def _base():
    y = 4 * _inv(5) % P
    x2 = (y * y - 1) * _inv(D * y * y + 1)
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    x = P - x if x & 1 else x
    return (x, y, 1, x * y % P)


G = _base()


def _compress(pt):
    zi = _inv(pt[2])
    x, y = pt[0] * zi % P, pt[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _expand(seed):
    h = hashlib.sha512(seed).digest()
    return int.from_bytes(h[:32], "little") & ((1 << 254) - 8) | (1 << 254), h[32:]


def ed25519_public(seed):
    return _compress(_mul(_expand(seed)[0], G))


def ed25519_sign(seed, msg):
    a, prefix = _expand(seed)
    pub = _compress(_mul(a, G))
    r = int.from_bytes(hashlib.sha512(prefix + msg).digest(), "little") % Q
    rp = _compress(_mul(r, G))
    h = int.from_bytes(hashlib.sha512(rp + pub + msg).digest(), "little") % Q
    return rp + ((r + h * a) % Q).to_bytes(32, "little")


def jwks():
    x = base64.urlsafe_b64encode(ed25519_public(FAL_SEED)).rstrip(b"=").decode()
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "sim-1"}]}


# ---- media, made once with the ffmpeg program ----

MEDIA_LOCK = threading.Lock()


def media(name):
    # One maker at a time: a burst of first requests must not start one ffmpeg each.
    with MEDIA_LOCK:
        if name in MEDIA:
            return MEDIA[name]
        return make_media(name)


def make_media(name):
    folder = tempfile.mkdtemp(prefix="reel-sim-media-")
    path = os.path.join(folder, name)
    if name == "image.png":
        args = ["-f", "lavfi", "-i", "testsrc=size=576x1024:rate=1", "-frames:v", "1", path]
    elif name == "clip.mp4":
        args = ["-f", "lavfi", "-i", "testsrc=size=576x1024:rate=16", "-t", "5", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", "-movflags", "+faststart", path]
    else:
        return None
    subprocess.run(["ffmpeg", "-v", "error", "-y"] + args, check=True)
    with open(path, "rb") as f:
        data = f.read()
    MEDIA[name] = data
    return data


BIG_MB = 56
OVERSIZE_MB = 80  # over the receiver's cap in the tests (REEL_DOWNLOAD_MAX_MB=64)


def big_clip():
    """A real clip followed by a top-level MP4 'free' box: a valid file of BIG_MB MiB that demuxers skip through."""
    with LOCK:
        if "big.mp4" in MEDIA:
            return MEDIA["big.mp4"]
    clip = media("clip.mp4")
    pad = (BIG_MB << 20) - len(clip)
    data = clip + pad.to_bytes(4, "big") + b"free" + os.urandom(pad - 8)
    with LOCK:
        MEDIA["big.mp4"] = data
    return data


def stream_oversize(h):
    """A PNG signature then zeros, with no Content-Length: only counting the bytes as they arrive catches it."""
    h.send_response(200)
    h.send_header("Content-Type", "image/png")
    h.send_header("Connection", "close")
    h.end_headers()
    h.close_connection = True
    chunk = b"\0" * (1 << 20)
    try:
        h.wfile.write(b"\x89PNG\r\n\x1a\n")
        for _ in range(OVERSIZE_MB):
            h.wfile.write(chunk)
    except OSError:
        pass  # the receiver hung up at its cap, as it should


def serve_media(h, name):
    if name == "oversize.png":
        return stream_oversize(h)
    if name == "big.mp4":
        return h.send(200, big_clip(), ctype="video/mp4")
    if name == "page.html":
        return h.send(200, b"<html><body>Not an image</body></html>", ctype="text/html")
    if name == "fake.png":
        return h.send(200, b"this is not a picture at all" * 40, ctype="image/png")
    data = media(name)
    if data is None:
        return h.send(404, {"error": "no such file"})
    return h.send(200, data, ctype="video/mp4" if name.endswith(".mp4") else "image/png")


def output_url(h, task):
    host = h.headers.get("Host", "127.0.0.1")
    kind = task["behaviour"].get("output", "image")
    name = "clip.mp4" if task["video"] else "image.png"
    if kind == "data":
        data = media(name)
        mime = "video/mp4" if task["video"] else "image/png"
        return f"data:{mime};base64," + base64.b64encode(data).decode()
    if kind == "private":  # a loopback address that is no configured vendor's host
        return f"http://127.0.0.2:{host.rsplit(':', 1)[1]}/media/{name}"
    names = {"oversize": "oversize.png", "page": "page.html", "fake": "fake.png", "big": "big.mp4"}
    return f"http://{host}/media/{names.get(kind, name)}"


# ---- tasks and their callbacks ----

def behaviour(route):
    with LOCK:
        queue = STATE["scripts"].get(route) or []
        if queue:
            return dict(queue.pop(0))
        return dict(STATE["defaults"].get(route) or {"callback": "ok"})


def new_task(route, h, video, webhook, extra=None):
    b = behaviour(route)
    task = {"route": route, "id": uuid.uuid4().hex[:20], "video": video, "webhook": webhook, "behaviour": b,
            "created": time.time(), "done_at": time.time() + b.get("delay_ms", 200) / 1000.0, "canceled": False}
    task["output"] = output_url(h, task)
    task.update(extra or {})
    with LOCK:
        STATE["tasks"][task["id"]] = task
    return task


def finished(task):
    # A task whose forged or expired callback is scripted stays unfinished to polls until that callback has been
    # answered, so the sweeper never finishes it first.
    if task["behaviour"].get("callback") in ("forged", "expired") and not task.get("refused_sent"):
        return task["canceled"]
    return task["canceled"] or time.time() >= task["done_at"]


def failed(task):
    return task["behaviour"].get("callback") == "failed"


def post(url, body, headers, task, label):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json",
                                                                         **headers})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, answer = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, answer = e.code, e.read()
    except OSError as e:
        status, answer = 0, str(e).encode()
    with LOCK:
        STATE["log"]["callbacks"].append({"route": task["route"], "id": task["id"], "label": label,
                                          "status": status, "answer": answer.decode(errors="replace")[:300],
                                          "at": time.time()})


def replicate_prediction(task, status=None):
    if status is None:
        status = "canceled" if task["canceled"] else ("starting" if not finished(task) else
                                                       "failed" if failed(task) else "succeeded")
    out = None
    if status == "succeeded":
        out = task["output"] if task["video"] else [task["output"]]
    base = task["base"]
    return {"id": task["id"], "model": task["model"], "version": "sim", "input": {}, "logs": "",
            "webhook": task["webhook"], "webhook_events_filter": ["completed"],
            "output": out, "error": "CUDA out of memory (simulated)" if status == "failed" else None,
            "status": status, "created_at": "2026-01-01T00:00:00Z", "data_removed": False, "source": "api",
            "urls": {"get": f"{base}/predictions/{task['id']}", "cancel": f"{base}/predictions/{task['id']}/cancel"}}


def replicate_send(task, label, status=None, stamp=None, secret=REPLICATE_SECRET, msg_id=None):
    body = json.dumps(replicate_prediction(task, status)).encode()
    msg_id = msg_id or f"msg_{task['id']}"
    ts = str(int(stamp if stamp is not None else time.time()))
    key = base64.b64decode(secret[6:])
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    post(task["webhook"], body, {"webhook-id": msg_id, "webhook-timestamp": ts,
                                 "webhook-signature": f"v1,{sig}"}, task, label)


def fal_payload(task):
    if failed(task):
        return {"request_id": task["id"], "gateway_request_id": task["id"], "status": "ERROR",
                "error": "Invalid status code: 500", "payload": {"detail": "the model crashed (simulated)"}}
    out = {"video": {"url": task["output"], "content_type": "video/mp4"}} if task["video"] else \
        {"images": [{"url": task["output"], "content_type": "image/png", "width": 576, "height": 1024}], "seed": 1}
    return {"request_id": task["id"], "gateway_request_id": task["id"], "status": "OK", "payload": out}


def fal_send(task, label, stamp=None, seed=FAL_SEED, payload=None):
    body = json.dumps(payload or fal_payload(task)).encode()
    ts = str(int(stamp if stamp is not None else time.time()))
    msg = f"{task['id']}\n{FAL_USER}\n{ts}\n{hashlib.sha256(body).hexdigest()}".encode()
    post(task["webhook"], body, {"X-Fal-Webhook-Request-Id": task["id"], "X-Fal-Webhook-User-Id": FAL_USER,
                                 "X-Fal-Webhook-Timestamp": ts,
                                 "X-Fal-Webhook-Signature": ed25519_sign(seed, msg).hex()}, task, label)


def send(task, label, **kw):
    (replicate_send if task["route"] == "replicate" else fal_send)(task, label, **kw)


def deliver(task):
    """The scripted callbacks of a finished task."""
    kind = task["behaviour"].get("callback", "ok")
    if task["canceled"] or kind == "never":
        return
    if kind == "forged":
        if task["route"] == "replicate":
            send(task, "forged", secret="whsec_" + base64.b64encode(b"another secret of 32 bytes!!!!!").decode())
        else:
            send(task, "forged", seed=b"\x08" * 32)
        task["refused_sent"] = True
        return
    if kind == "expired":
        send(task, "expired", stamp=time.time() - 3600)
        task["refused_sent"] = True
        return
    if kind == "late":
        time.sleep(task["behaviour"].get("late_ms", 6000) / 1000.0)
    send(task, "callback")
    if kind == "twice":
        send(task, "again")
    if kind == "out_of_order" and task["route"] == "replicate":
        send(task, "older", status="processing", msg_id=f"msg_{task['id']}_old")
        send(task, "failed-after", status="failed", msg_id=f"msg_{task['id']}_f")
    if kind == "out_of_order" and task["route"] == "fal":
        bad = dict(fal_payload(task), status="ERROR", error="stale delivery")
        send(task, "failed-after", payload=bad, stamp=time.time() + 1)


def schedule(task):
    if task["route"] == "comfyui":
        return
    delay = max(0.0, task["done_at"] - time.time())
    t = threading.Timer(delay, deliver, [task])
    t.daemon = True
    t.start()


def log(kind, entry):
    with LOCK:
        STATE["log"][kind].append(dict(entry, at=time.time()))


def read_json(raw):
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return None


def answer_late(h, status, body):
    """Answers a submission; the worker may have given up on a hung one already."""
    try:
        h.send(status, body)
    except OSError:
        pass


def retry_after(task):
    """The Retry-After header a refused submission carries, when scripted ("retry_after": "1")."""
    ra = task["behaviour"].get("retry_after")
    return {"Retry-After": str(ra)} if ra is not None else None


def paid(task):
    """Whether the vendor bills the submission: it accepted it (a hung answer was accepted too)."""
    return task["behaviour"].get("submit_status", 0) < 400


def submit_fault(h, task):
    """Answers a scripted submit failure (True), after any scripted hang; False to accept the task."""
    b = task["behaviour"]
    if b.get("submit_hang_ms"):
        time.sleep(b["submit_hang_ms"] / 1000.0)
    status = b.get("submit_status", 0)
    if status < 400:
        return False
    headers = retry_after(task)
    try:
        h.send(status, {"detail": "simulated failure", "status": status}, headers=headers)
    except OSError:
        pass
    return True


# ---- Replicate ----

def replicate(h, method, path, raw):
    if h.headers.get("Authorization", "") != "Bearer r8_test":
        return h.send(401, {"title": "Unauthenticated", "status": 401, "detail": "Invalid token."})
    base = f"http://{h.headers.get('Host')}/v1"
    parts = path.strip("/").split("/")
    if method == "POST" and (path == "/v1/predictions" or (len(parts) == 5 and parts[1] == "models")):
        req = read_json(raw) or {}
        inp = req.get("input") or {}
        if not isinstance(inp, dict) or not inp.get("prompt") or not req.get("webhook"):
            return h.send(422, {"title": "Input validation failed", "status": 422, "detail": "- input.prompt: required"})
        model = req.get("version") or f"{parts[2]}/{parts[3]}"
        video = any(isinstance(v, str) and v.startswith("data:image") for v in inp.values())
        task = new_task("replicate", h, video, req["webhook"], {"model": model, "base": base})
        log("submissions", {"route": "replicate", "id": task["id"], "path": path, "body": req, "video": video,
                            "webhook": req["webhook"], "paid": paid(task)})
        if submit_fault(h, task):
            return None
        schedule(task)
        return answer_late(h, 201, replicate_prediction(task, "starting"))
    if method == "GET" and path == "/v1/predictions":
        return replicate_list(h, base)
    task = STATE["tasks"].get(parts[2]) if len(parts) >= 3 and parts[1] == "predictions" else None
    if not task:
        return h.send(404, {"title": "Not found", "status": 404, "detail": "no such prediction"})
    if method == "POST" and len(parts) == 4 and parts[3] == "cancel":
        task["canceled"] = True
        log("cancels", {"route": "replicate", "id": task["id"]})
        return h.send(200, replicate_prediction(task))
    log("polls", {"route": "replicate", "id": task["id"]})
    return h.send(200, replicate_prediction(task))


REPLICATE_PAGE = 10


def replicate_list(h, base):
    """GET /v1/predictions: newest first, REPLICATE_PAGE a page, `next` naming the following page."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
    start = int(query.get("cursor", ["0"])[0])
    with LOCK:
        mine = sorted((t for t in STATE["tasks"].values() if t["route"] == "replicate" and paid(t)),
                      key=lambda t: t["created"], reverse=True)
    page = mine[start:start + REPLICATE_PAGE]
    log("lookups", {"route": "replicate", "cursor": start})
    more = start + REPLICATE_PAGE < len(mine)
    return h.send(200, {"results": [replicate_prediction(t) for t in page], "previous": None,
                        "next": f"{base}/predictions?cursor={start + REPLICATE_PAGE}" if more else None})


# ---- fal ----

def fal(h, method, path, raw, query):
    if path == "/fal/.well-known/jwks.json":
        return h.send(200, jwks())
    if h.headers.get("Authorization", "") != "Key fal_test":
        return h.send(401, {"detail": "Invalid key"})
    parts = path[len("/fal/"):].split("/")
    base = f"http://{h.headers.get('Host')}/fal/{parts[0]}/{parts[1] if len(parts) > 1 else ''}"
    if method == "POST":
        req = read_json(raw)
        hook = urllib.parse.parse_qs(query).get("fal_webhook", [None])[0]
        if not isinstance(req, dict) or not req.get("prompt"):
            return h.send(422, {"detail": [{"loc": ["body", "prompt"], "msg": "field required",
                                            "type": "value_error.missing"}]})
        video = bool(req.get("image_url"))
        task = new_task("fal", h, video, hook, {"model": "/".join(parts)})
        log("submissions", {"route": "fal", "id": task["id"], "path": path, "body": req, "video": video,
                            "webhook": hook, "paid": paid(task)})
        if submit_fault(h, task):
            return None
        schedule(task)
        rid = task["id"]
        return answer_late(h, 200, {"request_id": rid, "response_url": f"{base}/requests/{rid}",
                            "status_url": f"{base}/requests/{rid}/status",
                            "cancel_url": f"{base}/requests/{rid}/cancel", "queue_position": 0})
    rid = parts[3] if len(parts) >= 4 and parts[2] == "requests" else None
    task = STATE["tasks"].get(rid)
    if not task:
        return h.send(404, {"detail": "Request not found"})
    if method == "PUT" and parts[-1] == "cancel":
        task["canceled"] = True
        log("cancels", {"route": "fal", "id": rid})
        return h.send(202, {"status": "CANCELLATION_REQUESTED"})
    if parts[-1] == "status":
        log("polls", {"route": "fal", "id": rid})
        return h.send(200, {"status": "COMPLETED" if finished(task) else "IN_PROGRESS", "request_id": rid,
                            "response_url": f"{base}/requests/{rid}", "status_url": f"{base}/requests/{rid}/status",
                            "cancel_url": f"{base}/requests/{rid}/cancel"})
    if failed(task):
        return h.send(422, {"detail": "the model crashed (simulated)"})
    return h.send(200, fal_payload(task)["payload"])


# ---- ComfyUI ----

def comfy(h, method, path, raw, query):
    if method == "POST" and path == "/comfy/prompt":
        req = read_json(raw) or {}
        graph = req.get("prompt")
        if not isinstance(graph, dict) or not req.get("client_id"):
            return h.send(400, {"error": {"type": "no_prompt", "message": "No prompt provided", "details": "",
                                          "extra_info": {}}, "node_errors": {}})
        video = any(isinstance(n, dict) and n.get("class_type") == "LoadImageBase64" for n in graph.values())
        pid = req.get("prompt_id")
        if pid is not None and (not isinstance(pid, str) or pid in STATE["tasks"]):
            return h.send(400, {"error": {"type": "invalid_prompt", "message": "prompt_id already used",
                                          "details": str(pid), "extra_info": {}}, "node_errors": {}})
        task = new_task("comfyui", h, video, None, {"id": pid} if pid else None)
        log("submissions", {"route": "comfyui", "id": task["id"], "path": path, "body": req, "video": video,
                            "paid": True})
        return h.send(200, {"prompt_id": task["id"], "number": 1, "node_errors": {}})
    if path.startswith("/comfy/history/"):
        task = STATE["tasks"].get(path.rsplit("/", 1)[1])
        if not task:
            return h.send(200, {})
        log("polls", {"route": "comfyui", "id": task["id"]})
        if not finished(task) or task["canceled"]:
            return h.send(200, {})
        if failed(task):
            entry = {"outputs": {}, "status": {"status_str": "error", "completed": False, "messages": []}}
        else:
            name = urllib.parse.urlparse(task["output"]).path.rsplit("/", 1)[1]
            files = [{"filename": name, "subfolder": "", "type": "output"}]
            entry = {"outputs": {"9": {"gifs" if task["video"] else "images": files}},
                     "status": {"status_str": "success", "completed": True, "messages": []}}
        return h.send(200, {task["id"]: dict(entry, prompt=[1, task["id"], {}, {}, ["9"]])})
    if method == "GET" and path == "/comfy/queue":
        log("lookups", {"route": "comfyui"})
        with LOCK:
            waiting = [t for t in STATE["tasks"].values() if t["route"] == "comfyui" and not finished(t)]
        return h.send(200, {"queue_running": [[1, t["id"], {}, {}, ["9"]] for t in waiting],
                            "queue_pending": []})
    if path == "/comfy/view":
        name = urllib.parse.parse_qs(query).get("filename", [""])[0]
        return serve_media(h, name)
    if method == "POST" and path in ("/comfy/queue", "/comfy/interrupt"):
        req = read_json(raw) or {}
        for rid in req.get("delete", []) + ([req["prompt_id"]] if req.get("prompt_id") else []):
            if rid in STATE["tasks"]:
                STATE["tasks"][rid]["canceled"] = True
            log("cancels", {"route": "comfyui", "id": rid, "how": path.rsplit("/", 1)[1]})
        return h.send(200, {})
    return h.send(404, {"error": "no such route"})


def control(h, method, path, raw):
    msg = read_json(raw) or {}
    with LOCK:
        if path == "/_sim/render/reset":
            STATE.update(scripts={}, defaults={}, tasks={})
            STATE["log"] = {k: [] for k in STATE["log"]}
        elif path == "/_sim/render/script":
            STATE["scripts"].setdefault(msg["route"], []).extend(msg.get("answers", []))
            if "default" in msg:
                STATE["defaults"][msg["route"]] = msg["default"]
        elif path == "/_sim/render/log":
            return h.send(200, STATE["log"])
        else:
            return h.send(404, {"error": "no such control route"})
    return h.send(200, {"ok": True})


def handle(h, method, raw=b""):
    """Answers the request if it is one of ours; False otherwise."""
    url = urllib.parse.urlsplit(h.path)
    path, query = url.path, url.query
    if path.startswith("/_sim/render/"):
        control(h, method, path, raw)
    elif path.startswith("/v1/predictions") or path.startswith("/v1/models/"):
        replicate(h, method, path, raw)
    elif path.startswith("/fal/"):
        fal(h, method, path, raw, query)
    elif path.startswith("/comfy/"):
        comfy(h, method, path, raw, query)
    elif path.startswith("/media/"):
        serve_media(h, path[len("/media/"):])
    else:
        return False
    return True
