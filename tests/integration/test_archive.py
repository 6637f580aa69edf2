"""The archiver actor (#8) from the outside, on temp trees: ages and globs,
dated names and collision suffixes, gzip readable by gzip -t and zcat,
dry runs that change nothing, the catalog, restores (identical bytes, no
overwrite), max_archived pruning only archives, cleanup by size and age,
per-file errors that do not stop a run, bad config. Real azod processes,
ipc endpoints, pyzmq client (/usr/bin/python3)."""
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from azo_it import AZOD, NodeTest, recv_event

DAY = 86400


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def listing(root):
    """path -> sha256 of every file under root."""
    out = {}
    for d, _, files in os.walk(root):
        for n in files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = sha(p)
    return out


class ArchiveTest(NodeTest):
    def setUp(self):
        super().setUp()
        self.src = os.path.join(self.tmp, "logs")
        self.arc = os.path.join(self.tmp, "archive")
        os.makedirs(os.path.join(self.src, "sub"))

    def make(self, rel, data, age_days, when=None):
        p = os.path.join(self.src, rel)
        with open(p, "wb") as f:
            f.write(data)
        t = when if when is not None else time.time() - age_days * DAY
        os.utime(p, (t, t))
        return p

    def start(self, jobs):
        cfg = "actors\n    archiver\n        jobs\n"
        for name, keys in jobs.items():
            cfg += "            %s\n" % name
            for k, v in keys.items():
                cfg += "                %s = %s\n" % (k, v)
        return self.node(config=self.write_cfg(cfg))

    def ok(self, n, cmd, args=None, timeout=30.0):
        rep = n.call(cmd, args, timeout=timeout)
        self.assertTrue(rep["ok"], rep)
        return rep["result"]

    def test_archive_dry_run_catalog_restore(self):
        t = time.mktime((2026, 11, 1, 12, 0, 0, 0, 0, -1))
        a = self.make("app.log", b"alpha\n" * 1000, 0, t)
        self.make("sub/app.log", b"beta\n" * 10, 0, t)   # same name + date
        self.make("db.log", os.urandom(300000), 0, t)
        self.make("new.log", b"fresh", 0)                 # too young
        self.make("notes.txt", b"not a log", 30)          # glob
        n = self.start({"logs": {"kind": "archive", "dir": self.src,
                                 "glob": "*.log", "age": "7d",
                                 "recursive": "yes",
                                 "archive_dir": self.arc}})
        before = listing(self.src)
        dry = self.ok(n, "archive.run", {"job": "logs", "dry_run": True})
        self.assertTrue(dry["dry_run"])
        self.assertEqual(dry["moved"], 3)
        self.assertEqual(listing(self.src), before)       # nothing changed
        self.assertFalse(os.path.exists(self.arc))
        sub = n.subscriber("archive.")
        time.sleep(0.2)
        res = self.ok(n, "archive.run", {"job": "logs"})
        self.assertEqual((res["moved"], res["errors"]), (3, 0), res)
        names = sorted(os.listdir(self.arc))
        self.assertEqual(names, ["app_20261101.log", "app_20261101_1.log",
                                 "db_20261101.log"])
        self.assertEqual(sorted(listing(self.src)), ["new.log", "notes.txt"])
        # Every source's bytes exist exactly once, in the archive.
        self.assertEqual(sorted(listing(self.arc).values()),
                         sorted(v for k, v in before.items()
                                if k.endswith(".log") and k != "new.log"))
        _, moved = recv_event(sub, topic="archive.moved")
        self.assertEqual(moved["count"], 3)  # one event per batch
        self.assertEqual(sorted(f["original"] for f in moved["files"]),
                         sorted(os.path.join(self.src, x) for x in
                                ("app.log", "sub/app.log", "db.log")))
        _, run = recv_event(sub, topic="archive.run")
        self.assertEqual(run["moved"], 3)
        cat = self.ok(n, "archive.list", {"job": "logs"})
        self.assertEqual(cat["count"], 3)
        by_orig = {e["original"]: e for e in cat["files"]}
        e = by_orig[a]
        self.assertEqual(e["state"], "archived")
        self.assertEqual(e["sha256"], before["app.log"])
        self.assertTrue(os.path.exists(e["path"]))
        # azoctl archive list: a table, page after page (--limit 2 stops
        # after the first two rows and says more follow).
        out = n.azoctl("archive", "list", "logs")
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = [l.split() for l in out.stdout.splitlines()]
        self.assertEqual(rows[0], ["ID", "ARCHIVED", "JOB", "STATE", "SIZE",
                                   "ORIGINAL", "ARCHIVE"])
        self.assertEqual(sorted((r[0], r[-2], r[-1]) for r in rows[1:]),
                         sorted((str(x["id"]), x["original"], x["path"])
                                for x in cat["files"]))
        out = n.azoctl("archive", "list", "--limit", "2")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(len(out.stdout.splitlines()), 4, out.stdout)
        self.assertIn("more follow", out.stdout)
        out = n.azoctl("--json", "archive", "list", "nosuchjob")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('"count":0', out.stdout)
        # Restore: identical bytes back at the original path; never over a
        # file that is there.
        with open(a, "wb") as f:
            f.write(b"someone else's")
        rep = n.call("archive.restore", {"id": e["id"]})
        self.assertEqual(rep["error"]["code"], "conflict", rep)
        self.assertIn("refuses to overwrite", rep["error"]["message"])
        os.unlink(a)
        r = self.ok(n, "archive.restore", {"id": e["id"]})
        self.assertEqual(r["state"], "restored")
        self.assertEqual(sha(a), before["app.log"])
        self.assertFalse(os.path.exists(e["path"]))
        rep = n.call("archive.restore", {"id": e["id"]})
        self.assertEqual(rep["error"]["code"], "conflict", rep)
        self.assertEqual(n.call("archive.restore", {"id": 999})
                         ["error"]["code"], "not_found")

    def test_gzip_and_max_archived(self):
        for i in range(5):
            self.make("s%d.log" % i, (b"line %d\n" % i) * 5000, 30 - i)
        os.makedirs(self.arc)
        foreign = os.path.join(self.arc, "keep-me.txt")
        with open(foreign, "w") as f:
            f.write("not an archive of ours")
        os.utime(foreign, (0, 0))  # the oldest file there
        before = listing(self.src)
        n = self.start({"gz": {"kind": "archive", "dir": self.src,
                               "archive_dir": self.arc, "compress": "yes",
                               "max_archived": 3}})
        res = self.ok(n, "archive.run", {"job": "gz"})
        self.assertEqual((res["moved"], res["pruned"]), (5, 2), res)
        gz = sorted(x for x in os.listdir(self.arc) if x.endswith(".gz"))
        self.assertEqual(len(gz), 3)
        self.assertTrue(os.path.exists(foreign))  # only archives pruned
        for x in gz:
            p = os.path.join(self.arc, x)
            self.assertEqual(subprocess.run(["gzip", "-t", p]).returncode, 0)
            data = subprocess.run(["zcat", p], capture_output=True).stdout
            self.assertIn(hashlib.sha256(data).hexdigest(), before.values())
        cat = self.ok(n, "archive.list", {})["files"]
        states = sorted(e["state"] for e in cat)
        self.assertEqual(states, ["archived"] * 3 + ["pruned"] * 2)
        # The two pruned were the oldest files.
        pruned = sorted(e["original"] for e in cat if e["state"] == "pruned")
        self.assertEqual([os.path.basename(p) for p in pruned],
                         ["s0.log", "s1.log"])
        # A compressed archive restores to the original bytes.
        e = [e for e in cat if e["state"] == "archived"][0]
        self.ok(n, "archive.restore", {"id": e["id"]})
        self.assertEqual(sha(e["original"]), e["sha256"])

    def test_across_file_systems(self):
        # /dev/shm is a tmpfs: another file system than the test's tree.
        shm = "/dev/shm"
        if (not os.path.isdir(shm) or not os.access(shm, os.W_OK) or
                os.stat(shm).st_dev == os.stat(self.tmp).st_dev):
            self.skipTest("no second file system at /dev/shm")
        arc = tempfile.mkdtemp(prefix="azo-it-arc-", dir=shm)
        self.addCleanup(shutil.rmtree, arc, True)
        for i in range(20):
            self.make("x%02d.log" % i, os.urandom(5000 + i), 10)
        before = listing(self.src)
        n = self.start({"x": {"kind": "archive", "dir": self.src,
                              "archive_dir": arc}})
        res = self.ok(n, "archive.run", {"job": "x"})
        self.assertEqual((res["moved"], res["errors"]), (20, 0), res)
        self.assertEqual(sorted(listing(arc).values()),
                         sorted(before[k] for k in before
                                if k.startswith("x")))
        self.assertFalse([x for x in os.listdir(arc) if ".arc-tmp." in x])
        self.assertFalse([x for x in os.listdir(self.src)
                          if x.startswith("x")])
        e = self.ok(n, "archive.list", {"job": "x", "limit": 1})["files"][0]
        self.ok(n, "archive.restore", {"id": e["id"]})  # back across
        self.assertEqual(sha(e["original"]), e["sha256"])

    def test_cleanup_and_errors(self):
        cache = os.path.join(self.tmp, "cache")
        os.makedirs(cache)
        for i in range(10):
            p = os.path.join(cache, "c%d.bin" % i)
            with open(p, "wb") as f:
                f.write(b"x" * 1000)
            t = time.time() - (20 - i) * 3600
            os.utime(p, (t, t))
        n = self.start({"cache": {"kind": "cleanup", "dir": cache,
                                  "max_size": "5000", "max_age": "55800s"}})
        dry = self.ok(n, "archive.run", {"job": "cache", "dry_run": True})
        self.assertEqual(len(os.listdir(cache)), 10)
        res = self.ok(n, "archive.run", {"job": "cache"})
        self.assertEqual(res["pruned"], dry["pruned"])
        left = sorted(os.listdir(cache))
        # 5 files kept (5000 bytes), all younger than 15h: c5..c9.
        self.assertEqual(left, ["c%d.bin" % i for i in range(5, 10)])
        # Bad requests and an unknown job.
        self.assertEqual(n.call("archive.run", {"job": "nope"})
                         ["error"]["code"], "not_found")
        self.assertEqual(n.call("archive.run", {"job": 5})["error"]["code"],
                         "bad_request")
        self.assertEqual(n.call("archive.list", {"limit": 0})
                         ["error"]["code"], "bad_request")
        # Without a job: every job, one result each.
        allr = self.ok(n, "archive.run", {})
        self.assertEqual(len(allr["jobs"]), 1)

    def test_unreadable_file_does_not_stop_the_run(self):
        if os.geteuid() == 0:
            # root reads anything: make a vanished file instead, by a
            # dangling symlink, which is skipped, and a directory named
            # like a log, which is not a file.
            os.symlink("/nonexistent", os.path.join(self.src, "gone.log"))
            os.makedirs(os.path.join(self.src, "dir.log"))
        else:
            p = self.make("locked.log", b"secret", 30)
            os.chmod(p, 0)
        self.make("fine.log", b"ok", 30)
        n = self.start({"l": {"kind": "archive", "dir": self.src,
                              "archive_dir": self.arc}})
        res = self.ok(n, "archive.run", {"job": "l"})
        self.assertGreaterEqual(res["moved"], 1)
        self.assertIn("fine.log", [os.path.basename(f["path"])
                                   for f in res["files"]])
        if os.geteuid() != 0:
            self.assertEqual(res["errors"], 1)
            self.assertIn("locked.log", res["error_list"][0]["path"])

    def test_rotate(self):
        log = os.path.join(self.src, "app.log")
        with open(log, "wb") as f:
            f.write(b"first generation\n" * 100)
        n = self.start({"rot": {"kind": "rotate", "path": log, "rotate": 2,
                                "size": "100", "compress": "yes",
                                "delaycompress": "yes",
                                "copytruncate": "yes"}})
        before = sha(log)
        dry = self.ok(n, "archive.run", {"job": "rot", "dry_run": True})
        self.assertEqual(dry["moved"], 1, dry)
        self.assertEqual(sorted(os.listdir(self.src)), ["app.log", "sub"])
        sub = n.subscriber("archive.")
        time.sleep(0.2)
        res = self.ok(n, "archive.run", {"job": "rot"})
        self.assertEqual((res["moved"], res["errors"]), (1, 0), res)
        self.assertEqual(os.path.getsize(log), 0)          # truncated
        self.assertEqual(sha(log + ".1"), before)          # delaycompress
        self.assertEqual(recv_event(sub, topic="archive.rotated")[0],
                         "archive.rotated")
        with open(log, "ab") as f:
            f.write(b"second generation\n" * 100)
        self.ok(n, "archive.run", {"job": "rot"})
        self.assertTrue(os.path.exists(log + ".2.gz"))
        data = subprocess.run(["zcat", log + ".2.gz"],
                              capture_output=True).stdout
        self.assertEqual(hashlib.sha256(data).hexdigest(), before)
        self.assertEqual(self.ok(n, "archive.run", {"job": "rot"})
                         ["moved"], 0)                     # empty: below size

    def test_bad_config(self):
        for body, what in [
                ("            j\n                dir = /tmp\n", "kind"),
                ("            j\n                kind = archive\n"
                 "                dir = /tmp\n", "archive_dir"),
                ("            j\n                kind = cleanup\n", "dir"),
                ("            j\n                kind = shred\n", "kind"),
                ("            j\n                kind = rotate\n", "path")]:
            cfg = self.write_cfg("actors\n    archiver\n        jobs\n"
                                 + body, name="bad.cfg")
            out = subprocess.run([AZOD, "--check", "-c", cfg],
                                 capture_output=True, text=True)
            self.assertNotEqual(out.returncode, 0, body)
            self.assertIn(what, out.stderr, out.stderr)


if __name__ == "__main__":
    unittest.main()
