"""The scheduler actor (#5) from the outside: the default jobs, the sched.*
commands and their errors, overlap, failure backoff, config errors, state
kept across a restart of azod, and no run lost or doubled when a process
scheduler is killed with SIGKILL while its jobs are due. Real azod
processes, ipc endpoints, pyzmq client (/usr/bin/python3)."""
import json
import os
import signal
import subprocess
import time
import unittest

from azo_it import AZOD, DEADLINE, NodeTest, alive, recv_event, wait_for

DEFAULT_JOBS = ["archive-nightly", "health-sweep", "mining-optimize",
                "node-check", "payment-recovery"]


def jobs_cfg(jobs, sched_extra="", actors="    archiver\n"):
    """A config with the archiver (or actors) and a scheduler running jobs:
    a dict of name -> dict of key -> value, written as they come."""
    out = "actors\n" + actors + "    scheduler\n" + sched_extra
    out += "        jobs\n"
    for name, keys in jobs.items():
        out += "            %s\n" % name
        for k, v in keys.items():
            out += "                %s = %s\n" % (k, v)
    return out


def now_ms():
    return int(time.time() * 1000)


class SchedTest(NodeTest):
    def start(self, text, **kw):
        return self.node(config=self.write_cfg(text), **kw)

    def get(self, n, job):
        rep = n.call("sched.get", {"job": job})
        self.assertTrue(rep["ok"], rep)
        return rep["result"]

    def fail_code(self, rep, code, field=None):
        """Asserts rep is an error with code, its message starting with
        "field:" when field is given; returns the message."""
        self.assertFalse(rep["ok"], rep)
        self.assertEqual(rep["error"]["code"], code, rep)
        msg = rep["error"]["message"]
        if field:
            self.assertTrue(msg.startswith(field + ":"), msg)
        return msg

    def synced_sub(self, n, job, *topics):
        """A subscriber known to receive: runs job by hand until its events
        show, then drains."""
        sub = n.subscriber(*(topics or ("sched.",)))
        end = time.monotonic() + DEADLINE
        while not sub.poll(100):
            self.assertLess(time.monotonic(), end, "no sched. events")
            n.call("sched.run", {"job": job})
        while sub.poll(300):
            sub.recv_multipart()
        return sub

    def collect(self, sub, seconds):
        """Every event of the next seconds, as (topic, body)."""
        out = []
        end = time.monotonic() + seconds
        while True:
            try:
                out.append(recv_event(sub, timeout=end - time.monotonic()))
            except TimeoutError:
                return out

    def assert_grid(self, hist, every):
        """The scheduled (not manual) entries of a history, oldest first,
        cover their grid once: no time twice, and each entry stands for
        the grid times since the one before (missed > 1 after downtime).
        Returns them."""
        runs = sorted((h for h in hist if not h["manual"]),
                      key=lambda h: h["sched"])
        scheds = [h["sched"] for h in runs]
        self.assertEqual(len(scheds), len(set(scheds)), runs)
        self.assertEqual(len({h["run"] for h in hist}), len(hist), hist)
        for a, b in zip(runs, runs[1:]):
            self.assertEqual(b["sched"] - a["sched"], b["missed"] * every,
                             (a, b))
        return runs


class DefaultJobsTest(SchedTest):
    def test_default_jobs_fire_succeed_and_fail_honestly(self):
        n = self.node()
        # Each new interval job ran once at start and was answered.
        for job in ("node-check", "health-sweep", "payment-recovery",
                    "mining-optimize"):
            g = self.get(n, job)
            self.assertEqual(g["history"][0]["result"], "ok", g)
            self.assertEqual(g["failures"], 0, g)
        self.assertEqual(self.get(n, "node-check")["schedule"], "every 10s")
        g = self.get(n, "archive-nightly")
        self.assertEqual(g["runs"], 0, g)
        self.assertEqual(g["schedule"], "cron 30 3 * * * (UTC)")
        self.assertGreater(g["next"], now_ms())

        sub = self.synced_sub(n, "node-check")
        out = n.azoctl("--json", "jobs")
        self.assertEqual(out.returncode, 0, out.stderr)
        res = json.loads(out.stdout)
        self.assertEqual([j["name"] for j in res["jobs"]], DEFAULT_JOBS)
        self.assertEqual(res["count"], 5)

        # A run by hand: marked manual, answered by the mining optimizer.
        rep = n.call("sched.run", {"job": "mining-optimize"})
        run = rep["result"]["run"]
        self.assertRegex(run, r"^mining-optimize@\d+m$")
        t, ev = recv_event(sub, topic="sched.job.done",
                           match=lambda b: b["run"] == run)
        self.assertTrue(ev["manual"])

        # node-check's next scheduled run, on its 10 s grid.
        t, fired = recv_event(sub, topic="sched.job.fired",
                              match=lambda b: b["job"] == "node-check" and
                              not b["manual"])
        first = min(h["sched"] for h in self.get(n, "node-check")["history"]
                    if not h["manual"])
        self.assertEqual((fired["sched"] - first) % 10000, 0, (fired, first))
        self.assertGreater(fired["sched"], first)
        self.assertEqual(fired["run"], "node-check@%d" % fired["sched"])
        self.assertEqual(fired["fire_at"], fired["sched"])  # no jitter
        self.assertGreaterEqual(fired["late_ms"], 0)
        self.assertEqual(fired["missed"], 1)
        self.assertEqual(fired["next"], fired["sched"] + 10000)
        self.assertEqual(fired["src"], "scheduler")
        t, done = recv_event(sub, topic="sched.job.done",
                             match=lambda b: b["run"] == fired["run"])
        self.assertFalse(done["manual"])
        self.assertGreaterEqual(done["duration_ms"], 0)
        sub.close()


class CommandsTest(SchedTest):
    CFG = jobs_cfg({"tick": {"command": "ping", "every": "1s"},
                    "hourly": {"command": "ping", "cron": '"0 * * * *"',
                               "timeout": "5s", "overlap": "allow"}},
                   sched_extra="        history = 3\n")

    def test_list_get_run(self):
        n = self.start(self.CFG)
        res = n.call("sched.list")["result"]
        self.assertEqual([j["name"] for j in res["jobs"]], ["hourly", "tick"])
        self.assertEqual((res["count"], res["more"]), (2, False))
        j = res["jobs"][1]
        self.assertEqual((j["command"], j["schedule"], j["paused"]),
                         ("ping", "every 1s", False))
        self.assertEqual((j["interval_ms"], j["backoff"], j["failures"]),
                         (1000, False, 0))
        res = n.call("sched.list", {"limit": 1})["result"]
        self.assertEqual(([j["name"] for j in res["jobs"]], res["more"]),
                         (["hourly"], True))
        res = n.call("sched.list", {"after": "hourly"})["result"]
        self.assertEqual(([j["name"] for j in res["jobs"]], res["more"]),
                         (["tick"], False))
        self.fail_code(n.call("sched.list", {"limit": -1}), "bad_request",
                       "limit")
        self.fail_code(n.call("sched.list", {"bogus": 1}), "bad_request")

        g = self.get(n, "hourly")
        self.assertEqual(g["schedule"], "cron 0 * * * * (UTC)")
        self.assertEqual(g["next"] % 3600000, 0)
        self.assertEqual((g["overlap"], g["missed"], g["timeout_ms"]),
                         ("allow", "once", 5000))
        self.assertEqual((g["max_consecutive_failures"],
                          g["backoff_multiplier"], g["max_interval_ms"]),
                         (3, 2.0, 240 * 60000))
        self.assertEqual((g["refire"], g["set_at_run_time"], g["runs"]),
                         (True, False, 0))
        self.assertEqual((g["args"], g["history"], g["inflight"]),
                         ({}, [], []))

        rep = n.call("sched.run", {"job": "hourly", "wait": True})
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(rep["result"]["result"], "ok")
        self.assertRegex(rep["result"]["run"], r"^hourly@\d+m$")
        g = self.get(n, "hourly")
        self.assertEqual((g["runs"], g["oks"]), (1, 1))
        self.assertEqual(g["history"][0]["run"], rep["result"]["run"])
        self.assertTrue(g["history"][0]["manual"])
        # history = 3: newest first, the oldest dropped.
        wait_for(lambda: self.get(n, "tick")["runs"] >= 4, "4 runs of tick")
        hist = self.get(n, "tick")["history"]
        self.assertEqual(len(hist), 3)
        self.assertEqual(hist, sorted(hist, key=lambda h: -h["sched"]))
        self.assert_grid(hist, 1000)

        for cmd in ("sched.get", "sched.run", "sched.pause", "sched.resume",
                    "sched.set"):
            with self.subTest(cmd=cmd):
                self.fail_code(n.call(cmd, {"job": "nope", "every": "1s"}
                                      if cmd == "sched.set" else
                                      {"job": "nope"}), "not_found")
                self.fail_code(n.call(cmd, {}), "bad_request", "job")
                self.fail_code(n.call(cmd, {"job": 5}), "bad_request", "job")
        self.fail_code(n.call("sched.run", {"job": "tick", "wait": 1}),
                       "bad_request", "wait")
        # azoctl's forms: exit codes only (its tables may change).
        self.assertEqual(n.azoctl("run", "hourly").returncode, 0)
        out = n.azoctl("run", "nope")
        self.assertEqual(out.returncode, 1)
        self.assertIn("not_found", out.stderr)

    def test_pause_resume_and_set(self):
        n = self.start(self.CFG)
        sub = self.synced_sub(n, "hourly", "sched.job.fired")
        g = n.call("sched.pause", {"job": "tick"})["result"]
        self.assertEqual((g["paused"], g["next"]), (True, 0))
        self.assertTrue(n.call("sched.pause", {"job": "tick"})["ok"])
        self.assertEqual(n.call("sched.list")["result"]["jobs"][1]["paused"],
                         True)
        # Over two periods of tick: nothing fires (a run in flight at the
        # pause may still have been announced; drained above).
        evs = self.collect(sub, 2.2)
        self.assertEqual([e for t, e in evs if e["job"] == "tick"], [])
        out = n.azoctl("resume", "tick")
        self.assertEqual(out.returncode, 0, out.stderr)
        g = self.get(n, "tick")
        self.assertFalse(g["paused"])
        self.assertTrue(0 <= g["next_in_ms"] <= 1000, g)
        t, ev = recv_event(sub, match=lambda b: b["job"] == "tick")
        self.assertFalse(ev["manual"])
        self.assertEqual(ev["missed"], 1)  # no catch-up of the pause
        out = n.azoctl("pause", "tick")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(self.get(n, "tick")["paused"])
        out = n.azoctl("resume", "nope")
        self.assertEqual(out.returncode, 1)

        # sched.set: every, cron, reset.
        g = n.call("sched.set", {"job": "tick", "every": "2s"})["result"]
        self.assertEqual((g["schedule"], g["interval_ms"]), ("every 2s", 2000))
        self.assertTrue(g["set_at_run_time"])
        self.assertTrue(g["paused"])  # set does not resume
        g = n.call("sched.resume", {"job": "tick"})["result"]
        self.assertTrue(0 <= g["next_in_ms"] <= 2000, g)
        g = n.call("sched.set", {"job": "tick", "every": 3000})["result"]
        self.assertEqual(g["schedule"], "every 3s")
        self.assertTrue(0 <= g["next_in_ms"] <= 3000, g)
        g = n.call("sched.set", {"job": "tick", "cron": "*/5 * * * *",
                                 "zone": "UTC"})["result"]
        self.assertEqual(g["schedule"], "cron */5 * * * * (UTC)")
        self.assertEqual(g["next"] % 300000, 0)
        self.assertEqual(g["interval_ms"], 0)
        g = n.call("sched.set", {"job": "tick", "reset": True})["result"]
        self.assertEqual((g["schedule"], g["set_at_run_time"]),
                         ("every 1s", False))
        self.assertTrue(0 <= g["next_in_ms"] <= 1000, g)

        for args, field in [({"cron": "x * * * *"}, "cron"),
                            ({"cron": "61 * * * *"}, "cron"),
                            ({"every": "5x"}, "every"),
                            ({"every": "0s"}, "every"),
                            ({"every": -5}, "every"),
                            ({"every": True}, "every"),
                            ({"cron": "0 * * * *", "zone": "Mars/Base"},
                             "zone"),
                            ({"every": "1m", "zone": "UTC"}, "zone"),
                            ({"cron": 5}, "cron"),
                            ({"every": "1s", "cron": "* * * * *"}, None),
                            ({}, None),
                            ({"reset": True, "every": "1s"}, "reset"),
                            ({"reset": "yes"}, "reset"),
                            ({"bogus": 1}, None)]:
            with self.subTest(args=args):
                msg = self.fail_code(n.call("sched.set",
                                            dict(job="tick", **args)),
                                     "bad_request", field)
                if "bogus" in args:
                    self.assertIn("bogus", msg)
        # A refused set changed nothing.
        g = self.get(n, "tick")
        self.assertEqual((g["schedule"], g["set_at_run_time"]),
                         ("every 1s", False))
        sub.close()


class OverlapTest(SchedTest):
    def test_overlap_policies_with_a_target_that_does_not_answer(self):
        # The archiver runs as a process and is stopped (SIGSTOP): runs to
        # it stay in flight until their time-out. It is never taken for
        # hung: its heartbeat is an hour.
        arch = ("    archiver\n        mode = process\n"
                "        heartbeat = 1h\n        liveness = 1000\n")
        job = {"command": "archive.list", "cron": '"0 0 1 1 *"',
               "timeout": "3s"}
        n = self.start(jobs_cfg({
            "forbid": dict(job), "replace": dict(job, overlap="replace"),
            "allow": dict(job, overlap="allow"),
            "every": {"command": "archive.list", "every": "1s",
                      "timeout": "2500ms",
                      "max_consecutive_failures": "1000"}}, actors=arch))
        sub = self.synced_sub(n, "forbid")
        wait_for(lambda: self.get(n, "forbid")["running"] == 0, "no run")
        os.kill(n.actors()["archiver"]["pid"], signal.SIGSTOP)

        first = n.call("sched.run", {"job": "forbid"})["result"]["run"]
        msg = self.fail_code(n.call("sched.run", {"job": "forbid"}),
                             "conflict")
        self.assertIn("forbid", msg)
        self.assertEqual(self.get(n, "forbid")["running"], 1)

        a = n.call("sched.run", {"job": "replace"})["result"]["run"]
        time.sleep(0.002)  # run ids of manual runs are their ms
        b = n.call("sched.run", {"job": "replace"})["result"]["run"]
        self.assertNotEqual(a, b)
        t, ev = recv_event(sub, topic="sched.job.skipped",
                           match=lambda e: e["run"] == a)
        self.assertEqual(ev["reason"], "replaced")
        self.assertEqual(self.get(n, "replace")["running"], 1)

        n.call("sched.run", {"job": "allow"})
        time.sleep(0.002)
        n.call("sched.run", {"job": "allow"})
        g = self.get(n, "allow")
        self.assertEqual((g["running"], len(g["inflight"])), (2, 2))

        # The scheduled job: its next due time finds the last run in
        # flight and is skipped; the runs in flight time out.
        want = {
            "overlap": lambda t, e: t == "sched.job.skipped" and
            e["job"] == "every" and e["reason"] == "overlap" and
            not e["manual"],
            "every timeout": lambda t, e: t == "sched.job.failed" and
            e["job"] == "every" and e["code"] == "timeout",
            "forbid timeout": lambda t, e: t == "sched.job.failed" and
            e["run"] == first and e["code"] == "timeout"}
        while want:
            t, ev = recv_event(sub)
            for k in [k for k, f in want.items() if f(t, ev)]:
                del want[k]
        h = self.get(n, "forbid")["history"][0]
        self.assertEqual((h["run"], h["result"]), (first, "timeout"))
        self.assertIn("overlap", [h["result"] for h in
                                  self.get(n, "every")["history"]])
        os.kill(n.actors()["archiver"]["pid"], signal.SIGCONT)
        sub.close()


class BackoffTest(SchedTest):
    def test_failures_grow_the_interval(self):
        n = self.start(jobs_cfg({
            "broken": {"command": "bogus.cmd", "every": "1s"},
            "fine": {"command": "ping", "every": "1h"}}))
        sub = self.synced_sub(n, "fine")
        # It has failed since the start: planned again (while paused, so
        # that no run of before is still on its way), it starts afresh.
        self.assertTrue(n.call("sched.pause", {"job": "broken"})["ok"])
        wait_for(lambda: self.get(n, "broken")["running"] == 0, "no run")
        g = n.call("sched.set", {"job": "broken", "every": "1s"})["result"]
        self.assertEqual((g["failures"], g["backoff"]), (0, False))
        self.collect(sub, 0.3)
        self.assertTrue(n.call("sched.resume", {"job": "broken"})["ok"])
        seen = []
        while len([e for t, e in seen if t == "sched.job.backoff"]) < 2:
            t, ev = recv_event(sub, match=lambda e: e["job"] == "broken")
            if t in ("sched.job.failed", "sched.job.backoff"):
                seen.append((t, ev))
        kinds = [(t.rsplit(".", 1)[1], e["failures"]) for t, e in seen]
        self.assertEqual(kinds, [("failed", 1), ("failed", 2), ("failed", 3),
                                 ("backoff", 3), ("failed", 4),
                                 ("backoff", 4)])
        fails = [e for t, e in seen if t == "sched.job.failed"]
        for e in fails:
            self.assertEqual(e["code"], "unknown_command", e)
            self.assertIn("bogus.cmd", e["message"])
        # Every second, then 2 s after the third failure, then 4 s.
        gaps = [b["sched"] - a["sched"] for a, b in zip(fails, fails[1:])]
        self.assertEqual(gaps, [1000, 1000, 2000])
        b1, b2 = [e for t, e in seen if t == "sched.job.backoff"]
        self.assertEqual((b1["interval_ms"], b1["next"]),
                         (2000, fails[2]["sched"] + 2000))
        self.assertEqual((b2["interval_ms"], b2["next"]),
                         (4000, fails[3]["sched"] + 4000))
        g = self.get(n, "broken")
        self.assertEqual((g["backoff"], g["interval_ms"], g["failures"]),
                         (True, 4000, 4))
        self.assertTrue(g["last_error"].startswith("unknown_command: "), g)
        self.assertEqual(g["next"], fails[3]["sched"] + 4000)
        # sched.set plans the job afresh: the backoff is gone.
        g = n.call("sched.set", {"job": "broken", "reset": True})["result"]
        self.assertEqual((g["backoff"], g["interval_ms"], g["failures"]),
                         (False, 1000, 0))
        sub.close()


class ConfigTest(SchedTest):
    BAD = [
        ('command = ping\ncron = "x * * * *"\n', 6, "/x/cron", "minute"),
        ('command = ping\ncron = "0 0 31 2 *"\n', 6, "/x/cron", "never"),
        ("command = ping\nevery = 5x\n", 6, "/x/every", "5x"),
        ("command = ping\nevery = 0s\n", 6, "/x/every", "minimum"),
        ('command = ping\nevery = 1s\ncron = "* * * * *"\n', 4, "/x:",
         "every, cron"),
        ("command = ping\n", 4, "/x:", "every, cron"),
        ("every = 1s\n", 4, "/x:", "command"),
        ("command = Bad Command\nevery = 1s\n", 5, "/x/command",
         "command name"),
        ("command = ping\nevery = 1s\nargs = '{\"name\": '\n", 7, "/x/args",
         "JSON"),
        ("command = ping\nevery = 1s\nargs = '[1]'\n", 7, "/x/args",
         "JSON object"),
        ("command = ping\nevery = 1s\nrun_arg = id\nargs = '{\"id\": 1}'\n",
         8, "/x/args", "run_arg"),
        ('command = ping\ncron = "0 * * * *"\nzone = Mars/Base\n', 7,
         "/x/zone", "Mars/Base"),
        ("command = ping\nevery = 1m\nzone = UTC\n", 7, "/x/zone",
         "cron schedules only"),
        ("command = ping\nevery = 1s\noverlap = sometimes\n", 7,
         "/x/overlap", "forbid|allow|replace"),
        ("command = ping\nevery = 1s\nmissed = twice\n", 7, "/x/missed",
         "once|skip"),
        ("command = ping\nevery = 1s\nbackoff_multiplier = 0.5\n", 7,
         "/x/backoff_multiplier", "between 1 and 100"),
        ("command = ping\nevery = 1s\nbogus = 1\n", 7, "/x/bogus",
         "unknown key"),
    ]

    def test_bad_jobs_stop_azod_naming_file_line_and_key(self):
        for body, line, key, word in self.BAD:
            with self.subTest(body=body):
                text = ("actors\n    scheduler\n        jobs\n"
                        "            x\n" +
                        "".join("                " + l + "\n"
                                for l in body.splitlines()))
                path = self.write_cfg(text, "bad.cfg")
                data = os.path.join(self.tmp, "data")
                ipc = "ipc://" + os.path.join(self.tmp, "s")
                for check in (["--check"],
                              ["--set", "node/data_dir=" + data,
                               "--set", "endpoints/control=%s-c" % ipc,
                               "--set", "endpoints/events=%s-e" % ipc,
                               "--set", "endpoints/cluster=%s-k" % ipc]):
                    out = subprocess.run([AZOD, "-c", path] + check,
                                         capture_output=True, text=True,
                                         timeout=DEADLINE)
                    self.assertEqual(out.returncode, 2, out.stderr)
                    self.assertIn("%s:%d: actors/scheduler/jobs%s"
                                  % (path, line, key), out.stderr)
                    self.assertIn(word, out.stderr)
                    self.assertEqual(out.stderr.count("\n"), 1, out.stderr)
                    self.assertFalse(os.path.exists(data))

    def test_bad_job_from_set_is_named(self):
        out = subprocess.run(
            [AZOD, "--set", "actors/scheduler/jobs/y/command=ping",
             "--set", "actors/scheduler/jobs/y/cron=61 * * * *", "--check"],
            capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("--set actors/scheduler/jobs/y/cron=61 * * * *",
                      out.stderr)
        self.assertIn("61 is out of range", out.stderr)
        out = subprocess.run(
            [AZOD, "--set", "actors/scheduler/jobs/y/command=ping",
             "--set", "actors/scheduler/jobs/y/every=90s", "--check"],
            capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(out.returncode, 0, out.stderr)


class DurableTest(SchedTest):
    def test_state_survives_a_restart_of_azod(self):
        text = jobs_cfg({"tick": {"command": "ping", "every": "2s"},
                         "idle": {"command": "ping", "every": "1h"}})
        n = self.start(text)
        wait_for(lambda: self.get(n, "tick")["runs"] >= 2, "two runs")
        self.assertTrue(n.call("sched.set", {"job": "idle",
                                             "every": "2h"})["ok"])
        self.assertTrue(n.call("sched.pause", {"job": "idle"})["ok"])
        n.call("sched.run", {"job": "idle", "wait": True})
        before = self.get(n, "tick")
        self.assertTrue(n.call("shutdown")["ok"])
        self.assertEqual(n.proc.wait(DEADLINE), 0, n.log_text())
        n.stop()
        self.nodes.remove(n)

        m = self.start(text)  # the same data dir
        g = self.get(m, "tick")
        self.assertGreaterEqual(g["runs"], before["runs"])
        # Nothing was lost: every run of the first life is in the history
        # of the second, once; the grid goes on.
        wait_for(lambda: self.get(m, "tick")["runs"] >= g["runs"] + 1,
                 "a run after the restart")
        after = self.get(m, "tick")
        ids = [h["run"] for h in after["history"]]
        for h in before["history"]:
            self.assertIn(h["run"], ids)
        self.assertEqual(after["runs"], after["oks"] + sum(
            h["result"] == "interrupted" for h in after["history"]), after)
        runs = self.assert_grid(after["history"], 2000)
        self.assertEqual(len(runs), len(after["history"]))
        self.assertTrue(all(h["result"] in ("ok", "interrupted")
                            for h in runs), runs)
        i = self.get(m, "idle")
        self.assertEqual((i["paused"], i["schedule"], i["set_at_run_time"]),
                         (True, "every 2h", True))
        self.assertEqual((i["runs"], i["oks"]), (2, 2))
        self.assertTrue(i["history"][0]["manual"])
        self.assertEqual(m.log_text().count("no longer configured"), 0)

        # A job dropped from the config loses its state.
        m.call("shutdown")
        self.assertEqual(m.proc.wait(DEADLINE), 0)
        m.stop()
        self.nodes.remove(m)
        k = self.start(jobs_cfg({"tick": {"command": "ping",
                                          "every": "2s"}}))
        self.assertEqual(k.call("sched.list")["result"]["count"], 1)
        self.assertIn("j/idle is no longer configured", k.log_text())


class KillTest(SchedTest):
    def test_kill9_of_a_process_scheduler_loses_no_run(self):
        """Each run restarts the archiver (sup.actor.restarted counts the
        runs at the target). The scheduler, a process, is killed with
        SIGKILL four times, mostly right at a run's fire time. No run is
        lost; a run is doubled only when it was in flight at a kill, and
        then it carries the same run id both times (recognisable)."""
        text = jobs_cfg(
            {"bounce": {"command": "actor.restart",
                        "args": "'{\"name\": \"archiver\"}'",
                        "every": "1s"}},
            sched_extra=("        mode = process\n        history = 100\n"
                         "        backoff\n            min = 400ms\n"
                         "            jitter = 0\n"))
        n = self.start(text, start=False)
        n.start()

        def up():
            try:
                a = n.actors()["scheduler"]
            except (TimeoutError, KeyError):
                return False
            return a["state"] == "running"
        wait_for(up, "the scheduler to start")
        n.wait_ready()
        sub = n.subscriber("sched.", "sup.")
        wait_for(lambda: sub.poll(100), "events")  # a run every second
        # Baseline: paused, nothing in flight, no event pending.
        self.assertTrue(n.call("sched.pause", {"job": "bounce"})["ok"])
        wait_for(lambda: self.get(n, "bounce")["running"] == 0,
                 "no run in flight")
        self.collect(sub, 0.5)
        old = {h["run"] for h in self.get(n, "bounce")["history"]}
        self.assertTrue(n.call("sched.resume", {"job": "bounce"})["ok"])

        kills = 0
        events = []
        for offset in (0.0, 0.001, 0.002, -0.6):
            pid = n.actors()["scheduler"]["pid"]
            due = self.get(n, "bounce")["next"] / 1000.0 + offset
            while due < time.time() + 0.05:
                due += 1.0
            events += self.collect(sub, due - time.time())
            os.kill(pid, signal.SIGKILL)
            kills += 1
            wait_for(lambda: not alive(pid), "the scheduler to die")
            wait_for(lambda: (lambda a: a["pid"] != pid and a["state"] ==
                              "running")(n.actors()["scheduler"]),
                     "the scheduler to run again")
            events += self.collect(sub, 0.3)
        events += self.collect(sub, 0.5)
        self.assertTrue(n.call("sched.pause", {"job": "bounce"})["ok"])
        wait_for(lambda: self.get(n, "bounce")["running"] == 0,
                 "no run in flight")
        wait_for(lambda: n.actors()["archiver"]["state"] == "running",
                 "the archiver to run")
        events += self.collect(sub, 0.5)

        g = self.get(n, "bounce")
        new = [h for h in g["history"] if h["run"] not in old]
        runs = self.assert_grid(new, 1000)
        self.assertEqual(len(runs), len(new))  # no manual run
        results = [h["result"] for h in runs]
        ok = results.count("ok")
        # refire (the default): a run in flight at a kill is sent again
        # with its run id and ends ok; none is left interrupted.
        self.assertEqual(ok, len(runs), results)
        self.assertGreaterEqual(len(runs), kills)
        # Runs at the target: one archiver restart each.
        target = sum(1 for t, e in events if t == "sup.actor.restarted"
                     and e["actor"] == "archiver")
        fired = [e["run"] for t, e in events if t == "sched.job.fired"]
        # A run id fired twice is a run re-sent after a kill: one per kill
        # at most (one job, overlap forbid: one run in flight).
        self.assertLessEqual(len(fired) - len(set(fired)), kills, fired)
        self.assertTrue(set(fired) <= {h["run"] for h in runs},
                        (fired, runs))
        for h in runs:
            if h["result"] == "ok":
                self.assertIn(h["run"], fired)
        exits = [e for t, e in events if t == "sup.actor.exited"
                 and e["actor"] == "scheduler"]
        self.assertEqual([e["reason"] for e in exits], ["signal 9"] * kills)
        resent = len(fired) - len(set(fired))
        print("\n  %d kills: %d runs (all ok, %d re-sent after a kill with "
              "their run id, %d catching up %d missed times), %d at the "
              "target" % (kills, len(runs), resent,
                          sum(h["missed"] > 1 for h in runs),
                          sum(h["missed"] - 1 for h in runs), target))
        # None lost: every run reached the target. A repeat at the target
        # comes only from a run in flight at a kill, re-sent with the same
        # run id (a target that keeps run ids, via run_arg, drops it).
        self.assertGreaterEqual(target, ok)
        self.assertLessEqual(target, ok + kills)
        self.assertEqual(g["runs"], len(old) + len(runs), g)
        sub.close()


if __name__ == "__main__":
    unittest.main()
