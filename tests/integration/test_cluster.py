"""Integration tests of actors across hosts (issue 10): a supervisor in one
network namespace and node agents (azod --join) in two others, joined by
veth pairs, TCP between them (azo_net). Actors placed on the agents answer
commands through the supervisor and their events reach its events
endpoint; cutting a node's link makes the supervisor publish
sup.node.lost and fail its failover actors over to the other node; after
the link is back the node stops what now runs elsewhere (one copy of each
actor), and the stale instance's messages are refused (epochs); killing
the supervisor leaves the remote actors running, and they re-appear, not
restarted, when it comes back. The same story runs again with CURVE on the
cluster endpoint (and every endpoint of the supervisor).

The test talks to every azod over ipc:// paths in the temp dir (reachable
from any namespace); only the azods talk TCP. Heartbeats: 200 ms x 3."""
import os
import subprocess
import time
import unittest

import zmq

from azo_it import AZOCTL, AZOD, DEADLINE, pack, reap, unpack

try:
    import azo_net
    NET_OK, NET_WHY = azo_net.available()
except Exception as e:  # noqa: BLE001 - any reason to skip is reported
    NET_OK, NET_WHY = False, str(e)

HB = "200ms"


class Endpoint:
    """A control/events client of one azod (ipc paths), CURVE or not."""

    def __init__(self, ctl, ev, keys=None, server=None):
        self.ctl, self.ev = ctl, ev
        self.keys, self.server = keys, server
        self.ctx = zmq.Context.instance()
        self.next_id = 1

    def _sock(self, kind):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        if self.keys:
            s.curve_publickey, s.curve_secretkey = self.keys
            s.curve_serverkey = self.server
        return s

    def call(self, cmd, args=None, timeout=3.0):
        rid = self.next_id
        self.next_id += 1
        body = {"v": 1, "id": rid, "cmd": cmd}
        if args is not None:
            body["args"] = args
        s = self._sock(zmq.DEALER)
        s.connect(self.ctl)
        try:
            s.send(pack(body))
            if not s.poll(int(timeout * 1000)):
                raise TimeoutError("%s: no reply within %.1fs" % (cmd, timeout))
            rep = unpack(s.recv())
        finally:
            s.close()
        assert rep.get("id") == rid, rep
        return rep

    def try_call(self, cmd, args=None, timeout=1.0):
        try:
            return self.call(cmd, args, timeout)
        except TimeoutError:
            return {"ok": False, "error": {"code": "timeout"}}

    def actors(self):
        rep = self.call("status")
        assert rep["ok"], rep
        return {a["name"]: a for a in rep["result"]["actors"]}

    def nodes(self):
        rep = self.call("nodes")
        assert rep["ok"], rep
        return {n["name"]: n for n in rep["result"]["nodes"]}

    def subscriber(self, *topics):
        s = self._sock(zmq.SUB)
        for t in topics or ("",):
            s.setsockopt_string(zmq.SUBSCRIBE, t)
        s.connect(self.ev)
        return s


class Events:
    """Collects events of a SUB socket; finds them by topic and fields."""

    def __init__(self, sub):
        self.sub = sub
        self.seen = []  # (monotonic, topic, body)

    def pump(self, timeout=0.0):
        end = time.monotonic() + timeout
        while True:
            left = max(0.0, end - time.monotonic())
            if not self.sub.poll(int(left * 1000)):
                return
            t, b = self.sub.recv_multipart()
            self.seen.append((time.monotonic(), t.decode(), unpack(b)))

    def wait(self, topic, timeout=DEADLINE, since=0.0, **fields):
        end = time.monotonic() + timeout
        while True:
            for when, t, b in self.seen:
                if when >= since and t == topic and all(
                        b.get(k) == v for k, v in fields.items()):
                    return b
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s %r within %.1fs; seen: %s" % (
                    topic, fields, timeout,
                    [(t, b.get("node")) for _, t, b in self.seen[-20:]]))
            self.pump(min(left, 0.2))


@unittest.skipUnless(NET_OK, "network namespaces: %s" % NET_WHY)
class ClusterTest(unittest.TestCase):
    curve = False

    def setUp(self):
        self.net = azo_net.Net()
        self.addCleanup(self._cleanup)
        self.tmp = self.net.tmp
        self.procs = {}
        self.keys = {}
        if self.curve:
            for name in ("server", "client", "beta", "gamma"):
                self.keys[name] = self._keygen(name)
            clients = os.path.join(self.tmp, "clients")
            os.makedirs(clients)
            for name in ("client", "beta", "gamma"):
                with open(self._path(name)) as src, \
                        open(os.path.join(clients, name), "w") as dst:
                    dst.write(src.read())

    def _cleanup(self):
        failed = any(e for _, e in getattr(self._outcome, "errors", []) if e)
        if failed:
            for name, p in self.procs.items():
                print("---- %s log ----\n%s" % (name,
                                               self.net.log_text(p)[-4000:]))
        self.net.close()
        reap()

    def _path(self, name):
        return os.path.join(self.tmp, "keys", name)

    def _keygen(self, name):
        os.makedirs(os.path.join(self.tmp, "keys"), exist_ok=True)
        r = subprocess.run([AZOCTL, "keygen", self._path(name)],
                           capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self._path(name) + "_secret") as f:
            text = f.read()
        pub = text.split('public-key = "')[1].split('"')[0]
        sec = text.split('secret-key = "')[1].split('"')[0]
        return pub.encode(), sec.encode()

    # --- processes --------------------------------------------------------

    def ipc(self, node, what):
        return "ipc://" + os.path.join(self.tmp, "%s.%s" % (node, what))

    def start_sup(self):
        """The supervisor, in namespace a; returns its Endpoint."""
        cfg = os.path.join(self.tmp, "sup.cfg")
        with open(cfg, "w") as f:
            f.write("""node
    name = alpha
    data_dir = %s
endpoints
    control = %s
    events = %s
    cluster = tcp://0.0.0.0:*
    insecure = %d
cluster
    heartbeat = %s
    liveness = 3
actors
    scheduler
    mining-optimizer
        node = beta, gamma
        interval = 300ms
    health-checker
        node = gamma beta
    payment-recovery
        node = beta
""" % (os.path.join(self.tmp, "alpha"), self.ipc("alpha", "ctl"),
                self.ipc("alpha", "ev"), 0 if self.curve else 1, HB))
        args = [AZOD, "-c", cfg]
        if self.curve:
            # allow: only the agents' addresses may reach the tcp cluster
            # endpoint (the agents must not inherit it: their own
            # security section is theirs).
            args += ["--set", "security/allow=%s %s" % (
                self.net.addr["b"], self.net.addr["c"])]
            args += ["--set", "security/curve=1",
                     "--set", "security/server_cert=" + self._path("server"),
                     "--set", "security/clients="
                     + os.path.join(self.tmp, "clients")]
        self.procs["alpha"] = self.net.popen("a", args)
        ep = Endpoint(self.ipc("alpha", "ctl"), self.ipc("alpha", "ev"),
                      self.keys.get("client"),
                      self.keys["server"][0] if self.curve else None)
        end = time.monotonic() + DEADLINE
        while True:
            self.assertIsNone(self.procs["alpha"].poll(),
                              self.net.log_text(self.procs["alpha"]))
            rep = ep.try_call("status", timeout=0.5)
            if rep.get("ok"):
                break
            self.assertLess(time.monotonic(), end, "supervisor not up")
        self.port = int(rep["result"]["endpoints"]["cluster"].rsplit(":", 1)[1])
        return ep

    def start_agent(self, ns, name):
        """A node agent in namespace ns; returns its local Endpoint."""
        join = "tcp://%s:%d" % (self.net.address("a", ns), self.port)
        args = [AZOD, "--join", join, "--node", name,
                "--set", "node/data_dir=" + os.path.join(self.tmp, name),
                "--set", "endpoints/control=" + self.ipc(name, "ctl"),
                "--set", "endpoints/events=" + self.ipc(name, "ev"),
                "--set", "endpoints/cluster=" + self.ipc(name, "cl")]
        if self.curve:
            args += ["--set", "cluster/server_key=" + self._path("server"),
                     "--set", "cluster/cert=" + self._path(name)]
        self.procs[name] = self.net.popen(ns, args)
        return Endpoint(self.ipc(name, "ctl"), self.ipc(name, "ev"))

    # --- checks ---------------------------------------------------------------

    def until(self, pred, what, timeout=DEADLINE):
        end = time.monotonic() + timeout
        while True:
            try:
                if pred():
                    return
            except (TimeoutError, KeyError):
                pass
            if time.monotonic() > end:
                raise AssertionError("timed out waiting for " + what)
            time.sleep(0.05)

    def placed(self, sup, actor, node, state="running"):
        a = sup.actors()[actor]
        return a["node"] == node and a["state"] == state

    def running_here(self, agent, actor):
        """True when agent's own supervisor runs actor."""
        rep = agent.try_call("status", timeout=1.0)
        if not rep.get("ok"):
            return False
        for a in rep["result"]["actors"]:
            if a["name"] == actor:
                return a["node"] is not None and a["state"] in (
                    "running", "starting", "stopping")
        return False

    # --- the story -----------------------------------------------------------

    def test_cluster(self):
        sup = self.start_sup()
        events = Events(sup.subscriber(""))
        beta = self.start_agent("b", "beta")
        gamma = self.start_agent("c", "gamma")
        events.wait("sup.node.up", agent="beta")
        events.wait("sup.node.up", agent="gamma")
        self.until(lambda: all(a["state"] == "running"
                               for a in sup.actors().values()),
                   "every actor running")
        acts = sup.actors()
        self.assertEqual(acts["scheduler"]["node"], "alpha")
        self.assertEqual(acts["mining-optimizer"]["node"], "beta")
        self.assertEqual(acts["health-checker"]["node"], "gamma")
        self.assertEqual(acts["payment-recovery"]["node"], "beta")
        pay_gen = acts["payment-recovery"]["gen"]

        # Remote actors answer through the supervisor; their events (and
        # their nodes' lifecycle events) reach its events endpoint.
        for cmd in ("mining.cache", "health.status", "pay.list"):
            rep = sup.call(cmd)
            self.assertTrue(rep["ok"], (cmd, rep))
        rep = sup.call("pay.get", {"id": "nope"})
        self.assertEqual(rep["error"]["code"], "not_found", rep)
        events.wait("mining.report", node="beta")
        events.wait("sup.actor.started", node="gamma",
                    actor="health-checker")
        nodes = sup.nodes()
        self.assertEqual(nodes["beta"]["state"], "up")
        self.assertEqual(nodes["alpha"]["role"], "supervisor")
        self.assertEqual(
            sorted(a["name"] for a in nodes["beta"]["actors"]),
            ["mining-optimizer", "payment-recovery"])
        ep1 = acts["mining-optimizer"]["epoch"]
        # An agent's own view, on its own control endpoint.
        rep = beta.call("nodes")
        self.assertTrue(rep["ok"], rep)
        me = rep["result"]["nodes"][0]
        self.assertEqual((me["name"], me["role"], me["supervisor"],
                          me["supervisor_state"]),
                         ("beta", "agent", "alpha", "up"))
        rep = beta.call("health.status")
        self.assertEqual(rep["error"]["code"], "unavailable", rep)
        # Lifecycle commands for a remote actor are carried out by its node
        # and answered when done.
        hc_gen = acts["health-checker"]["gen"]
        rep = sup.call("actor.restart", {"name": "health-checker"},
                       timeout=DEADLINE)
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(rep["result"]["state"], "running")
        self.assertGreater(rep["result"]["gen"], hc_gen)
        self.until(lambda: sup.actors()["health-checker"]["gen"]
                   == rep["result"]["gen"], "the restart mirrored")

        # Cut beta's link: lost, its failover actor moves to gamma; the
        # pinned one waits; beta keeps running both meanwhile.
        cut = time.monotonic()
        self.net.cut("b")
        lost = events.wait("sup.node.lost", since=cut, agent="beta")
        self.assertEqual(lost["node"], "alpha")  # the publisher
        self.assertIn("mining-optimizer", lost["actors"])
        moved = events.wait("sup.actor.moved", since=cut,
                            actor="mining-optimizer")
        self.assertEqual((moved["from"], moved["to"], moved["reason"]),
                         ("beta", "gamma", "failover"))
        self.assertGreater(moved["epoch"], ep1)
        self.until(lambda: self.placed(sup, "mining-optimizer", "gamma"),
                   "mining-optimizer running on gamma")
        moved_at = time.monotonic()
        self.assertTrue(sup.call("mining.cache")["ok"])
        rep = sup.call("pay.list")
        self.assertEqual(rep["error"]["code"], "unavailable", rep)
        self.assertIn("beta", rep["error"]["message"])
        self.assertTrue(self.running_here(beta, "mining-optimizer"),
                        "the cut-off agent keeps its actors running")
        time.sleep(1.0)  # the stale instance keeps publishing reports

        # Restore: beta re-registers, stops the moved actor at once; one
        # copy of every actor; the stale instance's frames were refused.
        back = time.monotonic()
        self.net.restore("b")
        events.wait("sup.node.up", since=back, agent="beta")
        self.until(lambda: not self.running_here(beta, "mining-optimizer"),
                   "beta stopping its stale mining-optimizer")
        self.assertTrue(self.running_here(gamma, "mining-optimizer"))
        self.until(lambda: self.placed(sup, "payment-recovery", "beta"),
                   "payment-recovery back on beta")
        self.assertEqual(sup.actors()["payment-recovery"]["gen"], pay_gen,
                         "a pinned actor is not restarted for a cut")
        self.assertTrue(sup.call("pay.list")["ok"])
        self.assertGreater(sup.nodes()["beta"]["stale"], 0,
                           "the stale instance's frames were refused")
        events.pump(0.5)
        late = [b for when, t, b in events.seen
                if t == "mining.report" and when > moved_at
                and b["node"] == "beta"]
        self.assertEqual(late, [], "no report of the stale instance passed")
        events.wait("mining.report", since=moved_at, node="gamma")

        # Kill the supervisor: the agents keep their actors running; a new
        # supervisor on the same data finds them, nothing restarted.
        gens = {n: a["gen"] for n, a in sup.actors().items()}
        self.procs["alpha"].kill()
        self.procs["alpha"].wait()
        time.sleep(1.0)  # past heartbeat x liveness: agents saw it go
        self.assertTrue(self.running_here(gamma, "mining-optimizer"))
        self.assertTrue(self.running_here(beta, "payment-recovery"))
        sup = self.start_sup()
        self.until(lambda: all(a["state"] == "running"
                               for a in sup.actors().values()),
                   "every actor running again")
        acts = sup.actors()
        self.assertEqual(acts["mining-optimizer"]["node"], "gamma",
                         "the placement survived the supervisor")
        for name in ("mining-optimizer", "health-checker",
                     "payment-recovery"):
            self.assertEqual(acts[name]["gen"], gens[name],
                             "%s was restarted" % name)
        self.assertTrue(sup.call("mining.cache")["ok"])
        self.assertTrue(sup.call("pay.list")["ok"])

        # actor.move: back to beta on request.
        rep = sup.call("actor.move", {"name": "mining-optimizer",
                                      "node": "beta"}, timeout=DEADLINE)
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(rep["result"]["node"], "beta")
        self.until(lambda: not self.running_here(gamma, "mining-optimizer"),
                   "gamma stopping the moved actor")
        self.assertTrue(sup.call("mining.cache")["ok"])
        rep = sup.call("actor.move", {"name": "mining-optimizer",
                                      "node": "nowhere"})
        self.assertEqual(rep["error"]["code"], "not_found", rep)


@unittest.skipUnless(NET_OK, "network namespaces: %s" % NET_WHY)
class ClusterCurveTest(ClusterTest):
    """The same story with CURVE on the supervisor's endpoints: the agents
    present their certificates on the cluster endpoint."""
    curve = True

    def test_unknown_agent_key_gets_nothing(self):
        sup = self.start_sup()
        self.keys["delta"] = self._keygen("delta")  # not in clients/
        self.start_agent("c", "delta")
        time.sleep(1.5)
        self.assertNotIn("delta", sup.nodes())


if __name__ == "__main__":
    unittest.main()
