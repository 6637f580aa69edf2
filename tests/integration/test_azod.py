"""Integration tests of azod as an outside ZeroMQ client sees it (pyzmq +
msgpack, /usr/bin/python3): status, protocol errors, routing, lifecycle
events, shutdown, configuration errors, the data-dir lock and the store."""
import os
import random
import signal
import struct
import subprocess
import time
import unittest

import zmq

from azo_it import (AZOD, DEADLINE, NodeTest, pack, recv_event, unpack)

# The default config starts the scheduler last: its jobs' targets first.
ACTORS = ["health-checker", "mining-optimizer", "payment-recovery",
          "archiver", "scheduler"]


class StatusTest(NodeTest):
    def test_status_shows_five_running_actors(self):
        n = self.node()
        rep = n.call("status")
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(rep["v"], 1)
        res = rep["result"]
        self.assertEqual(res["node"], "alpha")
        self.assertEqual(res["pid"], n.proc.pid)
        self.assertEqual([a["name"] for a in res["actors"]], ACTORS)
        for a in res["actors"]:
            self.assertEqual(a["state"], "running", a)
            self.assertEqual(a["mode"], "thread")
            self.assertEqual(a["restarts"], 0)
            self.assertGreaterEqual(a["uptime_ms"], 0)
        self.assertEqual(res["endpoints"]["events"], n.events)

    def test_status_shows_threads_and_heartbeat_age(self):
        # What the health-checker reads: each actor's own kernel thread (a
        # process actor's main thread is its pid) and its heartbeat age.
        n = self.node(sets=["actors/archiver/mode=process",
                            "actors/scheduler/heartbeat=250ms"])
        res = n.call("status")["result"]
        by = {a["name"]: a for a in res["actors"]}
        tids = set()
        for a in res["actors"]:
            self.assertGreaterEqual(a["hb_age_ms"], 0, a)
            self.assertGreater(a["liveness"], 0, a)
            self.assertGreater(a["tid"], 0, a)
            tids.add(a["tid"])
            if a["mode"] == "thread":
                self.assertNotEqual(a["tid"], n.proc.pid, a)
                self.assertTrue(os.path.exists("/proc/%d/task/%d/stat"
                                               % (n.proc.pid, a["tid"])), a)
        self.assertEqual(len(tids), len(ACTORS))
        self.assertEqual(by["archiver"]["mode"], "process")
        self.assertEqual(by["archiver"]["tid"], by["archiver"]["pid"])
        self.assertEqual(by["scheduler"]["heartbeat_ms"], 250)
        self.assertEqual(by["archiver"]["heartbeat_ms"], 1000)
        rep = n.call("actor.stop", {"name": "archiver"})
        self.assertEqual(rep["result"]["state"], "stopped", rep)
        self.assertEqual(rep["result"]["tid"], 0, rep)
        self.assertEqual(rep["result"]["hb_age_ms"], -1, rep)

    def test_only_configured_actors_run(self):
        cfg = os.path.join(self.tmp, "two.cfg")
        with open(cfg, "w") as f:
            f.write("actors\n    scheduler\n    archiver\n"
                    "        shutdown = 2s\n")
        n = self.node(config=cfg)
        res = n.call("status")["result"]
        self.assertEqual([a["name"] for a in res["actors"]],
                         ["scheduler", "archiver"])
        rep = n.call("mining.report")
        self.assertEqual(rep["error"]["code"], "unavailable")
        self.assertIn("not configured", rep["error"]["message"])
        rep = n.call("actor.start", {"name": "mining-optimizer"})
        self.assertEqual(rep["error"]["code"], "not_found")
        self.assertEqual(n.call("sched.list")["result"]["jobs"], [])

    def test_ephemeral_port_is_reported(self):
        n = self.node(sets=["endpoints/events=tcp://127.0.0.1:*"])
        ep = n.call("status")["result"]["endpoints"]["events"]
        self.assertRegex(ep, r"^tcp://127\.0\.0\.1:\d+$")
        n.events = ep
        sub = n.subscriber("sup.actor.started")
        end = time.monotonic() + DEADLINE
        while not sub.poll(100):
            self.assertLess(time.monotonic(), end)
            n.call("actor.restart", {"name": "archiver"})
        sub.close()

    def test_req_and_dealer_clients_both_get_replies(self):
        n = self.node()
        req = n.socket(zmq.REQ)
        rep = n.request(req, pack({"v": 1, "id": 7, "cmd": "ping"}))
        self.assertEqual(rep, {"v": 1, "id": 7, "ok": True,
                               "result": rep["result"]})
        self.assertEqual(rep["result"]["node"], "alpha")
        req.close()
        dealer = n.socket(zmq.DEALER)
        rep = n.request(dealer, pack({"v": 1, "id": 8, "cmd": "ping"}))
        self.assertEqual(rep["id"], 8)
        dealer.close()


def _garbage():
    """(name, frames) of requests that must all get bad_request."""
    cases = [
        ("empty frame", [b""]),
        ("never-used byte", [b"\xc1"]),
        ("truncated map", [pack({"v": 1, "id": 1, "cmd": "ping"})[:-2]]),
        ("truncated str32", [b"\x81\xa3cmd\xdb\x00\x00\x10\x00ab"]),
        ("array, not map", [pack([1, 2, 3])]),
        ("integer, not map", [pack(42)]),
        ("string, not map", [pack("ping")]),
        ("huge str32", [b"\xdb\xff\xff\xff\xff" + b"x" * 10]),
        ("huge array32", [b"\xdd\xff\xff\xff\xff\x01"]),
        ("huge map32", [b"\xdf\xff\xff\xff\xff\xa1v\x01"]),
        ("huge bin32", [b"\xc6\x7f\xff\xff\xff"]),
        ("ext type", [b"\xd4\x01\x00"]),
        ("missing v", [pack({"id": 1, "cmd": "ping"})]),
        ("v=2", [pack({"v": 2, "id": 1, "cmd": "ping"})]),
        ("v as string", [pack({"v": "1", "id": 1, "cmd": "ping"})]),
        ("missing id", [pack({"v": 1, "cmd": "ping"})]),
        ("negative id", [pack({"v": 1, "id": -1, "cmd": "ping"})]),
        ("id as string", [pack({"v": 1, "id": "1", "cmd": "ping"})]),
        ("missing cmd", [pack({"v": 1, "id": 1})]),
        ("cmd as int", [pack({"v": 1, "id": 1, "cmd": 5})]),
        ("cmd uppercase", [pack({"v": 1, "id": 1, "cmd": "PING"})]),
        ("cmd too long", [pack({"v": 1, "id": 1, "cmd": "a" * 65})]),
        ("args as list", [pack({"v": 1, "id": 1, "cmd": "ping",
                                "args": [1]})]),
        ("unknown key", [pack({"v": 1, "id": 1, "cmd": "ping", "x": 1})]),
        ("int map key", [b"\x83\xa1v\x01\xa2id\x01\x05\x01"]),
        ("invalid utf-8", [b"\x83\xa1v\x01\xa2id\x01\xa3cmd\xa2\xc3\x28"]),
        ("deep nesting", [b"\x84\xa1v\x01\xa2id\x01\xa3cmd\xa4ping\xa4args"
                          + b"\x81\xa1k" * 20 + b"\x01"]),
        ("trailing bytes", [pack({"v": 1, "id": 1, "cmd": "ping"}) + b"\x00"]),
        ("two frames", [pack({"v": 1, "id": 1, "cmd": "ping"}), b"x"]),
    ]
    rnd = random.Random(20261123)
    for i in range(60):
        cases.append(("random %d" % i,
                      [bytes(rnd.getrandbits(8)
                             for _ in range(rnd.randint(1, 64)))]))
    return cases


class BadInputTest(NodeTest):
    def test_garbage_gets_bad_request_and_node_keeps_answering(self):
        n = self.node()
        for name, frames in _garbage():
            with self.subTest(name):
                for kind in (zmq.DEALER, zmq.REQ):
                    s = n.socket(kind)
                    s.send_multipart(frames)
                    self.assertTrue(s.poll(5000), "no reply to " + name)
                    rep = unpack(s.recv())
                    s.close()
                    if rep.get("ok"):
                        # Random bytes can, rarely, be a valid request.
                        self.assertTrue(name.startswith("random"), rep)
                        continue
                    self.assertEqual(rep["error"]["code"], "bad_request",
                                     (name, rep))
                    self.assertTrue(rep["error"]["message"], rep)
                    self.assertEqual(rep["v"], 1)
        self.assertTrue(n.call("ping")["ok"])
        st = n.call("status")["result"]
        self.assertGreaterEqual(st["requests"]["bad"], 2 * 29)

    def test_error_reply_keeps_the_id_when_readable(self):
        n = self.node()
        s = n.socket()
        rep = n.request(s, pack({"v": 1, "id": 99, "cmd": "ping", "x": 1}))
        self.assertEqual(rep["id"], 99)
        rep = n.request(s, b"\xc1")
        self.assertIsNone(rep["id"])
        s.close()

    def test_oversized_message_is_dropped_not_fatal(self):
        n = self.node(sets=["limits/max_msg=64KiB"])
        s = n.socket()
        s.send(pack({"v": 1, "id": 1, "cmd": "ping",
                     "args": {"pad": "x" * 100000}}))
        self.assertFalse(s.poll(500))  # the peer is disconnected, no reply
        s.close()
        self.assertTrue(n.call("ping")["ok"])

    def test_unknown_and_unavailable_commands(self):
        n = self.node()
        for cmd, code in [("bogus", "unknown_command"),
                          ("actor.bogus", "unknown_command"),
                          ("sched.bogus", "unknown_command"),
                          ("mining.bogus", "unknown_command"),
                          ("pay.bogus", "unknown_command"),
                          ("archive.bogus", "unknown_command"),
                          ("config.reload", "unavailable")]:
            with self.subTest(cmd):
                rep = n.call(cmd)
                self.assertFalse(rep["ok"], rep)
                self.assertEqual(rep["error"]["code"], code, rep)
                self.assertIn(cmd, rep["error"]["message"])

    def test_actor_commands_validate_arguments(self):
        n = self.node()
        for args, code in [(None, "bad_request"), ({"name": 5}, "bad_request"),
                           ({"name": "nope"}, "not_found"),
                           ({"name": "archiver", "x": 1}, "bad_request")]:
            with self.subTest(args=args):
                rep = n.call("actor.restart", args)
                self.assertEqual(rep["error"]["code"], code, rep)


class LifecycleTest(NodeTest):
    def test_restart_publishes_sup_events(self):
        n = self.node()
        sub = n.subscriber("sup.")
        # A new subscription takes a moment to reach the publisher: restart
        # until the first event arrives, then check one full cycle.
        end = time.monotonic() + DEADLINE
        while True:
            self.assertTrue(n.call("actor.restart",
                                   {"name": "archiver"})["ok"])
            try:
                recv_event(sub, timeout=0.5)
                break
            except TimeoutError:
                self.assertLess(time.monotonic(), end, "no sup. events")
        while sub.poll(200):
            sub.recv_multipart()
        rep = n.call("actor.restart", {"name": "archiver"})
        self.assertTrue(rep["ok"], rep)
        gen = rep["result"]["gen"]
        seen = {}
        while len(seen) < 3:
            t, body = recv_event(sub)
            if body.get("actor") == "archiver":
                seen[t] = body
        self.assertEqual(set(seen), {"sup.actor.exited", "sup.actor.restarted",
                                     "sup.actor.started"})
        for t, body in seen.items():
            self.assertEqual(body["v"], 1)
            self.assertEqual(body["node"], "alpha")
            self.assertEqual(body["src"], "sup")
            self.assertIsInstance(body["ts"], int)
            self.assertLess(abs(body["ts"] - time.time() * 1000), 60000)
        self.assertEqual(seen["sup.actor.exited"]["reason"], "stopped")
        self.assertEqual(seen["sup.actor.started"]["gen"], gen)
        self.assertEqual(seen["sup.actor.restarted"]["gen"], gen)
        sub.close()

    def test_stop_then_start(self):
        n = self.node()
        rep = n.call("actor.stop", {"name": "mining-optimizer"})
        self.assertEqual(rep["result"]["state"], "stopped", rep)
        rep = n.call("mining.report")
        self.assertEqual(rep["error"]["code"], "unavailable", rep)
        self.assertIn("stopped", rep["error"]["message"])
        rep = n.call("actor.stop", {"name": "mining-optimizer"})
        self.assertEqual(rep["result"]["state"], "stopped")  # idempotent
        rep = n.call("actor.start", {"name": "mining-optimizer"})
        self.assertEqual(rep["result"]["state"], "running", rep)
        self.assertEqual(rep["result"]["gen"], 2)
        st = {a["name"]: a for a in n.call("status")["result"]["actors"]}
        self.assertEqual(st["mining-optimizer"]["state"], "running")
        rep = n.call("mining.report")
        self.assertTrue(rep["ok"], rep)
        self.assertIn("mining:optimization:report", rep["result"]["keys"])

    def test_manual_start_is_not_a_restart(self):
        n = self.node()
        sub = n.subscriber("sup.actor.")
        end = time.monotonic() + DEADLINE
        while not sub.poll(100):  # until the subscription is in place
            self.assertLess(time.monotonic(), end)
            n.call("actor.restart", {"name": "archiver"})
        while sub.poll(300):
            sub.recv_multipart()
        self.assertTrue(n.call("actor.stop", {"name": "scheduler"})["ok"])
        rep = n.call("actor.start", {"name": "scheduler"})
        self.assertEqual(rep["result"]["restarts"], 0)
        topics = []
        while len(topics) < 2:
            t, body = recv_event(sub, match=lambda b: b["actor"] ==
                                 "scheduler")
            topics.append(t)
        self.assertEqual(topics, ["sup.actor.exited", "sup.actor.started"])
        self.assertFalse(sub.poll(300))
        sub.close()

    def test_shutdown_command_stops_in_reverse_order(self):
        n = self.node()
        sub = n.subscriber("sup.actor.exited")
        rep = n.call("shutdown")
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(rep["result"]["node"], "alpha")
        self.assertEqual(n.proc.wait(DEADLINE), 0)
        # The node removes its ipc socket files.
        self.assertFalse(os.path.exists(n.control[len("ipc://"):]))
        self.assertFalse(os.path.exists(n.events[len("ipc://"):]))
        log = n.log_text()
        order = [log.index("actor %s exited (shutdown)" % a) for a in ACTORS]
        self.assertEqual(order, sorted(order, reverse=True), log)
        sub.close()

    def test_sigterm_and_sigint_stop_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(sig=sig):
                n = self.node()
                n.proc.send_signal(sig)
                self.assertEqual(n.proc.wait(DEADLINE), 0, n.log_text())
                self.assertIn("actor scheduler exited (shutdown)",
                              n.log_text())

    def test_signal_right_after_a_request_is_not_missed(self):
        # A signal arriving just as the loop goes back to poll used to be
        # noticed only at the poll's time-out (an hour here).
        for i in range(8):
            n = self.node(sets=["supervisor/request_timeout=1h"])
            self.assertTrue(n.call("ping")["ok"])
            n.proc.send_signal(signal.SIGTERM)
            self.assertEqual(n.proc.wait(DEADLINE), 0, n.log_text())
            self.nodes.remove(n)
            n.stop()

    def test_sighup_is_logged_not_fatal(self):
        n = self.node()
        n.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + DEADLINE
        while "SIGHUP ignored" not in n.log_text():
            self.assertLess(time.monotonic(), end, n.log_text())
            self.assertIsNone(n.proc.poll())
            time.sleep(0.05)
        self.assertTrue(n.call("ping")["ok"])

    def test_store_is_readable_by_mdb_stat(self):
        n = self.node()
        path = os.path.join(n.data, "azo.lmdb")
        out = subprocess.run(["mdb_stat", "-a", path], capture_output=True,
                             text=True, timeout=DEADLINE)
        self.assertEqual(out.returncode, 0, out.stderr)
        for db in ["sup"] + ACTORS:
            self.assertIn("Status of " + db, out.stdout)
        self.assertEqual(os.stat(n.data).st_mode & 0o777, 0o700)


class StartupTest(NodeTest):
    def run_azod(self, *args, timeout=DEADLINE):
        return subprocess.run([AZOD] + list(args), capture_output=True,
                              text=True, timeout=timeout)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_config_errors_name_file_key_and_line(self):
        cases = [
            ("supervisor\n    period = 60\n", ":2:", "supervisor/period"),
            ("supervisor\n    strategy = one_for_none\n", ":2:",
             "one_for_one"),
            ("node\n    name = a\nbogus = 1\n", ":3:", "bogus"),
            ("actors\n    schedule\n        mode = thread\n", ":2:",
             "actors/schedule"),
            ("actors\n    scheduler\n        mode = fork\n", ":3:",
             "thread|process"),
            ("endpoints\n    control = tcp://127.0.0.1\n", ":2:",
             "endpoints/control"),
            ("node\n  name = bad indent\n", ":2:", ""),
        ]
        for text, line, key in cases:
            with self.subTest(text=text):
                path = self.write("bad.cfg", text)
                out = self.run_azod("-c", path, "--check")
                self.assertEqual(out.returncode, 2, out.stderr)
                self.assertIn(path + line, out.stderr)
                self.assertIn(key, out.stderr)
                self.assertEqual(out.stderr.count("\n"), 1, out.stderr)

    def test_set_overrides_are_validated(self):
        out = self.run_azod("--set", "supervisor/max_restarts=lots",
                            "--check")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--set supervisor/max_restarts=lots", out.stderr)
        out = self.run_azod("--set", "nokey", "--check")
        self.assertEqual(out.returncode, 2)
        out = self.run_azod("-c", "/nonexistent/azo.cfg")
        self.assertEqual(out.returncode, 2)
        self.assertIn("/nonexistent/azo.cfg", out.stderr)
        out = self.run_azod("--check")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("embedded", out.stdout)
        out = self.run_azod("--bogus-option")
        self.assertEqual(out.returncode, 2)

    def test_check_runs_the_start_time_checks(self):
        for sets, word in [(["node/name=x y"], "node/name"),
                           (["actors/archiver/standby=1"], "standby"),
                           (["actors/archiver/mode=process",
                             "endpoints/cluster=inproc://x"], "cannot reach"),
                           (["actors/archiver/liveness=0"], "liveness"),
                           (["actors/archiver/backoff/factor=0.5"],
                            "backoff/factor"),
                           (["endpoints/events=tcp://0.0.0.0:*"],
                            "endpoints/events"),
                           (["actors/archiver/shutdown=0"], "shutdown")]:
            with self.subTest(sets=sets):
                args = []
                for x in sets:
                    args += ["--set", x]
                out = self.run_azod(*args, "--check")
                self.assertEqual(out.returncode, 2, out.stdout)
                self.assertIn(word, out.stderr)

    def test_non_loopback_endpoint_needs_insecure(self):
        d = os.path.join(self.tmp, "d")
        out = self.run_azod("--set", "node/data_dir=" + d, "--set",
                            "endpoints/control=tcp://0.0.0.0:*")
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("endpoints/control", out.stderr)
        self.assertIn("insecure", out.stderr)

    def test_second_node_on_same_data_dir_is_refused(self):
        n = self.node()
        other = os.path.join(self.tmp, "other")
        os.mkdir(other)
        out = self.run_azod(
            "--set", "node/data_dir=" + n.data,
            "--set", "endpoints/control=ipc://%s/ctl" % other,
            "--set", "endpoints/events=ipc://%s/ev" % other,
            "--set", "endpoints/cluster=ipc://%s/cl" % other)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("in use by another azod (pid %d)" % n.proc.pid,
                      out.stderr)
        self.assertTrue(n.call("ping")["ok"])

    def test_endpoint_in_use_is_refused(self):
        n = self.node()
        d = os.path.join(self.tmp, "d2")
        out = self.run_azod("--set", "node/data_dir=" + d,
                            "--set", "endpoints/control=" + n.control,
                            "--set", "endpoints/events=ipc://%s-ev" % d,
                            "--set", "endpoints/cluster=ipc://%s-cl" % d)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("in use", out.stderr)
        self.assertTrue(n.call("ping")["ok"])

    def test_corrupt_store_is_a_clear_error(self):
        d = os.path.join(self.tmp, "data", "azo.lmdb")
        os.makedirs(d)
        with open(os.path.join(d, "data.mdb"), "wb") as f:
            f.write(os.urandom(64 * 1024))
        out = self.run_azod("--set", "node/data_dir=" + os.path.dirname(d),
                            "--set", "endpoints/control=ipc://%s/c" % self.tmp,
                            "--set", "endpoints/events=ipc://%s/e" % self.tmp,
                            "--set", "endpoints/cluster=ipc://%s/k" % self.tmp)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn(d, out.stderr)

    def test_help_and_version(self):
        out = self.run_azod("--help")
        self.assertEqual(out.returncode, 0)
        for word in ("--config", "--set", "--check", "Exit status"):
            self.assertIn(word, out.stdout)
        out = self.run_azod("--version")
        self.assertRegex(out.stdout, r"^azod \d+\.\d+\.\d+")


if __name__ == "__main__":
    unittest.main()
