"""The mining-optimizer actor (#9) from the outside: ticks over the control
endpoint and over an external PUB feed, market files in a watched
directory, mining.switch only when the rules allow it, the LMDB cache keys
present and expiring after their TTL, mining report through azoctl, the
switch and optimizer commands, session exports, bad input and bad config.
Real azod processes, ipc endpoints, pyzmq client (/usr/bin/python3)."""
import json
import math
import os
import stat
import subprocess
import time
import unittest

import msgpack
import zmq

from azo_it import AZOD, NodeTest, pack, recv_event, wait_for

KEYS = ["mining:optimization:report", "mining:optimization:timestamp",
        "mining:optimization:total_profit",
        "mining:optimization:best_algorithm",
        "mining:optimization:last_run"]

# A rig of two algorithms; electricity 0.10/kWh, no fee: profit per day of
# a coin = coins/day * price - watts * 24 / 1000 * 0.10.
RIG = """actors
    mining-optimizer
        interval = 1h
        report_ttl = %(ttl)s
        confirmations = 2
        min_dwell = %(dwell)s
        switch_threshold = 0.05
        ema_alpha = %(alpha)s
        outlier_factor = %(factor)s
%(extra)s        rig
            algorithms
                sha256
                    hashrate = 100T
                    watts = 1000
                scrypt
                    hashrate = 1G
                    watts = 1000
        electricity
            price = 0.10
"""


def tick(sym, algo, daily_revenue, **kw):
    """A tick whose coin earns daily_revenue per day on RIG: block_time 86.4 s
    (1000 blocks a day), reward 1, network = 1000 x the rig's hashrate, so
    the rig mines 1 coin a day and the price is the revenue."""
    rig_h = 100e12 if algo == "sha256" else 1e9
    t = {"symbol": sym, "algorithm": algo, "price": daily_revenue,
         "block_reward": 1, "block_time": 86.4, "net_hashrate": rig_h * 1000}
    t.update(kw)
    return t


class MiningTest(NodeTest):
    def start(self, ttl="1h", dwell="0", extra="", alpha="1", factor="0",
              **kw):
        cfg = RIG % {"ttl": ttl, "dwell": dwell, "extra": extra,
                     "alpha": alpha, "factor": factor}
        return self.node(config=self.write_cfg(cfg), **kw)

    def ok(self, n, cmd, args=None, timeout=10.0):
        rep = n.call(cmd, args, timeout=timeout)
        self.assertTrue(rep["ok"], rep)
        return rep["result"]

    def market(self, n, *ticks):
        return self.ok(n, "mining.market", {"ticks": list(ticks)})

    def no_event(self, sub, topic, wait=0.3):
        """Fails if an event on topic arrives within wait seconds."""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            if sub.poll(int((end - time.monotonic()) * 1000) + 1):
                t, _ = sub.recv_multipart()
                self.assertFalse(t.decode().startswith(topic), t)

    def test_minimal_report_and_cache_keys_expire(self):
        n = self.start(ttl="1500ms")
        sub = n.subscriber("mining.report")
        time.sleep(0.2)
        rep = self.ok(n, "mining.report")
        # The event: each key once (the envelope's v, ts, node and src are
        # not repeated from the report), and no negative zero.
        wait_for(lambda: sub.poll(100), "the mining.report event")
        _, raw = sub.recv_multipart()
        pairs = msgpack.unpackb(raw, raw=False, object_pairs_hook=list)
        keys = [k for k, _ in pairs]
        self.assertEqual(len(keys), len(set(keys)), keys)
        ev = dict(pairs)
        self.assertEqual(ev["src"], "mining-optimizer")
        self.assertEqual(ev["mode"], "minimal")
        self.assertEqual(math.copysign(1, ev["idle_profit"]), 1.0)
        self.assertFalse(rep["cached"])
        self.assertEqual(sorted(rep["keys"]), sorted(KEYS))
        r = rep["keys"]["mining:optimization:report"]["value"]
        self.assertEqual(r["mode"], "minimal")
        self.assertIn("no market data", r["reason"])
        self.assertIsNone(r["best"])
        self.assertIsNone(
            rep["keys"]["mining:optimization:best_algorithm"]["value"])
        # A second report within the TTL is the cached one.
        again = self.ok(n, "mining.report")
        self.assertTrue(again["cached"])
        self.assertEqual(again["keys"]["mining:optimization:timestamp"],
                         rep["keys"]["mining:optimization:timestamp"])
        # azoctl shows the keys and the report.
        out = n.azoctl("mining", "report")
        self.assertEqual(out.returncode, 0, out.stderr)
        for k in KEYS:
            self.assertIn(k, out.stdout)
        self.assertIn("mode:      minimal", out.stdout)
        # After the TTL the keys are gone from LMDB (mining.cache only
        # looks, never recomputes).
        wait_for(lambda: self.ok(n, "mining.cache")["keys"] == {},
                 "the cache keys to expire")
        self.assertFalse(self.ok(n, "mining.report")["cached"])

    def test_ticks_over_control_and_switching_rules(self):
        n = self.start(dwell="0")
        sub = n.subscriber("mining.switch")
        time.sleep(0.2)
        r = self.market(n, tick("AAA", "sha256", 10.0),
                        tick("BBB", "scrypt", 8.0))
        self.assertEqual((r["accepted"], r["rejected"], r["coins"]), (2, 0, 2))
        # Idle -> AAA needs 2 evaluations in a row (confirmations = 2).
        r = self.ok(n, "mining.optimize")
        self.assertEqual(r["mode"], "full")
        self.assertEqual(r["best"]["symbol"], "AAA")
        # AAA: 1 coin/day * 10.0 - 1000 W * 24 h * 0.10 = 10 - 2.4 = 7.6.
        self.assertAlmostEqual(r["best"]["profit"], 7.6, places=6)
        self.assertEqual(r["decision"]["reason"], "confirming")
        self.assertIsNone(r["current"]["symbol"])
        self.no_event(sub, "mining.switch")
        r = self.ok(n, "mining.optimize")
        self.assertTrue(r["decision"]["switched"], r["decision"])
        self.assertEqual(r["current"]["symbol"], "AAA")
        _, ev = recv_event(sub, topic="mining.switch")
        self.assertEqual((ev["from"], ev["to"], ev["reason"]),
                         (None, "AAA", "above_floor"))
        self.assertAlmostEqual(ev["to_profit"], 7.6, places=6)
        # BBB 3% better (7.828 vs 7.6): below the 5% threshold, never.
        self.market(n, tick("BBB", "scrypt", 10.228))
        for _ in range(3):
            r = self.ok(n, "mining.optimize")
            self.assertEqual(r["best"]["symbol"], "BBB")
            self.assertEqual(r["decision"]["reason"], "below_threshold")
        self.no_event(sub, "mining.switch")
        # 10% better: after 2 evaluations in a row.
        self.market(n, tick("BBB", "scrypt", 10.76))  # 8.36 = 7.6 * 1.1
        r = self.ok(n, "mining.optimize")
        self.assertEqual(r["decision"]["reason"], "confirming")
        # A dip breaks the streak: it starts over.
        self.market(n, tick("BBB", "scrypt", 9.0))
        self.assertEqual(self.ok(n, "mining.optimize")["decision"]["reason"],
                         "best")
        self.market(n, tick("BBB", "scrypt", 10.76))
        self.assertEqual(self.ok(n, "mining.optimize")["decision"]["reason"],
                         "confirming")
        self.no_event(sub, "mining.switch")
        r = self.ok(n, "mining.optimize")
        self.assertEqual(r["current"]["symbol"], "BBB")
        _, ev = recv_event(sub, topic="mining.switch")
        self.assertEqual((ev["from"], ev["to"], ev["reason"]),
                         ("AAA", "BBB", "more_profitable"))
        # Everything below the floor (0): idle after 2 evaluations.
        self.market(n, tick("AAA", "sha256", 1.0),
                    tick("BBB", "scrypt", 1.0))
        self.assertEqual(self.ok(n, "mining.optimize")["decision"]["reason"],
                         "confirming")
        r = self.ok(n, "mining.optimize")
        self.assertIsNone(r["current"]["symbol"])
        _, ev = recv_event(sub, topic="mining.switch")
        self.assertEqual((ev["from"], ev["to"], ev["reason"]),
                         ("BBB", None, "below_floor"))
        # The switching state survives a restart of the actor.
        r = self.ok(n, "mining.optimize")
        self.ok(n, "actor.restart", {"name": "mining-optimizer"})
        n.wait_ready()
        self.assertEqual(self.ok(n, "mining.report", {"refresh": True})
                         ["keys"]["mining:optimization:report"]["value"]
                         ["switches"], 3)

    def test_dwell_holds_a_switch(self):
        n = self.start(dwell="1500ms")
        self.market(n, tick("AAA", "sha256", 10.0))
        self.ok(n, "mining.optimize")
        self.assertEqual(self.ok(n, "mining.optimize")["current"]["symbol"],
                         "AAA")
        self.market(n, tick("BBB", "scrypt", 20.0))
        self.ok(n, "mining.optimize")
        r = self.ok(n, "mining.optimize")
        self.assertEqual(r["decision"]["reason"], "dwell")
        self.assertGreater(r["decision"]["dwell_left_ms"], 0)
        self.assertEqual(r["current"]["symbol"], "AAA")
        wait_for(lambda: self.ok(n, "mining.optimize")["current"]["symbol"]
                 == "BBB", "the switch after the dwell")

    def test_bad_ticks_are_rejected_and_the_last_good_data_kept(self):
        n = self.start()
        self.market(n, tick("AAA", "sha256", 10.0))
        bad = [tick("AAA", "sha256", -1.0),
               {"symbol": "B B", "algorithm": "scrypt"},
               tick("CCC", "scrypt", 5.0, block_time="x"),
               dict((k, v) for k, v in tick("DDD", "scrypt", 5.0).items()
                    if k != "net_hashrate"),
               "not a map"]
        r = self.market(n, *bad)
        self.assertEqual((r["accepted"], r["rejected"]), (0, 5))
        errs = [e["error"] for e in r["errors"]]
        self.assertIn("ticks[0].price", errs[0])
        self.assertIn("ticks[1].symbol", errs[1])
        self.assertIn("ticks[2].block_time", errs[2])
        self.assertIn("net_hashrate or difficulty", errs[3])
        self.assertIn("ticks[4]: expected a map", errs[4])
        r = self.ok(n, "mining.optimize")
        self.assertEqual(r["top"][0]["price"], 10.0)  # AAA's last good tick
        self.assertEqual(r["inputs"]["rejected"], 5)
        for args in ({"ticks": "x"}, {"ticks": [], "bogus": 1}, {}):
            rep = n.call("mining.market", args)
            self.assertEqual(rep["error"]["code"], "bad_request", rep)
        rep = n.call("mining.report", {"refresh": "yes"})
        self.assertEqual(rep["error"]["code"], "bad_request", rep)
        # azoctl mining market FILE: exit 1 naming the rejected field.
        path = os.path.join(self.tmp, "ticks.json")
        with open(path, "w") as f:
            json.dump({"ticks": [tick("EEE", "scrypt", 3.0),
                                 tick("FFF", "scrypt", 0)]}, f)
        out = n.azoctl("mining", "market", path)
        self.assertEqual(out.returncode, 1, out)
        self.assertIn("1 accepted", out.stdout)
        self.assertIn("ticks[1].price", out.stderr)

    def test_outlier_held_until_confirmed(self):
        n = self.start(factor="3")
        self.market(n, tick("AAA", "sha256", 10.0))
        r = self.market(n, tick("AAA", "sha256", 100.0))
        self.assertEqual(r["held"], 1)
        top = self.ok(n, "mining.optimize")["top"][0]
        self.assertEqual((top["price"], top["held"]), (10.0, True))
        r = self.market(n, tick("AAA", "sha256", 101.0))
        self.assertEqual(r["confirmed"], 1)
        top = self.ok(n, "mining.optimize")["top"][0]
        self.assertEqual((top["price"], top["held"]), (101.0, False))

    def test_external_feed_and_market_dir(self):
        feed = "ipc://" + os.path.join(self.tmp, "feed")
        ctx = zmq.Context.instance()
        pub = ctx.socket(zmq.PUB)
        pub.bind(feed)
        self.addCleanup(pub.close, 0)
        mdir = os.path.join(self.tmp, "market")
        os.makedirs(mdir)
        with open(os.path.join(mdir, "a.json"), "w") as f:
            # An integer ts (Unix ms) as JSON writes it.
            json.dump([tick("FILE1", "scrypt", 9.0, ts=1795400000000)], f)
        with open(os.path.join(mdir, "bad.json"), "w") as f:
            f.write('{"ticks": [{"symbol": "X", "algorithm": "scrypt", '
                    '"price": 1, "block_reward": 1, "block_time": 0}]}')
        n = self.start(extra="        feed = %s\n"
                             "        market_dir = %s\n"
                             "        market_scan = 100ms\n" % (feed, mdir))

        def coins():
            return {c["symbol"] for c in
                    self.ok(n, "mining.optimize")["top"]}
        # The SUB may join late: publish until a tick arrives. A topic
        # other than market.* is not taken.
        body = pack({"ticks": [tick("FEED1", "sha256", 12.0)]})

        def fed():
            pub.send_multipart([b"other.x", pack(tick("NOPE", "sha256", 50))])
            pub.send_multipart([b"market.x", body])
            return "FEED1" in coins()
        wait_for(fed, "a tick over the feed")
        wait_for(lambda: "FILE1" in coins(), "the market file")
        self.assertNotIn("NOPE", coins())
        r = self.ok(n, "mining.optimize")
        errs = r["inputs"]["errors"]
        self.assertTrue(any(e["source"].endswith("bad.json") and
                            "block_time" in e["error"] for e in errs), errs)
        # Malformed feed messages are reported and the feed keeps working.
        pub.send_multipart([b"market.x", b"\xc1garbage"])
        pub.send_multipart([b"market.x"])
        pub.send_multipart([b"market.x", pack(tick("FEED2", "scrypt", 4))])
        wait_for(lambda: "FEED2" in coins(), "the feed after garbage")
        errs = self.ok(n, "mining.optimize")["inputs"]["errors"]
        self.assertTrue(any(e["source"] == "feed" for e in errs), errs)
        # A changed file is read again.
        with open(os.path.join(mdir, "a.json"), "w") as f:
            json.dump([tick("FILE1", "scrypt", 9.0),
                       tick("FILE2", "scrypt", 7.0)], f)
        wait_for(lambda: "FILE2" in coins(), "the changed market file")

    def test_switch_and_optimizer_commands_and_sessions(self):
        out = os.path.join(self.tmp, "switched")
        sw = os.path.join(self.tmp, "switch.sh")
        with open(sw, "w") as f:
            f.write('#!/bin/sh\necho "$@" >> %s\n' % out)
        opt = os.path.join(self.tmp, "opt.sh")
        with open(opt, "w") as f:
            f.write('#!/bin/sh\necho \'{"best_algorithm": "scrypt", '
                    '"total_profit": 42, "note": "ext"}\'\n')
        for p in (sw, opt):
            os.chmod(p, stat.S_IRWXU)
        sess = os.path.join(self.tmp, "sessions")
        os.makedirs(sess)
        with open(os.path.join(sess, "s1.json"), "w") as f:
            json.dump({"sessions": [{"algorithms": [
                {"algorithm": "sha256", "duration_s": 7200,
                 "hashrate": 1e14, "shares": 10, "revenue": 3.0,
                 "power_w": 1000}]}]}, f)
        with open(os.path.join(sess, "broken.json"), "w") as f:
            f.write('{"sessions": [{"algorithms": [{"algorithm": "x"}]}]}')
        n = self.start(extra=(
            "        switch_command = [\"%s\", \"{symbol}\", \"{algorithm}\","
            " \"{pool}\"]\n"
            "        optimizer_command = %s\n"
            "        sessions_dir = %s\n"
            "        pools\n"
            "            AAA = stratum+tcp://pool.example:3333\n")
            % (sw, opt, sess))
        self.market(n, tick("AAA", "sha256", 10.0))
        self.ok(n, "mining.optimize")
        r = self.ok(n, "mining.optimize")
        self.assertEqual(r["current"]["symbol"], "AAA")
        wait_for(lambda: os.path.exists(out), "the switch command")
        with open(out) as f:
            self.assertEqual(f.read(),
                             "AAA sha256 stratum+tcp://pool.example:3333\n")
        ext = "mining:optimization:external"
        wait_for(lambda: ext in self.ok(n, "mining.cache")["keys"],
                 "the external optimizer's result")
        v = self.ok(n, "mining.cache")["keys"][ext]["value"]
        self.assertTrue(v["ok"], v)
        self.assertEqual(v["result"]["total_profit"], 42)
        # Realised totals: 2 h at 1000 W = 2 kWh = 0.20; 3.00 - 0.20 = 2.80.
        s = r["sessions"]
        self.assertEqual((s["files"], s["bad_files"]), (1, 1))
        self.assertAlmostEqual(s["profit"], 2.8, places=6)
        self.assertIn("broken.json: sessions[0].algorithms[0].duration_s",
                      s["error"])

    def test_optimizer_output_validated(self):
        opt = os.path.join(self.tmp, "opt.sh")
        with open(opt, "w") as f:
            f.write("#!/bin/sh\necho 'not json'\n")
        os.chmod(opt, stat.S_IRWXU)
        n = self.start(extra="        optimizer_command = %s\n" % opt)
        self.ok(n, "mining.optimize")
        ext = "mining:optimization:external"
        wait_for(lambda: ext in self.ok(n, "mining.cache")["keys"],
                 "the external optimizer's result")
        v = self.ok(n, "mining.cache")["keys"][ext]["value"]
        self.assertFalse(v["ok"])
        self.assertIn("not JSON", v["error"])

    def test_commented_example_in_default_config_is_valid(self):
        """configs/azo.cfg's commented mining-optimizer settings load when
        uncommented (the '#' becomes a space)."""
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        with open(os.path.join(root, "configs", "azo.cfg")) as f:
            lines = f.read().split("\n")
        start = next(i for i, l in enumerate(lines)
                     if l.startswith("    mining-optimizer"))
        out, n = [], 0
        for i, l in enumerate(lines):
            if i > start and l.startswith("#       "):
                if lines[i - 1].startswith("    ") or n:
                    l = " " + l[1:]
                    n += 1
            elif i > start and n:
                start = len(lines)  # the block ended
            out.append(l)
        self.assertGreater(n, 10)
        path = self.write_cfg("\n".join(out), "example.cfg")
        res = subprocess.run([AZOD, "--check", "-c", path],
                             capture_output=True, text=True)
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_bad_config(self):
        cases = [
            ("hashrate = 100T", "hashrate = fast", "hashrate"),
            ("price = 0.10", "price = 0.10\n            bands\n"
             "                peak\n                    hours = 25:00-01:00\n"
             "                    price = 0.3", "HH:MM-HH:MM"),
            ("confirmations = 2", "confirmations = 0", "confirmations"),
            ("interval = 1h", "interval = 1h\n        switch_command = "
             "miner-switch --pool x", "switch_command"),
            ("outlier_factor = 0", "outlier_factor = 0.5", "outlier_factor"),
            ("watts = 1000", "wats = 1000", "wats"),
        ]
        for i, (old, new, word) in enumerate(cases):
            cfg = (RIG % {"ttl": "1h", "dwell": "0", "extra": "",
                          "alpha": "1", "factor": "0"}).replace(old, new)
            path = self.write_cfg(cfg, "bad%d.cfg" % i)
            out = subprocess.run([AZOD, "--check", "-c", path],
                                 capture_output=True, text=True)
            self.assertNotEqual(out.returncode, 0, new)
            self.assertIn("bad%d.cfg:" % i, out.stderr)
            self.assertIn(word, out.stderr)


if __name__ == "__main__":
    unittest.main()
