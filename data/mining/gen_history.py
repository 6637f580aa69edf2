#!/usr/bin/python3
"""gen_history — writes sample_history.csv, the price history that
docs/mining-optimizer.md backtests with configs/mining-backtest.cfg.

Deterministic (seeded): running it again writes the same bytes.

Five coins over three algorithms, a week at 5-minute steps:
  BTC, BCH  sha256   difficulty (BTC: one retarget; BCH: every block)
  LTC, DOGE scrypt   network hashrate (estimated, so noisy)
  ETC       etchash  network hashrate
Prices are random walks (a market factor shared by all, one per algorithm
pair, one per coin) seen through a little quote noise, with rare one-tick
spikes (bad quotes, some beyond the optimizer's outlier factor). Coins of
one algorithm pay about the same per hash, as miners arbitrage them, and
the lower-power ETC catches up when electricity is dear: profits cross
often, which is what makes always-switching flap. A few ticks are missing
(feed outages).

Usage: /usr/bin/python3 data/mining/gen_history.py [OUT]
(default: sample_history.csv beside this script)
"""
import math
import os
import random
import sys
import time

SEED = 20261101
START = 1793491200  # 2026-11-01T00:00:00Z
STEP = 300  # seconds
STEPS = 7 * 24 * 3600 // STEP
FEE = 0.01

# The rig of configs/mining-backtest.cfg (H/s), to aim revenues.
RIG = {"sha256": 140e12, "scrypt": 9.5e9, "etchash": 3.6e9}

# symbol, algorithm, price, block reward, block time (s), revenue per day
# aimed at for the rig at the start (before the pool fee), network form.
COINS = [
    ("BTC", "sha256", 92000.0, 3.125, 600.0, 21.0, "difficulty"),
    ("BCH", "sha256", 480.0, 3.125, 600.0, 20.9, "difficulty"),
    ("LTC", "scrypt", 95.0, 6.25, 150.0, 22.0, "net_hashrate"),
    ("DOGE", "scrypt", 0.22, 10000.0, 60.0, 21.8, "net_hashrate"),
    ("ETC", "etchash", 22.0, 2.56, 13.5, 19.2, "net_hashrate"),
]

DAY_STEPS = 24 * 3600 / STEP
MARKET_VOL = 0.030 / math.sqrt(DAY_STEPS)  # daily volatility per step
PAIR_VOL = 0.020 / math.sqrt(DAY_STEPS)
COIN_VOL = 0.040 / math.sqrt(DAY_STEPS)
QUOTE_NOISE = 0.004
SPIKE_P = 0.0015
MISSING_P = 0.003
LAG = 0.002  # per step: networks catch up with prices in about 2 days
NET_NOISE = 0.015


def network_figure(coin, price):
    """The difficulty or network hashrate that pays the aimed revenue."""
    sym, algo, _, reward, btime, revenue, form = coin
    h = RIG[algo]
    coins_day = revenue / price
    if form == "difficulty":
        # coins/day = h * reward * 86400 / (D * 2^32)
        return h * reward * 86400 / (coins_day * 2 ** 32)
    # coins/day = h / N * 86400 / block_time * reward
    return h * 86400 / btime * reward / coins_day


def fmt(x):
    return "%.6g" % x


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "sample_history.csv")
    rng = random.Random(SEED)
    price = {c[0]: c[2] for c in COINS}
    net = {c[0]: network_figure(c, c[2]) for c in COINS}
    # Networks follow their coin's price, hours late, as miners come
    # and go: revenue per hash wanders off and comes back.
    fair = {c[0]: net[c[0]] / c[2] for c in COINS}
    lines = ["ts,symbol,algorithm,price,block_reward,block_time,"
             "net_hashrate,difficulty"]
    for i in range(STEPS + 1):
        ts = START + i * STEP
        market = rng.gauss(0, MARKET_VOL)
        shock = {a: rng.gauss(0, PAIR_VOL) for a in RIG}
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
        for sym, algo, _, reward, btime, _, form in COINS:
            price[sym] *= math.exp(market + shock[algo] +
                                   rng.gauss(0, COIN_VOL))
            if form == "difficulty" and sym == "BTC":
                # One retarget in the week, on day 4.
                if i == STEPS * 4 // 7:
                    net[sym] *= 1.035
                shown_net = net[sym]
            else:
                # Toward the price-fair level, then the estimate's noise
                # (BCH: its per-block retarget, alike in effect).
                net[sym] += LAG * (fair[sym] * price[sym] - net[sym])
                shown_net = net[sym] * math.exp(rng.gauss(0, NET_NOISE))
            quote = price[sym] * math.exp(rng.gauss(0, QUOTE_NOISE))
            if rng.random() < SPIKE_P:
                quote *= rng.choice([1.4, 1.8, 2.5, 3.6, 0.5])
            if rng.random() < MISSING_P:
                continue
            nh, diff = ("", fmt(shown_net)) if form == "difficulty" else (
                fmt(shown_net), "")
            lines.append(",".join([stamp, sym, algo, fmt(quote), fmt(reward),
                                   fmt(btime), nh, diff]))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
