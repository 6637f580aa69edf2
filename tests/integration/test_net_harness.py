"""Self-test of azo_net, the network-namespace harness for cluster tests:
TCP between namespaces, cut/restore without RST, ipc:// paths across
namespaces, where libzmq's threads live, and that close() (and SIGTERM)
leave no namespace or process behind. Skips when namespaces are not
available (needs root)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import zmq
from zmq.utils.monitor import recv_monitor_message

import azo_net

OK, WHY = azo_net.available()

# A REP echo server: binds argv[1] and writes the endpoint it got to argv[2].
ECHO = r"""
import os, sys, zmq
s = zmq.Context().socket(zmq.REP)
s.bind(sys.argv[1])
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(s.getsockopt_string(zmq.LAST_ENDPOINT))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
while True:
    s.send(s.recv())
"""


def _net_ino(path):
    return os.stat(path).st_ino


@unittest.skipUnless(OK, WHY)
class NetTest(unittest.TestCase):

    def setUp(self):
        self.net = azo_net.Net()
        self.addCleanup(self.net.close)

    def echo_server(self, node, bind):
        """Starts ECHO in node bound to bind; returns (proc, endpoint)."""
        path = os.path.join(self.net.tmp, "ep-%d" % len(self.net.procs))
        p = self.net.popen(node, [azo_net.PYTHON, "-c", ECHO, bind, path])
        end = time.monotonic() + 10
        while not os.path.exists(path):
            if p.poll() is not None or time.monotonic() > end:
                self.fail("echo server did not start:\n"
                          + self.net.log_text(p))
            time.sleep(0.01)
        with open(path) as f:
            return p, f.read()

    def sock(self, ctx, kind=zmq.DEALER):
        s = ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        self.addCleanup(s.close)
        return s

    def ask(self, sock, body, timeout_ms):
        sock.send_multipart([b"", body])
        if not sock.poll(timeout_ms):
            return None
        return sock.recv_multipart()[1]

    def test_tcp_echo_cut_restore(self):
        net = self.net
        p, ep = self.echo_server("b", "tcp://%s:*" % net.addr["b"])
        self.assertTrue(ep.startswith("tcp://%s:" % net.addr["b"]), ep)
        # ip netns exec execs the target: the Popen pid is python's own.
        with open("/proc/%d/cmdline" % p.pid, "rb") as f:
            self.assertEqual(f.read().split(b"\0")[0], azo_net.PYTHON.encode())
        self.assertIn(p.pid, azo_net._pids_in(net.ns["b"]))

        ctx = net.zmq_context("a")
        s = self.sock(ctx, zmq.DEALER)
        mon = s.get_monitor_socket(zmq.EVENT_CONNECTED
                                   | zmq.EVENT_DISCONNECTED)
        self.addCleanup(mon.close)
        s.connect(ep)
        self.assertEqual(self.ask(s, b"one", 5000), b"one")

        net.cut("b")
        self.assertIsNone(self.ask(s, b"two", 500))      # dropped, no error
        net.restore("b")
        # The request sent during the cut is retransmitted on the same
        # connection (no RST, no reconnect) and answered.
        self.assertTrue(s.poll(5000), "no answer after restore")
        self.assertEqual(s.recv_multipart()[1], b"two")
        self.assertEqual(self.ask(s, b"three", 5000), b"three")
        events = []
        while mon.poll(0):
            events.append(recv_monitor_message(mon)["event"])
        self.assertEqual(events, [zmq.EVENT_CONNECTED])  # one connection

        # b reaches c through a as well.
        _, ep_c = self.echo_server("c", "tcp://%s:*" % net.addr["c"])
        s2 = self.sock(net.zmq_context("b"), zmq.DEALER)
        s2.connect(ep_c)
        self.assertEqual(self.ask(s2, b"via a", 5000), b"via a")

    def test_ipc_paths_cross_namespaces(self):
        net = self.net
        path = "ipc://" + os.path.join(net.tmp, "echo")
        _, ep = self.echo_server("b", path)
        self.assertEqual(ep, path)
        # The test process (root namespace, ordinary context) reaches it.
        ctx = zmq.Context()
        self.addCleanup(ctx.destroy, 0)
        s = self.sock(ctx, zmq.DEALER)
        s.connect(ep)
        self.assertEqual(self.ask(s, b"ipc", 5000), b"ipc")
        # ... but an abstract socket is per namespace and does not.
        name = "ipc://@azo-net-%d" % os.getpid()
        self.echo_server("b", name)
        s = self.sock(ctx, zmq.DEALER)
        s.connect(name)
        self.assertIsNone(self.ask(s, b"abstract", 300))

    def test_threads_and_enter(self):
        net = self.net
        root = _net_ino("/proc/thread-self/ns/net")
        a = _net_ino("/run/netns/" + net.ns["a"])
        tasks = set(os.listdir("/proc/self/task"))
        ctx = net.zmq_context("a")
        new = set(os.listdir("/proc/self/task")) - tasks
        self.assertEqual(len(new), 2)   # libzmq's reaper and one I/O thread
        for t in new:
            self.assertEqual(_net_ino("/proc/self/task/%s/ns/net" % t), a)
        self.assertEqual(_net_ino("/proc/thread-self/ns/net"), root)

        # A bare Context starts no thread until its first socket.
        tasks = set(os.listdir("/proc/self/task"))
        bare = zmq.Context()
        self.addCleanup(bare.destroy, 0)
        self.assertEqual(set(os.listdir("/proc/self/task")), tasks)

        # enter() moves the thread and back; a bind inside it listens in
        # the namespace, whatever context the socket belongs to.
        with net.enter("b"):
            self.assertEqual(_net_ino("/proc/thread-self/ns/net"),
                             _net_ino("/run/netns/" + net.ns["b"]))
            r = self.sock(bare, zmq.ROUTER)
            r.bind("tcp://%s:*" % net.addr["b"])
        self.assertEqual(_net_ino("/proc/thread-self/ns/net"), root)
        # A connect from a's context reaches it (ROUTER echo by hand).
        s = self.sock(ctx, zmq.DEALER)
        s.connect(r.getsockopt_string(zmq.LAST_ENDPOINT))
        s.send(b"bound")
        self.assertTrue(r.poll(5000))
        r.send_multipart(r.recv_multipart())
        self.assertTrue(s.poll(5000))
        self.assertEqual(s.recv(), b"bound")

    def test_close_removes_everything(self):
        net = self.net
        procs = [net.popen(n, ["sleep", "60"]) for n in azo_net.NODES]
        # A process started by one of ours, in a session of its own.
        grand = net.popen("c", ["setsid", "-f", "sleep", "61"])
        grand.wait(5)
        names = set(net.ns.values())
        self.assertTrue(names <= set(azo_net.netns_list()))
        self.assertEqual(len(azo_net._pids_in(net.ns["c"])), 2)
        net.close()
        self.assertFalse(names & set(azo_net.netns_list()))
        for p in procs:
            self.assertIsNotNone(p.returncode)
        self.assertFalse(os.path.exists(net.tmp))
        net.close()                                      # idempotent

    def test_cleanup_stale(self):
        dead = subprocess.Popen(["true"])
        dead.wait()
        ns = "azo%da" % dead.pid
        azo_net._ip("netns", "add", ns)
        self.addCleanup(azo_net._ip, "netns", "del", ns, check=False)
        tmp = tempfile.mkdtemp(prefix="azo-net-%d-" % dead.pid)
        self.addCleanup(shutil.rmtree, tmp, True)
        self.assertIn(ns, azo_net.cleanup_stale())
        self.assertNotIn(ns, azo_net.netns_list())
        self.assertFalse(os.path.exists(tmp))
        self.assertTrue(os.path.exists(self.net.tmp))
        # Our own (live) namespaces stay.
        self.assertTrue(set(self.net.ns.values())
                        <= set(azo_net.netns_list()))


@unittest.skipUnless(OK, WHY)
class SigtermTest(unittest.TestCase):

    def test_sigterm_cleans_up(self):
        code = ("import sys, time, azo_net\n"
                "n = azo_net.Net()\n"
                "n.popen('b', ['sleep', '60'])\n"
                "print(' '.join(n.ns.values()), flush=True)\n"
                "time.sleep(60)\n")
        p = subprocess.Popen([azo_net.PYTHON, "-c", code],
                             stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(os.path.abspath(__file__)))
        try:
            names = set(p.stdout.readline().split())
            self.assertEqual(len(names), 3)
            self.assertTrue(names <= set(azo_net.netns_list()))
            p.terminate()
            self.assertEqual(p.wait(10), -15)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        self.assertFalse(names & set(azo_net.netns_list()))


if __name__ == "__main__":
    sys.exit(unittest.main())
