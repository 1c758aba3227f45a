#!/usr/bin/env bash
# Runs every test program and sums their PASS/FAIL/SKIP lines.
#   tests/run.sh BUILD_DIR [FILTER]
# Unit tests: BUILD_DIR/tests/test_*; Python tests: tests/emulator/test_*.py, tests/e2e/test_*.py
# (run with $PYTHON, Debian's /usr/bin/python3 by default). A program that exits non-zero
# without printing a FAIL line counts as one failure. Each program is bounded by a timeout.
# The last line is "N passed, N failed[, N skipped]"; the exit status is non-zero on any failure.
set -u
build=${1:-build}
filter=${2:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
export CW_REPO="$repo"
export CW_BUILD="$repo/$build"
export CWAGENT="$repo/$build/cwagent"
export PYTHON="${PYTHON:-/usr/bin/python3}"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$repo/tests/lib${PYTHONPATH:+:$PYTHONPATH}"
logdir="$repo/$build/test-logs"
mkdir -p "$logdir"
cd "$repo" || exit 2

pass=0 fail=0 skip=0
fails=() skips=()
per_test_timeout=${CW_TEST_TIMEOUT:-900}
# End-to-end tests mostly wait (outages, refresh windows): run several at once. Each one uses
# its own emulator on a free port and its own temporary directories.
jobs=${CW_TEST_JOBS:-4}

# run_one NAME CMD...: runs one test program, writes its log and a one-line result file.
run_one() {
    local name=$1; shift
    local log="$logdir/$name.log"
    local start=$SECONDS
    timeout -k 10 "$per_test_timeout" "$@" >"$log" 2>&1 </dev/null
    local rc=$?
    local f
    f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        local why="exited with status $rc"
        [ "$rc" -eq 124 ] && why="timed out after ${per_test_timeout}s"
        echo "FAIL $name: $why (log: $log)" >>"$log"
    fi
    echo $((SECONDS - start)) >"$logdir/$name.secs"
}

# summarize NAME: adds a finished test's counts to the totals and prints its line.
summarize() {
    local name=$1 log="$logdir/$1.log"
    local p f s
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    s=$(grep -c '^SKIP ' "$log")
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    while IFS= read -r line; do fails+=("$line"); done < <(grep '^FAIL ' "$log")
    while IFS= read -r line; do skips+=("$line"); done < <(grep '^SKIP ' "$log")
    printf '%-40s %4d passed %3d failed %3d skipped  %4ds\n' "$name" "$p" "$f" "$s" \
        "$(cat "$logdir/$name.secs" 2>/dev/null || echo 0)"
}

names=()
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    run_one "$name" "$t"
    summarize "$name"
done
running=0
for t in tests/emulator/test_*.py tests/e2e/test_*.py; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .py)
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    names+=("$name")
    run_one "$name" "$PYTHON" "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait
for name in "${names[@]}"; do
    summarize "$name"
done

echo
if [ "${#skips[@]}" -gt 0 ]; then
    echo "Skipped:"
    printf '  %s\n' "${skips[@]}"
fi
if [ "${#fails[@]}" -gt 0 ]; then
    echo "Failures:"
    printf '  %s\n' "${fails[@]}"
fi
if [ "$skip" -gt 0 ]; then
    echo "$pass passed, $fail failed, $skip skipped"
else
    echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
