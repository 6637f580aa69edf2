#!/bin/sh
# test.sh — installs what is missing, then builds and runs every test:
#   1. dev build (Debug): unit and integration tests;
#   2. asan build (AddressSanitizer + UndefinedBehaviorSanitizer): unit and
#      integration tests again, azod included;
#   3. tsan build (ThreadSanitizer): unit tests;
#   4. release build of azod and azoctl (the quick start's binaries: -O2
#      warns about things -O0 does not see);
#   5. fuzz build (clang, libFuzzer, ASan + UBSan): each fuzz target of
#      tests/fuzz for a bounded time (about a minute in all; docs/fuzzing.md).
# Exits non-zero on the first failure. CI runs exactly this (.ci/run).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
# libzmq is not built with TSan: ignore what its own code does; the bus
# annotates the hand-over of frames (runtime/azo_bus.c).
export TSAN_OPTIONS="ignore_noninstrumented_modules=1:halt_on_error=1"

for preset in dev asan tsan; do
    echo "== $preset: build"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j"$jobs"
    echo "== $preset: unit tests"
    ctest --test-dir "build/$preset" -L unit --output-on-failure -j"$jobs"
    if [ "$preset" != tsan ]; then
        echo "== $preset: integration tests"
        ctest --test-dir "build/$preset" -L integration --output-on-failure
    fi
done

echo "== release: build (azod, azoctl)"
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs" --target azod azoctl

# The fuzz preset needs clang (scripts/setup.sh installs gcc only).
if ! command -v clang >/dev/null 2>&1; then
    echo "test: the fuzz stage needs clang: apt-get install clang" >&2
    exit 1
fi
echo "== fuzz: build"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$jobs"
echo "== fuzz: bounded runs"
ctest --test-dir build/fuzz -L fuzz --output-on-failure
for log in build/fuzz/tests/fuzz/work/fuzz_*/fuzz.log; do
    name=$(basename "$(dirname "$log")")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    echo "fuzz: $name: ${runs:-?} executions (${rate:-?}/s), no crash"
done
echo "== all tests passed"
