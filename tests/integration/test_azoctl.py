"""Integration tests of azoctl against a real azod: every command, the
output forms, exit codes (0 ok, 1 error reply, 2 usage, 3 no reply), the
event stream, and that it never hangs on a dead endpoint."""
import json
import subprocess
import time

from azo_it import AZOCTL, DEADLINE, NodeTest

# The default config starts the scheduler last: its jobs' targets first.
ACTORS = ["health-checker", "mining-optimizer", "payment-recovery",
          "archiver", "scheduler"]


class AzoctlTest(NodeTest):
    def setUp(self):
        super().setUp()
        self.n = self.node()

    def ctl(self, *args, **kw):
        return self.n.azoctl(*args, **kw)

    def test_ping_and_status_table(self):
        out = self.ctl("ping")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"pong from node alpha in [0-9.]+ ms")
        out = self.ctl("status")
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertIn("node alpha", lines[0])
        header = [l for l in lines if l.startswith("NAME")]
        self.assertEqual(len(header), 1)
        for word in ("MODE", "PID", "STATE", "UPTIME", "RESTARTS", "BACKOFF",
                     "LAST EXIT"):
            self.assertIn(word, header[0])
        rows = {l.split()[0]: l.split() for l in lines
                if l.split() and l.split()[0] in ACTORS}
        self.assertEqual(sorted(rows), sorted(ACTORS))
        for name, cols in rows.items():
            self.assertEqual(cols[1], "thread", cols)
            self.assertEqual(int(cols[2]), self.n.proc.pid, cols)  # PID
            self.assertEqual(cols[3], "running", cols)
            self.assertEqual(cols[6], "-", cols)  # no backoff

    def test_status_json(self):
        out = self.ctl("--json", "status")
        self.assertEqual(out.returncode, 0, out.stderr)
        res = json.loads(out.stdout)
        self.assertEqual([a["name"] for a in res["actors"]], ACTORS)
        self.assertTrue(all(a["state"] == "running" for a in res["actors"]))

    def test_lifecycle_commands(self):
        out = self.ctl("restart", "archiver")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("archiver: running (gen 2, restarts 1)", out.stdout)
        out = self.ctl("stop", "archiver")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("stopped", out.stdout)
        out = self.ctl("call", "archive.list")
        self.assertEqual(out.returncode, 1)
        self.assertIn("unavailable", out.stderr)
        out = self.ctl("start", "archiver")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("running", out.stdout)
        out = self.ctl("restart", "nope")
        self.assertEqual(out.returncode, 1)
        self.assertIn("not_found", out.stderr)

    def test_nodes_lists_this_node(self):
        # Without node agents the cluster is this node alone.
        out = self.ctl("nodes")
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertEqual(lines[0],
                         "supervisor alpha  heartbeat 1s  liveness 3")
        self.assertEqual(lines[1], "")
        self.assertEqual(lines[2].split(),
                         ["NAME", "ROLE", "STATE", "ADDRESS", "LAST", "HB",
                          "STALE", "ACTORS"])
        self.assertEqual(len(lines), 4, out.stdout)
        cols = lines[3].split()
        self.assertEqual(cols[:6], ["alpha", "supervisor", "up",
                                    self.n.cluster, "-", "-"], cols)
        self.assertEqual(cols[6], ",".join(a + ":running" for a in ACTORS))
        out = self.ctl("--json", "nodes")
        self.assertEqual(out.returncode, 0, out.stderr)
        res = json.loads(out.stdout)
        self.assertEqual(res["heartbeat_ms"], 1000)
        self.assertEqual(res["liveness"], 3)
        self.assertEqual(len(res["nodes"]), 1)
        me = res["nodes"][0]
        self.assertEqual((me["name"], me["role"], me["state"]),
                         ("alpha", "supervisor", "up"))
        self.assertEqual([a["name"] for a in me["actors"]], ACTORS)
        for a in me["actors"]:
            self.assertEqual((a["state"], a["epoch"], a["gen"]),
                             ("running", 1, 1), a)

    def test_move_errors(self):
        out = self.ctl("move", "scheduler", "nosuchnode")
        self.assertEqual(out.returncode, 1)
        self.assertIn("not_found: no node named 'nosuchnode'", out.stderr)
        out = self.ctl("move", "scheduler", "alpha")  # where it runs
        self.assertEqual(out.returncode, 1)
        self.assertIn("conflict: actor scheduler already runs on node alpha",
                      out.stderr)
        out = self.ctl("--json", "move", "scheduler", "alpha")
        self.assertEqual(out.returncode, 1)
        self.assertEqual(json.loads(out.stdout)["error"]["code"], "conflict")
        out = self.ctl("move", "nope", "alpha")
        self.assertEqual(out.returncode, 1)
        self.assertIn("not_found", out.stderr)
        for args in (["move"], ["move", "scheduler"],
                     ["move", "scheduler", "alpha", "extra"]):
            out = self.ctl(*args)
            self.assertEqual(out.returncode, 2, (args, out.stderr))
        # Nothing moved: the same instance runs, under its first epoch.
        a = self.n.actors()["scheduler"]
        self.assertEqual((a["state"], a["node"], a["epoch"], a["gen"]),
                         ("running", "alpha", 1, 1))

    def test_call_forms_and_errors(self):
        out = self.ctl("call", "ping")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["node"], "alpha")
        out = self.ctl("call", "actor.restart", "name=scheduler")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["gen"], 2)
        out = self.ctl("call", "actor.restart", '{"name": "scheduler"}')
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["gen"], 3)
        out = self.ctl("call", "actor.restart", "name=5")  # 5 is an int
        self.assertEqual(out.returncode, 1)
        self.assertIn("bad_request", out.stderr)
        out = self.ctl("call", "bogus")
        self.assertEqual(out.returncode, 1)
        self.assertIn("unknown_command", out.stderr)
        out = self.ctl("--json", "call", "bogus")
        self.assertEqual(out.returncode, 1)
        self.assertEqual(json.loads(out.stdout)["error"]["code"],
                         "unknown_command")
        out = self.ctl("jobs")
        self.assertEqual(out.returncode, 0, out.stderr)
        out = self.ctl("run", "x")
        self.assertEqual(out.returncode, 1)
        self.assertIn("not_found", out.stderr)
        for friendly in (["report"], ["mining", "report"]):
            out = self.ctl(*friendly)
            self.assertEqual(out.returncode, 0, (friendly, out.stderr))
            self.assertIn("mining:optimization:report", out.stdout)
            self.assertIn("mode:      minimal", out.stdout)
        out = self.ctl("mining", "backtest", "/nonexistent/history.csv")
        self.assertEqual(out.returncode, 1)
        self.assertIn("cannot open /nonexistent/history.csv", out.stderr)
        out = self.ctl("pay", "get", "p1")
        self.assertEqual(out.returncode, 1)
        self.assertIn("not_found: no payment 'p1'", out.stderr)

    def test_usage_errors_exit_2(self):
        for args in ([], ["bogus"], ["restart"], ["call"],
                     ["call", "ping", "novalue"], ["ping", "extra"],
                     ["--timeout", "x", "ping"], ["keygen"],
                     ["keygen", "me_secret"], ["keygen", "a", "b"]):
            out = self.ctl(*args)
            self.assertEqual(out.returncode, 2, (args, out.stderr))
            self.assertTrue(out.stderr.strip(), args)

    def test_dead_endpoint_exits_3_without_hanging(self):
        t0 = time.monotonic()
        out = subprocess.run([AZOCTL, "-e", "ipc://%s/none" % self.tmp,
                              "--timeout", "300", "status"],
                             capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(out.returncode, 3)
        self.assertIn("no reply", out.stderr)
        self.assertLess(time.monotonic() - t0, DEADLINE)
        out = subprocess.run([AZOCTL, "-e", "ipc://%s/none" % self.tmp,
                              "--timeout", "300", "sub"],
                             capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(out.returncode, 3)

    def test_sub_prints_json_lines(self):
        # Without --events, sub asks the node for its events endpoint.
        proc = subprocess.Popen(
            [AZOCTL, "-e", self.n.control, "sub", "sup.actor.started",
             "--count", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.addCleanup(proc.kill)
        end = time.monotonic() + DEADLINE
        while proc.poll() is None and time.monotonic() < end:
            self.n.call("actor.restart", {"name": "health-checker"})
            try:
                proc.wait(0.2)
            except subprocess.TimeoutExpired:
                pass
        out, err = proc.communicate(timeout=DEADLINE)
        self.assertEqual(proc.returncode, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 2, out)
        for line in lines:
            ev = json.loads(line)
            self.assertEqual(list(ev)[0], "topic")
            self.assertEqual(ev["topic"], "sup.actor.started")
            self.assertEqual(ev["v"], 1)
            self.assertEqual(ev["node"], "alpha")
            self.assertEqual(ev["src"], "sup")
            self.assertEqual(ev["actor"], "health-checker")

    def test_shutdown(self):
        out = self.ctl("shutdown")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("node alpha is shutting down", out.stdout)
        self.assertEqual(self.n.proc.wait(DEADLINE), 0)

    def test_help_and_version(self):
        out = subprocess.run([AZOCTL, "--help"], capture_output=True,
                             text=True, timeout=DEADLINE)
        self.assertEqual(out.returncode, 0)
        for word in ("ping", "status", "start NAME", "stop NAME",
                     "restart NAME", "shutdown", "sub [TOPIC...]", "call CMD",
                     "keygen NAME", "nodes", "move NAME NODE", "--json",
                     "--timeout", "--endpoint",
                     "--events", "--count", "AZO_ENDPOINT", "Exit status"):
            self.assertIn(word, out.stdout)
        out = subprocess.run([AZOCTL, "--version"], capture_output=True,
                             text=True, timeout=DEADLINE)
        self.assertRegex(out.stdout, r"azoctl \d+\.\d+\.\d+")


if __name__ == "__main__":
    import unittest
    unittest.main()
