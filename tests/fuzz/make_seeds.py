#!/usr/bin/env python3
"""make_seeds.py — writes the seed corpus of the fuzz targets into
tests/fuzz/corpus/<target>/: small valid and near-valid inputs of each kind
(docs/protocol.md, docs/fuzzing.md). Needs only Python 3: a minimal msgpack
packer is below, so that the bytes do not depend on a library's choices.
Rewrites the seeds it knows and leaves other files (crash reproducers) alone.

    python3 tests/fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Raw(bytes):
    """Bytes written as they are, not packed."""


class Bin(bytes):
    """A msgpack bin object."""


def pack(o):
    """Packs o in msgpack's shortest forms (dicts keep their order)."""
    if isinstance(o, Raw):
        return bytes(o)
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, int):
        if 0 <= o < 0x80:
            return bytes([o])
        if -32 <= o < 0:
            return struct.pack("b", o)
        if o >= 0:
            for tag, fmt, lim in ((0xcc, ">B", 1 << 8), (0xcd, ">H", 1 << 16),
                                  (0xce, ">I", 1 << 32), (0xcf, ">Q", 1 << 64)):
                if o < lim:
                    return bytes([tag]) + struct.pack(fmt, o)
        for tag, fmt, lim in ((0xd0, ">b", 1 << 7), (0xd1, ">h", 1 << 15),
                              (0xd2, ">i", 1 << 31), (0xd3, ">q", 1 << 63)):
            if o >= -lim:
                return bytes([tag]) + struct.pack(fmt, o)
        raise ValueError(o)
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, Bin):
        return b"\xc4" + bytes([len(o)]) + bytes(o)
    if isinstance(o, (str, bytes)):
        b = o.encode() if isinstance(o, str) else o  # bytes: a raw str body
        n = len(b)
        if n < 32:
            return bytes([0xa0 | n]) + b
        if n < 256:
            return b"\xd9" + bytes([n]) + b
        return b"\xda" + struct.pack(">H", n) + b
    if isinstance(o, list):
        n = len(o)
        head = bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n)
        return head + b"".join(pack(x) for x in o)
    if isinstance(o, dict):
        n = len(o)
        head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
        return head + b"".join(pack(k) + pack(v) for k, v in o.items())
    raise TypeError(type(o))


def req(id_, cmd, args=None, **extra):
    m = {"v": 1, "id": id_, "cmd": cmd}
    if args is not None:
        m["args"] = args
    m.update(extra)
    return pack(m)


def reply_ok(id_, result):
    return pack({"v": 1, "id": id_, "ok": True, "result": result})


def reply_err(id_, code, message):
    return pack({"v": 1, "id": id_, "ok": False,
                 "error": {"code": code, "message": message}})


def event(topic, **fields):
    body = {"v": 1, "ts": 1718000000000, "node": "alpha", "src": "sup"}
    body.update(fields)
    return topic.encode() + b"\0" + pack(body)


def life(ev, gen=1, pid=4242, standby=False, failed=False, reason="",
         next_=None):
    m = {"ev": ev, "gen": gen, "pid": pid, "standby": standby,
         "failed": failed, "reason": reason}
    if next_ is not None:
        m["next"] = next_
    return pack(m)


def frame(kind, from_, to, token, body):
    return (kind.encode() + b"\0" + struct.pack(">HHQ", from_, to, token) +
            body)


ARGS_ALL_TYPES = {"job": "nightly", "every": "5m", "n": 7, "neg": -3,
                  "big": 1 << 40, "on": True, "off": False, "none": None,
                  "pi": 3.25, "raw": Bin(b"\x00\x01"), "list": [1, "a", []],
                  "map": {"k": {"deep": [0]}}, "utf8": "né ✓ 𝄞"}

SEEDS = {
    "fuzz_request": {
        "status": req(1, "status", {}),
        "ping-no-args": req(2, "ping"),
        "args-nil": pack({"v": 1, "id": 3, "cmd": "status", "args": None}),
        "actor-start": req(4, "actor.start", {"name": "scheduler"}),
        "sched-run": req(5, "sched.run", {"job": "nightly"}),
        "args-every-type": req(6, "pay.submit", ARGS_ALL_TYPES),
        "id-max": req((1 << 64) - 1, "shutdown", {}),
        "long-forms": Raw(b"\xde\x00\x04" + pack("v") + b"\xd0\x01" +
                          pack("id") + b"\xcf" + struct.pack(">Q", 9) +
                          pack("cmd") + b"\xd9\x06status" + pack("args") +
                          b"\xdf\x00\x00\x00\x00"),
        "bad-unknown-key": req(7, "status", {}, extra=1),
        "bad-version": pack({"v": 2, "id": 8, "cmd": "status"}),
        "bad-cmd-name": req(9, "Status!"),
        "bad-args-array": req(10, "status", [1, 2]),
        "bad-no-id": pack({"v": 1, "cmd": "status"}),
        "bad-truncated": req(11, "sched.run", {"job": "nightly"})[:-3],
        "bad-not-map": pack(["v", 1]),
        "bad-ext": Raw(b"\x81\xa1x\xd4\x01\x00"),
        "bad-key-not-str": Raw(b"\x81\x01\x02"),
        "bad-utf8": pack({"v": 1, "id": 12, "cmd": b"st\xffus"}),
        "bad-deep": Raw(b"\x91" * 17 + b"\xc0"),
        "bad-huge-array": Raw(b"\xdd\xff\xff\xff\xff\x00"),
    },
    "fuzz_reply_event": {
        "reply-ok": reply_ok(1, {"node": "alpha", "version": "0.1.0"}),
        "reply-err": reply_err(2, "unknown_command",
                               "unknown command 'bogus'"),
        "reply-nil-id": pack({"v": 1, "id": None, "ok": False,
                              "error": {"code": "bad_request",
                                        "message": "empty message"}}),
        "reply-bad-no-result": pack({"v": 1, "id": 3, "ok": True}),
        "event-started": event("sup.actor.started", actor="scheduler",
                               mode="thread", gen=1, pid=4242,
                               adopted=False),
        "event-exited": event("sup.actor.exited", actor="archiver",
                              reason="signal 9", detail="signal 9", gen=2,
                              pid=99, uptime_ms=1500, restart_in_ms=None),
        "event-bad-topic": b"bad topic\0" + pack({"v": 1}),
        "event-bad-no-ts": b"sup.x\0" + pack({"v": 1, "node": "a",
                                             "src": "b"}),
        "life-hb": life("hb"),
        "life-hb-standby": life("hb", gen=0, standby=True),
        "life-exit": life("exit", gen=3, failed=True,
                          reason="init: no store\n(exit 1)", next_=4),
        "life-term": life("term", pid=1),
        "life-bad-gen": life("ready", gen=1 << 33),
        "frame-request": frame("Q", 0, 3, 17, req(1, "sched.list", {})),
        "frame-cast": frame("C", 3, 4, 0, req(2, "health.check", None)),
        "frame-reply": frame("R", 4, 3, 17, reply_ok(1, {})),
        "frame-life": frame("L", 2, 0, 0, life("ready", gen=5)),
        "frame-event": frame("E", 2, 0, 0, event("sched.job.fired",
                                                 job="nightly")),
        "node-hello": pack({"v": 1, "t": "hello", "node": "beta",
                            "version": "0.1.0", "pid": 7,
                            "need_config": False,
                            "actors": [{"name": "scheduler", "epoch": 3,
                                        "state": "running", "mode": "thread",
                                        "gen": 2, "restarts": 1, "pid": 7,
                                        "uptime_ms": 900,
                                        "last_exit": None}]}),
        "frame-node-state": frame("N", 0, 0, 0, pack(
            {"v": 1, "t": "state", "node": "alpha", "heartbeat_ms": 200,
             "liveness": 3, "config": "node\n    name = alpha\n",
             "assign": [{"name": "scheduler", "epoch": 3}]})),
        "frame-bad-kind": frame("X", 1, 2, 3, b"\x80"),
        "frame-bad-short": b"Q\0\0\1\0\2",
    },
    "fuzz_actor_cmds": {
        "args-empty": pack({}),
        "args-nil": pack(None),
        "args-job": pack({"job": "nightly"}),
        "args-schedule": pack({"job": "backup", "every": "6h",
                               "cron": "0 3 * * *", "paused": False}),
        "args-payment": pack({"id": "pay-0001", "amount": 12.5,
                              "currency": "EUR", "attempts": 3}),
        "args-every-type": pack(ARGS_ALL_TYPES),
        "args-list": pack({"limit": 100, "after": "pay-0100",
                           "state": ["failed", "dead"]}),
        "bad-array": pack([1, 2, 3]),
        "bad-int": pack(42),
        "bad-truncated": pack({"job": "nightly"})[:-2],
        "bad-two-objects": pack({}) + pack({}),
        "bad-ext": Raw(b"\x81\xa1k\xd4\x01\x00"),
        "bad-key-not-str": Raw(b"\x81\x01\x02"),
    },
}

CFG_MIN = b"node\n    name = beta\n"
CFG_FULL = b"""node
    name = gamma
    data_dir = "/var/lib/azo"   # quoted
endpoints
    control = ipc:///tmp/azo.ctl
    events = tcp://[::1]:7711
    cluster = tcp://127.0.0.1:*
supervisor
    strategy = rest_for_one
    max_restarts = 5
    period = 1h30m
    request_timeout = 250ms
store
    map_size = 64MiB
limits
    max_msg = 64K
    queue = 16
actors
    scheduler
        mode = process
        restart = transient
        shutdown = 2s
        standby = yes
        backoff
            min = 0
            max = 1m
            factor = 1.5
            jitter = 0.25
    archiver
"""

SEEDS["fuzz_config"] = {
    "azo-cfg": open(os.path.join(ROOT, "configs", "azo.cfg"), "rb").read(),
    "minimal": CFG_MIN,
    "full": CFG_FULL,
    "crlf": CFG_MIN.replace(b"\n", b"\r\n"),
    "with-sets": CFG_MIN + b"\0supervisor/period=5s\0"
                 b"actors/scheduler/mode=process\0/limits/queue=64",
    "empty-with-set": b"\0node/name=delta",
    "bad-indent": b"node\n   name = beta\n",
    "bad-tab": b"node\n\tname = beta\n",
    "bad-unknown-key": CFG_MIN + b"bogus = 1\n",
    "bad-duration": CFG_MIN + b"supervisor\n    period = 60\n",
    "bad-endpoint": CFG_MIN + b"endpoints\n    control = tcp://300.1.1.1:0\n",
    "bad-quote": CFG_MIN + b"store\n    map_size = \"1GiB\n",
    "bad-section-value": CFG_MIN + b"actors = scheduler\n",
    "bad-duplicate": CFG_MIN + b"node\n    name = again\n",
    "bad-set": CFG_MIN + b"\0supervisor//period=5s\0nosuchequals",
    "bad-utf8": CFG_MIN + b"# caf\xc3\n",
}


def main():
    for target, seeds in SEEDS.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
