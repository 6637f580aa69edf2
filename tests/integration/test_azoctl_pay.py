"""Integration tests of the azoctl pay forms against a real azod and its
payment-recovery actor on the built-in sandbox gateway: submit (one
payment, duplicates, JSON lines or an array on standard input, sent 1000
per request), get with the audit trail, list with a status filter and
paging, retry, requeue with a new payment method, stats, events (paging,
the pruned-events warning), the --json forms, usage errors; and, against
a fake node, that malformed replies are reported, never crash or loop."""
import json
import os
import re
import subprocess
import threading

import zmq

from azo_it import AZOCTL, DEADLINE, NodeTest, pack, unpack, wait_for

# Automatic retries wait an hour: after the first attempt only `pay retry`
# and `pay requeue` make attempts, so every outcome below is deterministic.
SETS = ("actors/payment-recovery/backoff_base=1h",)
TRAIL_HEAD = ["N", "TIME", "FROM -> TO", "ATTEMPT", "CAUSE", "ERROR", "SEQ"]


def payment(pid, method="pm_card_visa", amount=1250, currency="USD"):
    return {"id": pid, "amount": amount, "currency": currency,
            "customer": "cus_1", "method": method}


def cells(line):
    """The cells of a table row (columns are 2+ spaces apart)."""
    return re.split(r"  +", line.strip())


def fields(text):
    """The 'key: value' lines of a record, as a dict."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z ]+):\s+(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


class PayCtlBase(NodeTest):
    sets = SETS

    def setUp(self):
        super().setUp()
        self.n = self.node(sets=self.sets)

    def ctl(self, *args, stdin=None):
        out = subprocess.run([AZOCTL, "-e", self.n.control] + list(args),
                             input=stdin, capture_output=True, text=True,
                             timeout=DEADLINE * 3)
        self.assertGreaterEqual(out.returncode, 0, out.stderr)  # no crash
        return out

    def ok(self, *args, stdin=None):
        out = self.ctl(*args, stdin=stdin)
        self.assertEqual(out.returncode, 0, (args, out.stdout, out.stderr))
        return out.stdout

    def submit(self, *payments):
        for p in payments:
            rep = self.n.call("pay.submit", p)
            self.assertTrue(rep["ok"], rep)

    def record(self, pid):
        rep = self.n.call("pay.get", {"id": pid})
        self.assertTrue(rep["ok"], rep)
        return rep["result"]["payment"]

    def wait_status(self, pid, *want):
        wait_for(lambda: self.record(pid)["status"] in want,
                 "%s to be %s" % (pid, "/".join(want)))
        return self.record(pid)

    def wait_idle(self):
        def idle():
            c = self.n.call("pay.stats")["result"]["count"]
            return c["pending"] == 0 and c["processing"] == 0
        wait_for(idle, "no pending or processing payment")


class PayCtlTest(PayCtlBase):
    def test_submit_one_then_duplicate(self):
        out = self.ok("pay", "submit", "id=p1", "amount=1250", "currency=usd",
                      "customer=cus_1", "method=pm_card_visa")
        m = re.match(r"^p1 created: pending, 12\.50 USD, idempotency key "
                     r"(\S+)\n$", out)
        self.assertTrue(m, out)
        key = m.group(1)
        self.wait_status("p1", "succeeded")
        out = self.ok("pay", "submit", json.dumps(payment("p1")))
        self.assertEqual(out, "p1 exists (not inserted twice): succeeded, "
                              "12.50 USD, idempotency key %s\n" % key)
        res = json.loads(self.ok("--json", "pay", "submit",
                                 json.dumps(payment("p1"))))
        self.assertIs(res["created"], False)
        self.assertEqual(res["payment"]["idempotency_key"], key)
        # A bad one is the node's bad_request, naming the field.
        out = self.ctl("pay", "submit", "id=p2", "amount=-5", "currency=USD",
                       "customer=c", "method=pm_card_visa")
        self.assertEqual(out.returncode, 1)
        self.assertIn("bad_request: amount:", out.stderr)
        out = self.ctl("pay", "submit", json.dumps(payment("p3",
                                                           currency="XYZ")))
        self.assertEqual(out.returncode, 1)
        self.assertIn("bad_request: currency:", out.stderr)

    def test_submit_stdin_json_lines_and_array(self):
        lines = [json.dumps(payment("s1")),
                 "",  # blank lines are skipped, not counted
                 json.dumps(payment("s2", amount=-1)),
                 json.dumps(payment("s3", amount=100, currency="JPY")),
                 json.dumps({"id": "s4", "amount": 5, "currency": "USD",
                             "method": "pm_card_visa"}),
                 json.dumps(payment("s1"))]
        out = self.ctl("pay", "submit", "-", stdin="\n".join(lines) + "\n")
        self.assertEqual(out.returncode, 1, out.stderr)  # some rejected
        got = out.stdout.splitlines()
        self.assertEqual(got[0], "2 created, 1 duplicates, 2 rejected")
        self.assertEqual(len(got), 3, out.stdout)
        self.assertRegex(got[1], r"^#1: amount: ")
        self.assertRegex(got[2], r"^#3: customer: missing")
        # All good: exit 0; an array works as well as lines.
        arr = [payment("s5"), payment("s6", currency="KWD")]
        out = self.ctl("pay", "submit", "-", stdin=json.dumps(arr))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "2 created, 0 duplicates, 0 rejected\n")
        # --json: one result like a batch reply's, indexes over the input.
        arr = [payment("s5"), {"id": "s7"}, payment("s8")]
        out = self.ctl("--json", "pay", "submit", "-", stdin=json.dumps(arr))
        self.assertEqual(out.returncode, 1, out.stderr)
        res = json.loads(out.stdout)
        self.assertEqual((res["created"], res["duplicates"], res["rejected"]),
                         (1, 1, 1))
        self.assertEqual([r["index"] for r in res["results"]], [0, 1, 2])
        self.assertIs(res["results"][0]["created"], False)
        self.assertIn("amount", res["results"][1]["error"])
        self.assertEqual(res["results"][2]["id"], "s8")
        # Not JSON at all: nothing is sent, exit 2 naming the line.
        out = self.ctl("pay", "submit", "-",
                       stdin=json.dumps(payment("s9")) + "\n{bad\n")
        self.assertEqual(out.returncode, 2)
        self.assertIn("line 2", out.stderr)
        self.assertEqual(self.n.call("pay.get", {"id": "s9"})["error"]["code"],
                         "not_found")
        out = self.ctl("pay", "submit", "-", stdin="")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "0 created, 0 duplicates, 0 rejected\n")

    def test_get_record_and_trail(self):
        self.submit(payment("g1"), payment("g2", amount=1234,
                                           currency="KWD",
                                           method="pm_card_declined"))
        self.wait_status("g1", "succeeded")
        self.wait_status("g2", "dead")
        out = self.ok("pay", "get", "g1")
        rec, _, trail = out.partition("\n\n")
        f = fields(rec)
        self.assertEqual(f["id"], "g1")
        self.assertEqual(f["status"], "succeeded")
        self.assertEqual(f["amount"], "12.50 USD")
        self.assertEqual(f["customer"], "cus_1")
        self.assertEqual(f["method"], "pm_card_visa")
        self.assertEqual(f["attempts"], "1")
        self.assertEqual(f["next attempt"], "-")
        self.assertRegex(f["idempotency key"], r"^\S+$")
        self.assertRegex(f["charge id"], r"^\S+$")
        self.assertNotIn("last error", f)
        for k in ("created", "updated"):
            self.assertRegex(f[k], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        rows = [cells(l) for l in trail.splitlines()]
        self.assertEqual(rows[0], TRAIL_HEAD)
        self.assertEqual([r[0] for r in rows[1:]], ["1", "2", "3"])
        self.assertEqual([r[2] for r in rows[1:]],
                         ["- -> pending", "pending -> processing",
                          "processing -> succeeded"])
        self.assertEqual([r[4] for r in rows[1:]],
                         ["submitted", "attempt", "charged"])
        self.assertEqual(rows[3][3], "1")  # attempt
        self.assertRegex(rows[3][6], r"^\d+$")  # the event's seq
        for r in rows[1:]:
            self.assertRegex(r[1], r"^(\d\d:\d\d:\d\d\.\d{3}|\d{4}-.*Z)$")
        # A hard decline: 3 decimals for KWD, the error in both places.
        out = self.ok("pay", "get", "g2")
        rec, _, trail = out.partition("\n\n")
        f = fields(rec)
        self.assertEqual(f["status"], "dead")
        self.assertEqual(f["amount"], "1.234 KWD")
        self.assertRegex(f["last error"], r"^card_declined \(HTTP 402\)")
        last = cells(trail.splitlines()[-1])
        self.assertEqual(last[2], "processing -> dead")
        self.assertEqual(last[5], "card_declined/402")
        res = json.loads(self.ok("--json", "pay", "get", "g2"))
        self.assertEqual(res["payment"]["status"], "dead")
        self.assertEqual(len(res["trail"]), 3)
        out = self.ctl("pay", "get", "nope")
        self.assertEqual(out.returncode, 1)
        self.assertIn("not_found", out.stderr)

    def test_list_filter_and_paging_over_1100(self):
        lines = "".join(json.dumps(payment("bulk%05d" % i, amount=100 + i))
                        + "\n" for i in range(1100))
        out = self.ctl("pay", "submit", "-", stdin=lines)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout,
                         "1100 created, 0 duplicates, 0 rejected\n")
        self.submit(payment("dead1", method="pm_card_declined", amount=5,
                            currency="JPY"))
        self.wait_idle()
        out = self.ok("pay", "list")
        lines = out.splitlines()
        self.assertEqual(cells(lines[0]), ["ID", "STATUS", "AMOUNT",
                                           "ATTEMPTS", "NEXT", "ERROR"])
        rows = [cells(l) for l in lines[1:]]
        self.assertEqual(len(rows), 1101)  # more than one page of 1000
        ids = [r[0] for r in rows]
        self.assertEqual(ids, sorted(set(ids)))
        self.assertIn(["bulk00001", "succeeded", "1.01 USD", "1", "-", "-"],
                      rows)
        rows = [cells(l) for l in self.ok("pay", "list", "dead").splitlines()]
        self.assertEqual(rows[1:], [["dead1", "dead", "5 JPY", "1", "-",
                                     "card_declined"]])
        self.assertEqual(self.ok("pay", "list", "--status", "dead"),
                         self.ok("pay", "list", "dead"))
        out = self.ok("pay", "list", "--status", "succeeded",
                      "--limit", "1001")
        lines = out.splitlines()
        self.assertEqual(len(lines), 1 + 1001 + 1)
        self.assertEqual(cells(lines[1001])[0], "bulk01000")
        self.assertIn("more follow", lines[-1])
        self.assertEqual(self.ok("pay", "list", "pending"),
                         "(no payments)\n")
        res = json.loads(self.ok("--json", "pay", "list"))
        self.assertEqual(res["count"], 1101)
        self.assertEqual(len(res["payments"]), 1101)
        self.assertIs(res["more"], False)
        res = json.loads(self.ok("--json", "pay", "list", "--limit", "3"))
        self.assertEqual([p["id"] for p in res["payments"]],
                         ["bulk00000", "bulk00001", "bulk00002"])
        self.assertIs(res["more"], True)
        # The events of all of them: more than a page too.
        rows = [cells(l) for l in self.ok("pay", "events").splitlines()[1:]]
        self.assertEqual([int(r[0]) for r in rows],
                         list(range(1, len(rows) + 1)))
        self.assertEqual(len(rows), 1101)
        out = self.ctl("pay", "list", "bogus")
        self.assertEqual(out.returncode, 1)
        self.assertIn("bad_request: status:", out.stderr)

    def test_retry_transient_failures(self):
        self.submit(payment("f1", method="pm_fail_2"))
        rec = self.wait_status("f1", "failed")
        self.assertEqual(rec["attempts"], 1)
        f = fields(self.ok("pay", "get", "f1").partition("\n\n")[0])
        self.assertRegex(f["next attempt"], r"^in (59m\d\ds|1h00m) \(")
        self.assertRegex(f["last error"], r"\(HTTP 500\)")
        out = self.ok("pay", "retry", "f1")
        self.assertRegex(out, r"^f1: failed \(\S+, HTTP 500\), next attempt "
                              r"in \S+\n$")
        out = self.ok("pay", "retry", "f1")
        self.assertRegex(out, r"^f1: succeeded \(charge \S+\) after 3 "
                              r"attempts\n$")
        self.assertEqual(self.record("f1")["status"], "succeeded")
        out = self.ctl("--json", "pay", "retry", "f1")
        self.assertEqual(out.returncode, 1)
        self.assertEqual(json.loads(out.stdout)["error"]["code"], "conflict")
        self.assertIn("already succeeded", out.stderr)
        # --json retry answers the record.
        self.submit(payment("f2", method="pm_fail_2"))
        self.wait_status("f2", "failed")
        res = json.loads(self.ok("--json", "pay", "retry", "f2"))
        self.assertEqual((res["id"], res["status"], res["attempts"]),
                         ("f2", "failed", 2))

    def test_requeue_declined_with_new_method(self):
        self.submit(payment("d1", method="pm_card_declined", amount=999,
                            currency="EUR"))
        self.wait_status("d1", "dead")
        out = self.ctl("pay", "retry", "d1")
        self.assertEqual(out.returncode, 1)
        self.assertIn("conflict", out.stderr)
        out = self.ctl("pay", "requeue", "d1")  # same key: same refusal
        self.assertEqual(out.returncode, 1)
        self.assertIn("conflict", out.stderr)
        out = self.ok("pay", "requeue", "d1", "--method", "pm_card_visa")
        self.assertEqual(out, "d1 requeued: failed, next attempt now with "
                              "new method pm_card_visa\n")
        self.wait_status("d1", "succeeded")
        out = self.ok("pay", "get", "d1")
        f = fields(out.partition("\n\n")[0])
        self.assertEqual(f["method"], "pm_card_visa")
        causes = [cells(l)[4] for l in
                  out.partition("\n\n")[2].splitlines()[1:]]
        self.assertEqual(causes, ["submitted", "attempt", "declined",
                                  "requeued_new_method", "attempt",
                                  "charged"])
        self.assertEqual(self.ctl("pay", "requeue", "nope").returncode, 1)

    def test_stats(self):
        self.submit(payment("a1"), payment("a2", amount=100, currency="JPY"),
                    payment("a3", method="pm_card_declined"),
                    payment("a4", method="pm_fail_2"))
        self.wait_idle()
        f = fields(self.ok("pay", "stats"))
        self.assertEqual([f[k] for k in ("pending", "processing", "succeeded",
                                         "failed", "dead", "total")],
                         ["0", "0", "2", "1", "1", "4"])
        self.assertTrue(f["success rate"].startswith("66.7%"), f)
        self.assertEqual(f["recovered"], "0")
        self.assertEqual(f["in flight"], "0")
        self.assertEqual(f["gateway"], "sandbox")
        self.assertRegex(f["last event seq"], r"^\d+$")
        # A failed one recovered, in two currencies' units.
        self.ok("pay", "retry", "a4")
        self.ok("pay", "retry", "a4")
        self.ok("pay", "requeue", "a3", "--method", "pm_card_visa")
        self.wait_status("a3", "succeeded")
        f = fields(self.ok("pay", "stats"))
        self.assertEqual(f["succeeded"], "4")
        self.assertEqual(f["dead"], "0")
        self.assertTrue(f["success rate"].startswith("100.0%"), f)
        self.assertEqual(f["recovered"], "2: 25.00 USD")
        res = json.loads(self.ok("--json", "pay", "stats"))
        self.assertEqual(res["count"]["succeeded"], 4)
        self.assertEqual(res["recovered_amount"], {"USD": 2500})
        self.assertEqual(res["total"], 4)
        self.assertEqual(str(res["last_seq"]), f["last event seq"])

    def test_events(self):
        self.submit(payment("e1"))
        self.wait_status("e1", "succeeded")
        self.submit(payment("e2", method="pm_card_declined"))
        self.wait_status("e2", "dead")
        self.assertEqual(self.ok("pay", "events", "2"), "(no events)\n")
        lines = self.ok("pay", "events").splitlines()
        self.assertEqual(cells(lines[0]), ["SEQ", "TIME", "TOPIC", "ID",
                                           "STATUS", "ATTEMPT", "ERROR"])
        rows = [cells(l) for l in lines[1:]]
        self.assertEqual([r[0] for r in rows], ["1", "2"])
        self.assertEqual([r[2:] for r in rows],
                         [["pay.succeeded", "e1", "succeeded", "1", "-"],
                          ["pay.dead", "e2", "dead", "1",
                           "card_declined/402"]])
        rows = [cells(l) for l in self.ok("pay", "events", "1").splitlines()]
        self.assertEqual([r[0] for r in rows[1:]], ["2"])
        rows = self.ok("pay", "events", "--limit", "1").splitlines()
        self.assertEqual(len(rows), 2)
        res = json.loads(self.ok("--json", "pay", "events"))
        self.assertEqual([e["seq"] for e in res["events"]], [1, 2])
        self.assertEqual((res["last"], res["more"], res["gap"]),
                         (2, False, False))
        self.assertEqual(res["events"][1]["code"], "card_declined")

    def test_usage_errors_exit_2_and_help(self):
        for args in (["pay"], ["pay", "bogus"], ["pay", "submit"],
                     ["pay", "submit", "novalue"], ["pay", "submit", "{bad"],
                     ["pay", "get"], ["pay", "get", "a", "b"],
                     ["pay", "list", "a", "b"],
                     ["pay", "list", "failed", "--status", "dead"],
                     ["pay", "list", "--limit", "0"],
                     ["pay", "list", "--method", "m"],
                     ["pay", "get", "p1", "--status", "dead"],
                     ["pay", "get", "p1", "--limit", "2"],
                     ["pay", "events", "x"], ["pay", "stats", "x"],
                     ["pay", "retry"], ["pay", "requeue"],
                     ["pay", "requeue", "p1", "--method", ""]):
            out = self.ctl(*args)
            self.assertEqual(out.returncode, 2, (args, out.stderr))
            self.assertTrue(out.stderr.strip(), args)
        out = self.ok("--help")
        for form in ("pay submit KEY=VALUE...", "pay submit '{JSON}'",
                     "pay submit -", "pay get ID", "pay list [STATUS]",
                     "pay retry ID", "pay requeue ID", "pay stats",
                     "pay events [SINCE]", "--status S", "--limit N",
                     "--method M"):
            self.assertIn(form, out)


class PayCtlPrunedTest(PayCtlBase):
    sets = SETS + ("actors/payment-recovery/events_kept=2",)

    def test_events_gap_warns(self):
        self.submit(*(payment("g%d" % i) for i in range(4)))
        self.wait_idle()
        out = self.ctl("pay", "events")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("pruned", out.stderr)
        self.assertEqual([cells(l)[0] for l in out.stdout.splitlines()[1:]],
                         ["3", "4"])
        out = self.ctl("pay", "events", "2")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn("pruned", out.stderr)


class FakeNode:
    """A ROUTER on an ipc endpoint that answers every request with
    answers[cmd] (a result, or a function of the args giving one)."""

    def __init__(self, path, answers):
        self.endpoint = "ipc://" + path
        self.answers = answers
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(self.endpoint)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            if not self.sock.poll(50):
                continue
            ident, body = self.sock.recv_multipart()
            req = unpack(body)
            ans = self.answers.get(req["cmd"], {})
            if callable(ans):
                ans = ans(req.get("args", {}))
            self.sock.send_multipart([ident, pack(
                {"v": 1, "id": req["id"], "ok": True, "result": ans})])

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


class PayCtlMalformedTest(NodeTest):
    def fake(self, answers):
        f = FakeNode(os.path.join(self.tmp, "fake"), answers)
        self.addCleanup(f.close)
        return f

    def run_fake(self, answers, *args, stdin=None):
        f = self.fake(answers)
        out = subprocess.run([AZOCTL, "-e", f.endpoint, "--timeout", "5000"]
                             + list(args), input=stdin, capture_output=True,
                             text=True, timeout=DEADLINE)
        f.close()
        self.assertGreaterEqual(out.returncode, 0, out.stderr)  # no crash
        return out

    def test_malformed_replies_are_errors(self):
        p = {"id": "x", "status": "failed"}
        cases = [
            ({"pay.get": [1]}, ["pay", "get", "x"]),
            ({"pay.get": {"payment": 5, "trail": []}}, ["pay", "get", "x"]),
            ({"pay.get": {"payment": p, "trail": {}}}, ["pay", "get", "x"]),
            ({"pay.get": {"payment": p, "trail": [1]}}, ["pay", "get", "x"]),
            ({"pay.list": {"payments": [1]}}, ["pay", "list"]),
            ({"pay.list": {"payments": [{"id": 5}]}}, ["pay", "list"]),
            ({"pay.list": {"payments": [], "more": True}}, ["pay", "list"]),
            # The same page again and again: must not loop.
            ({"pay.list": {"payments": [p], "more": True,
                           "next_after": "x"}}, ["pay", "list"]),
            ({"pay.events": {"events": [], "more": True, "last": 0,
                             "seq": 9}}, ["pay", "events"]),
            ({"pay.events": {"events": "no"}}, ["pay", "events"]),
            ({"pay.stats": {"count": []}}, ["pay", "stats"]),
            ({"pay.retry": {"id": 5}}, ["pay", "retry", "x"]),
            ({"pay.requeue": {"status": "failed"}}, ["pay", "requeue", "x"]),
            ({"pay.submit": {"created": "yes", "payment": p}},
             ["pay", "submit", "id=x"]),
            ({"pay.submit": {"created": 1, "results": [{"index": 7}]}},
             ["pay", "submit", "-"]),
            ({"pay.submit": {"created": 1, "results": []}},
             ["pay", "submit", "-"]),
        ]
        for answers, args in cases:
            out = self.run_fake(answers, *args,
                                stdin=json.dumps({"id": "x"}) + "\n")
            self.assertEqual(out.returncode, 1, (answers, out.stderr))
            self.assertIn("malformed", out.stderr, answers)

    def test_odd_types_print_without_crashing(self):
        rec = {"id": "x", "status": 7, "amount": "abc", "currency": 5,
               "attempts": None, "next_attempt_ms": "soon",
               "created_ms": -5, "updated_ms": 2 ** 63, "error_code": 9,
               "charge_id": [], "idempotency_key": {"a": 1}}
        trail = [{"n": "one", "ts": "now", "from": 3, "to": None,
                  "attempt": -1, "seq": "s", "cause": 1.5, "code": "c",
                  "http": "h"}]
        answers = {
            "pay.get": {"payment": rec, "trail": trail, "trail_more": 1},
            "pay.list": {"payments": [rec], "more": "yes"},
            "pay.events": {"events": [{"seq": "s", "ts": -1}], "more": False},
            "pay.stats": {"count": {"pending": "x"}, "success_rate": "y",
                          "recovered": [], "recovered_amount": {"USD": "z"}},
            "pay.retry": {"id": "x", "status": "failed", "error_http": "h",
                          "next_attempt_ms": 2 ** 63 - 1},
            "pay.requeue": {"id": "x", "status": 5},
        }
        for args in (["pay", "get", "x"], ["pay", "list"], ["pay", "events"],
                     ["pay", "stats"], ["pay", "retry", "x"],
                     ["pay", "requeue", "x", "--method", "m"]):
            out = self.run_fake(answers, *args)
            self.assertEqual(out.returncode, 0, (args, out.stderr))
            self.assertTrue(out.stdout, args)
