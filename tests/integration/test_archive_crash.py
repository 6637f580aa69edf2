"""Crash test of the archiver (#8): a 10,000-file archive run (gzip on)
whose actor process is killed with SIGKILL at random points at least 20
times. After a final run: every source file's bytes exist exactly once
(at the source or in the archive, checksum-identical), no temporary file
remains, and the catalog matches the disk. Bounded: about a minute."""
import gzip
import hashlib
import os
import random
import signal
import time
import unittest

from azo_it import NodeTest, pack, wait_for

N = 10000
KILLS = 20


def digest(data):
    return hashlib.sha256(data).hexdigest()


class ArchiveCrashTest(NodeTest):
    def actor_pid(self, n):
        try:
            a = n.actors()["archiver"]
        except (TimeoutError, KeyError):
            return 0
        return a["pid"] if a["state"] == "running" else 0

    def test_kill_during_runs(self):
        rnd = random.Random(int(os.environ.get("AZO_CHAOS_SEED", "8")))
        src = os.path.join(self.tmp, "src")
        arc = os.path.join(self.tmp, "arc")
        os.makedirs(src)
        want = {}
        old = time.time() - 30 * 86400
        for i in range(N):
            data = os.urandom(rnd.randrange(50, 600))
            p = os.path.join(src, "f%05d.log" % i)
            with open(p, "wb") as f:
                f.write(data)
            t = old + rnd.randrange(0, 20 * 86400)
            os.utime(p, (t, t))
            want[digest(data)] = p
        cfg = self.write_cfg(
            "supervisor\n    max_restarts = 1000\n    request_timeout = 300s\n"
            "actors\n    archiver\n        mode = process\n"
            "        backoff\n            max = 300ms\n"
            "        jobs\n            j\n                kind = archive\n"
            "                dir = %s\n                archive_dir = %s\n"
            "                compress = yes\n" % (src, arc))
        n = self.node(config=cfg)
        sock = n.socket()
        kills = 0
        pid = 0
        while kills < KILLS:
            # A new instance (the supervisor may not have seen the kill of
            # the last one yet).
            wait_for(lambda: self.actor_pid(n) not in (0, pid),
                     "the archiver to run")
            sock.send(pack(
                {"v": 1, "id": kills + 1, "cmd": "archive.run",
                 "args": {"job": "j"}}))
            time.sleep(rnd.uniform(0.05, 0.6))
            pid = self.actor_pid(n)
            if pid:
                os.kill(pid, signal.SIGKILL)
                kills += 1
        sock.close()
        wait_for(lambda: self.actor_pid(n) not in (0, pid),
                 "the archiver to run again")
        left = len(os.listdir(src))
        self.assertGreater(left, 0, "the kills came too late to matter")
        rep = n.call("archive.run", {"job": "j"}, timeout=120)
        self.assertTrue(rep["ok"], rep)
        self.assertEqual(rep["result"]["errors"], 0, rep)

        # Every source's bytes exactly once, at its source or archived.
        seen = {}
        tmp = []
        for d in (src, arc):
            for name in os.listdir(d):
                p = os.path.join(d, name)
                if ".arc-tmp." in name:
                    tmp.append(p)
                    continue
                with open(p, "rb") as f:
                    data = f.read()
                if d == arc:
                    data = gzip.decompress(data)
                seen.setdefault(digest(data), []).append(p)
        self.assertEqual(tmp, [])
        dup = {k: v for k, v in seen.items() if len(v) > 1}
        self.assertEqual(dup, {})
        self.assertEqual(set(seen), set(want))
        self.assertEqual(os.listdir(src), [])  # all old: all archived

        # The catalog matches the disk.
        entries, after = [], 0
        while True:
            page = n.call("archive.list", {"after": after, "limit": 1000})
            self.assertTrue(page["ok"], page)
            entries += page["result"]["files"]
            if not page["result"]["more"]:
                break
            after = page["result"]["next_after"]
        archived = [e for e in entries if e["state"] == "archived"]
        self.assertEqual(len(archived), N)
        self.assertEqual(sorted(e["path"] for e in archived),
                         sorted(os.path.join(arc, x)
                                for x in os.listdir(arc)))
        for e in archived:
            self.assertEqual(seen[e["sha256"]], [e["path"]])
            self.assertEqual(want[e["sha256"]], e["original"])
        print("archive crash: %d kills, %d files left at the source before "
              "the final run" % (kills, left))


if __name__ == "__main__":
    unittest.main()
