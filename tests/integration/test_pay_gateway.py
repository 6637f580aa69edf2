"""The local test payment gateway of issue #7 (tests/gateway/pay_gateway.py)
on its own, from the outside over HTTP: charges, Stripe-style idempotency
(replays, a key reused with other parameters, a key in flight, parallel
requests with one key), declines, validation, the API key, and each
injected fault (fail-first, 500, 429 + Retry-After, drop, drop_after,
slow), the inspection endpoints and the command line. Each gateway runs on
a port chosen by the kernel and dies with the test. http.client only."""
import http.client
import json
import os
import tempfile
import threading
import time
import unittest
from urllib.parse import urlencode

import pay_it

KEY = "sk_test_gw"


class Gateway(pay_it.Gateway):
    """pay_it's gateway process, with raw HTTP access for these tests."""

    def conn(self, timeout=5):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def call(self, method, path, body=None, headers=None, conn=None):
        """One request; returns (status, headers, decoded JSON). Uses conn
        (kept open) when given, else a connection of its own."""
        c = conn or self.conn()
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            raw = r.read()
            return r.status, r.headers, json.loads(raw), raw
        finally:
            if conn is None:
                c.close()

    def charge(self, key, conn=None, auth=KEY, **params):
        form = {"amount": "1000", "currency": "usd", "customer": "cus_1",
                "payment_method": "pm_card_visa",
                "metadata[payment_id]": "pay-" + str(key)}
        form.update(params)
        form = {k: v for k, v in form.items() if v is not None}
        hdr = {"Content-Type": "application/x-www-form-urlencoded"}
        if key is not None:
            hdr["Idempotency-Key"] = key
        if auth is not None:
            hdr["Authorization"] = "Bearer " + auth
        return self.call("POST", "/v1/charges", urlencode(form), hdr, conn)

    def faults(self, **cfg):
        st, _, body, _ = self.call("POST", "/_faults", json.dumps(cfg))
        assert st == 200, body
        return body

    def charges(self):
        return self.call("GET", "/_charges")[2]

    def stats(self):
        return self.call("GET", "/_stats")[2]


class PayGatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway("--api-key", KEY, "--seed", "7")

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()

    def setUp(self):
        self.gw.call("POST", "/_reset")
        self.gw.faults(rate=0, modes=[], fail_first=0, retry_after=1,
                       slow_ms=3000)

    def test_pay_gateway_charge_succeeds_over_keep_alive(self):
        c = self.gw.conn()
        for i in range(3):
            st, _, body, _ = self.gw.charge("k%d" % i, conn=c,
                                            customer="cus_%d" % i)
            self.assertEqual(st, 200, body)
            self.assertEqual(body["id"], "ch_%d" % (i + 1))
            self.assertEqual(body["object"], "charge")
            self.assertEqual(body["status"], "succeeded")
            self.assertEqual((body["amount"], body["currency"]),
                             (1000, "usd"))
            self.assertEqual(body["customer"], "cus_%d" % i)
            self.assertEqual(body["payment_method"], "pm_card_visa")
            self.assertEqual(body["metadata"], {"payment_id": "pay-k%d" % i})
        c.close()
        ch = self.gw.charges()
        self.assertEqual([x["key"] for x in ch], ["k0", "k1", "k2"])
        self.assertEqual(ch[1]["payment_id"], "pay-k1")
        self.assertEqual(ch[1]["customer"], "cus_1")
        self.assertEqual(ch[1]["amount"], 1000)
        self.assertIsInstance(ch[1]["ts"], float)

    def test_pay_gateway_replays_same_key_without_second_charge(self):
        st, h, _, raw = self.gw.charge("rk")
        self.assertEqual(st, 200)
        self.assertIsNone(h.get("Idempotent-Replayed"))
        st2, h2, _, raw2 = self.gw.charge("rk")
        self.assertEqual((st2, raw2), (st, raw))
        self.assertEqual(h2.get("Idempotent-Replayed"), "true")
        self.assertEqual(len(self.gw.charges()), 1)
        s = self.gw.stats()
        self.assertEqual((s["requests"], s["charges"], s["replays"]),
                         (2, 1, 1))

    def test_pay_gateway_same_key_other_params_is_refused(self):
        self.assertEqual(self.gw.charge("mk")[0], 200)
        st, _, body, _ = self.gw.charge("mk", amount="2000")
        self.assertEqual(st, 400)
        self.assertEqual(body["error"]["type"], "idempotency_error")
        self.assertIn("same parameters", body["error"]["message"])
        self.assertEqual(len(self.gw.charges()), 1)

    def test_pay_gateway_declines_are_stored_not_charged(self):
        for pm, code in (("pm_card_declined", "generic_decline"),
                         ("pm_card_insufficient_funds",
                          "insufficient_funds")):
            st, _, body, raw = self.gw.charge(pm, payment_method=pm)
            self.assertEqual(st, 402)
            e = body["error"]
            self.assertEqual((e["type"], e["code"], e["decline_code"]),
                             ("card_error", "card_declined", code))
            self.assertEqual(e["message"], "Your card was declined.")
            st2, h2, _, raw2 = self.gw.charge(pm, payment_method=pm)
            self.assertEqual((st2, raw2, h2.get("Idempotent-Replayed")),
                             (402, raw, "true"))
        self.assertEqual(self.gw.charges(), [])
        self.assertEqual(self.gw.stats()["declines"], 2)

    def test_pay_gateway_bad_params_name_the_param(self):
        cases = [({"amount": "-5"}, "parameter_invalid", "amount"),
                 ({"amount": "12.5"}, "parameter_invalid", "amount"),
                 ({"amount": None}, "parameter_missing", "amount"),
                 ({"amount": "\u0663"}, "parameter_invalid", "amount"),
                 ({"amount": "9" * 30}, "parameter_invalid", "amount"),
                 ({"currency": "USD"}, "parameter_invalid", "currency"),
                 ({"customer": None}, "parameter_missing", "customer"),
                 ({"payment_method": ""}, "parameter_missing",
                  "payment_method")]
        for i, (params, code, param) in enumerate(cases):
            st, _, body, raw = self.gw.charge("bad%d" % i, **params)
            self.assertEqual(st, 400, params)
            e = body["error"]
            self.assertEqual((e["type"], e["code"], e["param"]),
                             ("invalid_request_error", code, param))
            st2, h2, _, raw2 = self.gw.charge("bad%d" % i, **params)
            self.assertEqual((st2, raw2, h2.get("Idempotent-Replayed")),
                             (400, raw, "true"))  # stored under the key
        st, _, body, _ = self.gw.charge(None)
        self.assertEqual(st, 400)
        self.assertEqual(body["error"]["type"], "invalid_request_error")
        self.assertEqual(self.gw.charges(), [])
        self.assertEqual(self.gw.stats()["invalid"], len(cases))

    def test_pay_gateway_api_key_checked(self):
        for auth in (None, "sk_wrong"):
            st, _, body, _ = self.gw.charge("ak", auth=auth)
            self.assertEqual(st, 401)
            self.assertEqual(body["error"]["type"], "authentication_error")
        self.assertEqual(self.gw.charge("ak")[0], 200)  # nothing was stored
        self.assertEqual(len(self.gw.charges()), 1)

    def test_pay_gateway_fail_first_counts_per_key(self):
        self.gw.faults(fail_first=2)
        for key in ("f1", "f2"):
            for _ in range(2):
                st, _, body, _ = self.gw.charge(key)
                self.assertEqual(st, 500)
                self.assertEqual(body["error"]["type"], "api_error")
            st, h, _, _ = self.gw.charge(key)
            self.assertEqual(st, 200)
            self.assertIsNone(h.get("Idempotent-Replayed"))
        self.assertEqual(len(self.gw.charges()), 2)
        self.assertEqual(self.gw.stats()["faults"], {"fail_first": 4})

    def test_pay_gateway_500_and_429_store_nothing(self):
        self.gw.faults(rate=1, modes=["429"], retry_after=3)
        st, h, body, _ = self.gw.charge("rl")
        self.assertEqual(st, 429)
        self.assertEqual(h.get("Retry-After"), "3")
        self.assertEqual(body["error"]["type"], "rate_limit_error")
        self.gw.faults(modes=["500"])
        st, _, body, _ = self.gw.charge("rl")
        self.assertEqual((st, body["error"]["type"]), (500, "api_error"))
        self.gw.faults(rate=0)
        st, h, _, _ = self.gw.charge("rl")
        self.assertEqual(st, 200)
        self.assertIsNone(h.get("Idempotent-Replayed"))
        self.assertEqual(self.gw.stats()["faults"], {"429": 1, "500": 1})

    def test_pay_gateway_drop_closes_without_charging(self):
        self.gw.faults(rate=1, modes=["drop"])
        with self.assertRaises(http.client.RemoteDisconnected):
            self.gw.charge("dk")
        self.assertEqual(self.gw.charges(), [])
        self.gw.faults(rate=0)
        st, h, _, _ = self.gw.charge("dk")
        self.assertEqual(st, 200)
        self.assertIsNone(h.get("Idempotent-Replayed"))

    def test_pay_gateway_drop_after_charges_and_retry_replays(self):
        self.gw.faults(rate=1, modes=["drop_after"])
        with self.assertRaises(http.client.RemoteDisconnected):
            self.gw.charge("da")
        ch = self.gw.charges()
        self.assertEqual([(x["id"], x["key"]) for x in ch], [("ch_1", "da")])
        self.gw.faults(rate=0)
        st, h, body, _ = self.gw.charge("da")
        self.assertEqual((st, body["id"]), (200, "ch_1"))
        self.assertEqual(h.get("Idempotent-Replayed"), "true")
        self.assertEqual(len(self.gw.charges()), 1)

    def test_pay_gateway_slow_key_in_flight_gets_409(self):
        self.gw.faults(rate=1, modes=["slow"], slow_ms=1500)
        out = {}
        t = threading.Thread(target=lambda: out.update(
            a=self.gw.charge("sk")))
        t0 = time.monotonic()
        t.start()
        while self.gw.stats()["faults"].get("slow") != 1:
            self.assertLess(time.monotonic() - t0, 5)
            time.sleep(0.01)
        self.gw.faults(rate=0)
        st, _, body, _ = self.gw.charge("sk")
        self.assertEqual(st, 409)
        self.assertEqual(body["error"]["code"], "idempotency_key_in_use")
        t.join(10)
        self.assertEqual(out["a"][0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 1.4)
        st, h, _, raw = self.gw.charge("sk")
        self.assertEqual((st, raw), (200, out["a"][3]))
        self.assertEqual(len(self.gw.charges()), 1)
        self.assertEqual(self.gw.stats()["conflicts"], 1)

    def test_pay_gateway_parallel_same_key_one_charge(self):
        # Round 1: every request slow, so each one after the first overlaps
        # the first one's execution (200 once, 409 for the others). Round 2:
        # no fault, each request executes at once (200, then replays).
        n = 24
        for rate, key, cid in ((1, "pk1", "ch_1"), (0, "pk2", "ch_2")):
            self.gw.faults(rate=rate, modes=["slow"], slow_ms=300)
            results = [None] * n
            barrier = threading.Barrier(n)

            def one(i):
                c = self.gw.conn()
                c.connect()
                barrier.wait()
                results[i] = self.gw.charge(key, conn=c)
                c.close()

            threads = [threading.Thread(target=one, args=(i,))
                       for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            ok = [r for r in results if r[0] == 200]
            self.assertEqual({r[2]["id"] for r in ok}, {cid})
            self.assertEqual({r[0] for r in results} - {200, 409}, set())
            if rate == 0:
                self.assertEqual(len(ok), n)
        self.assertEqual([c["key"] for c in self.gw.charges()],
                         ["pk1", "pk2"])

    def test_pay_gateway_inspection_and_control(self):
        self.gw.charge("s1")
        self.gw.charge("s1")
        self.gw.charge("s2", payment_method="pm_card_declined")
        s = self.gw.stats()
        self.assertEqual({k: s[k] for k in ("requests", "charges", "replays",
                                            "declines", "invalid",
                                            "conflicts", "faults")},
                         {"requests": 3, "charges": 1, "replays": 1,
                          "declines": 1, "invalid": 0, "conflicts": 0,
                          "faults": {}})
        for bad in ({"rate": 2}, {"modes": ["boom"]}, {"slow_ms": -1}):
            st = self.gw.call("POST", "/_faults", json.dumps(bad))[0]
            self.assertEqual(st, 400, bad)
        self.assertEqual(self.gw.call("GET", "/nope")[0], 404)
        self.assertEqual(self.gw.call("POST", "/_reset")[0], 200)
        self.assertEqual(self.gw.charges(), [])
        self.assertEqual(self.gw.stats()["requests"], 0)
        self.assertEqual(self.gw.charge("s1")[2]["id"], "ch_1")  # forgotten


class PayGatewayCliTest(unittest.TestCase):
    def test_pay_gateway_cli_faults_port_file_and_sigterm(self):
        with tempfile.TemporaryDirectory() as tmp:
            pf = os.path.join(tmp, "port")
            gw = Gateway("--fail-first", "1", "--fault-rate", "1",
                         "--fault-modes", "429", "--retry-after", "7",
                         "--seed", "1", "--port-file", pf)
            try:
                with open(pf) as f:
                    self.assertEqual(int(f.read()), gw.port)
                self.assertEqual(gw.charge("c", auth=None)[0], 500)
                st, h, _, _ = gw.charge("c", auth=None)  # no --api-key
                self.assertEqual((st, h.get("Retry-After")), (429, "7"))
            finally:
                self.assertEqual(gw.stop(), 0)


if __name__ == "__main__":
    unittest.main()
