#!/bin/sh
# run.sh — one bounded libFuzzer run, as CTest starts it:
#   run.sh BINARY SEEDS WORK SECONDS
# Copies the seeds in SEEDS (the repository's corpus/<target>) into
# WORK/corpus, which keeps what earlier runs found, and fuzzes for SECONDS,
# with the dictionary <target>.dict beside corpus/ if there is one. The full
# log goes to WORK/fuzz.log and any crashing, leaking or slow input to
# WORK/artifacts/. Prints libFuzzer's final stats; on failure, the end of the
# log instead.
set -eu
[ $# -eq 4 ] || {
    echo "usage: run.sh BINARY SEEDS WORK SECONDS" >&2
    exit 2
}
bin=$1 seeds=$2 work=$3 secs=$4
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
dict=$(dirname "$(dirname "$seeds")")/$(basename "$seeds").dict
[ -f "$dict" ] && set -- "-dict=$dict" || set --
rc=0
"$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" \
    "$work/corpus" >"$work/fuzz.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
    tail -n 120 "$work/fuzz.log"
    echo "run.sh: $(basename "$bin") failed (exit $rc); log: $work/fuzz.log;" \
        "inputs: $work/artifacts/"
    ls -l "$work/artifacts/"
    exit "$rc"
fi
grep -E '^(stat::|Done )' "$work/fuzz.log" || true
