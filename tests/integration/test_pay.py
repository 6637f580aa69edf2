"""The payment-recovery actor (#7) from the outside: intake and its
checks, the sandbox gateway's outcomes (success, transient failures with
backoff, hard declines, dead-lettering), requeue, the event log and its
sequence numbers, a full LMDB map, the HTTP gateway against the local test
gateway (idempotency keys, Retry-After, a dropped answer after the charge,
the API key from a file), a payment found processing after azod was
killed, and the trigger-only sweep. Real azod processes, ipc endpoints,
pyzmq client (/usr/bin/python3)."""
import os
import signal
import time
import unittest

from azo_it import NodeTest, recv_event, wait_for
from pay_it import Gateway, check_trail, pay_cfg

FAST = """backoff_base = 100ms
backoff_cap = 2s
"""


def payment(pid, method="pm_card_visa", amount=1250, **kw):
    p = {"id": pid, "amount": amount, "currency": "usd",
         "customer": "cus_" + pid, "method": method}
    p.update(kw)
    return p


class PayTest(NodeTest):
    def pay_node(self, extra=FAST, mode="thread", sup="", sets=()):
        cfg = self.write_cfg(pay_cfg(extra, mode, sup))
        return self.node(config=cfg, sets=sets)

    def ok(self, node, cmd, args=None, timeout=5.0):
        rep = node.call(cmd, args, timeout=timeout)
        self.assertTrue(rep["ok"], rep)
        return rep["result"]

    def err(self, node, cmd, args, code):
        rep = node.call(cmd, args)
        self.assertFalse(rep["ok"], rep)
        self.assertEqual(rep["error"]["code"], code, rep)
        return rep["error"]["message"]

    def wait_status(self, node, pid, status):
        got = {}

        def done():
            got.update(self.ok(node, "pay.get", {"id": pid}))
            return got["payment"]["status"] == status
        try:
            wait_for(done, "%s to be %s" % (pid, status))
        except AssertionError as e:
            raise AssertionError("%s; last seen %s" % (e, got)) from None
        check_trail(self, got["payment"], got["trail"])
        return got

    def test_success_and_trail(self):
        n = self.pay_node()
        sub = n.subscriber("pay.")
        time.sleep(0.2)  # the subscription reaches the node
        r = self.ok(n, "pay.submit", payment("p-1"))
        self.assertTrue(r["created"])
        key = r["payment"]["idempotency_key"]
        self.assertRegex(key, r"^azo_[0-9a-f]{32}$")
        topic, ev = recv_event(sub, topic="pay.succeeded")
        self.assertEqual(ev["id"], "p-1")
        self.assertEqual(ev["seq"], 1)
        got = self.wait_status(n, "p-1", "succeeded")
        p = got["payment"]
        self.assertEqual(p["idempotency_key"], key)  # never changed
        self.assertEqual(p["currency"], "USD")
        self.assertTrue(p["charge_id"].startswith("ch_sb_"))
        self.assertEqual([e["cause"] for e in got["trail"]],
                         ["submitted", "attempt", "charged"])
        # A duplicate id is answered with the stored record.
        r = self.ok(n, "pay.submit", payment("p-1", amount=99))
        self.assertFalse(r["created"])
        self.assertEqual(r["payment"]["amount"], 1250)
        self.assertEqual(r["payment"]["status"], "succeeded")
        st = self.ok(n, "pay.stats")
        self.assertEqual(st["count"]["succeeded"], 1)
        self.assertEqual(st["total"], 1)
        self.assertEqual(st["success_rate"], 1.0)
        self.assertEqual(st["recovered"], 0)

    def test_transient_backoff_and_recovery(self):
        n = self.pay_node()
        sub = n.subscriber("pay.")
        time.sleep(0.2)
        self.ok(n, "pay.submit", payment("t-1", "pm_fail_2"))
        fails = []
        for _ in range(2):
            _, ev = recv_event(sub, topic="pay.failed")
            fails.append(ev)
        _, rec = recv_event(sub, topic="pay.recovered")
        self.assertEqual([f["attempt"] for f in fails], [1, 2])
        self.assertEqual([f["code"] for f in fails], ["http_500"] * 2)
        self.assertEqual(rec["attempt"], 3)
        got = self.wait_status(n, "t-1", "succeeded")
        trail = got["trail"]
        # The delays: 2^(attempt-1) x 100ms, from the failure's time.
        failed = [e for e in trail if e["to"] == "failed"]
        self.assertEqual(len(failed), 2)
        ev_next = [f["next_attempt_ms"] - failed[i]["ts"]
                   for i, f in enumerate(fails)]
        self.assertEqual(ev_next, [100, 200])
        seqs = [e["seq"] for e in trail if e["seq"]]
        self.assertEqual(seqs, sorted(seqs))
        st = self.ok(n, "pay.stats")
        self.assertEqual(st["recovered"], 1)
        self.assertEqual(st["recovered_amount"], {"USD": 1250})

    def test_decline_dead_and_requeue(self):
        n = self.pay_node()
        self.ok(n, "pay.submit", payment("d-1", "pm_card_declined"))
        got = self.wait_status(n, "d-1", "dead")
        self.assertEqual(got["payment"]["attempts"], 1)  # no retry
        self.assertEqual(got["payment"]["error_code"], "card_declined")
        self.assertEqual(got["trail"][-1]["cause"], "declined")
        # The same key would replay the decline: a new method is needed.
        msg = self.err(n, "pay.requeue", {"id": "d-1"}, "conflict")
        self.assertIn("new method", msg)
        self.err(n, "pay.retry", {"id": "d-1"}, "conflict")
        old_key = got["payment"]["idempotency_key"]
        r = self.ok(n, "pay.requeue", {"id": "d-1", "method": "pm_card_visa"})
        self.assertEqual(r["status"], "failed")
        self.assertNotEqual(r["idempotency_key"], old_key)
        got = self.wait_status(n, "d-1", "succeeded")
        causes = [e["cause"] for e in got["trail"]]
        self.assertIn("requeued_new_method", causes)
        st = self.ok(n, "pay.stats")
        self.assertEqual(st["recovered"], 1)

    def test_decline_waits_for_method(self):
        n = self.pay_node(FAST + "on_decline = wait\n")
        self.ok(n, "pay.submit", payment("w-1", "pm_card_insufficient_funds"))
        got = self.wait_status(n, "w-1", "failed")
        self.assertTrue(got["payment"]["await_method"])
        self.assertEqual(got["payment"]["next_attempt_ms"], 0)
        msg = self.err(n, "pay.retry", {"id": "w-1"}, "conflict")
        self.assertIn("new payment method", msg)
        self.ok(n, "pay.requeue", {"id": "w-1", "method": "pm_card_visa"})
        self.wait_status(n, "w-1", "succeeded")

    def test_max_attempts_dead_and_events(self):
        n = self.pay_node(FAST + "max_attempts = 3\nunknown_attempts = 0\n")
        # 429s say the request was not executed: dead after 3 attempts.
        self.ok(n, "pay.submit", payment("m-1", "pm_ratelimit_9"))
        self.ok(n, "pay.submit", payment("m-2", "pm_invalid"))
        # 500s leave it unknown whether the key charged: with no extra
        # attempts allowed it is dead, marked so.
        self.ok(n, "pay.submit", payment("m-3", "pm_fail_9"))
        got = self.wait_status(n, "m-1", "dead")
        self.assertEqual(got["payment"]["attempts"], 3)
        self.assertEqual(got["trail"][-1]["cause"], "max_attempts")
        self.assertFalse(got["payment"]["maybe_charged"])
        got3 = self.wait_status(n, "m-3", "dead")
        self.assertEqual(got3["trail"][-1]["cause"], "outcome_unknown")
        self.assertTrue(got3["payment"]["maybe_charged"])
        got2 = self.wait_status(n, "m-2", "dead")
        self.assertEqual(got2["payment"]["attempts"], 1)
        self.assertEqual(got2["trail"][-1]["cause"], "invalid")
        # The event log: every event once, in order, resumable from a seq.
        ev = self.ok(n, "pay.events", {"since": 0})
        seqs = [e["seq"] for e in ev["events"]]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
        self.assertFalse(ev["more"])
        self.assertFalse(ev["gap"])
        m1 = [e["topic"] for e in ev["events"] if e["id"] == "m-1"]
        self.assertEqual(m1, ["pay.failed", "pay.retry", "pay.failed",
                              "pay.retry", "pay.dead"])
        later = self.ok(n, "pay.events", {"since": seqs[2], "limit": 2})
        self.assertEqual([e["seq"] for e in later["events"]],
                         seqs[3:5])
        self.assertTrue(later["more"])
        # Dead after transient failures: requeued with the same key.
        key = got["payment"]["idempotency_key"]
        r = self.ok(n, "pay.requeue", {"id": "m-1"})
        self.assertEqual(r["idempotency_key"], key)
        self.assertEqual(r["attempts"], 0)
        self.wait_status(n, "m-1", "dead")
        st = self.ok(n, "pay.stats")
        self.assertEqual(st["count"]["dead"], 3)
        self.assertEqual(st["success_rate"], 0.0)

    def test_bad_input(self):
        n = self.pay_node()
        good = payment("b-1")
        cases = [
            ({**good, "amount": -5}, "amount"),
            ({**good, "amount": 0}, "amount"),
            ({**good, "amount": "12"}, "amount"),
            ({**good, "amount": 1.5}, "amount"),
            ({**good, "currency": "XYZ"}, "currency"),
            ({**good, "currency": 840}, "currency"),
            ({k: v for k, v in good.items() if k != "customer"}, "customer"),
            ({k: v for k, v in good.items() if k != "method"}, "method"),
            ({k: v for k, v in good.items() if k != "id"}, "id"),
            ({**good, "id": "has space"}, "id"),
            ({**good, "id": ["x"]}, "id"),
            ({**good, "status": "succeeded"}, "status"),
            ({**good, "colour": "red"}, "colour"),
        ]
        for args, field in cases:
            msg = self.err(n, "pay.submit", args, "bad_request")
            self.assertTrue(msg.startswith(field + ":"), (args, msg))
        self.err(n, "pay.submit", {"payments": []}, "bad_request")
        self.err(n, "pay.submit", {"payments": "x"}, "bad_request")
        self.err(n, "pay.get", {"id": 5}, "bad_request")
        self.err(n, "pay.get", {"id": "nope"}, "not_found")
        self.err(n, "pay.list", {"status": "gone"}, "bad_request")
        self.err(n, "pay.list", {"limit": 0}, "bad_request")
        self.err(n, "pay.events", {"since": -1}, "bad_request")
        self.err(n, "pay.sweep", {"x": 1}, "bad_request")
        self.err(n, "pay.frobnicate", {}, "unknown_command")
        # A batch answers per item; the good ones are recorded.
        r = self.ok(n, "pay.submit", {"payments": [
            payment("b-2"), {**good, "id": "b-3", "amount": -1},
            payment("b-2")]})
        self.assertEqual((r["created"], r["duplicates"], r["rejected"]),
                         (1, 1, 1))
        self.assertTrue(r["results"][1]["error"].startswith("amount:"))
        self.assertEqual(self.ok(n, "ping")["node"], "alpha")
        self.assertEqual(self.ok(n, "pay.stats")["total"], 1)

    def test_list_pages(self):
        n = self.pay_node(FAST + "sweep = trigger\n")
        batch = [payment("l-%04d" % i, status="failed") for i in range(250)]
        r = self.ok(n, "pay.submit", {"payments": batch})
        self.assertEqual(r["created"], 250)
        seen, after = [], None
        while True:
            args = {"status": "failed", "limit": 100}
            if after:
                args["after"] = after
            page = self.ok(n, "pay.list", args)
            seen += [p["id"] for p in page["payments"]]
            if not page["more"]:
                break
            after = page["next_after"]
        self.assertEqual(seen, ["l-%04d" % i for i in range(250)])
        # trigger: nothing was attempted before pay.sweep.
        self.assertEqual(self.ok(n, "pay.stats")["count"]["failed"], 250)
        self.ok(n, "pay.sweep")
        wait_for(lambda: self.ok(n, "pay.stats")["count"]["succeeded"] == 250,
                 "the sweep to recover all")
        self.assertEqual(self.ok(n, "pay.list", {"status": "failed"})
                         ["count"], 0)

    def test_store_full(self):
        n = self.pay_node(sets=["store/map_size=1MiB"])
        created, full = [], None
        for b in range(200):
            batch = [payment("s-%d-%d" % (b, i), description="x" * 200)
                     for i in range(50)]
            rep = n.call("pay.submit", {"payments": batch})
            if not rep["ok"]:
                full = rep
                break
            created += [x["id"] for x in rep["result"]["results"]
                        if x["created"]]
        self.assertIsNotNone(full, "the 1 MiB map never filled")
        self.assertEqual(full["error"]["code"], "store_full")
        self.assertTrue(created)
        # Nothing stored before is lost, and the node keeps serving.
        self.assertEqual(self.ok(n, "ping")["node"], "alpha")
        for pid in created[::97] + created[-1:]:
            self.ok(n, "pay.get", {"id": pid})
        self.assertGreaterEqual(self.ok(n, "pay.stats")["total"],
                                len(created))
        self.assertRegex(n.log_text(), "ledger full|store full")


class PayHttpTest(NodeTest):
    def setUp(self):
        super().setUp()
        self.keyfile = os.path.join(self.tmp, "api.key")
        with open(self.keyfile, "w") as f:
            f.write("sk_test_secret123\n")

    def start(self, *gw_args, extra=""):
        self.gw = Gateway("--api-key", "sk_test_secret123", *gw_args)
        self.addCleanup(self.gw.stop)
        cfg = self.write_cfg(pay_cfg(
            "gateway = http\nurl = %s\nkey_file = %s\n%s%s%s"
            % (self.gw.url, self.keyfile, FAST,
               "" if "timeout =" in extra else "timeout = 2s\n", extra)))
        return self.node(config=cfg)

    def get(self, n, pid, status):
        got = {}

        def done():
            rep = n.call("pay.get", {"id": pid})
            got.update(rep["result"])
            return got["payment"]["status"] == status
        wait_for(done, "%s to be %s" % (pid, status))
        check_trail(self, got["payment"], got["trail"])
        return got

    def test_idempotency_and_faults(self):
        n = self.start("--fail-first", "1")
        n.call("pay.submit", payment("h-1"))
        n.call("pay.submit", payment("h-2", "pm_card_declined"))
        got = self.get(n, "h-1", "succeeded")
        self.assertEqual(got["payment"]["attempts"], 2)
        self.get(n, "h-2", "dead")
        charges = self.gw.charges()
        self.assertEqual(len(charges), 1)
        self.assertEqual(charges[0]["key"],
                         got["payment"]["idempotency_key"])
        self.assertEqual(charges[0]["payment_id"], "h-1")
        self.assertEqual(charges[0]["amount"], 1250)
        self.assertEqual(charges[0]["currency"], "usd")
        self.assertNotIn("sk_test_secret123", n.log_text())

    def test_retry_after_and_drop_after_charge(self):
        n = self.start("--retry-after", "1")
        self.gw.faults(rate=1.0, modes=["429"])
        n.call("pay.submit", payment("r-1"))
        got = {}
        wait_for(lambda: got.update(n.call("pay.get", {"id": "r-1"})
                                    ["result"]) or
                 got["payment"]["status"] == "failed", "a 429")
        t = got["trail"][-1]
        self.assertEqual(t["http"], 429)
        # Retry-After: 1 s, more than the 100 ms backoff.
        self.assertGreaterEqual(got["payment"]["next_attempt_ms"] - t["ts"],
                                1000)
        # Now the gateway charges and then drops the connection: the retry
        # with the same key is answered with the stored charge.
        self.gw.faults(rate=1.0, modes=["drop_after"])
        wait_for(lambda: self.gw.stats()["charges"] >= 1, "the charge")
        self.gw.faults(rate=0.0)
        got = self.get(n, "r-1", "succeeded")
        self.assertEqual(len(self.gw.charges()), 1)
        self.assertGreaterEqual(self.gw.stats()["replays"], 1)
        causes = [e["cause"] for e in got["trail"]]
        self.assertEqual(causes[-1], "charged")

    def test_bad_api_key_is_not_an_attempt(self):
        n = self.start(extra="auth_backoff = 1s\n")
        with open(self.keyfile, "w") as f:
            f.write("sk_wrong\n")
        n.stop()
        n.start()
        n.wait_ready()
        n.call("pay.submit", payment("k-1"))
        got = self.get(n, "k-1", "failed")
        self.assertEqual(got["payment"]["attempts"], 0)
        self.assertEqual(got["payment"]["error_http"], 401)
        self.assertIn("credentials", n.log_text())

    def test_processing_found_at_start_is_resent_with_its_key(self):
        n = self.start(extra="timeout = 20s\n")
        self.gw.faults(rate=1.0, modes=["slow"], slow_ms=1500)
        n.call("pay.submit", payment("c-1"))
        wait_for(lambda: n.call("pay.get", {"id": "c-1"})["result"]
                 ["payment"]["status"] == "processing", "the call")
        os.killpg(n.proc.pid, signal.SIGKILL)
        n.proc.wait()
        n.log.close()
        self.gw.faults(rate=0.0)
        n.start()
        n.wait_ready()
        got = self.get(n, "c-1", "succeeded")
        causes = [e["cause"] for e in got["trail"]]
        self.assertIn("resumed", causes)
        self.assertEqual(got["payment"]["attempts"], 1)
        # The slow request completed at the gateway too: still one charge.
        time.sleep(1.6)
        self.assertEqual(len(self.gw.charges()), 1)


if __name__ == "__main__":
    unittest.main()
