"""azo_it — harness for azo integration tests (run with /usr/bin/python3).

Starts real azod processes on temporary data directories and ipc://
endpoints (never fixed ports), talks to them over ZeroMQ with pyzmq and
msgpack as an outside client would, and cleans up every process it starts:
each azod runs in its own session and dies with the test (PR_SET_PDEATHSIG)
even if the test runner is killed.
"""
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import msgpack
import zmq

AZOD = os.environ.get("AZOD", "build/dev/tools/azod")
AZOCTL = os.environ.get("AZOCTL", "build/dev/tools/azoctl")
DEADLINE = 20.0  # seconds any single wait may take on a loaded machine

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)
# Process actors outlive a killed azod by design; as their subreaper this
# test process inherits them, so it can reap them instead of leaving
# zombies to an init that may not.
_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _die_with_parent():
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def reap():
    """Collects every ended child of this process (subreaper orphans)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def alive(pid):
    """True when pid runs (a zombie does not count)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def procs_mentioning(text):
    """Pids of processes whose command line contains text."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if text.encode() in f.read() and alive(int(d)):
                    out.append(int(d))
        except OSError:
            pass
    return out


def wait_for(pred, what, timeout=DEADLINE):
    """Polls pred() until true, or fails saying what was awaited."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        reap()
        time.sleep(0.02)


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data):
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


class Node:
    """One azod process on a private temp dir with ipc endpoints."""

    def __init__(self, tmp, name="alpha", sets=(), config=None, start=True):
        self.dir = tmp
        self.name = name
        self.data = os.path.join(tmp, "data")
        self.control = "ipc://" + os.path.join(tmp, "ctl")
        self.events = "ipc://" + os.path.join(tmp, "ev")
        self.cluster = "ipc://" + os.path.join(tmp, "cl")
        self.log_path = os.path.join(tmp, "azod.log")
        self.args = [AZOD]
        if config:
            self.args += ["-c", config]
        self.args += ["--set", "node/name=" + name,
                      "--set", "node/data_dir=" + self.data,
                      "--set", "endpoints/control=" + self.control,
                      "--set", "endpoints/events=" + self.events,
                      "--set", "endpoints/cluster=" + self.cluster]
        for s in sets:
            self.args += ["--set", s]
        self.proc = None
        self.ctx = zmq.Context.instance()
        self.next_id = 1
        if start:
            self.start()

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.args, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self):
        """Waits until the node answers and all its actors run (routed
        requests meanwhile get "unavailable"); fails with its log if not."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("azod exited with %d:\n%s"
                                     % (self.proc.returncode, self.log_text()))
            try:
                rep = self.call("status", timeout=0.5)
                actors = rep.get("result", {}).get("actors", [])
                if rep.get("ok") and all(a["state"] == "running"
                                         for a in actors):
                    return rep
            except TimeoutError:
                pass
        raise AssertionError("azod did not get ready:\n" + self.log_text())

    def socket(self, kind=zmq.DEALER):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.control)
        return s

    def request(self, sock, body, timeout=5.0):
        """Sends raw bytes on sock and returns the decoded reply."""
        sock.send(body)
        if not sock.poll(int(timeout * 1000)):
            raise TimeoutError("no reply within %.1fs" % timeout)
        return unpack(sock.recv())

    def call(self, cmd, args=None, timeout=5.0):
        """One request on a fresh DEALER; returns the reply map."""
        rid = self.next_id
        self.next_id += 1
        body = {"v": 1, "id": rid, "cmd": cmd}
        if args is not None:
            body["args"] = args
        s = self.socket()
        try:
            rep = self.request(s, pack(body), timeout)
        finally:
            s.close()
        assert rep.get("id") == rid, rep
        return rep

    def actors(self):
        """name -> status entry."""
        rep = self.call("status")
        return {a["name"]: a for a in rep["result"]["actors"]}

    def subscriber(self, *topics):
        s = self.ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        for t in topics or ("",):
            s.setsockopt_string(zmq.SUBSCRIBE, t)
        s.connect(self.events)
        return s

    def azoctl(self, *args, timeout=DEADLINE, events=True):
        cmd = [AZOCTL, "-e", self.control]
        if events:
            cmd += ["--events", self.events]
        return subprocess.run(cmd + list(args), capture_output=True,
                              text=True, timeout=timeout)

    def stop(self):
        """Stops the node (SIGTERM, then SIGKILL of its whole session)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()
        return self.proc.returncode


def recv_event(sub, timeout=DEADLINE, topic=None, match=None):
    """Returns (topic, body) of the next event (optionally of topic and
    satisfying match(body)) within timeout, else raises TimeoutError."""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0 or not sub.poll(int(left * 1000)):
            raise TimeoutError("no matching event within %.1fs" % timeout)
        frames = sub.recv_multipart()
        assert len(frames) == 2, frames
        t = frames[0].decode()
        body = unpack(frames[1])
        if topic and t != topic:
            continue
        if match and not match(body):
            continue
        return t, body


class NodeTest(unittest.TestCase):
    """Base class: a temp dir per test, nodes stopped and dirs removed."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="azo-it-")
        self.nodes = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for n in self.nodes:
            n.stop()
        # Process actors (own process groups) and standbys: whatever still
        # names our temp dir goes, and is reaped.
        for pid in procs_mentioning(self.tmp):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(lambda: not procs_mentioning(self.tmp), "actors to end")
        reap()
        if hasattr(self, "_outcome") and self._failed():
            for n in self.nodes:
                print("---- azod log (%s) ----\n%s" % (n.dir, n.log_text()))
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _failed(self):
        result = getattr(self._outcome, "result", None)
        errors = getattr(result, "errors", []) + getattr(result, "failures",
                                                          [])
        return any(test is self for test, _ in errors)

    def write_cfg(self, text, name="azo.cfg"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def node(self, **kw):
        n = Node(self.tmp if not self.nodes else
                 tempfile.mkdtemp(dir=self.tmp), **kw)
        self.nodes.append(n)
        if kw.get("start", True):
            n.wait_ready()
        return n
