#!/bin/sh
# run.sh — the quick start: installs what is missing, builds (release), and
# runs azod on configs/azo.cfg in the foreground (Ctrl-C stops it).
# Extra arguments go to azod, e.g. scripts/run.sh --set node/name=beta
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" >/dev/null
exec build/release/tools/azod -c configs/azo.cfg "$@"
