#!/usr/bin/python3
"""bench_pay — issue #7's benchmark: a real azod's payment-recovery actor
recovers N due payments (default 10,000, submitted as failed before the
clock starts) against the local test gateway (tests/gateway/pay_gateway.py)
over HTTP, with every transition durably committed (LMDB with its default
sync on every commit: processing before each gateway call, the outcome
after it; the calls a sweep starts share one commit, the answers that
arrive in one turn of the actor's loop share the next). Printed beside the
rate the same gateway sustains under a plain load generator
(azo_bench_gwload: libcurl multi, keep-alive, the same number in flight),
measured just before and just after in the same run. Run with
/usr/bin/python3 (pyzmq, msgpack).

    bench_pay.py [--azod PATH] [--gwload PATH] [-n N] [-c CONC]
                 [--set KEY=VALUE]...
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from azo_bench_node import Node

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GATEWAY = os.path.join(ROOT, "tests", "gateway", "pay_gateway.py")


def start_gateway():
    p = subprocess.Popen([sys.executable, GATEWAY, "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline().decode()
    if not line.startswith("PORT "):
        p.kill()
        sys.exit("bench_pay: the gateway did not start: %r" % line)
    return p, "http://127.0.0.1:%s" % line.split()[1]


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def raw_rate(gwload, n, conc):
    gw, url = start_gateway()
    try:
        out = subprocess.run([gwload, url, str(n), str(conc)],
                             capture_output=True, text=True, timeout=600)
    finally:
        stop(gw)
    m = re.search(r"([\d.]+) req/s", out.stdout)
    if out.returncode != 0 or not m:
        sys.exit("bench_pay: azo_bench_gwload failed: %s %s"
                 % (out.stdout, out.stderr))
    return float(m.group(1))


def cpu_s(pid):
    """User + system CPU seconds of process pid (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def actor_rate(azod, n, conc, extra):
    gw, url = start_gateway()
    tmp = tempfile.mkdtemp(prefix="azo-bench-pay-")
    node = None
    try:
        node = Node(
            azod, tmp,
            "actors\n    payment-recovery\n"
            "        gateway = http\n        url = %s\n"
            "        max_inflight = %d\n        sweep = trigger\n"
            "        timeout = 30s\n" % (url, conc)
            + "".join("        %s\n" % kv.replace("=", " = ", 1)
                      for kv in extra))
        for at in range(0, n, 1000):
            batch = [{"id": "b-%06d" % i, "amount": 1000, "currency": "usd",
                      "customer": "cus_%d" % (i % 1000),
                      "method": "pm_card_visa", "status": "failed"}
                     for i in range(at, min(n, at + 1000))]
            r = node.call("pay.submit", {"payments": batch})
            assert r["created"] == len(batch), r
        before = node.call("pay.stats")
        assert before["count"]["failed"] == n, before
        t0 = time.monotonic()
        cpu0, gcpu0 = cpu_s(node.pid), cpu_s(gw.pid)
        node.call("pay.sweep")
        while True:
            st = node.call("pay.stats")
            if st["count"]["succeeded"] == n:
                break
            time.sleep(0.005)
        secs = time.monotonic() - t0
        cpu = cpu_s(node.pid) - cpu0
        gcpu = cpu_s(gw.pid) - gcpu0
        b = st["batches"]
    finally:
        if node:
            node.stop()
        stop(gw)
        shutil.rmtree(tmp, ignore_errors=True)
    b["cpu"], b["gcpu"] = cpu, gcpu
    return n / secs, secs, b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--azod", default=os.path.join(ROOT, "build", "release",
                                                   "tools", "azod"))
    ap.add_argument("--gwload", default=None)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("-c", type=int, default=256, help="requests in flight")
    ap.add_argument("--set", action="append", default=[],
                    metavar="KEY=VALUE",
                    help="an extra actors/payment-recovery setting")
    a = ap.parse_args()
    gwload = a.gwload or os.path.join(os.path.dirname(a.azod), "bench",
                                      "azo_bench_gwload")
    raw1 = raw_rate(gwload, a.n, a.c)
    rate, secs, b = actor_rate(a.azod, a.n, a.c, a.set)
    raw2 = raw_rate(gwload, a.n, a.c)
    raw = (raw1 + raw2) / 2
    per = b["transitions"] / b["commits"] if b["commits"] else 0
    print("pay: gateway raw (azo_bench_gwload, %d in flight): %.0f req/s "
          "before, %.0f after, mean %.0f" % (a.c, raw1, raw2, raw))
    print("pay: recovery of %d due payments: %.2f s, %.0f payments/s = "
          "%.0f%% of the gateway's raw rate (target >= 80%%)"
          % (a.n, secs, rate, 100 * rate / raw))
    print("pay: durability: LMDB synced on every commit; %d commits for %d "
          "transitions (%.1f per commit)" % (b["commits"], b["transitions"],
                                             per))
    print("pay: CPU during the recovery: azod %.2f s (%.0f us/payment), "
          "gateway %.2f s (%.0f us/request)" % (
              b["cpu"], 1e6 * b["cpu"] / a.n, b["gcpu"],
              1e6 * b["gcpu"] / a.n))
    # A row of run.sh's summary table.
    print("@summary|#7 payments recovered/s (%d due, synced)|%.0f|%.0f|%.2f|"
          ">= 0.80|%s" % (a.n, rate, raw, rate / raw,
                          "yes" if rate / raw >= 0.8 else "NO"))


if __name__ == "__main__":
    main()
