#!/bin/sh
# tools/bench/run.sh — builds the release preset (build/release) and runs the
# benchmarks of issues #2 (messaging), #3 (restarts, start and stop), #5
# (scheduler fire-time error, idle CPU), #6 (health-checker sweep of 1,000
# TCP targets) and #7 (payments recovered through the local test gateway,
# tools/bench/bench_pay.py, beside azo_bench_gwload's raw rate against the
# same gateway) and #8 (archiver: small files vs mv + sync, gzip vs gzip
# -6, tools/bench/bench_archive.py) and #9 (one mining-optimizer cycle over
# 1,000 coins x 20 algorithms beside a raw zmq round trip, a raw LMDB commit
# and the bare computation) and #10 (failover time over 20 link cuts between
# network namespaces, cross-node requests beside raw ZeroMQ tcp between the
# same namespaces: tools/bench/bench_cluster.py, root only), then prints one
# summary table:
#   metric | azo | baseline | ratio | target | met?
# ratio is azo / baseline: for rates higher is better, for latencies lower.
# Every baseline (raw libzmq + msgpack-c; for #3 the fork+exec floor,
# pthread_create + join; for #5 a raw zloop timer, an azod with no jobs and
# raw LMDB commits; for #6 a raw epoll sweep of non-blocking connect()s; for
# #9 a raw ipc round trip, a raw LMDB commit and the bare computation) is
# measured in the same run as the azo figure next to it. Benchmarks measure;
# they never fail on a target.
#
#   tools/bench/run.sh [--no-build] [--quick]
#     --no-build  use the binaries already built
#     --quick     smaller counts (about 65 s; noisier figures)
#   AZO_BENCH_BUILD_DIR=DIR  build and run in DIR (plain cmake, RelWithDebInfo
#                            with asserts on, as STYLE.md §4 asks of release
#                            builds) instead of the preset's build/release
#   AZO_BENCH_ACTOR_ARGS, AZO_BENCH_CTL_ARGS, AZO_BENCH_RESTART_ARGS,
#   AZO_BENCH_SCHED_ARGS, AZO_BENCH_HEALTH_ARGS, AZO_BENCH_PAY_ARGS,
#   AZO_BENCH_ARCHIVE_ARGS, AZO_BENCH_MINING_ARGS, AZO_BENCH_CLUSTER_ARGS
#                            extra options for azo_bench_actor /
#                            azo_bench_ctl / azo_bench_restart /
#                            azo_bench_sched / azo_bench_health /
#                            azo_bench_mining (see --help)
#
# A default run takes about 4 minutes on two cores (#5 alone about 3; #6
# about 5 s, and it needs about 2,300 fds: the hard RLIMIT_NOFILE). The
# machine's load and its busiest processes are printed first: on a shared
# machine, read the figures with them in mind, and prefer the medians.
set -eu
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/../.."

build=1
actor_args=${AZO_BENCH_ACTOR_ARGS:-}
ctl_args=${AZO_BENCH_CTL_ARGS:-}
restart_args=${AZO_BENCH_RESTART_ARGS:-}
sched_args=${AZO_BENCH_SCHED_ARGS:-}
health_args=${AZO_BENCH_HEALTH_ARGS:-}
pay_args=${AZO_BENCH_PAY_ARGS:-}
archive_args=${AZO_BENCH_ARCHIVE_ARGS:-}
mining_args=${AZO_BENCH_MINING_ARGS:-}
cluster_args=${AZO_BENCH_CLUSTER_ARGS:-}
for arg in "$@"; do
    case $arg in
    --no-build) build=0 ;;
    --quick)
        actor_args="-n 100000 --rr1 5000 --rr 50000 -r 3 $actor_args"
        ctl_args="-s 5000 --warmup 500 $ctl_args"
        restart_args="-k 50 -t 300 -s 5 $restart_args"
        sched_args="--quick $sched_args"
        health_args="-s 5 -w 1 $health_args"
        pay_args="-n 5000 $pay_args"
        archive_args="--mb 20 $archive_args"
        mining_args="-n 100 -w 10 $mining_args"
        cluster_args="--cuts 5 -n 5000 --runs 1 $cluster_args"
        ;;
    -h | --help)
        sed -n '2,/^set -eu/p' "$self" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "run.sh: unknown option $arg (try --help)" >&2
        exit 2
        ;;
    esac
done

dir=${AZO_BENCH_BUILD_DIR:-build/release}
targets="azod azo_bench_actor azo_bench_ctl azo_bench_restart azo_bench_sched
    azo_bench_health azo_bench_gwload azo_bench_mining"
if [ "$build" = 1 ]; then
    echo "== build ($dir)"
    # shellcheck disable=SC2086 # $targets are words
    if [ -n "${AZO_BENCH_BUILD_DIR:-}" ]; then
        cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g" >/dev/null
        cmake --build "$dir" -j"$(nproc)" --target $targets >/dev/null
    else
        cmake --preset release >/dev/null
        cmake --build --preset release -j"$(nproc)" --target $targets \
            >/dev/null
    fi
fi
bin=$dir/tools/bench
for t in azo_bench_actor azo_bench_ctl azo_bench_restart azo_bench_sched \
    azo_bench_health azo_bench_gwload azo_bench_mining; do
    if [ ! -x "$bin/$t" ]; then
        echo "run.sh: $bin/$t is missing (build first)" >&2
        exit 1
    fi
done

echo "== machine"
echo "$(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "busiest processes over the last second (top: PID USER ... %CPU ... COMMAND):"
top -b -n 2 -d 1 -w 200 | awk '/^top -/ { frame++ }
    frame == 2 && $1 ~ /^[0-9]+$/ && n++ < 5 { print "  " $0 }'

out=$(mktemp "${TMPDIR:-/tmp}/azo-bench-out.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM
# Streams a benchmark's report, keeping its @ rows for the table; a failed
# run leaves "@failed" (POSIX sh has no pipefail).
run() {
    # shellcheck disable=SC2068 # the extra options are words
    { "$@" || echo "@failed $1"; } | tee -a "$out" | grep -v '^@' || true
}
echo "== #2 (1, 2): thread actors in-process (azo_bench_actor $actor_args)"
# shellcheck disable=SC2086
run "$bin/azo_bench_actor" $actor_args
echo "== #2 (3): control round trips through azod (azo_bench_ctl $ctl_args)"
# shellcheck disable=SC2086
run "$bin/azo_bench_ctl" $ctl_args
echo "== #3: restarts, cold start, stop (azo_bench_restart $restart_args)"
# shellcheck disable=SC2086
run "$bin/azo_bench_restart" $restart_args
echo "== #5: scheduler fire times, idle CPU (azo_bench_sched $sched_args)"
# shellcheck disable=SC2086
run "$bin/azo_bench_sched" $sched_args
echo "== #6: health-checker sweeps (azo_bench_health $health_args)"
# shellcheck disable=SC2086
run "$bin/azo_bench_health" $health_args
echo "== #9: mining-optimizer cycles (azo_bench_mining $mining_args)"
# shellcheck disable=SC2086
run "$bin/azo_bench_mining" $mining_args
echo "== #8: archiver (bench_archive.py $archive_args)"
# shellcheck disable=SC2086
run /usr/bin/python3 tools/bench/bench_archive.py --azod "$dir/tools/azod" \
    $archive_args
echo "== #7: payment recovery (bench_pay.py $pay_args)"
# shellcheck disable=SC2086
run /usr/bin/python3 tools/bench/bench_pay.py --azod "$dir/tools/azod" \
    --gwload "$bin/azo_bench_gwload" $pay_args
echo "== #10: multi-host (bench_cluster.py $cluster_args; needs root)"
# shellcheck disable=SC2086
run /usr/bin/python3 tools/bench/bench_cluster.py --azod "$dir/tools/azod" \
    $cluster_args

echo
echo "== summary (medians of rounds for rates; percentiles of all samples for"
echo "   latencies; ratio = azo / baseline)"
grep '^@summary|' "$out" | cut -d'|' -f2- | awk -F'|' '
    BEGIN {
        h[1] = "metric"; h[2] = "azo"; h[3] = "baseline"; h[4] = "ratio"
        h[5] = "target"; h[6] = "met?"
        for (i = 1; i <= 6; i++) w[i] = length(h[i])
    }
    {
        for (i = 1; i <= 6; i++) {
            c[NR, i] = $i
            if (length($i) > w[i]) w[i] = length($i)
        }
    }
    function row(f1, f2, f3, f4, f5, f6) {
        printf "%-*s | %*s | %*s | %*s | %-*s | %s\n", w[1], f1, w[2], f2,
            w[3], f3, w[4], f4, w[5], f5, f6
    }
    END {
        row(h[1], h[2], h[3], h[4], h[5], h[6])
        sep = ""
        for (i = 1; i <= 6; i++) {
            s = ""
            for (j = 0; j < w[i] + (i > 1) + (i < 6); j++) s = s "-"
            sep = sep s (i < 6 ? "|" : "")
        }
        print sep
        for (r = 1; r <= NR; r++)
            row(c[r, 1], c[r, 2], c[r, 3], c[r, 4], c[r, 5], c[r, 6])
    }'
if grep -q '^@failed' "$out"; then
    echo "run.sh: did not complete: $(sed -n 's/^@failed //p' "$out" |
        tr '\n' ' ')" >&2
    exit 1
fi
