"""azo_bench_node — what the Python benchmarks share (bench_pay.py,
bench_archive.py): one azod on a temp dir with ipc endpoints, started with
a config text, waited for until its actors run, called over a DEALER, and
stopped. Run with /usr/bin/python3 (pyzmq, msgpack)."""
import os
import signal
import subprocess
import sys
import time

import msgpack
import zmq


class Node:
    """An azod in directory tmp running config text cfg; extra --set
    arguments in sets. Exits the benchmark when it does not start."""

    def __init__(self, azod, tmp, cfg, sets=()):
        self.ctl = "ipc://" + os.path.join(tmp, "ctl")
        path = os.path.join(tmp, "azo.cfg")
        with open(path, "w") as f:
            f.write(cfg)
        self.log = open(os.path.join(tmp, "azod.log"), "wb")
        args = [azod, "-c", path,
                "--set", "node/data_dir=" + os.path.join(tmp, "data"),
                "--set", "endpoints/control=" + self.ctl,
                "--set", "endpoints/events=ipc://" + os.path.join(tmp, "ev"),
                "--set", "endpoints/cluster=ipc://" + os.path.join(tmp, "cl")]
        for s in sets:
            args += ["--set", s]
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.ctl)
        self.id = 0
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                st = self.call("status", timeout=0.5)
                if all(a["state"] == "running" for a in st["actors"]):
                    return
            except TimeoutError:
                pass
        sys.exit("bench: azod did not start (log: %s)" % self.log.name)

    def call(self, cmd, args=None, timeout=600.0):
        """One request; returns its result, exits the benchmark on an
        error reply, raises TimeoutError when no reply comes."""
        self.id += 1
        body = {"v": 1, "id": self.id, "cmd": cmd}
        if args is not None:
            body["args"] = args
        self.sock.send(msgpack.packb(body, use_bin_type=True))
        while True:
            if not self.sock.poll(int(timeout * 1000)):
                raise TimeoutError(cmd)
            rep = msgpack.unpackb(self.sock.recv(), raw=False)
            if rep.get("id") == self.id:
                if not rep.get("ok"):
                    sys.exit("bench: %s: %s" % (cmd, rep))
                return rep["result"]

    def stop(self):
        self.sock.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
