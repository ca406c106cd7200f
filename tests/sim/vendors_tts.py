"""Text-to-speech vendors for the simulator (tests/sim/sim.py): Fish Audio
(POST /v1/tts), OpenAI speech (POST /v1/audio/speech) and ElevenLabs
(POST /v1/text-to-speech/{voice}/with-timestamps), as
/work/shared/reference/providers.md section 6 describes them.

They answer real audio: one tone burst per word (per character in CJK text),
pitched by the voice, framed by silence that a client should trim, encoded
in the format asked for (wav and pcm here, mp3/opus/flac/aac with the ffmpeg
program). ElevenLabs also returns the character alignment of that audio.

Scripted answers (POST /_sim/script with route "fish", "openai_tts" or
"elevenlabs"): {"kind": "audio" | "corrupt" | "empty" | "error", "status": N,
"delay_ms": N, "retry_after": "1"}.
"""
import base64
import functools
import hashlib
import io
import json
import math
import re
import struct
import subprocess
import uuid
import wave
from urllib.parse import parse_qs, unquote, urlsplit

LEAD_S, TAIL_S = 0.25, 0.30      # silence around the speech, to be trimmed
WORD_S, GAP_S, CJK_S = 0.16, 0.07, 0.22
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


class Audio(bytes):
    """An audio body and its content type."""
    ctype = "application/octet-stream"


def pitch(voice):
    return 140 + int(hashlib.sha256((voice or "default").encode()).hexdigest()[:4], 16) % 160


@functools.lru_cache(maxsize=256)
def tone(hz, n, rate):
    """n samples of a sine at hz with 10 ms fades, as 16-bit little-endian bytes."""
    fade = 0.01 * rate
    return struct.pack(f"<{n}h", *(int(9000 * min(1.0, i / fade, (n - i) / fade) *
                                       math.sin(2 * math.pi * hz * i / rate)) for i in range(n)))


def speech(text, voice, rate):
    """16-bit mono samples and the alignment (character, start s, end s)."""
    hz, chunks, align, t = pitch(voice), [], [], 0.0

    def add(sec, sound):
        nonlocal t
        n = int(sec * rate)
        chunks.append(tone(hz, n, rate) if sound else bytes(2 * n))
        t += n / rate

    add(LEAD_S, False)
    for ch in text:
        start = t
        if ch.isspace():
            add(GAP_S, False)
        elif CJK.match(ch):
            add(CJK_S, True)
            add(GAP_S / 2, False)
        elif ch.isalnum():
            add(WORD_S / 3, True)
        else:
            add(GAP_S, False)
        align.append((ch, start, t))
    add(TAIL_S, False)
    return b"".join(chunks), align


def wav_bytes(pcm, rate):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def encode(pcm, rate, fmt):
    """The samples in fmt: wav, pcm, or what the ffmpeg program encodes."""
    if fmt == "pcm":
        return Audio(pcm), "audio/pcm"
    if fmt == "wav":
        return Audio(wav_bytes(pcm, rate)), "audio/wav"
    muxer, codec, ctype = {"mp3": ("mp3", "libmp3lame", "audio/mpeg"), "opus": ("ogg", "libopus", "audio/ogg"),
                           "flac": ("flac", "flac", "audio/flac"), "aac": ("adts", "aac", "audio/aac")}[fmt]
    out = subprocess.run(["ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "-",
                          "-c:a", codec, "-ar", "48000" if fmt == "opus" else str(rate), "-f", muxer, "-"],
                         input=pcm, capture_output=True, check=True).stdout
    return Audio(out), ctype


def corrupt():
    """Bytes that look like an MP3 frame header and then are not."""
    return Audio(b"\xff\xfb\x90\x64" + hashlib.sha256(b"x").digest() * 64)


class TTSVendor:
    """What the three share: key checks, scripted failures, the audio answer."""
    route, path, key_header = "", "", "authorization"

    def __init__(self, state):
        self.state = state

    def matches(self, path):
        return path == self.path

    def key_ok(self, h):
        key = self.state["config"].get("keys", {}).get(self.route)
        if key is None:
            return True
        got = h.headers.get(self.key_header, "")
        return got == (f"Bearer {key}" if self.key_header == "authorization" else key)

    def check(self, h, req):
        if not self.key_ok(h):
            return self.error(401, "invalid api key")
        if not isinstance(req, dict) or not isinstance(req.get(self.text_field), str) or not req[self.text_field]:
            return self.error(422, f"{self.text_field} is required")
        self.read_path(h.path, req)
        return None

    def read_path(self, path, req):
        pass

    def failure(self, answer):
        return self.error(int(answer.get("status", 500)), answer.get("message", "simulated failure"))

    def answer(self, req, answer):
        kind = answer.get("kind", "audio")
        if kind == "corrupt":
            return 200, corrupt()
        if kind == "empty":
            return 200, self.empty()
        return 200, self.audio(req)

    def empty(self):
        return Audio(b"")

    def headers(self, status):
        return {"x-request-id": uuid.uuid4().hex}


class Fish(TTSVendor):
    route, path, text_field = "fish", "/v1/tts", "text"

    def error(self, status, message):
        return status, {"status": status, "message": message}

    def audio(self, req):
        fmt = req.get("format", "mp3")
        rate = int(req.get("sample_rate") or (48000 if fmt == "opus" else 44100))
        pcm, _ = speech(req["text"], req.get("reference_id"), rate)
        body, ctype = encode(pcm, rate, fmt)
        body.ctype = ctype
        return body


class OpenAISpeech(TTSVendor):
    route, path, text_field = "openai_tts", "/v1/audio/speech", "input"

    def error(self, status, message):
        etype = "invalid_request_error" if status < 500 else "server_error"
        code = "invalid_api_key" if status == 401 else None
        return status, {"error": {"message": message, "type": etype, "param": None, "code": code}}

    def check(self, h, req):
        refused = super().check(h, req)
        if refused is None and not req.get("voice"):
            return self.error(400, "voice is required")
        return refused

    def audio(self, req):
        fmt = req.get("response_format", "mp3")
        rate = 24000
        pcm, _ = speech(req["input"], req.get("voice"), rate)
        body, ctype = encode(pcm, rate, fmt)
        body.ctype = ctype
        return body


class ElevenLabs(TTSVendor):
    route, path, text_field, key_header = "elevenlabs", "/v1/text-to-speech/", "text", "xi-api-key"
    PATH = re.compile(r"^/v1/text-to-speech/([^/]+)/with-timestamps$")

    def matches(self, path):
        return bool(self.PATH.match(path))

    def read_path(self, path, req):
        parts = urlsplit(path)
        req["_voice"] = unquote(self.PATH.match(parts.path).group(1))
        req["_format"] = parse_qs(parts.query).get("output_format", ["mp3_44100_128"])[0]

    def error(self, status, message):
        if status == 401:
            return status, {"detail": {"status": "invalid_api_key", "message": message}}
        return status, {"detail": {"type": "error", "code": "simulated", "message": message,
                                   "request_id": uuid.uuid4().hex}}

    def empty(self):
        return {"audio_base64": "", "alignment": None, "normalized_alignment": None}

    def audio(self, req):
        codec, rate = req["_format"].split("_")[:2]
        pcm, align = speech(req["text"], req["_voice"], int(rate))
        body, _ = encode(pcm, int(rate), "pcm" if codec == "pcm" else codec)
        alignment = {"characters": [a[0] for a in align],
                     "character_start_times_seconds": [round(a[1], 3) for a in align],
                     "character_end_times_seconds": [round(a[2], 3) for a in align]}
        return {"audio_base64": base64.b64encode(body).decode(), "alignment": alignment,
                "normalized_alignment": alignment}

    def answer(self, req, answer):
        if answer.get("kind") == "corrupt":
            return 200, {"audio_base64": base64.b64encode(corrupt()).decode(), "alignment": None}
        return super().answer(req, answer)


def vendors(state):
    return [Fish(state), OpenAISpeech(state), ElevenLabs(state)]


def find(vendor_list, path):
    """The vendor serving path (its query string left aside), or None."""
    bare = path.split("?", 1)[0]
    return next((v for v in vendor_list if v.matches(bare)), None)


if __name__ == "__main__":
    pcm, al = speech("Hello there. 你好", "alloy", 24000)
    print(len(pcm) // 2 / 24000, json.dumps(al[:3]))
