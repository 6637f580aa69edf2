"""pay_gateway — a local Stripe-style test payment gateway for issue #7.

Run with /usr/bin/python3 (standard library only):

    pay_gateway.py [--port 0] [--api-key KEY] [--fault-rate 0.3]
                   [--fault-modes 500,429,drop,drop_after,slow]
                   [--fail-first N] [--retry-after SECONDS] [--slow-ms MS]
                   [--seed S] [--port-file PATH]

Binds 127.0.0.1:PORT (0: the kernel picks), then writes the port to
--port-file (tmp + rename) and prints "PORT <n>" as its first stdout line.
Exits on SIGTERM or SIGINT.

API (HTTP/1.1, keep-alive):
  POST /v1/charges  form body: amount, currency, customer, payment_method,
                    [description], [metadata[payment_id]]; headers
                    Idempotency-Key (required), Authorization: Bearer KEY
                    (when --api-key). 200 charge | 400 invalid_request_error
                    | 400 idempotency_error (key reused with other params)
                    | 401 | 402 card_error (pm_card_declined,
                    pm_card_insufficient_funds) | 409 idempotency_key_in_use
                    | injected faults: 500, 429 + Retry-After, drop (close,
                    no answer), slow (delay, then normal), drop_after
                    (execute and store, then close with no answer).
                    Executed answers (200, 400 invalid, 402) are stored under
                    the key and replayed with "Idempotent-Replayed: true".
  GET  /_charges    every charge recorded, in order
  GET  /_stats      {requests (to /v1/charges), charges, replays, declines,
                    invalid, conflicts (409), mismatches (400 idempotency),
                    faults: {mode or "fail_first": count}}
  POST /_faults     JSON {rate, modes, fail_first, retry_after, slow_ms}
  POST /_reset      forgets charges, keys and counters (keeps fault settings)

Why asyncio with a hand-rolled HTTP/1.1 parser rather than
ThreadingHTTPServer: measured with tools/bench/azo_bench_gwload on two
cores, it spends about a third of the CPU per request (35-45 us against
110-146 us for a ThreadingHTTPServer doing less). It is one thread, so the
idempotency table and the charge list need no lock: each request's
check-and-execute runs without an await in between. Only a `slow` fault
waits (a timer), and it marks its key as in flight first, so that a
concurrent request with that key gets 409. Faults are drawn before the key
is looked up, so replays get them too.

Deliberately not done: TLS, chunked request bodies (411), pipelining beyond
answering in order, persistence (all in memory).
"""
import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
import traceback
from urllib.parse import unquote_plus

MODES = ("500", "429", "drop", "drop_after", "slow")
MAX_HEAD = 16384
MAX_BODY = 1 << 20
RECV_SIZE = 65536
REASONS = {200: "OK", 100: "Continue", 400: "Bad Request",
           401: "Unauthorized", 402: "Payment Required", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict",
           411: "Length Required", 413: "Payload Too Large",
           429: "Too Many Requests", 431: "Request Header Fields Too Large",
           500: "Internal Server Error"}
PARAMS = ("amount", "currency", "customer", "payment_method", "description",
          "metadata[payment_id]")
DECLINES = {"pm_card_declined": "generic_decline",
            "pm_card_insufficient_funds": "insufficient_funds"}
IN_FLIGHT = object()  # idempotency table value while a key executes


def err(etype, message, **extra):
    e = {"type": etype, "message": message}
    e.update(extra)
    return {"error": e}


def parse_form(body):
    out = {}
    if not body:
        return out
    for part in body.decode("utf-8", "replace").split("&"):
        k, _, v = part.partition("=")
        if "%" in k or "+" in k:
            k = unquote_plus(k)
        if "%" in v or "+" in v:
            v = unquote_plus(v)
        out[k] = v
    return out


class Gateway:
    """Idempotency table, charges, counters and fault settings. Event loop
    thread only."""

    def __init__(self, args):
        self.api_key = args.api_key
        self.rng = random.Random(args.seed)
        self.rate = args.fault_rate
        self.modes = args.fault_modes
        self.fail_first = args.fail_first
        self.retry_after = args.retry_after
        self.slow_ms = args.slow_ms
        self.reset()

    def reset(self):
        self.keys = {}   # key -> IN_FLIGHT | (params, status, body bytes)
        self.seen = {}   # key -> requests counted for --fail-first
        self.charges = []
        self.stats = {"requests": 0, "charges": 0, "replays": 0,
                      "declines": 0, "invalid": 0, "conflicts": 0,
                      "mismatches": 0, "faults": {}}

    def set_faults(self, cfg):
        """Applies a /_faults body; returns an error string or None."""
        if not isinstance(cfg, dict):
            return "a JSON object is needed"
        rate = cfg.get("rate", self.rate)
        modes = cfg.get("modes", self.modes)
        ints = {k: cfg.get(k, getattr(self, k))
                for k in ("fail_first", "retry_after", "slow_ms")}
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) \
                or not 0 <= rate <= 1:
            return "rate: a number in [0, 1] is needed"
        if isinstance(modes, str):
            modes = [m for m in modes.split(",") if m]
        if (not isinstance(modes, list)
                or any(m not in MODES for m in modes)):
            return "modes: a list of " + ", ".join(MODES) + " is needed"
        for k, v in ints.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                return k + ": a non-negative integer is needed"
        self.rate, self.modes = float(rate), list(modes)
        for k, v in ints.items():
            setattr(self, k, v)
        return None

    def faults_json(self):
        return {"rate": self.rate, "modes": self.modes,
                "fail_first": self.fail_first,
                "retry_after": self.retry_after, "slow_ms": self.slow_ms}

    def fault(self, key):
        """The fault to inject into this request of key, or None."""
        if self.fail_first:
            n = self.seen.get(key, 0) + 1
            self.seen[key] = n
            if n <= self.fail_first:
                return "fail_first"
        if self.rate and self.modes and self.rng.random() < self.rate:
            return self.rng.choice(self.modes)
        return None

    def count_fault(self, mode):
        f = self.stats["faults"]
        f[mode] = f.get(mode, 0) + 1

    def execute(self, key, params):
        """Runs a charge request (params: values in PARAMS order) and stores
        its answer under key. Returns (status, body bytes)."""
        status, obj = self.charge(key, dict(zip(PARAMS, params)))
        body = json.dumps(obj).encode()
        self.keys[key] = (params, status, body)
        return status, body

    def charge(self, key, p):
        st = self.stats
        for name in ("amount", "currency", "customer", "payment_method"):
            if not p.get(name):
                st["invalid"] += 1
                return 400, err("invalid_request_error",
                                "Missing required param: %s." % name,
                                code="parameter_missing", param=name)
        amount = p["amount"]
        # ASCII digits only ("\u0663".isdigit() is true), and few enough
        # for an int64 on the client's side.
        if not (amount.isascii() and amount.isdigit() and len(amount) <= 18
                and int(amount) > 0):
            st["invalid"] += 1
            return 400, err("invalid_request_error",
                            "Invalid positive integer: amount.",
                            code="parameter_invalid", param="amount")
        cur = p["currency"]
        if len(cur) != 3 or not cur.isascii() or not cur.islower() \
                or not cur.isalpha():
            st["invalid"] += 1
            return 400, err("invalid_request_error",
                            "Invalid currency: %s." % cur,
                            code="parameter_invalid", param="currency")
        pm = p["payment_method"]
        if pm in DECLINES:
            st["declines"] += 1
            return 402, err("card_error", "Your card was declined.",
                            code="card_declined", decline_code=DECLINES[pm])
        st["charges"] += 1
        cid = "ch_%d" % st["charges"]
        pid = p.get("metadata[payment_id]")
        self.charges.append({
            "id": cid, "key": key, "payment_id": pid, "amount": int(amount),
            "currency": cur, "customer": p["customer"], "payment_method": pm,
            "ts": time.time()})
        return 200, {"id": cid, "object": "charge", "amount": int(amount),
                     "currency": cur, "customer": p["customer"],
                     "payment_method": pm, "status": "succeeded",
                     "description": p.get("description"),
                     "metadata": {"payment_id": pid}}


class Conn(asyncio.BufferedProtocol):
    """One client connection: parses requests and answers them in order.
    While a slow request waits, reading pauses: later requests wait.

    A BufferedProtocol receives into one buffer per connection: a plain
    Protocol gets a fresh 256 KiB bytes object per recv, which glibc serves
    with mmap + munmap (page faults on every request) until its mmap
    threshold adapts, and that halved the rate of long-lived connections."""

    def __init__(self, gw):
        self.gw = gw
        self.rbuf = bytearray(RECV_SIZE)
        self.buf = b""
        self.busy = False
        self.tr = None
        self.close_after = False  # the request being answered said so

    def connection_made(self, transport):
        self.tr = transport

    def connection_lost(self, exc):
        self.buf = b""

    def get_buffer(self, sizehint):
        return self.rbuf

    def buffer_updated(self, nbytes):
        self.buf += self.rbuf[:nbytes]
        if not self.busy:
            self.run()

    def run(self):
        """Handles every complete request in the buffer, unless one waits."""
        while not self.busy and not self.tr.is_closing():
            buf = self.buf
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self.reply(431, err("invalid_request_error",
                                        "Header too large."), close=True)
                return
            lines = buf[:end].decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ")
            except ValueError:
                self.reply(400, err("invalid_request_error",
                                    "Bad request line."), close=True)
                return
            hdr = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                hdr[k.strip().lower()] = v.strip()
            if "transfer-encoding" in hdr:
                self.reply(411, err("invalid_request_error",
                                    "Content-Length needed."), close=True)
                return
            try:
                clen = int(hdr.get("content-length", "0"))
            except ValueError:
                clen = -1
            if not 0 <= clen <= MAX_BODY:
                self.reply(413, err("invalid_request_error",
                                    "Bad Content-Length."), close=True)
                return
            start = end + 4
            if len(buf) < start + clen:
                if hdr.get("expect", "").lower() == "100-continue" \
                        and len(buf) == start:
                    self.tr.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            body = buf[start:start + clen]
            self.buf = buf[start + clen:]
            conn = hdr.get("connection", "").lower()
            self.close_after = conn == "close" or (
                version != "HTTP/1.1" and conn != "keep-alive")
            try:
                self.handle(method, target, hdr, body)
            except Exception:  # a bug here: say so, keep serving others
                traceback.print_exc()
                self.reply(500, err("api_error", "Gateway bug."), close=True)

    def reply(self, status, obj=None, body=None, extra="", close=False):
        if self.tr.is_closing():
            return
        if body is None:
            body = json.dumps(obj).encode()
        close = close or self.close_after
        head = ("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\n%s%s\r\n"
                % (status, REASONS.get(status, "Error"), len(body), extra,
                   "Connection: close\r\n" if close else ""))
        self.tr.write(head.encode() + body)
        if close:
            self.tr.close()

    def handle(self, method, target, hdr, body):
        gw = self.gw
        path = target.split("?", 1)[0]
        if path == "/v1/charges":
            if method != "POST":
                return self.reply(405, err("invalid_request_error",
                                           "POST only."))
            return self.charge(hdr, body)
        if path == "/_charges" and method == "GET":
            return self.reply(200, gw.charges)
        if path == "/_stats" and method == "GET":
            return self.reply(200, gw.stats)
        if path == "/_faults" and method == "POST":
            try:
                cfg = json.loads(body or b"{}")
            except ValueError:
                cfg = None
            bad = gw.set_faults(cfg)
            if bad:
                return self.reply(400, err("invalid_request_error", bad))
            return self.reply(200, gw.faults_json())
        if path == "/_faults" and method == "GET":
            return self.reply(200, gw.faults_json())
        if path == "/_reset" and method == "POST":
            gw.reset()
            return self.reply(200, {"reset": True})
        return self.reply(404, err("invalid_request_error",
                                   "Unrecognized request URL."))

    def charge(self, hdr, body):
        gw = self.gw
        gw.stats["requests"] += 1
        if gw.api_key is not None \
                and hdr.get("authorization") != "Bearer " + gw.api_key:
            return self.reply(401, err("authentication_error",
                                       "Invalid API Key provided."))
        key = hdr.get("idempotency-key")
        if not key:
            return self.reply(400, err("invalid_request_error",
                                       "An Idempotency-Key header is "
                                       "required.",
                                       code="parameter_missing",
                                       param="Idempotency-Key"))
        mode = gw.fault(key)
        if mode:
            gw.count_fault(mode)
        if mode in ("500", "fail_first"):
            return self.reply(500, err("api_error", "An unexpected error "
                                       "occurred (injected fault)."))
        if mode == "429":
            return self.reply(429, err("rate_limit_error", "Too many "
                                       "requests (injected fault).",
                                       code="rate_limit"),
                              extra="Retry-After: %d\r\n" % gw.retry_after)
        if mode == "drop":
            return self.tr.close()
        params = parse_form(body)
        params = tuple(params.get(k) for k in PARAMS)
        stored = gw.keys.get(key)
        if stored is IN_FLIGHT:
            gw.stats["conflicts"] += 1
            return self.reply(409, err(
                "idempotency_error", "There is currently another in-progress "
                "request using this Idempotency-Key.",
                code="idempotency_key_in_use"))
        if stored is not None and stored[0] != params:
            gw.stats["mismatches"] += 1
            return self.reply(400, err(
                "idempotency_error", "Keys for idempotent requests can only "
                "be used with the same parameters they were first used with."))
        if mode == "slow":
            if stored is None:
                gw.keys[key] = IN_FLIGHT
            self.busy = True
            self.tr.pause_reading()  # later requests wait in the socket
            asyncio.get_running_loop().call_later(
                gw.slow_ms / 1000, self.finish, key, params, stored, None)
            return
        self.finish(key, params, stored, mode)

    def finish(self, key, params, stored, mode):
        gw = self.gw
        if stored is None:
            status, body = gw.execute(key, params)
            extra = ""
        else:
            gw.stats["replays"] += 1
            status, body = stored[1], stored[2]
            extra = "Idempotent-Replayed: true\r\n"
        if mode == "drop_after":
            self.tr.close()
        else:
            self.reply(status, body=body, extra=extra)
        if self.busy:
            self.busy = False
            if not self.tr.is_closing():
                self.tr.resume_reading()
                self.run()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key")
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--fault-modes", default=",".join(MODES))
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--retry-after", type=int, default=1)
    ap.add_argument("--slow-ms", type=int, default=3000)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    args.fault_modes = [m for m in args.fault_modes.split(",") if m]
    bad = [m for m in args.fault_modes if m not in MODES]
    if bad or not 0 <= args.fault_rate <= 1 or min(
            args.fail_first, args.retry_after, args.slow_ms, args.port) < 0:
        ap.error("bad fault settings: modes are " + ",".join(MODES)
                 + "; rate in [0, 1]; counts non-negative")
    asyncio.run(serve(args))


async def serve(args):
    loop = asyncio.get_running_loop()
    gw = Gateway(args)
    server = await loop.create_server(lambda: Conn(gw), "127.0.0.1",
                                      args.port, backlog=1024,
                                      reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(0))
    await stop
    server.close()


if __name__ == "__main__":
    main()
