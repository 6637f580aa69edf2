"""The health-checker actor (#6) from the outside, against real local
servers started by the test: a TCP listener, an http.server, scripts that
exit 0 or 1, a listener that accepts and never answers. Thresholds and
the events of each change; a hung target going down after timeout x
threshold while the others keep their period; a restart action at most
once per window; a SIGSTOPped process actor seen down and restarted by the
supervisor; the status cache, azoctl health, bad requests and bad config.
Real azod processes, ipc endpoints, pyzmq client (/usr/bin/python3)."""
import http.server
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from azo_it import AZOD, DEADLINE, NodeTest, alive, recv_event, wait_for


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code, body = {"/ok": (200, b"all good"), "/bad": (503, b"down"),
                      "/moved": (302, b"")}.get(self.path, (404, b"no"))
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def health_cfg(targets, extra="", actors="    archiver\n"):
    """A config with the health-checker probing targets (a dict of name ->
    dict of key -> value) beside actors."""
    out = "actors\n" + actors + "    health-checker\n"
    out += "        summary = 0\n" + extra
    out += "        targets\n"
    for name, keys in targets.items():
        out += "            %s\n" % name
        for k, v in keys.items():
            out += "                %s = %s\n" % (k, v)
    return out


class HealthTest(NodeTest):
    def setUp(self):
        super().setUp()
        # Servers of this test, on loopback ports chosen by the kernel.
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4096)
        self.tcp_port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        self.hung = socket.socket()  # accepts (backlog), never answers
        self.hung.bind(("127.0.0.1", 0))
        self.hung.listen(64)
        self.hung_port = self.hung.getsockname()[1]
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        self.closed_port = closed.getsockname()[1]
        closed.close()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     _Handler)
        self.http_port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.addCleanup(self._servers_down)
        self.flag = os.path.join(self.tmp, "flag")
        self.flip = self.script("flip.sh", "test -e %s" % self.flag)
        self.ok_sh = self.script("ok.sh", "echo fine; exit 0")
        self.bad_sh = self.script("bad.sh", "echo broken >&2; exit 1")

    def _accept(self):
        """Accepts and closes, so that the backlog never fills."""
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            conn.close()

    def _servers_down(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.listener.shutdown(socket.SHUT_RDWR)  # ends the accept thread
        self.listener.close()
        self.hung.close()

    def script(self, name, body):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body + "\n")
        os.chmod(path, 0o755)
        return path

    def start(self, text, **kw):
        return self.node(config=self.write_cfg(text), **kw)

    def target(self, n, name):
        rep = n.call("health.status", {"target": name})
        self.assertTrue(rep["ok"], rep)
        return rep["result"]

    def changes(self, sub, name, want, timeout=DEADLINE):
        """Events of target name until one with state want; returns them."""
        out = []
        end = time.monotonic() + timeout
        while True:
            _, body = recv_event(sub, timeout=end - time.monotonic(),
                                 topic="health.target." + name)
            out.append(body)
            if body["state"] == want:
                return out

    def test_probes_of_each_kind_judge_real_servers(self):
        url = "http://127.0.0.1:%d" % self.http_port
        fast = {"period": "200ms", "timeout": "1s", "failure_threshold": 2}
        targets = {
            "tcp-ok": dict(fast, tcp="127.0.0.1:%d" % self.tcp_port),
            "tcp-refused": dict(fast, tcp="127.0.0.1:%d" % self.closed_port),
            "http-ok": dict(fast, http=url + "/ok", expect="good"),
            "http-302": dict(fast, http=url + "/moved"),
            "http-503": dict(fast, http=url + "/bad"),
            "http-text": dict(fast, http=url + "/ok", expect="missing"),
            "exec-ok": dict(fast, exec=self.ok_sh),
            "exec-bad": dict(fast, exec=self.bad_sh),
            "zmq-self": dict(fast, zmq="self"),
        }
        n = self.start(health_cfg(targets))
        want = {"tcp-ok": "healthy", "http-ok": "healthy",
                "http-302": "healthy", "exec-ok": "healthy",
                "zmq-self": "healthy", "tcp-refused": "down",
                "http-503": "down", "http-text": "down", "exec-bad": "down"}

        def settled():
            st = n.call("health.status")["result"]
            got = {t["name"]: t["state"] for t in st["targets"]}
            return got == want
        wait_for(settled, "every target judged")
        reasons = {t: self.target(n, t)["history"][0]["detail"]
                   for t in want}
        self.assertEqual(reasons["tcp-ok"], "connected")
        self.assertIn("refused", reasons["tcp-refused"].lower())
        self.assertIn("503", reasons["http-503"])
        self.assertIn("not found", reasons["http-text"])
        self.assertIn("exit 1", reasons["exec-bad"])
        self.assertIn("broken", reasons["exec-bad"])
        self.assertIn("pong", reasons["zmq-self"])
        # health.check of one target answers with that probe's result.
        rep = n.call("health.check", {"target": "http-503"})
        self.assertTrue(rep["ok"], rep)
        res = rep["result"]
        self.assertEqual((res["checked"], res["ok"], res["failed"]), (1, 0, 1))
        self.assertEqual(res["results"][0]["target"], "http-503")
        self.assertEqual(res["results"][0]["code"], 503)
        # And of all: one result per target.
        rep = n.call("health.check", {}, timeout=10)
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(rep["result"]["checked"], len(targets))
        self.assertEqual(rep["result"]["ok"], 5)
        self.assertEqual(sorted(r["target"] for r in rep["result"]["results"]),
                         sorted(targets))

    def test_thresholds_of_failure_and_recovery(self):
        open(self.flag, "w").close()
        n = self.start(health_cfg({"flip": {
            "exec": self.flip, "period": "100ms", "failure_threshold": 3,
            "success_threshold": 2}}))
        sub = n.subscriber("health.target.")
        wait_for(lambda: self.target(n, "flip")["state"] == "healthy",
                 "flip healthy")
        while sub.poll(300):  # the subscription is live; drop what came
            sub.recv_multipart()
        os.unlink(self.flag)
        evs = self.changes(sub, "flip", "down")
        # healthy -> degraded at the first failure, down at the third.
        self.assertEqual([(e["prev"], e["state"], e["fails"]) for e in evs],
                         [("healthy", "degraded", 1), ("degraded", "down", 3)])
        open(self.flag, "w").close()
        evs = self.changes(sub, "flip", "healthy")
        self.assertEqual([(e["prev"], e["state"], e["oks"]) for e in evs],
                         [("down", "healthy", 2)])
        st = self.target(n, "flip")
        self.assertGreaterEqual(st["failures"], 3)

    def test_hung_target_goes_down_while_the_others_keep_their_period(self):
        n = self.start(health_cfg({
            "hung": {"http": "http://127.0.0.1:%d/" % self.hung_port,
                     "period": "100ms", "timeout": "700ms",
                     "failure_threshold": 3},
            "fast": {"tcp": "127.0.0.1:%d" % self.tcp_port,
                     "period": "100ms"}}))
        sub = n.subscriber("health.target.hung")
        # Counted from when the hung target's first probe has failed.
        wait_for(lambda: self.target(n, "hung")["failures"] >= 1,
                 "a first timeout")
        before = self.target(n, "fast")["probes"]
        t0 = time.monotonic()
        evs = self.changes(sub, "hung", "down")
        took = time.monotonic() - t0
        self.assertEqual(evs[-1]["fails"], 3)
        hist = self.target(n, "hung")["history"]
        for h in hist[:3]:
            self.assertFalse(h["ok"])
            self.assertEqual(h["detail"], "timeout after 700 ms")
            self.assertGreaterEqual(h["ms"], 700)
        # Two more timeouts took at least 2 x 700 ms; the fast target was
        # probed all along (about every 100 ms), not held up by them.
        self.assertGreaterEqual(took, 1.3)
        after = self.target(n, "fast")["probes"]
        self.assertGreaterEqual(after - before, 4,
                                "fast probed %d times in %.1fs"
                                % (after - before, took))
        self.assertEqual(self.target(n, "fast")["state"], "healthy")

    def test_restart_action_once_per_window(self):
        window = 3.0
        n = self.start(health_cfg({"dep": {
            "exec": self.bad_sh, "period": "100ms", "failure_threshold": 1,
            "restart": "archiver", "action_every": "%ds" % window}}))
        sub = n.subscriber("health.action.dep", "sup.actor.restarted")
        # The target fails every 100 ms and stays down; archiver is
        # restarted at once, then once per window, never in between.
        restarts, actions = [], []
        end = None
        while end is None or time.monotonic() < end:
            left = (end - time.monotonic()) if end else DEADLINE
            try:
                topic, body = recv_event(sub, timeout=max(left, 0.01))
            except TimeoutError:
                break
            if topic == "sup.actor.restarted" and body["actor"] == "archiver":
                restarts.append(time.monotonic())
                if end is None:
                    end = time.monotonic() + 2 * window + 1.0
            elif topic == "health.action.dep":
                actions.append(body)
        self.assertGreaterEqual(len(restarts), 2, restarts)
        self.assertLessEqual(len(restarts), 3, restarts)
        for a, b in zip(restarts, restarts[1:]):
            self.assertGreaterEqual(b - a, window - 0.5, restarts)
        self.assertTrue(actions, "no health.action event")
        for a in actions:
            self.assertEqual((a["action"], a["actor"], a["ok"]),
                             ("restart", "archiver", True), a)
        st = self.target(n, "dep")
        self.assertEqual(st["state"], "down")
        self.assertGreaterEqual(st["actions"], 2)
        self.assertGreater(st["suppressed"], 5)

    def test_sigstopped_process_actor_is_down_then_restarted(self):
        text = health_cfg(
            {}, extra="        watch = 100ms\n        actor_liveness = 2\n",
            actors="    archiver\n        mode = process\n"
                   "        heartbeat = 200ms\n        liveness = 15\n")
        n = self.start(text)
        sub = n.subscriber("health.actor.archiver", "sup.actor.")
        # (not_found until the health-checker's first look at the actors)
        wait_for(lambda: n.call("health.status", {"actor": "archiver"})
                 .get("result", {}).get("state") == "healthy",
                 "archiver healthy")
        pid = n.actors()["archiver"]["pid"]
        self.assertTrue(alive(pid))
        os.kill(pid, signal.SIGSTOP)
        self.addCleanup(lambda: alive(pid) and os.kill(pid, signal.SIGKILL))
        seen = []
        while True:
            topic, body = recv_event(sub)
            seen.append((topic, body.get("state"), body.get("reason")))
            if topic == "health.actor.archiver" and body["state"] == "down":
                break
            self.assertNotEqual(topic, "sup.actor.exited", seen)
        self.assertEqual(body["reason"], "heartbeats missed")
        st = n.call("health.status", {"actor": "archiver"})["result"]
        self.assertIn(st["state"], ("down",))
        self.assertGreaterEqual(st["missed"], 2)
        # The supervisor finds it hung, kills it and starts another.
        _, ex = recv_event(sub, topic="sup.actor.exited",
                           match=lambda b: b["actor"] == "archiver")
        self.assertEqual(ex["reason"], "hung")
        recv_event(sub, topic="sup.actor.restarted",
                   match=lambda b: b["actor"] == "archiver")
        recv_event(sub, topic="health.actor.archiver",
                   match=lambda b: b["state"] == "healthy")
        self.assertNotEqual(n.actors()["archiver"]["pid"], pid)

    def test_status_cache_table_and_bad_requests(self):
        n = self.start(health_cfg(
            {"tcp-ok": {"tcp": "127.0.0.1:%d" % self.tcp_port,
                        "period": "200ms"}},
            extra="        cache_ttl = 1h\n        metrics\n"
                  "            cpu = 0\n            memory = 0\n"
                  "            disk_free = 0\n"))
        wait_for(lambda: self.target(n, "tcp-ok")["state"] == "healthy" and
                 n.call("health.status")["result"]["counts"]["unknown"] == 0,
                 "all judged")
        time.sleep(0.5)
        a = n.call("health.status")["result"]
        b = n.call("health.status")["result"]
        # Served from the cache: the same picture, built once.
        self.assertEqual(a["ts"], b["ts"])
        self.assertEqual(a, b)
        self.assertEqual(a["ttl_ms"], 3600000)
        self.assertEqual(a["node"]["name"], "alpha")
        self.assertGreater(a["node"]["mem_total"], 0)
        self.assertEqual(sorted(x["name"] for x in a["actors"]),
                         ["archiver", "health-checker"])
        th = [x for x in a["actors"] if x["name"] == "archiver"][0]
        self.assertEqual(th["state"], "healthy")
        self.assertGreater(th["tid"], 0)
        # azoctl health: the node line and one row per actor and target.
        out = n.azoctl("health")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("node alpha:", out.stdout)
        self.assertRegex(out.stdout, r"target\s+tcp-ok\s+healthy")
        self.assertRegex(out.stdout, r"actor\s+archiver\s+healthy")
        out = n.azoctl("health", "check", "tcp-ok")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("tcp-ok: ok in", out.stdout)
        self.assertIn("checked 1: 1 ok, 0 failed", out.stdout)
        out = n.azoctl("health", "check", "nope")
        self.assertEqual(out.returncode, 1)
        self.assertIn("no target named 'nope'", out.stderr)
        for cmd, args, code in [
                ("health.status", {"x": 1}, "bad_request"),
                ("health.status", {"target": 5}, "bad_request"),
                ("health.status", {"target": "nope"}, "not_found"),
                ("health.status", {"actor": "nope"}, "not_found"),
                ("health.check", {"target": ["a"]}, "bad_request"),
                ("health.check", {"target": "nope"}, "not_found"),
                ("health.check", {"when": 1}, "bad_request"),
                ("health.bogus", {}, "unknown_command")]:
            rep = n.call(cmd, args)
            self.assertFalse(rep["ok"], (cmd, args, rep))
            self.assertEqual(rep["error"]["code"], code, (cmd, args, rep))
        self.assertTrue(n.call("ping")["ok"])

    def test_many_targets_come_in_pages(self):
        many = {"t%04d" % i: {"tcp": "127.0.0.1:%d" % self.tcp_port,
                              "period": "1h", "initial_delay": "1h"}
                for i in range(1100)}
        n = self.start(health_cfg(many))
        first = n.call("health.status")["result"]
        self.assertEqual((first["count"], first["more"]), (1100, True))
        self.assertEqual(len(first["targets"]), 1000)
        second = n.call("health.status",
                        {"after": first["targets"][-1]["name"]})["result"]
        self.assertEqual(second["more"], False)
        names = [t["name"] for t in first["targets"] + second["targets"]]
        self.assertEqual(names, sorted(many))
        rep = n.call("health.status", {"after": "t0005", "limit": 2})
        self.assertEqual([t["name"] for t in rep["result"]["targets"]],
                         ["t0006", "t0007"])
        for args in ({"limit": 1001}, {"limit": "x"}, {"after": 3}):
            rep = n.call("health.status", args)
            self.assertEqual(rep["error"]["code"], "bad_request", rep)
        rep = n.call("health.status", {"after": "nope"})
        self.assertEqual(rep["error"]["code"], "not_found", rep)
        # One sweep of all: past 1000 targets only failures are listed.
        rep = n.call("health.check", {}, timeout=DEADLINE)
        res = rep["result"]
        self.assertEqual((res["checked"], res["ok"], res["all_listed"]),
                         (1100, 1100, False), res)
        self.assertEqual(res["results"], [])
        out = n.azoctl("health")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(len([l for l in out.stdout.splitlines()
                              if l.startswith("target ")]), 1100)

    BAD = [
        ("tcp = 127.0.0.1:1\nhttp = http://x/", "targets/x/http",
         "one probe"),
        ("period = 1s", "targets/x", "no probe"),
        ("tcp = nohost", "targets/x/tcp", "port"),
        ("http = ftp://x/", "targets/x/http", "http"),
        ("exec = check-disk --quiet", "targets/x/exec", "must be a path"),
        ("exec = '[\"/bin/true\", 5]'", "targets/x/exec", "element 1"),
        ("tcp = 127.0.0.1:1\nrestart = nosuch", "targets/x/restart",
         "no actor 'nosuch'"),
        ("tcp = 127.0.0.1:1\nrestart = health-checker", "targets/x/restart",
         "itself"),
        ("tcp = 127.0.0.1:1\nexpect = ok", "targets/x/expect", "http"),
        ("zmq = self\nserver_key = abc\nclient_cert = /x", "targets/x/server_key",
         "40"),
        ("tcp = 127.0.0.1:1\nfailure_threshold = 0",
         "targets/x/failure_threshold", ""),
    ]

    def test_bad_targets_stop_azod_naming_the_key(self):
        for body, key, word in self.BAD:
            with self.subTest(body=body):
                text = ("actors\n    archiver\n    health-checker\n"
                        "        targets\n            x\n" +
                        "".join("                " + l + "\n"
                                for l in body.splitlines()))
                path = self.write_cfg(text, "bad.cfg")
                out = subprocess.run([AZOD, "-c", path, "--check"],
                                     capture_output=True, text=True,
                                     timeout=DEADLINE)
                self.assertEqual(out.returncode, 2, out.stderr)
                self.assertIn("actors/health-checker/" + key, out.stderr)
                self.assertIn(word, out.stderr)
                self.assertIn(path + ":", out.stderr)


if __name__ == "__main__":
    unittest.main()
