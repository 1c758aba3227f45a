#!/usr/bin/env bash
# make run: the demo. Starts the local CloudWatch emulator and `cwagent run` with
# packaging/demo-config.json (every 10 s: cpu, mem, swap, disk, diskio, net, netstat, processes
# and the agent's own procstat; EC2 dimensions from the emulator's instance metadata). The agent
# prints one "flush:" line per flush. It also tails /tmp/cwagent-demo/app.log, to which this
# script appends a timestamped line every second (log group cwagent-demo), receives one EMF
# document a second over UDP (log group cwagent-demo-emf, metric DemoApp/Latency, extracted by
# the emulator) and ships the system journal's new entries, if the machine has a journal (log
# group cwagent-demo-journal; CWAGENT_JOURNAL_DIR picks another directory). Ctrl-C stops both
# (the agent flushes first).
#   tests/run_demo.sh [BUILD_DIR]      env: CWEMU_PORT (default 4566; 0 = any free port)
set -u
build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)
agent="$repo/$build/cwagent"
config="$repo/packaging/demo-config.json"
state="$repo/$build/demo-state"
port=${CWEMU_PORT:-4566}
python=/usr/bin/python3

[ -x "$agent" ] || { echo "run_demo: $agent is missing; run 'make' first" >&2; exit 1; }
mkdir -p "$state"
emu_out="$state/emulator.json"
rm -f "$emu_out"

# The emulator gets its own session so that Ctrl-C reaches only the agent; it is stopped after
# the agent has flushed.
setsid "$python" "$repo/tests/emulator/cwemu" --port "$port" -q >"$emu_out" 2>"$state/emulator.log" </dev/null &
emu_pid=$!
agent_pid=
demo_log_dir=/tmp/cwagent-demo
mkdir -p "$demo_log_dir"
( n=0; while sleep 1; do n=$((n + 1))
      printf '%s demo line %d\n' "$(date -u +%Y-%m-%dT%H:%M:%S%z)" "$n" >>"$demo_log_dir/app.log"
      # one EMF document a second to the agent's EMF listener (udp://127.0.0.1:25888)
      printf '{"_aws":{"Timestamp":%s,"LogGroupName":"cwagent-demo-emf","CloudWatchMetrics":[{"Namespace":"DemoApp","Dimensions":[["Service"]],"Metrics":[{"Name":"Latency","Unit":"Milliseconds"}]}]},"Service":"demo","Latency":%d}\n' \
          "$(date +%s%3N)" $((RANDOM % 200)) >/dev/udp/127.0.0.1/25888 2>/dev/null || true
  done ) </dev/null &
writer_pid=$!
cleanup() {
    trap - INT TERM EXIT
    kill "$writer_pid" 2>/dev/null
    if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
        kill -TERM "$agent_pid" 2>/dev/null
        wait "$agent_pid" 2>/dev/null
    fi
    kill -TERM "$emu_pid" 2>/dev/null
    wait "$emu_pid" 2>/dev/null
    echo "demo stopped (agent state and spool kept in $state)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 50); do
    [ -s "$emu_out" ] && break
    kill -0 "$emu_pid" 2>/dev/null || { echo "run_demo: the emulator did not start:" >&2; cat "$state/emulator.log" >&2; exit 1; }
    sleep 0.1
done
endpoint=$("$python" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["endpoint"])' "$emu_out") ||
    { echo "run_demo: no startup line from the emulator" >&2; exit 1; }

# Only the emulator's documented keys and loopback endpoints: nothing from the user's AWS setup.
for v in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export AWS_ACCESS_KEY_ID=AKIDCWEMULATOR00001
export AWS_SECRET_ACCESS_KEY=cwemu/secret/key/for/local/tests/only00
export AWS_EC2_METADATA_SERVICE_ENDPOINT="$endpoint"
export AWS_ENDPOINT_URL="$endpoint"   # CloudWatch (PutMetricData) and EC2 (DescribeTags)
export AWS_CONFIG_FILE=/nonexistent/cwagent-demo AWS_SHARED_CREDENTIALS_FILE=/nonexistent/cwagent-demo

echo "cwagent demo: emulator at $endpoint, config $config, state $state"
echo "  stored metrics:  curl -s $endpoint/_emulator/metrics | $python -m json.tool | less"
echo "  stored log events: curl -s $endpoint/_emulator/logs   (tailing $demo_log_dir/app.log)"
echo "  EMF metrics:     namespace DemoApp in the stored metrics (log group cwagent-demo-emf)"
echo "  request log:     curl -s $endpoint/_emulator/requests"
echo "  agent status:    $agent status --state-dir $state"
# Alarms and a dashboard bound to the series this config publishes on this host (signed calls
# to the emulator, like any AWS account); the emulator's web page draws them from what it stores.
if "$agent" alarms apply -c "$config" >"$state/alarms.log" 2>"$state/apply.err" &&
   "$agent" dashboard apply -c "$config" --period 10 >"$state/dashboard.log" 2>>"$state/apply.err"; then
    echo "  alarms: $(tail -n 1 "$state/alarms.log"); $(cat "$state/dashboard.log")"
else
    echo "run_demo: applying alarms/dashboard failed:" >&2
    cat "$state/apply.err" >&2
fi
dash=$(sed -n 's/^[a-z]* dashboard //p' "$state/dashboard.log" 2>/dev/null)
echo "  dashboards and alarms in a browser: $endpoint/${dash:+  (this host: $endpoint/dashboards/$dash)}"
echo "  first flush in ~10 s; Ctrl-C stops the agent (it flushes) and the emulator"
"$agent" run -c "$config" --state-dir "$state" &
agent_pid=$!
wait "$agent_pid"
rc=$?
agent_pid=
exit "$rc"
