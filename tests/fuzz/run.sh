#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time on its seed corpus.
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]     (make fuzz calls it)
# Seeds: tests/fuzz/corpus/<target>/ (in the repository, never written). New inputs found go to
# BUILD_DIR/fuzz-corpus/<target>/, crashes to BUILD_DIR/fuzz-artifacts/<target>/ (reproduce with
# BUILD_DIR/fuzz/<target> FILE). A dictionary tests/fuzz/<target>.dict is used when present.
# Prints one PASS/FAIL line per target with libFuzzer's execs and coverage, then
# "N passed, N failed"; exits non-zero when a target crashed.
set -u
build=${1:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
secs=${2:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
cd "$(dirname "$0")/../.." || exit 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        t=$(basename "$f" .c)
        targets+=("$t")
    done
fi
pass=0 fail=0
for t in "${targets[@]}"; do
    bin="$build/fuzz/$t"
    seeds="tests/fuzz/corpus/$t"
    work="$build/fuzz-corpus/$t"
    art="$build/fuzz-artifacts/$t"
    log="$build/fuzz-logs/$t.log"
    mkdir -p "$work" "$art" "$(dirname "$log")" "$seeds"
    dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=("-dict=tests/fuzz/$t.dict")
    # One process: the machine is shared. -timeout=60: a unit taking a minute is a hang, not load
    # (2 shared cores can stall a unit for seconds); the outer timeout covers libFuzzer itself.
    timeout -k 10 $((secs + 120)) "$bin" -max_total_time="$secs" -timeout=60 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 "${dict[@]}" -artifact_prefix="$art/" \
        "$work" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1))
        echo "PASS fuzz.$t: ${execs:-?} execs in ${secs} s, ${cov:-no coverage line}"
    else
        fail=$((fail + 1))
        echo "FAIL fuzz.$t: exit $rc after ${execs:-?} execs; see $log and $art/"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 | sed 's/^/    /'
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
