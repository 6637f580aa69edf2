"""Integration tests of azo-backtest on the shipped sample: the table of
the three strategies, hysteresis ahead of naive switching once switches
cost something, --json, --png (a real PNG, temp files removed, a clear
error without gnuplot), refused histories naming the line, usage and
configuration errors (exit 2)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BACKTEST = os.environ.get(
    "AZO_BACKTEST", os.path.join(ROOT, "build", "dev", "tools",
                                 "azo-backtest"))
CONFIG = os.path.join(ROOT, "configs", "mining-backtest.cfg")
SAMPLE = os.path.join(ROOT, "data", "mining", "sample_history.csv")
STRATEGIES = ["hysteresis", "naive", "never"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*args, env=None):
    return subprocess.run([BACKTEST] + list(args), capture_output=True,
                          text=True, env=env, stdin=subprocess.DEVNULL)


def table(out):
    """{strategy: (profit, switches)} from the printed table."""
    rows = {}
    for m in re.finditer(r"^(%s) +(-?[0-9.]+) +([0-9]+) " %
                         "|".join(STRATEGIES), out, re.M):
        rows[m.group(1)] = (float(m.group(2)), int(m.group(3)))
    return rows


class BacktestTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="azo-it-backtest.")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def sample(self, *args):
        return run("-c", CONFIG, *args, SAMPLE)

    def test_table_hysteresis_beats_naive(self):
        out = self.sample()
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = table(out.stdout)
        self.assertEqual(sorted(rows), sorted(STRATEGIES), out.stdout)
        # The sample's point: naive flaps and pays for every switch.
        self.assertGreater(rows["hysteresis"][0], rows["naive"][0])
        self.assertGreater(rows["naive"][1], 10 * rows["hysteresis"][1])
        self.assertEqual(rows["never"][1], 0)
        self.assertIn("STRATEGY", out.stdout)
        self.assertRegex(out.stdout, r"hysteresis gain over naive: \+[0-9.]+")
        self.assertIn("switch_cost 5m", out.stdout)
        self.assertEqual(out.stderr, "")

    def test_same_rules_same_result(self):
        # With naive's rules, hysteresis is naive.
        out = self.sample("--threshold", "0", "--confirmations", "1",
                          "--dwell", "0")
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = table(out.stdout)
        self.assertEqual(rows["hysteresis"], rows["naive"])
        # Free switches: the cost column is zero for everyone.
        out = self.sample("--switch-cost", "0", "--json")
        self.assertEqual(out.returncode, 0, out.stderr)
        for s in json.loads(out.stdout)["strategies"]:
            self.assertEqual(s["switch_cost"], 0)

    def test_json(self):
        out = self.sample("--json")
        self.assertEqual(out.returncode, 0, out.stderr)
        j = json.loads(out.stdout)
        self.assertEqual([s["name"] for s in j["strategies"]], STRATEGIES)
        by = {s["name"]: s for s in j["strategies"]}
        self.assertGreater(by["hysteresis"]["profit"], by["naive"]["profit"])
        self.assertAlmostEqual(j["gain_over_naive"],
                               by["hysteresis"]["profit"] -
                               by["naive"]["profit"], places=6)
        self.assertEqual(j["coins"], 5)
        self.assertEqual(j["settings"]["switch_cost_ms"], 300000)
        self.assertEqual(j["settings"]["confirmations"], 3)
        # The table prints the same numbers.
        rows = table(self.sample().stdout)
        for name in STRATEGIES:
            s = by[name]
            self.assertEqual(rows[name], (round(s["profit"], 2),
                                          s["switches"]))
            self.assertEqual(s["idle_ms"] + s["mined_ms"],
                             j["to_ms"] - j["from_ms"])
            series = s["series"]
            self.assertLessEqual(len(series), 2000)
            self.assertEqual(series[0], [j["from_ms"], 0])
            self.assertEqual(series[-1][0], j["to_ms"])
            self.assertAlmostEqual(series[-1][1], s["profit"], places=6)

    def test_png(self):
        png = os.path.join(self.tmp, "chart.png")
        tmpdir = os.path.join(self.tmp, "t")
        os.mkdir(tmpdir)
        env = dict(os.environ, TMPDIR=tmpdir)
        out = run("-c", CONFIG, "--png", png, SAMPLE, env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), PNG_MAGIC)
        self.assertGreater(os.path.getsize(png), 10000)
        self.assertIn("chart: " + png, out.stdout)
        self.assertEqual(os.listdir(tmpdir), [])  # script and data gone

    def test_png_without_gnuplot(self):
        empty = os.path.join(self.tmp, "bin")
        os.mkdir(empty)
        png = os.path.join(self.tmp, "chart.png")
        out = run("-c", CONFIG, "--png", png, SAMPLE,
                  env=dict(os.environ, PATH=empty))
        self.assertEqual(out.returncode, 1)
        self.assertEqual(out.stderr.strip(), "azo-backtest: gnuplot not "
                         "found: apt-get install gnuplot-nox")
        self.assertFalse(os.path.exists(png))

    def test_bad_history_names_the_line(self):
        with open(SAMPLE) as f:
            lines = f.read().splitlines()
        cols = lines[11].split(",")
        cols[3] = "-1"  # price, line 12
        lines[11] = ",".join(cols)
        bad = os.path.join(self.tmp, "bad.csv")
        with open(bad, "w") as f:
            f.write("\n".join(lines) + "\n")
        out = run("-c", CONFIG, bad)
        self.assertEqual(out.returncode, 1)
        self.assertEqual(out.stdout, "")
        self.assertEqual(out.stderr.count("\n"), 1, out.stderr)
        self.assertIn(bad + ":12: price: expected a positive number",
                      out.stderr)
        # JSON: the tick's index.
        ticks = [{"ts": 0, "symbol": "BTC", "algorithm": "sha256",
                  "price": 90000, "block_reward": 3.125, "block_time": 600,
                  "difficulty": 1e14}] * 3
        ticks[2] = dict(ticks[2], block_time="soon")
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w") as f:
            json.dump({"ticks": ticks}, f)
        out = run("-c", CONFIG, bad)
        self.assertEqual(out.returncode, 1)
        self.assertIn(bad + ": ticks[2].block_time:", out.stderr)
        out = run("-c", CONFIG, os.path.join(self.tmp, "none.csv"))
        self.assertEqual(out.returncode, 1)
        self.assertIn("none.csv: No such file", out.stderr)

    def test_usage_and_config_errors(self):
        for args, want in [
            ([], "a HISTORY file is needed"),
            ([SAMPLE, SAMPLE], "one HISTORY file only"),
            (["--bogus", SAMPLE], "unknown option --bogus"),
            (["--png"], "--png needs a value"),
            (["-c", CONFIG, "--threshold", "abc", SAMPLE],
             "actors/mining-optimizer/switch_threshold: expected a number"),
            (["-c", CONFIG, "--dwell", "10", SAMPLE],
             "actors/mining-optimizer/min_dwell"),
            (["-c", CONFIG, "--set", "actors/mining-optimizer/bogus=1",
              SAMPLE], "actors/mining-optimizer/bogus: unknown key"),
            ([SAMPLE], "rig/algorithms: the rig mines nothing"),
        ]:
            out = run(*args)
            self.assertEqual(out.returncode, 2, (args, out.stderr))
            self.assertEqual(out.stderr.count("\n"), 1, out.stderr)
            self.assertIn(want, out.stderr)
            self.assertTrue(out.stderr.startswith("azo-backtest: "))
        out = run("--help")
        self.assertEqual(out.returncode, 0)
        for word in ("--threshold", "--confirmations", "--dwell", "--floor",
                     "--switch-cost", "--png", "--json", "--set", "-c",
                     "gnuplot-nox", "Exit status"):
            self.assertIn(word, out.stdout)
        # A rig from --set alone, no config file.
        sets = []
        for algo, hr, w in [("sha256", "140T", "3010"),
                            ("scrypt", "9.5G", "3425"),
                            ("etchash", "3.6G", "2200")]:
            base = "actors/mining-optimizer/rig/algorithms/" + algo
            sets += ["--set", base + "/hashrate=" + hr,
                     "--set", base + "/watts=" + w]
        out = run(*sets, SAMPLE)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(sorted(table(out.stdout)), sorted(STRATEGIES))
        self.assertTrue(re.search(r"switch_cost 0,", out.stdout), out.stdout)


if __name__ == "__main__":
    unittest.main()
