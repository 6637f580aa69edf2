"""pay_it — what the payment-recovery integration tests share: the local
test gateway (tests/gateway/pay_gateway.py) as a child process on a port
the kernel picks, its inspection API, configs for the actor, and the
checks of a payment's audit trail."""
import json
import os
import select
import signal
import subprocess
import sys
import urllib.request

from azo_it import DEADLINE, _die_with_parent

GATEWAY = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "..", "gateway", "pay_gateway.py")

# The transitions a trail may make (from -> to), submission included.
ALLOWED = {
    (None, "pending"), (None, "failed"),
    ("pending", "processing"), ("failed", "processing"),
    ("processing", "processing"),  # resumed after a crash, same key
    ("processing", "succeeded"), ("processing", "failed"),
    ("processing", "dead"),
    ("failed", "failed"), ("pending", "pending"),  # forced retry
    ("dead", "failed"),  # requeued
}


class Gateway:
    """The test gateway, started with args; stopped by stop()."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, GATEWAY, "--port", "0"] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_parent)
        ready, _, _ = select.select([self.proc.stdout], [], [], DEADLINE)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            self.stop()
            raise AssertionError("the gateway did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def _req(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data,
                                     method="POST" if data else "GET")
        with urllib.request.urlopen(req, timeout=DEADLINE) as r:
            return json.loads(r.read().decode())

    def charges(self):
        return self._req("/_charges")

    def stats(self):
        return self._req("/_stats")

    def faults(self, **kw):
        return self._req("/_faults", kw)

    def stop(self):
        """Sends SIGTERM (SIGKILL to its group after DEADLINE) and returns
        the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode



def pay_cfg(extra="", mode="thread", sup=""):
    """A config running only the payment-recovery actor with extra keys."""
    out = ""
    if sup:
        out += "supervisor\n" + sup
    out += "actors\n    payment-recovery\n        mode = %s\n" % mode
    for line in extra.strip("\n").splitlines():
        out += "        " + line.strip() + "\n"
    return out


def check_trail(test, pay, trail):
    """Asserts that trail is complete and ordered for payment pay: numbered
    1..n without gaps, times never going back, each entry starting where
    the previous one ended, every step allowed, ending at pay's status."""
    test.assertEqual(len(trail), pay["trail_n"], pay["id"])
    prev_to, prev_ts = None, 0
    for i, e in enumerate(trail, 1):
        test.assertEqual(e["n"], i, (pay["id"], trail))
        test.assertGreaterEqual(e["ts"], prev_ts, (pay["id"], trail))
        test.assertEqual(e["from"], prev_to, (pay["id"], trail))
        test.assertIn((e["from"], e["to"]), ALLOWED, (pay["id"], trail))
        prev_to, prev_ts = e["to"], e["ts"]
    test.assertEqual(prev_to, pay["status"], (pay["id"], trail))
