"""net_raw — the "raw ZeroMQ tcp between the same namespaces" baseline for
the multi-host benchmark: DEALER -> ROUTER request/echo round trips between
two processes in the namespaces of tests/integration/azo_net.py, over the
veth, pipelined with a window of outstanding requests, same message size as
the actor round trips. The server echoes in libzmq itself (zmq.proxy of the
ROUTER onto itself); the client is pyzmq, one frame per request, and the
figure printed includes its CPU use (all its threads, in cores) to show
whether the interpreter was the bottleneck.

    /usr/bin/python3 tools/bench/net_raw.py [-n 20000] [--size 200]
        [--window 100] [--src b] [--dst a]        (root: needs namespaces)

raw_rate(net, ...) is the function the benchmark calls with its own Net.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "integration"))
import azo_net  # noqa: E402

# ROUTER bound to argv[1], echoing every message back to its sender inside
# libzmq; writes the endpoint it got to argv[2].
SERVER = r"""
import os, sys, zmq
r = zmq.Context().socket(zmq.ROUTER)
r.bind(sys.argv[1])
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(r.getsockopt_string(zmq.LAST_ENDPOINT))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
zmq.proxy(r, r)
"""

# DEALER to argv[1]: argv[2] round trips of argv[3] bytes with argv[4]
# outstanding (after 1,000 unmeasured ones); prints a JSON line.
CLIENT = r"""
import json, os, sys, time, zmq
ep, n, size, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4])
d = zmq.Context().socket(zmq.DEALER)
d.setsockopt(zmq.LINGER, 0)
d.connect(ep)
body = os.urandom(size)

def run(count):
    sent = got = 0
    while sent < min(window, count):
        d.send(body)
        sent += 1
    while got < count:
        if len(d.recv()) != size:
            raise SystemExit("short echo")
        got += 1
        if sent < count:
            d.send(body)
            sent += 1

if not d.poll(10000, zmq.POLLOUT):
    raise SystemExit("no connection")
run(1000)
c0, t0 = os.times(), time.perf_counter()
run(n)
t1, c1 = time.perf_counter(), os.times()
cpu = (c1.user - c0.user) + (c1.system - c0.system)
print(json.dumps({"n": n, "secs": t1 - t0, "rate": n / (t1 - t0),
                  "client_cpu": cpu / (t1 - t0)}))
"""


def raw_stats(net, src="b", dst="a", n=20000, size=200, window=100):
    """Runs the baseline once; returns a dict: n, secs, rate (round trips
    per second) and client_cpu (the client's CPU seconds per second)."""
    ready = os.path.join(net.tmp, "net_raw-ep-%d" % len(net.procs))
    server = net.popen(dst, [azo_net.PYTHON, "-c", SERVER,
                             "tcp://%s:*" % net.address(dst, src), ready])
    try:
        for _ in range(1000):
            if os.path.exists(ready) or server.poll() is not None:
                break
            time.sleep(0.01)
        if not os.path.exists(ready):
            raise RuntimeError("net_raw server did not start:\n"
                               + net.log_text(server))
        with open(ready) as f:
            ep = f.read()
        client = net.popen(src, [azo_net.PYTHON, "-c", CLIENT, ep, str(n),
                                 str(size), str(window)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = client.communicate(timeout=120)
        if client.returncode != 0:
            raise RuntimeError("net_raw client failed: " + err.decode())
        return json.loads(out)
    finally:
        server.kill()
        server.wait()


def raw_rate(net, src="b", dst="a", n=20000, size=200, window=100):
    """Round trips per second of raw ZeroMQ tcp from src to dst over net."""
    return raw_stats(net, src, dst, n, size, window)["rate"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--src", default="b")
    ap.add_argument("--dst", default="a")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    ok, why = azo_net.available()
    if not ok:
        sys.exit("net_raw: " + why)
    with azo_net.Net() as net:
        rates = []
        for _ in range(a.runs):
            s = raw_stats(net, a.src, a.dst, a.n, a.size, a.window)
            rates.append(s["rate"])
            print("raw zmq tcp %s->%s: %9.0f round trips/s (n=%d size=%d "
                  "window=%d, client cpu %.0f%%)"
                  % (a.src, a.dst, s["rate"], a.n, a.size, a.window,
                     100 * s["client_cpu"]))
        print("median: %.0f round trips/s" % sorted(rates)[len(rates) // 2])


if __name__ == "__main__":
    main()
