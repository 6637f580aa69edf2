"""azo_net — network-namespace harness for azo cluster tests (run with
/usr/bin/python3 as root).

Net() builds three network namespaces, a (the hub) and b, c, wired as a
star of veth pairs on their own /24s:

    b 10.K.1.2 --- 10.K.1.1 a 10.K.2.1 --- 10.K.2.2 c

(addr['b'], addr['a_b'], addr['a_c'], addr['c']; a forwards, so b and c
also reach each other through it; Net.address(node, peer) picks the right
one). Net.popen(node, argv) starts a process inside a namespace (what it
starts, e.g. azod's process actors, stays there); Net.cut(node) takes b's
or c's link down on both ends and Net.restore(node) brings it back;
Net.close() (also on exit and on SIGTERM) kills everything started there
and deletes the namespaces. Names are azo<pid><node>, so cleanup_stale()
can remove those a dead run left (Net() calls it).

How the test process talks to processes inside the namespaces (verified by
test_net_harness.py):

- Preferred: ipc:// endpoints on filesystem paths (e.g. in Net.tmp). A
  path-bound Unix socket is reachable from every network namespace (the
  path lives in the shared filesystem), so the test's control and events
  connections to an azod in ns b need no namespace tricks at all; TCP is
  used only between the azod processes. Abstract ipc://@name sockets ARE
  per-namespace and do not work across them.
- Net.zmq_context(node): a new zmq.Context whose libzmq threads live in the
  namespace. zmq.Context() alone starts no thread; libzmq spawns its reaper
  and I/O threads at the first socket, in the calling thread's namespace
  (threads inherit it), and they stay there. TCP connects (and reconnects)
  run in the I/O thread, so every socket of this context, created from any
  thread later, connects to tcp addresses of that namespace. But a bind
  runs in the calling thread: bind inside enter(node) (outside it, binding
  an address of the namespace fails with EADDRNOTAVAIL).
- Net.enter(node) moves only the calling thread (setns(2)) and back. A
  zmq_bind() runs in the calling thread, so a bind inside enter() listens in
  the namespace; a connect() inside enter() on an ordinary context does NOT
  (its I/O thread is elsewhere) — use zmq_context() for that.

cut() downs both veth ends: packets are dropped, no RST is sent, and an
established TCP connection survives a restore() (its retransmissions get
through again). While cut, the connected routes are gone, so a NEW connect
from either side fails at once (ENETUNREACH) rather than timing out; zmq
just keeps reconnecting. Addresses survive down/up (restore re-adds any
that are missing anyway, and the routes through a).
"""
import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import zmq

PYTHON = sys.executable or "/usr/bin/python3"
NODES = ("a", "b", "c")
CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_NAME = re.compile(r"^azo(\d+)[a-z]")
_TMP = re.compile(r"^azo-net-(\d+)-")
_libc = ctypes.CDLL(None, use_errno=True)
_live = set()            # open Nets, closed at exit and on SIGTERM
_lock = threading.Lock()
_seq = [0]
_hooked = [False]
_available = []


def _die_with_parent():
    # Survives the exec of ip and of the target (neither is set-id).
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _ip(*args, check=True):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def netns_list():
    """Names of the named network namespaces."""
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _pids_in(ns):
    out = _ip("netns", "pids", ns, check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def _running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _boot_time():
    with open("/proc/stat") as f:
        return next(int(line.split()[1]) for line in f
                    if line.startswith("btime"))


def _start_time(pid):
    """Seconds since the epoch when pid started, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        return _boot_time() + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _kill_wait(pids, timeout=5.0):
    """SIGKILLs pids (never this process) and waits until they are gone,
    reaping those that are our children."""
    pids = [p for p in pids if p != os.getpid()]
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    end = time.monotonic() + timeout
    for p in pids:
        while True:
            try:
                if os.waitpid(p, os.WNOHANG)[0]:
                    break
            except ChildProcessError:
                if not _running(p):
                    break
            if time.monotonic() > end:
                break
            time.sleep(0.01)


def _delete_ns(ns):
    _kill_wait(_pids_in(ns))
    _ip("netns", "del", ns, check=False)


def _stale(pid, made):
    """True when pid (which named something made at time made) is gone, or
    is now a process started after it (a reused pid)."""
    if pid == os.getpid():
        return False
    if not _running(pid):
        return True
    started = _start_time(pid)
    if made is None or started is None or made < _boot_time():
        return False
    return started > made + 1


def cleanup_stale():
    """Deletes namespaces azo<pid>... (and temp dirs azo-net-<pid>-...)
    whose creating process is gone, after killing whatever still runs in
    them. Returns the namespace names removed."""
    gone = []
    for ns in netns_list():
        m = _NAME.match(ns)
        if not m:
            continue
        try:
            made = os.stat("/run/netns/" + ns).st_mtime
        except OSError:
            made = None
        if _stale(int(m.group(1)), made):
            _delete_ns(ns)
            gone.append(ns)
    tmp = tempfile.gettempdir()
    for d in os.listdir(tmp):
        m = _TMP.match(d)
        if m:
            path = os.path.join(tmp, d)
            try:
                made = os.stat(path).st_mtime
            except OSError:
                continue
            if _stale(int(m.group(1)), made):
                shutil.rmtree(path, ignore_errors=True)
    return gone


def available():
    """(ok, reason): whether Net can work here (root, ip, netns add)."""
    if _available:
        return _available[0]
    if os.geteuid() != 0:
        res = (False, "needs root for network namespaces")
    elif shutil.which("ip") is None:
        res = (False, "no ip command (iproute2)")
    else:
        probe = "azo%dprobe" % os.getpid()
        r = _ip("netns", "add", probe, check=False)
        if r.returncode != 0:
            res = (False, "ip netns add failed: " + r.stderr.strip())
        else:
            _ip("netns", "del", probe, check=False)
            res = (True, "")
    _available.append(res)
    return res


def _close_all():
    for net in list(_live):
        net.close()


def _on_sigterm(prev):
    def handler(signum, frame):
        _close_all()
        if callable(prev):
            prev(signum, frame)
        elif prev != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
    return handler


def _hook():
    with _lock:
        if _hooked[0]:
            return
        _hooked[0] = True
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread():
        prev = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm(prev))


class Net:
    """Three namespaces a, b, c: veths a<->b and a<->c (see the module
    docstring). tmp: directory for logs and ipc sockets (default: a new
    temp dir, removed by close()); .tmp is usable either way."""

    def __init__(self, tmp=None):
        ok, why = available()
        if not ok:
            raise RuntimeError(why)
        _hook()
        cleanup_stale()
        pid = os.getpid()
        with _lock:
            seq = _seq[0]
            _seq[0] += 1
        suffix = str(seq) if seq else ""
        self.ns = {n: "azo%d%s%s" % (pid, n, suffix) for n in NODES}
        k = (pid + seq) % 250 + 1
        self.addr = {"a_b": "10.%d.1.1" % k, "b": "10.%d.1.2" % k,
                     "a_c": "10.%d.2.1" % k, "c": "10.%d.2.2" % k}
        # node -> ((namespace node, device, address) of both ends)
        self.links = {"b": (("a", "vb", self.addr["a_b"]),
                            ("b", "va", self.addr["b"])),
                      "c": (("a", "vc", self.addr["a_c"]),
                            ("c", "va", self.addr["c"]))}
        self._own_tmp = tmp is None
        self.tmp = tmp or tempfile.mkdtemp(prefix="azo-net-%d-" % pid)
        self.procs = []
        self._contexts = []
        self._closed = False
        _live.add(self)
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self):
        for n in NODES:
            _ip("netns", "add", self.ns[n])
            _ip("-n", self.ns[n], "link", "set", "lo", "up")
        for node, ((_, dev_a, _), (_, dev_n, _)) in self.links.items():
            _ip("link", "add", dev_a, "netns", self.ns["a"], "type", "veth",
                "peer", "name", dev_n, "netns", self.ns[node])
            for n, dev, ip in self.links[node]:
                _ip("-n", self.ns[n], "addr", "add", ip + "/24", "dev", dev)
                _ip("-n", self.ns[n], "link", "set", dev, "up")
            self._route(node)
        with self.enter("a"), open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write("1")

    def _route(self, node):
        # Manual routes vanish on link down and do not come back on up.
        _ip("-n", self.ns[node], "route", "replace", "default", "via",
            self.links[node][0][2])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _ends(self, node):
        if node not in self.links:
            raise ValueError("cut/restore takes 'b' or 'c', not %r" % node)
        return self.links[node]

    def cut(self, node):
        """Takes node's veth down on both ends: packets are dropped, no RST."""
        for n, dev, _ in self._ends(node):
            _ip("-n", self.ns[n], "link", "set", dev, "down")

    def restore(self, node):
        """Brings node's veth up on both ends again (re-adding addresses and
        routes when missing) and waits for the carrier."""
        for n, dev, ip in self._ends(node):
            _ip("-n", self.ns[n], "link", "set", dev, "up")
            shown = _ip("-n", self.ns[n], "-4", "-o", "addr", "show", "dev",
                        dev).stdout
            if " %s/" % ip not in shown:
                _ip("-n", self.ns[n], "addr", "add", ip + "/24", "dev", dev)
        end = time.monotonic() + 5
        for n, dev, _ in self._ends(node):
            while "LOWER_UP" not in _ip("-n", self.ns[n], "-o", "link",
                                        "show", dev).stdout:
                if time.monotonic() > end:
                    raise RuntimeError("%s in %s has no carrier" % (dev, n))
                time.sleep(0.01)
        self._route(node)

    def address(self, node, peer):
        """node's address as peer reaches it ('a' is reached on peer's
        link; b and c reach each other through a)."""
        if node == peer:
            return "127.0.0.1"
        if node == "a":
            return self.addr["a_" + peer]
        return self.addr[node]

    def popen(self, node, argv, **kw):
        """Starts argv in namespace node via ip netns exec (which execs it:
        the Popen's pid is argv's own). Own session, killed with this
        thread (PR_SET_PDEATHSIG: start it from a thread that outlives it),
        stdout and stderr to a log in tmp unless given; .log_path names it.
        Tracked: close() kills its session."""
        path = os.path.join(self.tmp, "%s-%d-%s.log" % (
            node, len(self.procs), os.path.basename(argv[0])))
        log = None
        if "stdout" not in kw:
            log = open(path, "ab")
            kw["stdout"] = log
            kw.setdefault("stderr", subprocess.STDOUT)
        kw.setdefault("start_new_session", True)
        pre = kw.pop("preexec_fn", None)

        def preexec():
            _die_with_parent()
            if pre:
                pre()
        try:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns[node]]
                                 + list(argv), preexec_fn=preexec, **kw)
        finally:
            if log:
                log.close()
        p.log_path = path if log else None
        self.procs.append(p)
        return p

    def log_text(self, proc):
        """What proc (from popen) has logged so far."""
        if not proc.log_path:
            return ""
        with open(proc.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    @contextlib.contextmanager
    def enter(self, node):
        """Runs the block with the calling thread in namespace node."""
        orig = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            fd = os.open("/run/netns/" + self.ns[node],
                         os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            try:
                yield
            finally:
                _setns(orig)
        finally:
            os.close(orig)

    def zmq_context(self, node, io_threads=1):
        """A new zmq.Context whose libzmq threads run in namespace node, so
        its sockets connect to tcp addresses there. Destroyed by close()."""
        with self.enter(node):
            ctx = zmq.Context(io_threads)
            ctx.socket(zmq.PAIR).close()   # spawns reaper + I/O threads here
        self._contexts.append(ctx)
        return ctx

    def close(self):
        """Kills what was started in the namespaces and deletes them (with
        their veths). Idempotent."""
        if self._closed:
            return
        for ctx in self._contexts:
            ctx.destroy(linger=0)
        self._contexts = []
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for n in NODES:
            _delete_ns(self.ns[n])
        if self._own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self._closed = True
        _live.discard(self)
