#!/usr/bin/python3
"""bench_archive — issue #8's benchmarks, each beside a plain baseline
measured in the same run:
  1. archiving N small files (default 10,000) with full durability by a
     real azod's archiver (catalog with SHA-256, intents, fsyncs), against
     `mv` of the same files followed by `sync`;
  2. gzip of a generated log (default 200 MB) by an archive job with
     compress on, against `gzip -6` of the same file.
Run with /usr/bin/python3 (pyzmq, msgpack).

    bench_archive.py [--azod PATH] [-n N] [--mb MB] [--dir DIR]
"""
import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time

from azo_bench_node import Node

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def make_files(d, n, rnd):
    os.makedirs(d, exist_ok=True)
    old = time.time() - 30 * 86400
    for i in range(n):
        p = os.path.join(d, "f%05d.log" % i)
        with open(p, "wb") as f:
            f.write(rnd.randbytes(rnd.randrange(100, 1000)))
        os.utime(p, (old, old))


def make_log(path, mb, rnd):
    words = [b"GET", b"POST", b"/api/v1/items", b"/health", b"200", b"404",
             b"500", b"user=alice", b"user=bob", b"latency_ms=", b"INFO",
             b"WARN", b"ERROR", b"request_id="]
    with open(path, "wb") as f:
        size, n = 0, 0
        while size < mb * 1000000:
            line = b"2026-11-23T10:%02d:%02d.%03dZ %s %s %s %d %s%08x\n" % (
                n // 3600 % 60, n // 60 % 60, n % 1000, rnd.choice(words),
                rnd.choice(words), rnd.choice(words), rnd.randrange(100000),
                b"req=", rnd.getrandbits(32))
            f.write(line)
            size += len(line)
            n += 1
    old = time.time() - 30 * 86400
    os.utime(path, (old, old))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--azod", default=os.path.join(ROOT, "build", "release",
                                                   "tools", "azod"))
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--dir", default=None,
                    help="where to work (default: a temp dir under /var/tmp)")
    a = ap.parse_args()
    base = tempfile.mkdtemp(prefix="azo-bench-arc-",
                            dir=a.dir or "/var/tmp")
    rnd = random.Random(8)
    try:
        # 1. mv + sync vs the archiver, same files.
        make_files(os.path.join(base, "mv-src"), a.n, rnd)
        os.makedirs(os.path.join(base, "mv-dst"))
        subprocess.run(["sync"])
        t0 = time.monotonic()
        subprocess.run("mv %s/mv-src/* %s/mv-dst/ && sync" % (base, base),
                       shell=True, check=True)
        mv_s = time.monotonic() - t0
        src = os.path.join(base, "src")
        make_files(src, a.n, rnd)
        big = os.path.join(base, "big")
        os.makedirs(big)
        make_log(os.path.join(big, "app.log"), a.mb, rnd)
        subprocess.run(["sync"])
        node = Node(a.azod, base,
                    "actors\n    archiver\n        jobs\n"
                    "            small\n                kind = archive\n"
                    "                dir = %s\n"
                    "                archive_dir = %s/arc\n"
                    "            big\n                kind = archive\n"
                    "                dir = %s\n"
                    "                archive_dir = %s/arc-gz\n"
                    "                compress = yes\n" % (src, base, big, base),
                    sets=["supervisor/request_timeout=1h"])
        try:
            t0 = time.monotonic()
            r = node.call("archive.run", {"job": "small"})
            arc_s = time.monotonic() - t0
            assert r["moved"] == a.n and r["errors"] == 0, r
            # 2. gzip -6 vs the archiver's gzip of the same log.
            logp = os.path.join(big, "app.log")
            subprocess.run(["cat", logp], stdout=subprocess.DEVNULL)
            t0 = time.monotonic()
            with open(os.path.join(base, "gzip-out.gz"), "wb") as out:
                subprocess.run(["gzip", "-6", "-c", logp], stdout=out,
                               check=True)
                out.flush()
                os.fsync(out.fileno())
            gz_s = time.monotonic() - t0
            t0 = time.monotonic()
            r = node.call("archive.run", {"job": "big"})
            agz_s = time.monotonic() - t0
            assert r["moved"] == 1 and r["errors"] == 0, r
        finally:
            node.stop()
        mb = a.mb
        print("archive: %d small files: mv + sync %.3f s; archiver (SHA-256 "
              "catalog, intents, fsyncs) %.3f s = %.2fx the baseline's time"
              % (a.n, mv_s, arc_s, arc_s / mv_s))
        print("archive: gzip of a %d MB log: gzip -6 (+fsync) %.2f s "
              "(%.1f MB/s); archiver %.2f s (%.1f MB/s, includes SHA-256 and "
              "fsync) = %.0f%% of gzip's rate"
              % (mb, gz_s, mb / gz_s, agz_s, mb / agz_s, 100 * gz_s / agz_s))
        print("@summary|#8 archive %d files, s (durable)|%.3f|%.3f|%.2f|"
              "<= 1.00|%s" % (a.n, arc_s, mv_s, arc_s / mv_s,
                              "yes" if arc_s <= mv_s else "NO"))
        print("@summary|#8 gzip %d MB, MB/s|%.1f|%.1f|%.2f|>= 0.80|%s"
              % (mb, mb / agz_s, mb / gz_s, gz_s / agz_s,
                 "yes" if gz_s / agz_s >= 0.8 else "NO"))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
