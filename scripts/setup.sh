#!/bin/sh
# setup.sh — installs the Debian 12 packages azo needs, only those missing.
# Idempotent: a second run installs nothing. Runs apt-get as root (or via
# sudo); when it cannot, prints the exact apt-get line and exits non-zero.
set -eu

PACKAGES="build-essential cmake pkg-config git
libzmq3-dev libczmq-dev libmsgpack-dev liblmdb-dev lmdb-utils
libcmocka-dev libjansson-dev zlib1g-dev libssl-dev libcurl4-openssl-dev libicu-dev
python3 python3-zmq python3-msgpack
clang libclang-rt-14-dev
gnuplot-nox
iproute2"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
    run=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run="sudo"
else
    echo "setup: missing Debian packages:$missing" >&2
    echo "setup: run as root: apt-get update && $line" >&2
    exit 1
fi
echo "setup: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $run apt-get update -qq || ! $run $line; then
    echo "setup: could not install the packages; run as root:" >&2
    echo "  apt-get update && $line" >&2
    exit 1
fi
