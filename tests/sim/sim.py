#!/usr/bin/env python3
"""The AI vendor simulator: a local HTTP server that speaks the vendors'
protocols as /work/shared/reference/providers.md describes them (today
OpenAI Chat Completions and the Anthropic Messages API), scripted per test.

    python3 tests/sim/sim.py [--port-file FILE]     prints "port N" on stdout

Control endpoints (JSON):
    POST /_sim/script   {"route": "openai", "answers": [ANSWER, ...]}  queues answers for a route
                        {"route": "openai", "default": ANSWER}          what it answers once the queue is empty
    POST /_sim/config   {"keys": {"openai": "sk-good"}, "openai_json_schema": false}
    POST /_sim/reset    forgets scripts, config and requests
    GET  /_sim/requests {"requests": [...], "max_in_flight": N, "in_flight": N}

ANSWER: {"kind": "storyboard" | "invalid_json" | "wrong_schema" | "oversize" | "truncated" | "empty" | "error",
         "status": 200, "delay_ms": 0, "retry_after": "2", "shots": N, "bytes": N (oversize),
         "error_type": "...", "code": "..." (OpenAI's error.code), "message": "...", "should_retry": "true"|"false"}

Stripe and Lemon Squeezy (checkouts, signed payment webhooks): vendors_pay.py.

A vendor is a class with a route name, a path and answer(); later vendors
(Replicate, fal, ComfyUI, Fish, ElevenLabs, OpenAI TTS) add classes to VENDORS.
"""
import argparse
import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import vendors_tts
import vendors_render  # Replicate, fal and ComfyUI (render vendors)
import vendors_pay  # Stripe and Lemon Squeezy checkouts and webhooks

LOCK = threading.Lock()
STATE = {"scripts": {}, "defaults": {}, "config": {}, "requests": [], "in_flight": 0, "max_in_flight": 0}

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")
DIALOGUE = re.compile(r"^([A-Z][A-Z .'-]{0,38}):\s*(.+)$")


def next_answer(route):
    with LOCK:
        queue = STATE["scripts"].get(route) or []
        if queue:
            return queue.pop(0)
        return dict(STATE["defaults"].get(route) or {"kind": "storyboard"})


# ---- storyboards made from the request, so answers fit the job ----

def quoted_text(prompt):
    m = re.search(r'"""\n(.*)\n"""', prompt, re.S)
    return m.group(1) if m else prompt


def storyboard_for(prompt, shots=None):
    """A valid storyboard of the text quoted in the request, within its shot limit."""
    m = re.search(r"at most (\d+) shots", prompt)
    limit = int(m.group(1)) if m else 12
    text = quoted_text(prompt)
    beats = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("INT.", "EXT.")):
            continue
        d = DIALOGUE.match(line)
        if d:
            beats.append((d.group(2), d.group(1).strip()))
        else:
            beats.extend((s.strip(), None) for s in SENTENCE.findall(line) if s.strip())
    beats = beats or [(text.strip() or "Once upon a time.", None)]
    n = shots if shots else min(limit, len(beats))
    if n <= len(beats):
        groups = [beats[i * len(beats) // n:(i + 1) * len(beats) // n] for i in range(n)]
    else:  # more shots than sentences were asked for (a test of the shot limit)
        groups = [[beats[i % len(beats)]] for i in range(n)]
    out = []
    for k, g in enumerate(groups):
        speakers = {s for _, s in g}
        out.append({"prompt": f"Scene {k + 1}: Mara walks through a quiet place, wide shot, morning light",
                    "narration": " ".join(t for t, _ in g),
                    "speaker": speakers.pop() if len(speakers) == 1 else None,
                    "duration_s": 4, "camera": ["zoom_in", "pan_right", "static", None][k % 4]})
    return {"title": "A simulated storyboard", "language": "zh" if CJK.search(text) else "en",
            "characters": [{"name": "Mara", "look": "a tall woman in a red wool coat with short grey hair",
                            "voice": "calm"}],
            "shots": out}


def wrong_schema(prompt):
    board = storyboard_for(prompt)
    board["shots"][0]["duration_s"] = 40
    del board["shots"][0]["narration"]
    board["shots"].append({"prompt": "", "narration": "x", "duration_s": "long"})
    return board


def content_for(answer, prompt):
    """The storyboard text an answer kind stands for, and whether it was cut off."""
    kind = answer.get("kind", "storyboard")
    if kind == "invalid_json":
        return '{"title": "Broken", "shots": [ {"prompt": "a', False
    if kind == "wrong_schema":
        return json.dumps(wrong_schema(prompt)), False
    if kind == "oversize":
        board = storyboard_for(prompt)
        board["title"] = "x" * int(answer.get("bytes", 2 << 20))
        return json.dumps(board), False
    if kind == "truncated":
        return json.dumps(storyboard_for(prompt))[:40], True
    if kind == "empty":
        return "", False
    return json.dumps(storyboard_for(prompt, answer.get("shots"))), False


def tokens(text):
    return max(1, len(text) // 4)


# ---- vendors ----

class OpenAIChat:
    route, path = "openai", "/v1/chat/completions"

    def error(self, status, message, etype, code=None, param=None):
        return status, {"error": {"message": message, "type": etype, "param": param, "code": code}}

    def check(self, h, req):
        key = STATE["config"].get("keys", {}).get(self.route)
        auth = h.headers.get("Authorization", "")
        if key is not None and auth != f"Bearer {key}":
            return self.error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if not isinstance(req, dict) or not req.get("model") or not isinstance(req.get("messages"), list):
            return self.error(400, "model and messages are required", "invalid_request_error")
        rf = req.get("response_format") or {}
        if rf.get("type") == "json_schema" and STATE["config"].get("openai_json_schema") is False:
            return self.error(400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported "
                              "with this model.", "invalid_request_error", None, "response_format")
        return None

    def failure(self, answer):
        status = int(answer.get("status", 500))
        kinds = {429: ("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
                 500: ("The server had an error while processing your request.", "server_error", None),
                 503: ("The engine is currently overloaded.", "server_error", None),
                 400: ("Invalid request.", "invalid_request_error", None)}
        message, etype, code = kinds.get(status, ("Error.", "server_error", None))
        return self.error(status, answer.get("message", message), answer.get("error_type", etype),
                          answer.get("code", code))

    def answer(self, req, answer):
        prompt = "\n".join(m.get("content", "") for m in req["messages"] if m.get("role") == "user")
        content, cut = content_for(answer, prompt)
        finish = "length" if cut else "stop"
        cid = "chatcmpl-" + uuid.uuid4().hex[:12]
        usage = {"prompt_tokens": tokens(json.dumps(req["messages"])), "completion_tokens": tokens(content)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if req.get("stream"):
            return 200, self.stream(cid, req["model"], content, finish, usage)
        return 200, {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": req["model"],
                     "system_fingerprint": "fp_sim", "choices": [{"index": 0, "message": {
                         "role": "assistant", "content": content, "refusal": None}, "finish_reason": finish,
                         "logprobs": None}], "usage": usage}

    def stream(self, cid, model, content, finish, usage):
        base = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        events = [dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                                       "finish_reason": None}])]
        for i in range(0, len(content), 64):
            events.append(dict(base, choices=[{"index": 0, "delta": {"content": content[i:i + 64]},
                                               "finish_reason": None}]))
        events.append(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": finish}]))
        events.append(dict(base, choices=[], usage=usage))
        return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"

    def headers(self, status):
        h = {"x-request-id": "req_" + uuid.uuid4().hex[:16], "x-ratelimit-limit-requests": "10000",
             "x-ratelimit-remaining-requests": "9999", "x-ratelimit-reset-requests": "6ms"}
        return h


class AnthropicMessages:
    route, path = "anthropic", "/v1/messages"
    errors = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
              404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
              529: "overloaded_error"}

    def error(self, status, message, etype=None):
        return status, {"type": "error", "error": {"type": etype or self.errors.get(status, "api_error"),
                                                   "message": message},
                        "request_id": "req_" + uuid.uuid4().hex[:16]}

    def check(self, h, req):
        key = STATE["config"].get("keys", {}).get(self.route)
        if key is not None and h.headers.get("x-api-key") != key:
            return self.error(401, "invalid x-api-key")
        if not h.headers.get("anthropic-version"):
            return self.error(400, "anthropic-version header is required")
        if not isinstance(req, dict) or not req.get("model") or not req.get("max_tokens") \
                or not isinstance(req.get("messages"), list):
            return self.error(400, "model, max_tokens and messages are required")
        if any(m.get("role") not in ("user", "assistant") for m in req["messages"]):
            return self.error(400, "messages: roles must be user or assistant (system is a top-level field)")
        return None

    def failure(self, answer):
        status = int(answer.get("status", 500))
        messages = {429: "Number of request tokens has exceeded your per-minute rate limit", 529: "Overloaded",
                    500: "Internal server error"}
        return self.error(status, answer.get("message", messages.get(status, "Error")), answer.get("error_type"))

    def answer(self, req, answer):
        def text_of(m):
            c = m.get("content")
            return c if isinstance(c, str) else " ".join(b.get("text", "") for b in c or [])
        prompt = "\n".join(text_of(m) for m in req["messages"] if m.get("role") == "user")
        content, cut = content_for(answer, prompt)
        tool = (req.get("tool_choice") or {}).get("name")
        blocks = []
        if content and tool and not cut:
            try:
                blocks = [{"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:12], "name": tool,
                           "input": json.loads(content)}]
            except ValueError:  # what a model sends when it breaks the schema's JSON: text
                blocks = [{"type": "text", "text": content}]
        elif content:
            blocks = [{"type": "text", "text": content}]
        stop = "max_tokens" if cut else ("tool_use" if blocks and blocks[0]["type"] == "tool_use" else "end_turn")
        usage = {"input_tokens": tokens(json.dumps(req["messages"])), "output_tokens": tokens(content),
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        msg = {"id": "msg_" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant", "model": req["model"],
               "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": usage}
        if req.get("stream"):
            return 200, self.stream(msg)
        return 200, msg

    def stream(self, msg):
        def ev(name, data):
            return f"event: {name}\ndata: {json.dumps(dict(data, type=name))}\n\n"
        start = dict(msg, content=[], stop_reason=None, usage=dict(msg["usage"], output_tokens=1))
        out = [ev("message_start", {"message": start}), ev("ping", {})]
        for i, b in enumerate(msg["content"]):
            if b["type"] == "tool_use":
                out.append(ev("content_block_start", {"index": i, "content_block": dict(b, input={})}))
                delta = {"type": "input_json_delta", "partial_json": json.dumps(b["input"])}
            else:
                out.append(ev("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}}))
                delta = {"type": "text_delta", "text": b["text"]}
            out.append(ev("content_block_delta", {"index": i, "delta": delta}))
            out.append(ev("content_block_stop", {"index": i}))
        out.append(ev("message_delta", {"delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                                        "usage": {"output_tokens": msg["usage"]["output_tokens"]}}))
        out.append(ev("message_stop", {}))
        return "".join(out)

    def headers(self, status):
        return {"request-id": "req_" + uuid.uuid4().hex[:16], "anthropic-ratelimit-requests-limit": "4000",
                "anthropic-ratelimit-requests-remaining": "3999"}


VENDORS = {v.path: v for v in (OpenAIChat(), AnthropicMessages())}
TTS_VENDORS = vendors_tts.vendors(STATE)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, payload, headers=None, ctype="application/json"):
        data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        data = data.encode() if isinstance(data, str) else data
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if vendors_render.handle(self, "GET") or vendors_pay.handle(self, "GET"):
            return
        if self.path == "/_sim/requests":
            with LOCK:
                return self.send(200, {"requests": STATE["requests"], "in_flight": STATE["in_flight"],
                                       "max_in_flight": STATE["max_in_flight"]})
        self.send(404, {"error": "no such route"})

    def control(self, raw):
        msg = json.loads(raw or b"{}")
        with LOCK:
            if self.path == "/_sim/reset":
                STATE.update(scripts={}, defaults={}, config={}, requests=[], max_in_flight=STATE["in_flight"])
            elif self.path == "/_sim/config":
                STATE["config"].update(msg)
            elif self.path == "/_sim/script":
                STATE["scripts"].setdefault(msg["route"], []).extend(msg.get("answers", []))
                if "default" in msg:
                    STATE["defaults"][msg["route"]] = msg["default"]
            else:
                return self.send(404, {"error": "no such control route"})
        self.send(200, {"ok": True})

    def do_POST(self):
        raw = self.body()
        if vendors_render.handle(self, "POST", raw) or vendors_pay.handle(self, "POST", raw):
            return
        if self.path.startswith("/_sim/"):
            return self.control(raw)
        vendor = VENDORS.get(self.path) or vendors_tts.find(TTS_VENDORS, self.path)
        if not vendor:
            return self.send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
        try:
            req = json.loads(raw)
        except ValueError:
            req = None
        with LOCK:
            STATE["in_flight"] += 1
            STATE["max_in_flight"] = max(STATE["max_in_flight"], STATE["in_flight"])
            entry = {"route": vendor.route, "path": self.path, "at": time.time(), "body": req,
                     "headers": {k.lower(): v for k, v in self.headers.items()}}
            STATE["requests"].append(entry)
        try:
            self.respond(vendor, req, entry)
        finally:
            with LOCK:
                STATE["in_flight"] -= 1

    def do_PUT(self):
        if not vendors_render.handle(self, "PUT", self.body()):
            self.send(404, {"error": "no such route"})

    def respond(self, vendor, req, entry):
        refused = vendor.check(self, req)
        answer = next_answer(vendor.route) if not refused else {}
        time.sleep(float(answer.get("delay_ms", 0)) / 1000)
        headers = vendor.headers(200)
        if refused:
            status, payload = refused
        elif answer.get("kind") == "error" or int(answer.get("status", 200)) >= 400:
            status, payload = vendor.failure(answer)
            if answer.get("retry_after") is not None:
                headers["retry-after"] = str(answer["retry_after"])
            if answer.get("should_retry") is not None:
                headers["x-should-retry"] = str(answer["should_retry"])
        else:
            status, payload = vendor.answer(req, answer)
        entry.update(status=status, kind=answer.get("kind", "refused" if refused else None), done=time.time())
        try:
            if isinstance(payload, vendors_tts.Audio):
                self.send(status, payload, headers, payload.ctype)
            elif isinstance(payload, str):
                self.send(status, payload, headers, "text/event-stream")
            else:
                self.send(status, payload, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    ThreadingHTTPServer.request_queue_size = 256  # many clients connect at once in the concurrency test
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(f"{port}\n")
    print(f"port {port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
