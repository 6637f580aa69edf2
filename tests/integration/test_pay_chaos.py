"""Chaos test of the payment-recovery actor (#7): 5,000 payments through
the local test gateway with 30% transient faults (500, 429, a dropped
connection before the charge, and one dropped after it), while the actor's
process is killed with SIGKILL at random moments at least 20 times and
azod itself at least 3 times. At the end every payment is succeeded or
dead, none is missing, the gateway recorded exactly one charge per
succeeded payment (under the payment's own idempotency key) and none for
the others, and every audit trail is complete and ordered. Bounded: about
a minute on two cores."""
import os
import random
import signal
import time
import unittest

from azo_it import DEADLINE, NodeTest, pack, unpack, wait_for
from pay_it import Gateway, check_trail, pay_cfg

N = 5000
ROUND = 250  # payments submitted between two kills
ACTOR_KILLS = 20
AZOD_KILLS = 3


class PayChaosTest(NodeTest):
    def pipeline(self, node, reqs, timeout=DEADLINE):
        """Sends reqs (cmd, args) on one DEALER, 500 at a time; returns
        the replies in order."""
        sock = node.socket()
        out = []
        try:
            for at in range(0, len(reqs), 500):
                chunk = reqs[at:at + 500]
                for i, (cmd, args) in enumerate(chunk):
                    sock.send(pack({"v": 1, "id": at + i + 1, "cmd": cmd,
                                    "args": args}))
                got = {}
                while len(got) < len(chunk):
                    if not sock.poll(int(timeout * 1000)):
                        raise TimeoutError("replies missing")
                    rep = unpack(sock.recv())
                    got[rep["id"]] = rep
                out += [got[at + i + 1] for i in range(len(chunk))]
        finally:
            sock.close()
        return out

    def submit(self, node, batch):
        """Submits until recorded: the actor may be down (unavailable) or
        killed mid-request (no answer); ids make a resubmission harmless."""
        while True:
            try:
                rep = node.call("pay.submit", {"payments": batch},
                                timeout=3.0)
                if rep["ok"]:
                    self.assertEqual(rep["result"]["rejected"], 0)
                    return
            except TimeoutError:
                pass
            self.revive(node)
            time.sleep(0.05)

    def revive(self, node):
        if node.proc.poll() is not None:
            node.log.close()
            node.start()
            node.wait_ready()

    def actor_pid(self, node):
        try:
            a = node.actors().get("payment-recovery", {})
        except (TimeoutError, KeyError):
            return 0
        return a.get("pid", 0) if a.get("state") == "running" else 0

    def test_chaos(self):
        rnd = random.Random(int(os.environ.get("AZO_CHAOS_SEED", "7")))
        gw = Gateway("--fault-rate", "0.3", "--fault-modes",
                     "500,429,drop,drop_after", "--retry-after", "0",
                     "--seed", str(rnd.randrange(1 << 30)))
        self.addCleanup(gw.stop)
        cfg = self.write_cfg(pay_cfg(
            "gateway = http\nurl = %s\ntimeout = 2s\nmax_inflight = 32\n"
            "backoff_base = 50ms\nbackoff_cap = 800ms\n"
            "unknown_attempts = 30\n" % gw.url,
            mode="process",
            sup="    max_restarts = 10000\n    period = 60s\n"))
        n = self.node(config=cfg)
        ids = ["ch-%05d" % i for i in range(N)]
        actor_kills = azod_kills = 0
        pending = list(ids)
        rounds = 0
        while pending or actor_kills < ACTOR_KILLS or azod_kills < AZOD_KILLS:
            if pending:
                batch = [{"id": i, "amount": 100 + k % 900, "currency": "eur",
                          "customer": "cus_%d" % (k % 97),
                          "method": "pm_card_visa",
                          "status": "failed" if k % 2 else "pending"}
                         for k, i in enumerate(pending[:ROUND])]
                self.submit(n, batch)
                pending = pending[ROUND:]
            time.sleep(rnd.uniform(0.02, 0.4))
            rounds += 1
            if rounds % 7 == 3 and azod_kills < AZOD_KILLS:
                # azod alone: its process actor runs on and is adopted.
                n.proc.send_signal(signal.SIGKILL)
                n.proc.wait()
                azod_kills += 1
                time.sleep(rnd.uniform(0.0, 0.3))
                self.revive(n)
                continue
            pid = 0
            wait_for(lambda: self.actor_pid(n) or self.revive(n),
                     "the actor to run")
            pid = self.actor_pid(n)
            os.kill(pid, signal.SIGKILL)
            actor_kills += 1
        self.assertGreaterEqual(actor_kills, ACTOR_KILLS)
        self.assertGreaterEqual(azod_kills, AZOD_KILLS)

        # Everything ends: succeeded or dead.
        def ended():
            self.revive(n)
            try:
                st = n.call("pay.stats", timeout=2.0)["result"]
            except (TimeoutError, KeyError):
                return False
            c = st["count"]
            return c["succeeded"] + c["dead"] == N and st["total"] == N
        wait_for(ended, "all payments to end", timeout=120)

        reps = self.pipeline(n, [("pay.get", {"id": i}) for i in ids])
        charges = {}
        for c in gw.charges():
            charges.setdefault(c["payment_id"], []).append(c)
        succeeded = dead = 0
        for pid, rep in zip(ids, reps):
            self.assertTrue(rep["ok"], (pid, rep))  # none is missing
            p, trail = rep["result"]["payment"], rep["result"]["trail"]
            self.assertIn(p["status"], ("succeeded", "dead"), p)
            check_trail(self, p, trail)
            got = charges.get(pid, [])
            if p["status"] == "succeeded":
                succeeded += 1
                self.assertEqual(len(got), 1, (pid, got))
                self.assertEqual(got[0]["key"], p["idempotency_key"])
                self.assertEqual(got[0]["id"], p["charge_id"])
            else:
                dead += 1
                self.assertEqual(got, [], (pid, p, trail))
        self.assertEqual(len(charges), succeeded)
        print("chaos: %d succeeded, %d dead; %d actor kills, %d azod kills;"
              " gateway %s" % (succeeded, dead, actor_kills, azod_kills,
                               gw.stats()))


if __name__ == "__main__":
    unittest.main()
