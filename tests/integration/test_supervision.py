"""Supervision from the outside: process actors killed, stopped (hung),
crash-looping; strategies; supervisor restarts that keep the workload;
orphan grace; standbys; graceful stop. Real azod processes, ipc endpoints,
pyzmq client; every process started is killed and reaped at the end."""
import os
import signal
import time
import unittest

from azo_it import (DEADLINE, NodeTest, alive, procs_mentioning, reap,
                    recv_event, wait_for)

ACTORS = ["scheduler", "health-checker", "mining-optimizer",
          "payment-recovery", "archiver"]


def cfg(strategy="one_for_one", process=("scheduler",), extra="",
        sup_extra="", standby=()):
    """A config with the five actors, some of them processes."""
    out = "supervisor\n    strategy = %s\n%sactors\n" % (strategy, sup_extra)
    for a in ACTORS:
        out += "    %s\n" % a
        if a in process:
            out += "        mode = process\n"
        if a in standby:
            out += "        standby = 1\n"
        out += extra
    return out


class SupervisionTest(NodeTest):
    def start(self, text, **kw):
        return self.node(config=self.write_cfg(text), **kw)

    def synced_sub(self, n, prefix="sup."):
        """A subscriber known to receive: restarts a thread actor until
        its events show, then drains."""
        sub = n.subscriber(prefix)
        end = time.monotonic() + DEADLINE
        while not sub.poll(100):
            self.assertLess(time.monotonic(), end, "no events")
            n.call("actor.restart", {"name": "archiver"})
        while sub.poll(300):
            sub.recv_multipart()
        return sub

    def ping(self, n, prefix):
        rep = n.call(prefix + "ping")
        return rep["result"] if rep.get("ok") else None

    def test_kill9_of_a_process_actor_restarts_it(self):
        n = self.start(cfg())
        sub = self.synced_sub(n)
        old = n.actors()["scheduler"]
        self.assertEqual(old["mode"], "process")
        self.assertNotEqual(old["pid"], n.proc.pid)
        self.assertEqual(self.ping(n, "sched.")["pid"], old["pid"])
        os.kill(old["pid"], signal.SIGKILL)
        t, ev = recv_event(sub, topic="sup.actor.exited",
                           match=lambda b: b["actor"] == "scheduler")
        self.assertEqual(ev["reason"], "signal 9")
        self.assertEqual(ev["pid"], old["pid"])
        self.assertEqual(ev["restart_in_ms"], 0)  # a first crash: at once
        t, ev = recv_event(sub, topic="sup.actor.restarted",
                           match=lambda b: b["actor"] == "scheduler")
        t, ev = recv_event(sub, topic="sup.actor.started",
                           match=lambda b: b["actor"] == "scheduler")
        new = n.actors()["scheduler"]
        self.assertEqual(new["state"], "running")
        self.assertNotEqual(new["pid"], old["pid"])
        self.assertEqual(new["restarts"], 1)
        self.assertEqual(self.ping(n, "sched.")["pid"], new["pid"])
        self.assertIn("jobs", n.call("sched.list")["result"])
        self.assertFalse(alive(old["pid"]))

    def test_crash_loop_backs_off_then_escalates(self):
        backoff = ("        backoff\n            min = 100ms\n"
                   "            factor = 2\n            jitter = 0\n")
        n = self.start(cfg(extra="", sup_extra="    max_restarts = 4\n")
                       .replace("        mode = process\n",
                                "        mode = process\n" + backoff))
        sub = self.synced_sub(n)
        delays = []
        for i in range(5):
            pid = n.actors()["scheduler"]["pid"]
            os.kill(pid, signal.SIGKILL)
            t, ev = recv_event(sub, topic="sup.actor.exited",
                               match=lambda b: b["actor"] == "scheduler")
            delays.append(ev["restart_in_ms"])
            if i < 4:
                recv_event(sub, topic="sup.actor.started",
                           match=lambda b: b["actor"] == "scheduler")
        # The first crash restarts at once, then the delay grows; the fifth
        # restart within the period is one too many.
        self.assertEqual(delays, [0, 100, 200, 400, None])
        t, ev = recv_event(sub, topic="sup.escalated")
        self.assertIn("more than 4 restarts", ev["reason"])
        self.assertEqual(n.proc.wait(DEADLINE), 3, n.log_text())

    def test_sigstop_is_detected_as_hung_and_restarted(self):
        n = self.start(cfg(extra="        heartbeat = 100ms\n"
                                 "        liveness = 3\n"))
        sub = self.synced_sub(n)
        pid = n.actors()["scheduler"]["pid"]
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        t, ev = recv_event(sub, topic="sup.actor.exited",
                           match=lambda b: b["actor"] == "scheduler")
        self.assertEqual(ev["reason"], "hung")
        recv_event(sub, topic="sup.actor.started",
                   match=lambda b: b["actor"] == "scheduler")
        took = time.monotonic() - t0
        new = n.actors()["scheduler"]
        self.assertNotEqual(new["pid"], pid)
        self.assertEqual(new["state"], "running")
        self.assertIn("hung", new["last_exit"])
        self.assertIsNotNone(self.ping(n, "sched."))
        print("\n  SIGSTOP to restarted: %.0f ms (heartbeat 100 ms x 3)"
              % (took * 1000))

    def test_a_frozen_node_does_not_take_its_actors_for_hung(self):
        # The whole azod stopped past its thread actors' heartbeat x
        # liveness (300 ms): after SIGCONT nothing is hung, nothing
        # restarts, the node does not escalate.
        n = self.start(cfg(extra="        heartbeat = 100ms\n"
                                 "        liveness = 3\n"))
        before = n.actors()
        os.kill(n.proc.pid, signal.SIGSTOP)
        time.sleep(1.5)
        os.kill(n.proc.pid, signal.SIGCONT)
        time.sleep(0.5)  # several monitor periods after the resume
        self.assertIsNone(n.proc.poll(), n.log_text())
        after = n.actors()
        for a in ACTORS:
            self.assertEqual(after[a]["state"], "running", a)
            self.assertEqual(after[a]["gen"], before[a]["gen"], a)
        self.assertIn("this node was frozen for", n.log_text())
        self.assertNotIn("hung", n.log_text())

    def group_restart(self, strategy, expect_stopped):
        n = self.start(cfg(strategy=strategy, process=("health-checker",)))
        sub = self.synced_sub(n)
        before = n.actors()
        os.kill(before["health-checker"]["pid"], signal.SIGKILL)
        seen = []
        want = 2 * len(expect_stopped) + 2  # exits, then starts
        while len(seen) < want:
            t, ev = recv_event(sub)
            if t in ("sup.actor.exited", "sup.actor.started"):
                seen.append((t.rsplit(".", 1)[1], ev["actor"]))
        # Everyone of the group starts again in config (start) order.
        restarted = [a for a in ACTORS
                     if a == "health-checker" or a in expect_stopped]
        self.assertEqual(
            seen,
            [("exited", "health-checker")] +
            [("exited", a) for a in reversed(expect_stopped)] +
            [("started", a) for a in restarted])
        after = n.actors()
        for a in ACTORS:
            self.assertEqual(after[a]["state"], "running", a)
            bumped = a in restarted
            self.assertEqual(after[a]["gen"], before[a]["gen"] + bumped, a)
        self.assertFalse(sub.poll(300))  # nothing else happened

    def test_rest_for_one_restarts_the_later_actors_in_order(self):
        self.group_restart("rest_for_one",
                           ["mining-optimizer", "payment-recovery",
                            "archiver"])

    def test_one_for_all_restarts_everyone_in_order(self):
        self.group_restart("one_for_all",
                           ["scheduler", "mining-optimizer",
                            "payment-recovery", "archiver"])

    def test_restarted_supervisor_adopts_running_process_actors(self):
        text = cfg(process=("scheduler", "archiver"))
        n = self.start(text)
        before = n.actors()
        pids = {a: before[a]["pid"] for a in ("scheduler", "archiver")}
        n.proc.send_signal(signal.SIGKILL)
        n.proc.wait()
        for a, pid in pids.items():
            self.assertTrue(alive(pid), a)  # the workload goes on
        self.nodes.remove(n)
        m = self.start(text)
        after = m.actors()
        for a, pid in pids.items():
            self.assertEqual(after[a]["pid"], pid, a)
            self.assertEqual(after[a]["state"], "running", a)
            self.assertTrue(after[a]["adopted"], a)
            self.assertEqual(after[a]["restarts"], 0, a)
        self.assertEqual(self.ping(m, "sched.")["pid"], pids["scheduler"])
        # Thread actors died with the old process: they start afresh.
        self.assertNotEqual(after["health-checker"]["pid"], n.proc.pid)

    def test_orphans_stop_after_the_grace_period(self):
        n = self.start(cfg(sup_extra="    orphan_grace = 1s\n"))
        pid = n.actors()["scheduler"]["pid"]
        n.proc.send_signal(signal.SIGKILL)
        n.proc.wait()
        wait_for(lambda: not alive(pid), "the orphan to stop by itself")

    def test_idle_process_actors_stay_while_the_supervisor_lives(self):
        # The supervisor's heartbeats keep an idle actor from taking itself
        # for an orphan.
        n = self.start(cfg(sup_extra="    orphan_grace = 1s\n",
                           extra="        heartbeat = 100ms\n",
                           standby=("scheduler",)))
        a = n.actors()["scheduler"]
        wait_for(lambda: n.actors()["scheduler"]["standby"] > 0, "a standby")
        standby = n.actors()["scheduler"]["standby"]
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            self.assertTrue(alive(a["pid"]))
            self.assertTrue(alive(standby))
            time.sleep(0.1)
        b = n.actors()["scheduler"]
        self.assertEqual((b["pid"], b["gen"], b["standby"]),
                         (a["pid"], a["gen"], standby))

    def test_standby_takes_over_a_killed_actor(self):
        n = self.start(cfg(standby=("scheduler",)))
        wait_for(lambda: n.actors()["scheduler"]["standby"] > 0,
                 "a standby")
        a = n.actors()["scheduler"]
        os.kill(a["pid"], signal.SIGKILL)
        wait_for(lambda: (self.ping(n, "sched.") or {}).get("gen") == 2,
                 "the restart")
        b = n.actors()["scheduler"]
        self.assertEqual(b["pid"], a["standby"])  # the standby went active
        wait_for(lambda: n.actors()["scheduler"]["standby"] not in
                 (0, a["standby"]), "a new standby")

    def test_a_frozen_standby_does_not_hold_up_the_stop(self):
        n = self.start(cfg(standby=("scheduler",),
                           extra="        shutdown = 300ms\n"))
        wait_for(lambda: n.actors()["scheduler"]["standby"] > 0, "a standby")
        os.kill(n.actors()["scheduler"]["standby"], signal.SIGSTOP)
        n.proc.send_signal(signal.SIGTERM)
        self.assertEqual(n.proc.wait(DEADLINE), 0, n.log_text())
        self.assertIn("did not stop within 300 ms; killing it", n.log_text())

    def test_stop_while_process_actors_are_still_starting(self):
        # A stop at any point of the start leaves no process and no
        # request behind; azod exits 0.
        text = cfg(process=tuple(ACTORS))
        for delay in (0.0, 0.02, 0.05):
            n = self.start(text, start=False)
            n.start()
            t0 = time.monotonic()
            while time.monotonic() - t0 < DEADLINE:
                try:
                    if n.call("ping", timeout=0.2).get("ok"):
                        break
                except TimeoutError:
                    pass
            time.sleep(delay)
            n.proc.send_signal(signal.SIGTERM)
            self.assertEqual(n.proc.wait(DEADLINE), 0, n.log_text())
            wait_for(lambda: not procs_mentioning(n.dir), "no actor left")
            self.nodes.remove(n)
            n.stop()

    def test_sigterm_stops_everyone_in_reverse_order(self):
        n = self.start(cfg(process=("scheduler", "mining-optimizer")))
        pids = [a["pid"] for a in n.actors().values()
                if a["mode"] == "process"]
        n.proc.send_signal(signal.SIGTERM)
        self.assertEqual(n.proc.wait(DEADLINE), 0, n.log_text())
        log = n.log_text()
        order = [log.index("actor %s exited (shutdown)" % a) for a in ACTORS]
        self.assertEqual(order, sorted(order, reverse=True), log)
        reap()
        for pid in pids:
            self.assertFalse(alive(pid))
        self.assertEqual(procs_mentioning(self.tmp), [])


if __name__ == "__main__":
    unittest.main()
