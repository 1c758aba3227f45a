#!/usr/bin/env bash
# make bench: runs every benchmark and prints its figures. Benchmarks never assert timings.
#   bench/run.sh BUILD_DIR
set -u
build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)
export CW_REPO="$repo" CW_BUILD="$repo/$build" CWAGENT="$repo/$build/cwagent"
export PYTHONPATH="$repo/tests/lib"
cd "$repo" || exit 2
for b in "$build"/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    timeout 600 "$b" || echo "   (exited with status $?)"
done
for b in bench/bench_*.sh bench/bench_*.py; do
    [ -f "$b" ] || continue
    echo "== $(basename "$b")"
    case "$b" in
    *.py) timeout 900 /usr/bin/python3 "$b" ;;
    *) timeout 900 bash "$b" "$build" ;;
    esac || echo "   (exited with status $?)"
done
