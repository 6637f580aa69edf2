"""Hostile clients against a real azod (pyzmq + msgpack, /usr/bin/python3):
a storm of 10,000 garbage requests interleaved with valid ones, a client
that floods requests and never reads its replies (the caps on pending
requests, runtime/azo_ctl.h), and subscribers that never read events. azod
must answer every valid request correctly, answer garbage with clear
errors, keep serving other clients, and keep its memory (VmRSS) within a
small margin. The figures are printed so that they can be quoted."""
import os
import random
import signal
import time
import unittest

import zmq

from azo_it import DEADLINE, NodeTest, pack, unpack, wait_for

MiB = 1 << 20
MAX_MSG = MiB  # limits/max_msg, the default
CLIENT_CAP = 1000  # AZO_CTL_CLIENT_PENDING
NODE_CAP = 10000  # AZO_CTL_PENDING
# How much VmRSS may grow over a storm after warm-up. Under ASan freed
# memory sits in a quarantine before it is reused: the nodes of these tests
# get a 16 MiB one (256 MiB by default) and a margin to match.
MARGIN = 8 * MiB
ASAN_QUARANTINE_MB = 16
ASAN_MARGIN = (ASAN_QUARANTINE_MB + 32) * MiB


def rss(pid):
    """VmRSS of pid in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def sanitized(pid):
    """True when pid runs with AddressSanitizer."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def mib(n):
    return "%.1f MiB" % (n / MiB)


def req(rid, cmd, args=None):
    body = {"v": 1, "id": rid, "cmd": cmd}
    if args is not None:
        body["args"] = args
    return pack(body)


def _nested(rid, depth):
    """A ping request whose args nest depth maps deep."""
    return (b"\x84\xa1v\x01\xa2id" + pack(rid) + b"\xa3cmd\xa4ping\xa4args"
            + b"\x81\xa1k" * depth + b"\x01")


def _truncated(rnd, body):
    return body[:rnd.randrange(1, len(body))]


# Garbage: (kind, make(rnd, rid) -> frames, id readable?, error code). A
# reply must carry the request's id when it is readable, nil otherwise.
GARBAGE = [
    ("random bytes",
     lambda rnd, rid: [b"\xc1" + rnd.randbytes(rnd.randint(0, 300))],
     False, "bad_request"),
    ("random bytes",
     lambda rnd, rid: [bytes([rnd.choice(range(0x90, 0xde))])
                       + rnd.randbytes(rnd.randint(0, 300))],
     False, "bad_request"),
    ("truncated msgpack",
     lambda rnd, rid: [_truncated(rnd, req(rid, "ping"))],
     False, "bad_request"),
    ("wrong types or keys",
     lambda rnd, rid: [pack(rnd.choice([
         {"v": 1, "id": rid, "cmd": 5},
         {"v": "1", "id": rid, "cmd": "ping"},
         {"v": 2, "id": rid, "cmd": "ping"},
         {"v": 1, "id": rid, "cmd": "ping", "args": [1]},
         {"v": 1, "id": rid, "cmd": "PING"},
         {"v": 1, "id": rid, "cmd": "ping", "x": None},
         {"v": 1, "id": rid}]))],
     True, "bad_request"),
    ("unreadable id",
     lambda rnd, rid: [pack(rnd.choice([
         {"v": 1, "id": "7", "cmd": "ping"},
         {"v": 1, "id": -rid, "cmd": "ping"},
         {"v": 1, "id": 1.5, "cmd": "ping"},
         {"v": 1, "cmd": "ping"},
         [1, 2, 3], 42, "ping", None]))],
     False, "bad_request"),
    ("huge declared length",
     lambda rnd, rid: [rnd.choice([b"\xdb", b"\xdd", b"\xdf", b"\xc6"])
                       + rnd.choice([0xffffffff, 0x7fffffff, 0x10000])
                       .to_bytes(4, "big") + b"x" * rnd.randrange(64)],
     False, "bad_request"),
    ("deep nesting",
     lambda rnd, rid: [_nested(rid, rnd.choice([17, 100, 10000]))],
     False, "bad_request"),
    ("deep nesting",
     lambda rnd, rid: [b"\x91" * rnd.choice([1000, 100000]) + b"\x01"],
     False, "bad_request"),
    ("unknown command",
     lambda rnd, rid: [req(rid, rnd.choice(["bogus", "actor.bogus",
                                            "sched.bogus", "health.nope",
                                            "x" * 64]))],
     True, "unknown_command"),
    ("bad actor arguments",
     lambda rnd, rid: [req(rid, "actor.restart",
                           rnd.choice([{"name": 5}, {}, None,
                                       {"name": "a", "b": 1}]))],
     True, "bad_request"),
    ("unknown actor",
     lambda rnd, rid: [req(rid, "actor.stop", {"name": "zz"})],
     True, "not_found"),
    # Large but within limits/max_msg: a 64 KiB name.
    ("large args",
     lambda rnd, rid: [req(rid, "actor.restart", {"name": "x" * 65536})],
     True, "not_found"),
    ("multi-frame",
     lambda rnd, rid: rnd.choice([[req(rid, "ping"), b"x"],
                                  [b"a", b"b", b"c"],
                                  [b"", req(rid, "ping"), b""],
                                  [b"x"] * 50, [b"", b"", b""],
                                  [b"x", req(rid, "ping")]]),
     False, "bad_request"),
    ("empty frames",
     lambda rnd, rid: rnd.choice([[b""], [b"", b""]]),
     False, "bad_request"),
    ("invalid utf-8, ext type, trailing bytes",
     lambda rnd, rid: [rnd.choice([
         b"\x83\xa1v\x01\xa2id\x01\xa3cmd\xa2\xc3\x28", b"\xd4\x01\x00",
         req(rid, "ping") + b"\x00"])],
     False, "bad_request"),
]

# Exactly limits/max_msg: libzmq takes it, the decoder refuses it.
AT_LIMIT = ("frame of exactly limits/max_msg",
            lambda rnd, rid: [b"\xc1" + b"\x00" * (MAX_MSG - 1)],
            False, "bad_request")


class Storm:
    """Generates the storm from a seed: next() returns (id, frames,
    expect); expect is ("ok", check) or ("err", code) for a reply with that
    id, or ("nil", code) for one whose id could not be read. Ids are
    unique; counts tallies what was sent, by kind."""

    # Valid requests: (kind, command, args, check of the result or None
    # when the expected answer is `unavailable`).
    VALID = [
        ("valid ping", "ping", None, lambda res: res["node"] == "alpha"),
        ("valid status", "status", None,
         lambda res: res["requests"]["pending"] >= 1),
        ("valid sched.ping (routed)", "sched.ping", None,
         lambda res: res["actor"] == "scheduler"),
        ("valid sched.list (routed)", "sched.list", {"limit": 1},
         lambda res: "jobs" in res and "more" in res),
        ("valid health.status (routed)", "health.status", None,
         lambda res: "targets" in res and "node" in res),
        ("valid mining.cache (routed)", "mining.cache", None,
         lambda res: "keys" in res and "ttl_ms" in res),
    ]

    def __init__(self, seed):
        self.rnd = random.Random(seed)
        self.last_id = 0
        self.counts = {}

    def count(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def next(self, garbage):
        self.last_id += 1
        rid = self.last_id
        if not garbage:
            kind, cmd, args, check = self.rnd.choice(self.VALID)
            frames = [req(rid, cmd, args)]
            if self.rnd.randrange(4) == 0:
                frames = [b""] + frames  # a DEALER speaking like REQ
            self.count(kind)
            return rid, frames, (("ok", check) if check
                                 else ("err", "unavailable"))
        entry = (AT_LIMIT if self.rnd.randrange(1000) == 0
                 else self.rnd.choice(GARBAGE))
        kind, make, readable, code = entry
        self.count("garbage: " + kind)
        if readable:
            return rid, make(self.rnd, rid), ("err", code)
        return None, make(self.rnd, rid), ("nil", code)


class HostileTest(NodeTest):
    def setUp(self):
        super().setUp()
        # Only the azod processes of this test see it; the other
        # sanitizer options stay as the caller set them.
        old = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = ((old + ":") if old else "") + \
            "quarantine_size_mb=%d" % ASAN_QUARANTINE_MB
        self.addCleanup(self._restore_env, old)

    @staticmethod
    def _restore_env(old):
        if old is None:
            os.environ.pop("ASAN_OPTIONS", None)
        else:
            os.environ["ASAN_OPTIONS"] = old

    def rss(self, n):
        """VmRSS of azod after a round trip (the node is idle again)."""
        self.assertTrue(n.call("ping")["ok"])
        time.sleep(0.2)
        return rss(n.proc.pid)

    def margin(self, n):
        return ASAN_MARGIN if sanitized(n.proc.pid) else MARGIN

    def run_storm(self, n, storm, garbage, valid, socks, big, window=200):
        """Sends garbage + valid messages in shuffled windows, each window
        on the next socket of socks, and checks every reply; every 1000
        messages an oversized frame goes on big (the node drops that
        connection: no reply). Returns how many replies were checked."""
        plan = [True] * garbage + [False] * valid
        storm.rnd.shuffle(plan)
        replies = 0
        for w in range(0, len(plan), window):
            sock = socks[(w // window) % len(socks)]
            by_id = {}
            nil = {}
            for g in plan[w:w + window]:
                rid, frames, expect = storm.next(g)
                if rid is None:
                    nil[expect[1]] = nil.get(expect[1], 0) + 1
                else:
                    by_id[rid] = expect
                sock.send_multipart(frames)
            if w % 1000 == 0:
                big.send(b"\x80" + b"\x00" * MAX_MSG)  # max_msg + 1 bytes
                storm.count("oversized frame, on its own socket (no reply)")
            want = len(by_id) + sum(nil.values())
            for _ in range(want):
                self.assertTrue(sock.poll(DEADLINE * 1000),
                                "no reply; still owed: %d by id, %r nil"
                                % (len(by_id), nil))
                frames = sock.recv_multipart()
                self.assertIn(len(frames), (1, 2), frames)
                if len(frames) == 2:
                    self.assertEqual(frames[0], b"")
                rep = unpack(frames[-1])
                self.assertEqual(rep["v"], 1, rep)
                rid = rep["id"]
                if rid is None:
                    self.assertFalse(rep["ok"], rep)
                    code = rep["error"]["code"]
                    self.assertGreater(nil.get(code, 0), 0, rep)
                    nil[code] -= 1
                else:
                    self.assertIn(rid, by_id, rep)
                    expect = by_id.pop(rid)
                    if expect[0] == "ok":
                        self.assertTrue(rep["ok"], rep)
                        self.assertTrue(expect[1](rep["result"]), rep)
                    else:
                        self.assertFalse(rep["ok"], rep)
                        self.assertEqual(rep["error"]["code"], expect[1], rep)
                if not rep["ok"]:
                    msg = rep["error"]["message"]
                    self.assertTrue(msg and "\n" not in msg, rep)
                replies += 1
            self.assertEqual(by_id, {})
        return replies

    def test_garbage_storm_is_answered_and_memory_stays_flat(self):
        n = self.node()
        socks = [n.socket() for _ in range(4)]
        big = n.socket()
        storm = Storm(20261123)
        # Warm-up: every kind of message, so that allocator pools and
        # queues reach their steady size before the first figure.
        self.run_storm(n, storm, 2000, 400, socks, big)
        st0 = n.call("status")["result"]["requests"]
        before = self.rss(n)
        storm.counts = {}
        replies = self.run_storm(n, storm, 10000, 2000, socks, big)
        after = self.rss(n)
        st1 = n.call("status")["result"]["requests"]
        self.assertFalse(big.poll(0))  # oversized frames get no reply
        for s in socks:
            self.assertFalse(s.poll(0))  # nor any other extra reply
        print("\n  storm: 10000 garbage and 2000 valid requests, %d replies "
              "checked; azod VmRSS %s before, %s after (%+.1f MiB)"
              % (replies, mib(before), mib(after), (after - before) / MiB))
        for kind in sorted(storm.counts):
            print("    %6d  %s" % (storm.counts[kind], kind))
        print("  status requests: total +%d, bad +%d, pending %d"
              % (st1["total"] - st0["total"], st1["bad"] - st0["bad"],
                 st1["pending"]))
        self.assertEqual(replies, 12000)
        self.assertEqual(st1["pending"], 1)  # this status request
        self.assertLess(after - before, self.margin(n))
        self.assertIsNone(n.proc.poll())
        self.assertTrue(n.call("ping")["ok"])
        for s in socks + [big]:
            s.close()

    def flood_node(self):
        """A node whose scheduler is a process actor, and that waits long
        for it: with the actor stopped (SIGSTOP), its requests stay
        pending. Its queue holds more than NODE_CAP (a full queue would
        refuse requests before the node-wide cap is reached)."""
        cfg = self.write_cfg(
            "actors\n    scheduler\n        mode = process\n"
            "        heartbeat = 1h\n    health-checker\n"
            "    mining-optimizer\n    payment-recovery\n    archiver\n")
        n = self.node(config=cfg, sets=["supervisor/request_timeout=1h",
                                          "limits/queue=20000"])
        return n, n.actors()["scheduler"]["pid"]

    def pending(self, n):
        """Requests pending on n (status not counted); NODE_CAP when status
        itself is refused for being over the node-wide cap."""
        rep = n.call("status")
        if rep["ok"]:
            return rep["result"]["requests"]["pending"] - 1
        self.assertIn("on this node (limit %d)" % NODE_CAP,
                      rep["error"]["message"])
        return NODE_CAP

    def test_flooding_client_gets_cap_errors_others_are_served(self):
        n, actor = self.flood_node()
        base = self.rss(n)
        os.kill(actor, signal.SIGSTOP)
        self.addCleanup(_signal, actor, signal.SIGCONT)
        flood = n.socket()
        flood.setsockopt(zmq.SNDTIMEO, int(DEADLINE * 1000))
        other = n.socket()
        for i in range(3 * CLIENT_CAP):
            flood.send(req(i + 1, "sched.list"))  # never read until the end
            if i % 500 == 499:
                # Another client is answered while the flood goes on.
                rep = n.request(other, req(100000 + i, "ping"), DEADLINE)
                self.assertTrue(rep["ok"] and rep["id"] == 100000 + i, rep)
        wait_for(lambda: self.pending(n) == CLIENT_CAP,
                 "the flooding client's requests to be read")
        at_client_cap = rss(n.proc.pid)

        # The node-wide cap: more clients until 10,000 are pending.
        clients = []
        while len(clients) < NODE_CAP // CLIENT_CAP - 1:
            c = n.socket()
            c.setsockopt(zmq.SNDTIMEO, int(DEADLINE * 1000))
            clients.append(c)
            for i in range(CLIENT_CAP):
                c.send(req(i + 1, "sched.list"))
            k = len(clients)
            wait_for(lambda: self.pending(n) == CLIENT_CAP * (k + 1),
                     "the requests of client %d to be read" % k)
        # Over the node-wide cap, every request is refused at once, even
        # one the supervisor would answer itself: nothing more is held.
        late = n.socket()
        refused = 0
        for w in range(0, 20000, 500):
            for i in range(w, w + 500):
                late.send(req(i + 1, "sched.list" if i % 2 else "ping"))
            for i in range(500):
                self.assertTrue(late.poll(DEADLINE * 1000))
                rep = unpack(late.recv())
                self.assertEqual(rep["error"]["code"], "unavailable", rep)
                self.assertEqual(rep["error"]["message"],
                                 "too many pending requests on this node "
                                 "(limit %d)" % NODE_CAP)
                refused += 1
            if w == 0:
                at_node_cap = rss(n.proc.pid)
        after_more = rss(n.proc.pid)

        # The flooding client got cap errors for what it sent over its cap.
        got = 0
        while flood.poll(1000):
            rep = unpack(flood.recv())
            self.assertEqual(rep["error"]["code"], "unavailable", rep)
            self.assertGreater(rep["id"], CLIENT_CAP, rep)
            self.assertEqual(rep["error"]["message"],
                             "too many pending requests from this client "
                             "(limit %d)" % CLIENT_CAP)
            got += 1
        self.assertGreater(got, 0)

        # Once the actor runs again, everything pending is answered.
        os.kill(actor, signal.SIGCONT)
        wait_for(lambda: self.pending(n) == 0, "pending requests to drain")
        rep = n.request(other, req(7, "sched.list"), DEADLINE)
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(rep["result"]["count"], 0, rep)
        end = self.rss(n)
        print("\n  flood: azod VmRSS %s idle, %s with %d pending from one "
              "client, %s with %d pending in all, %s after %d more refused, "
              "%s drained; the flooding client read %d cap errors"
              % (mib(base), mib(at_client_cap), CLIENT_CAP, mib(at_node_cap),
                 NODE_CAP, mib(after_more), refused, mib(end), got))
        self.assertLess(after_more - at_node_cap, self.margin(n))
        # 10,000 pending requests take a few MiB (entries, queued bodies).
        self.assertLess(at_node_cap - base, 32 * MiB + self.margin(n))
        for s in clients + [flood, other, late]:
            s.close()

    def test_configured_caps_apply(self):
        """limits/client_pending and limits/pending set the caps; status
        counts what was refused."""
        cfg = self.write_cfg(
            "actors\n    scheduler\n        mode = process\n"
            "        heartbeat = 1h\n")
        n = self.node(config=cfg, sets=["supervisor/request_timeout=1h",
                                          "limits/client_pending=3",
                                          "limits/pending=5"])
        actor = n.actors()["scheduler"]["pid"]
        os.kill(actor, signal.SIGSTOP)
        self.addCleanup(_signal, actor, signal.SIGCONT)
        a, b = n.socket(), n.socket()
        for i in range(4):
            a.send(req(i + 1, "sched.list"))
        self.assertTrue(a.poll(int(DEADLINE * 1000)))
        rep = unpack(a.recv())
        self.assertEqual((rep["id"], rep["error"]["message"]),
                         (4, "too many pending requests from this client "
                             "(limit 3)"))
        for i in range(3):
            b.send(req(i + 1, "sched.list"))
        self.assertTrue(b.poll(int(DEADLINE * 1000)))
        rep = unpack(b.recv())
        self.assertEqual((rep["id"], rep["error"]["message"]),
                         (3, "too many pending requests on this node "
                             "(limit 5)"))
        os.kill(actor, signal.SIGCONT)
        # Until the actor has drained, a status request is itself over the
        # node-wide cap: refused, and counted as such.
        extra = [0]

        def drained():
            rep = n.call("status")
            if not rep["ok"]:
                self.assertIn("on this node (limit 5)",
                              rep["error"]["message"])
                extra[0] += 1
                return False
            return rep["result"]["requests"]["pending"] == 1
        wait_for(drained, "pending requests to drain")
        self.assertEqual(n.call("status")["result"]["requests"]["refused"],
                         2 + extra[0])
        a.close()
        b.close()

    def test_slow_subscribers_do_not_stall_the_node(self):
        n = self.node()
        subs = [n.subscriber("") for _ in range(5)]
        ctl = n.socket()
        rid = [0]

        def restart():
            rid[0] += 1
            rep = n.request(ctl, req(rid[0], "actor.restart",
                                     {"name": "archiver"}), DEADLINE)
            self.assertTrue(rep["ok"], rep)

        # Until every subscription is in place; then nobody reads again.
        end = time.monotonic() + DEADLINE
        while not all(s.poll(0) for s in subs):
            self.assertLess(time.monotonic(), end, "no events")
            restart()
        for _ in range(600):  # warm-up: fills every subscriber's queue
            restart()
        before = self.rss(n)
        for i in range(1500):
            restart()
            if i % 100 == 0:
                rep = n.request(ctl, req(10 ** 6 + i, "ping"), DEADLINE)
                self.assertTrue(rep["ok"], rep)
        after = self.rss(n)
        got = 0
        while subs[0].poll(100):
            subs[0].recv_multipart()
            got += 1
        print("\n  slow subscribers: %d restarts (3 events each), 5 "
              "subscribers never reading; one holds %d events; azod VmRSS "
              "%s before, %s after (%+.1f MiB)"
              % (rid[0], got, mib(before), mib(after), (after - before) / MiB))
        self.assertLess(got, 3 * rid[0])  # events were dropped, not queued
        self.assertLess(after - before, self.margin(n))
        for s in subs + [ctl]:
            s.close()


if __name__ == "__main__":
    unittest.main()
