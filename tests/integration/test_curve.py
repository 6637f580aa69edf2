"""Integration tests of CURVE security (issue 4), as outside clients see
it: pyzmq with CURVE keys, azoctl --cert/--server-key and keygen. A client
with an allowed key is served; an unknown key and a plaintext client get
nothing (azoctl says so and exits 3); removing a key's file locks it out
for new connections without a restart; process actors reach the cluster
endpoint with CURVE; insecure non-loopback binds and bad security settings
are refused with clear messages."""
import os
import re
import stat
import subprocess
import time

import zmq
import zmq.auth

from azo_it import AZOCTL, AZOD, DEADLINE, Node, NodeTest, pack, unpack

NO_REPLY_S = 1.0  # how long a refused client is given to get an answer


class CurveNode(Node):
    """A Node whose sockets use CURVE with client keys (public, secret),
    or none (plaintext) when client is None."""

    def __init__(self, tmp, client=None, server_key=None, **kw):
        self.client = client
        self.server_key = server_key
        super().__init__(tmp, **kw)

    def _curve(self, s, client=None, server_key=None):
        client = client or self.client
        if client:
            s.curve_publickey, s.curve_secretkey = client
            s.curve_serverkey = server_key or self.server_key

    def socket(self, kind=zmq.DEALER, client=None, server_key=None):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        self._curve(s, client, server_key)
        s.connect(self.control)
        return s

    def subscriber(self, *topics, client=None):
        s = self.ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        self._curve(s, client)
        for t in topics or ("",):
            s.setsockopt_string(zmq.SUBSCRIBE, t)
        s.connect(self.events)
        return s

    def refused(self, client=None, server_key=None, plain=False):
        """True when a fresh DEALER with these keys (or plaintext) gets no
        answer to ping within NO_REPLY_S."""
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        if not plain:
            self._curve(s, client, server_key)
        s.connect(self.control)
        try:
            s.send(pack({"v": 1, "id": 1, "cmd": "ping"}))
            return not s.poll(int(NO_REPLY_S * 1000))
        finally:
            s.close()


class CurveTest(NodeTest):
    def keygen(self, name):
        """azoctl keygen in the temp dir; returns the cert's path stem."""
        path = os.path.join(self.tmp, "keys", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        r = subprocess.run([AZOCTL, "keygen", path], capture_output=True,
                           text=True, timeout=DEADLINE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("public key: ", r.stdout)
        return path

    def setup_clients(self, *stems):
        """The clients directory, with the public certs of stems in it."""
        self.clients = os.path.join(self.tmp, "clients")
        os.makedirs(self.clients, exist_ok=True)
        for stem in stems:
            self.allow(stem)

    def allow(self, stem, name=None):
        dst = os.path.join(self.clients, name or os.path.basename(stem))
        with open(stem) as f, open(dst + ".tmp", "w") as g:
            g.write(f.read())
        os.rename(dst + ".tmp", dst)  # whole, as an operator's mv would be
        return dst

    def curve_node(self, client_stem, sets=(), server=None, wait=True):
        """A node with CURVE on and self.clients as its directory, with
        the certificate server (a stem), or its own made on first start.
        Its sockets use client_stem's keys. Returns it (ready if wait)."""
        client = zmq.auth.load_certificate(client_stem + "_secret")
        sets = ["security/curve=1", "security/clients=" + self.clients] + \
            (["security/server_cert=" + server] if server else []) + list(sets)
        n = CurveNode(self.tmp, client=client, sets=sets)
        self.nodes.append(n)
        server_cert = server or os.path.join(n.data, "server.cert")
        end = time.monotonic() + DEADLINE
        while not os.path.exists(server_cert) and time.monotonic() < end:
            self.assertIsNone(n.proc.poll(), n.log_text())
            time.sleep(0.02)
        n.server_key = zmq.auth.load_certificate(server_cert)[0]
        if wait:
            n.wait_ready()
        return n

    def azoctl(self, n, stem, *args, timeout_ms=1000):
        cmd = [AZOCTL, "-e", n.control, "--events", n.events,
               "-t", str(timeout_ms)]
        if stem:
            cmd += ["--cert", stem, "--server-key",
                    os.path.join(n.data, "server.cert")]
        return subprocess.run(cmd + list(args), capture_output=True,
                              text=True, timeout=DEADLINE)

    def test_keygen_writes_a_pair_and_never_overwrites(self):
        stem = self.keygen("alice")
        secret = stem + "_secret"
        self.assertEqual(stat.S_IMODE(os.stat(secret).st_mode), 0o600)
        pub, sec = zmq.auth.load_certificate(secret)
        self.assertEqual(len(pub), 40)
        self.assertEqual(len(sec), 40)
        self.assertEqual(zmq.auth.load_certificate(stem)[0], pub)
        self.assertIsNone(zmq.auth.load_certificate(stem)[1])
        r = subprocess.run([AZOCTL, "keygen", stem], capture_output=True,
                           text=True, timeout=DEADLINE)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not overwritten", r.stderr)
        self.assertEqual(zmq.auth.load_certificate(secret), (pub, sec))
        r = subprocess.run([AZOCTL, "--json", "keygen",
                            os.path.join(self.tmp, "keys", "bob")],
                           capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r'"public_key": ?"[^"]{40}"')

    def test_allowed_key_works_unknown_and_plaintext_get_nothing(self):
        alice, eve = self.keygen("alice"), self.keygen("eve")
        self.setup_clients(alice)
        n = self.curve_node(alice, sets=["actors/archiver/mode=process"])
        # The allowed client: control, a routed command to a process actor
        # (whose own connection is CURVE too), events.
        st = n.call("status")["result"]
        self.assertTrue(st["security"]["curve"])
        self.assertEqual(st["security"]["public_key"].encode(), n.server_key)
        arch = [a for a in st["actors"] if a["name"] == "archiver"][0]
        self.assertEqual(arch["mode"], "process")
        self.assertEqual(n.call("archive.ping")["result"]["mode"], "process")
        sub = n.subscriber("sup.actor.")
        end = time.monotonic() + DEADLINE
        got = None
        while got is None and time.monotonic() < end:
            n.call("actor.restart", {"name": "scheduler"})
            if sub.poll(200):
                got = sub.recv_multipart()
        sub.close()
        self.assertIsNotNone(got, "no event over CURVE")
        # Unknown key, wrong server key, plaintext: nothing comes back.
        eve_keys = zmq.auth.load_certificate(eve + "_secret")
        self.assertTrue(n.refused(client=eve_keys))
        self.assertTrue(n.refused(server_key=eve_keys[0]))
        self.assertTrue(n.refused(plain=True))
        s = n.ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(n.events)
        n.call("actor.restart", {"name": "scheduler"})
        self.assertFalse(s.poll(int(NO_REPLY_S * 1000)), "plaintext SUB "
                         "received an event")
        s.close()
        # azoctl: allowed works; unknown key and plaintext time out
        # clearly (exit 3), never hang.
        r = self.azoctl(n, alice, "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("archiver", r.stdout)
        r = self.azoctl(n, eve, "ping")
        self.assertEqual(r.returncode, 3)
        self.assertIn("no reply", r.stderr)
        self.assertIn("allowed clients", r.stderr)
        r = self.azoctl(n, None, "ping")
        self.assertEqual(r.returncode, 3)
        self.assertIn("--cert", r.stderr)
        self.assertTrue(n.call("ping")["ok"])  # still serving

    def test_removed_key_is_locked_out_and_can_come_back(self):
        alice, bob = self.keygen("alice"), self.keygen("bob")
        self.setup_clients()
        a_file = self.allow(alice)
        b_file = self.allow(bob)
        n = self.curve_node(alice)
        bob_keys = zmq.auth.load_certificate(bob + "_secret")
        self.assertFalse(n.refused(client=bob_keys))
        kept = n.socket()  # alice's connection from before the removal
        self.assertTrue(n.request(kept, pack({"v": 1, "id": 7,
                                              "cmd": "ping"}))["ok"])
        os.unlink(b_file)
        end = time.monotonic() + DEADLINE
        while not n.refused(client=bob_keys) and time.monotonic() < end:
            pass
        self.assertTrue(n.refused(client=bob_keys), n.log_text())
        self.assertTrue(n.call("ping")["ok"])  # alice, new connection
        # Bob back: allowed again, without a restart.
        self.allow(bob)
        end = time.monotonic() + DEADLINE
        while n.refused(client=bob_keys) and time.monotonic() < end:
            pass
        self.assertFalse(n.refused(client=bob_keys))
        # The directory itself gone: nobody but the node itself; back: as
        # it is then.
        os.unlink(a_file)
        os.unlink(os.path.join(self.clients, "bob"))
        os.rmdir(self.clients)
        end = time.monotonic() + DEADLINE
        while not n.refused() and time.monotonic() < end:
            pass
        self.assertTrue(n.refused())
        os.makedirs(self.clients)
        self.allow(alice)
        end = time.monotonic() + DEADLINE
        while n.refused() and time.monotonic() < end:
            time.sleep(0.1)
        self.assertFalse(n.refused(), n.log_text())
        kept.close()
        self.assertIn("is gone", n.log_text())

    def test_bad_files_in_clients_are_skipped_not_fatal(self):
        alice = self.keygen("alice")
        self.setup_clients(alice)
        self.allow(alice, "alice-copy")  # the same key twice
        with open(os.path.join(self.clients, "junk"), "wb") as f:
            f.write(os.urandom(300))
        with open(os.path.join(self.clients, "empty"), "w"):
            pass
        os.symlink("/nonexistent", os.path.join(self.clients, "dangling"))
        n = self.curve_node(alice)
        self.assertTrue(n.call("ping")["ok"])
        st = n.call("status")["result"]
        self.assertEqual(st["security"]["clients"], 1)
        self.assertIn("holds the same key as", n.log_text())
        self.assertIn("is not a certificate", n.log_text())
        # A change while running: a garbage file does no harm either.
        with open(os.path.join(self.clients, "junk2"), "w") as f:
            f.write("curve\n    public-key = \"short\"\n")
        time.sleep(0.2)
        self.assertTrue(n.call("ping")["ok"])

    def test_configured_server_cert_and_tcp_with_allow_deny(self):
        alice = self.keygen("alice")
        server = self.keygen("server")
        self.setup_clients(alice)
        # Non-loopback bind: allowed with CURVE on.
        n = self.curve_node(alice, server=server, wait=False, sets=[
            "endpoints/control=tcp://0.0.0.0:*",
            "security/allow=10.9.8.0/24"])
        n.control = "tcp://127.0.0.1:%d" % self._control_port(n)
        n.wait_ready()  # loopback stays allowed
        self.assertFalse(n.refused())
        self.assertFalse(os.path.exists(os.path.join(n.data, "server.cert")))
        n.stop()
        # deny: refused however good the key.
        n2 = self.curve_node(alice, server=server, wait=False, sets=[
            "endpoints/control=tcp://127.0.0.1:*",
            "security/deny=127.0.0.1"])
        n2.control = "tcp://127.0.0.1:%d" % self._control_port(n2)
        self.assertTrue(n2.refused())

    def _control_port(self, n):
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            m = re.search(r"control tcp://[^:]+:(\d+)", n.log_text())
            if m:
                return int(m.group(1))
            self.assertIsNone(n.proc.poll(), n.log_text())
            time.sleep(0.02)
        self.fail("no control endpoint in the log:\n" + n.log_text())

    def run_azod(self, *sets):
        args = [AZOD, "--set", "node/data_dir=" + os.path.join(self.tmp, "d")]
        for s in sets:
            args += ["--set", s]
        return subprocess.run(args, capture_output=True, text=True,
                              timeout=DEADLINE)

    def test_insecure_bind_and_bad_settings_are_refused(self):
        r = self.run_azod("endpoints/control=tcp://0.0.0.0:*")
        self.assertEqual(r.returncode, 2)
        self.assertIn("is not a loopback address, and CURVE is off",
                      r.stderr)
        self.assertIn("security/curve = 1", r.stderr)
        r = self.run_azod("security/curve=1", "security/allow=10.0.0.300")
        self.assertEqual(r.returncode, 2)
        self.assertIn("security/allow: '10.0.0.300' is not", r.stderr)
        r = self.run_azod("security/curve=1", "security/deny=10.0.0.0/8")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no ranges", r.stderr)
        r = self.run_azod("security/allow=10.0.0.1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("only with security/curve = 1", r.stderr)
        missing = os.path.join(self.tmp, "nope")
        r = self.run_azod("security/curve=1", "security/server_cert=" + missing)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("security/server_cert: " + missing + "_secret",
                      r.stderr)
        loose = self.keygen("loose")
        os.chmod(loose + "_secret", 0o644)
        r = self.run_azod("security/curve=1", "security/server_cert=" + loose)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("too open", r.stderr)
        with open(os.path.join(self.tmp, "notacert_secret"), "w") as f:
            f.write("hello\n")
        os.chmod(os.path.join(self.tmp, "notacert_secret"), 0o600)
        r = self.run_azod("security/curve=1", "security/server_cert=" +
                          os.path.join(self.tmp, "notacert"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not a secret certificate", r.stderr)

    def test_data_dir_and_ipc_sockets_are_private(self):
        """Whatever the umask azod starts with: data dir 0700, its files
        not readable by others, ipc socket files 0700."""
        old = os.umask(0)
        try:
            n = self.node()
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(n.data).st_mode), 0o700)
        for ep in (n.control, n.events, n.cluster):
            mode = os.stat(ep[len("ipc://"):]).st_mode
            self.assertTrue(stat.S_ISSOCK(mode))
            self.assertEqual(stat.S_IMODE(mode), 0o700, ep)
        for root, dirs, files in os.walk(n.data):
            for name in dirs + files:
                mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
                self.assertEqual(mode & 0o077, 0, (name, oct(mode)))

    def test_example_config_is_valid(self):
        cfg = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "..", "configs", "curve.cfg")
        r = subprocess.run([AZOD, "-c", cfg, "--check"], capture_output=True,
                           text=True, timeout=DEADLINE)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_azoctl_curve_usage_errors(self):
        alice = self.keygen("alice")
        r = subprocess.run([AZOCTL, "--cert", alice, "ping"],
                           capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(r.returncode, 2)
        self.assertIn("both --cert and --server-key", r.stderr)
        r = subprocess.run([AZOCTL, "--cert", alice, "--server-key", "xyz",
                            "ping"], capture_output=True, text=True,
                           timeout=DEADLINE)
        self.assertEqual(r.returncode, 2)
        self.assertIn("server key 'xyz'", r.stderr)
        r = subprocess.run([AZOCTL, "--cert", "/nonexistent", "--server-key",
                            alice, "ping"], capture_output=True, text=True,
                           timeout=DEADLINE)
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent_secret", r.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
