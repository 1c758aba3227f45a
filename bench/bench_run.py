"""bench_run — the cost of `cwagent run` against the local emulator (figures, never asserted).

1. Memory and CPU over BENCH_RUN_SECONDS (default 60) with
   a. the reference's default Linux config (mem_used_percent, disk used_percent on every
      filesystem, EC2 dimensions, 60 s interval, 60 s flush);  budget RSS <= 6 MB, CPU <= 0.05 %
   b. packaging/demo-config.json (rich set, 10 s interval and flush).
   RSS = VmRSS / VmHWM (/proc/PID/status) at the end, and RssAnon (the process's own memory;
   VmRSS also counts the shared pages of libcrypto, libc, libcurl and its dependencies); CPU = utime+stime (/proc/PID/stat) over
   the whole run, and over the steady part (after the first 5 s: startup, config validation,
   IMDS and DescribeTags are excluded) as % of one core.
2. API calls saved by --pack-values: interval 1 s, flush 60 s, the demo's measurement set, run
   for BENCH_RUN_SECONDS, then SIGTERM (final flush): PutMetricData calls, datums and request
   bytes with and without packing.
Runs a and b together, then the two packing runs together (each agent with its own emulator).
"""
import json
import os
import shutil
import signal
import sys
import tempfile
import time

REPO = os.environ.get("CW_REPO", os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path[:0] = [os.path.join(REPO, "tests", "lib"), os.path.join(REPO, "tests", "e2e")]
import cwtest  # noqa: E402
import run_common as rc  # noqa: E402

SECONDS = float(os.environ.get("BENCH_RUN_SECONDS", "60"))
STEADY_AFTER = 5.0
TICK = os.sysconf("SC_CLK_TCK")

DEFAULT_CONFIG = {  # the reference's wizard "default" for Linux (amazon-cloudwatch-agent.d/default)
    "agent": {"region": "us-east-1"},
    "metrics": {
        "append_dimensions": {"AutoScalingGroupName": "${aws:AutoScalingGroupName}",
                              "ImageId": "${aws:ImageId}", "InstanceId": "${aws:InstanceId}",
                              "InstanceType": "${aws:InstanceType}"},
        "metrics_collected": {"disk": {"measurement": ["used_percent"], "resources": ["*"]},
                              "mem": {"measurement": ["mem_used_percent"]}}}}


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def sched_ns(pid):
    """Time on a CPU in ns (/proc/PID/schedstat): finer than the 10 ms ticks of utime+stime."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Job:
    def __init__(self, label, config, args=()):
        self.label = label
        self.tmp = tempfile.mkdtemp(prefix="cwbench-")
        self.emu = cwtest.Emulator()
        self.emu.start()
        path = rc.write_json(os.path.join(self.tmp, "cfg.json"), config)
        self.agent = rc.Agent([path], os.path.join(self.tmp, "state"), rc.agent_env(self.emu), args)
        self.t0 = time.time()
        self.agent.start()
        self.steady = None

    def mark_steady(self):
        self.steady = (time.time(), cpu_ticks(self.agent.pid), sched_ns(self.agent.pid))

    def measure(self):
        pid, now = self.agent.pid, time.time()
        total = cpu_ticks(pid)
        self.cpu_all = 100.0 * total / TICK / (now - self.t0)
        self.cpu_steady = 100.0 * (total - self.steady[1]) / TICK / (now - self.steady[0])
        self.cpu_ms = 1000.0 * total / TICK
        ns = sched_ns(pid)
        self.sched_ms = ns / 1e6
        self.sched_steady = 100.0 * (ns - self.steady[2]) / 1e9 / (now - self.steady[0])
        self.rss, self.hwm = status_kb(pid, "VmRSS"), status_kb(pid, "VmHWM")
        self.anon = status_kb(pid, "RssAnon")
        self.elapsed = now - self.t0

    def finish(self):
        self.agent.stop(timeout=20)
        time.sleep(0.5)
        self.reqs = [r for r in self.emu.get("/_emulator/requests")["requests"]
                     if r.get("operation") == "PutMetricData"]
        self.datums = self.emu.get("/_emulator/metrics")["metrics"]

    def close(self):
        self.agent.close()
        self.emu.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_pair(jobs):
    try:
        time.sleep(STEADY_AFTER)
        for j in jobs:
            j.mark_steady()
        time.sleep(max(0.0, SECONDS - STEADY_AFTER))
        for j in jobs:
            j.measure()
            j.finish()
    finally:
        for j in jobs:
            j.close()


def demo_config(interval=None, flush=None):
    with open(os.path.join(REPO, "packaging", "demo-config.json")) as f:
        cfg = json.load(f)
    # the journal and EMF sources of the demo are measured by bench_sources_idle.py
    cfg["logs"]["logs_collected"].pop("journald", None)
    cfg["logs"].pop("metrics_collected", None)
    if interval:
        cfg["agent"]["metrics_collection_interval"] = interval
    if flush:
        cfg["metrics"]["force_flush_interval"] = flush
    return cfg


def resources():
    jobs = [Job("default config (60 s)", DEFAULT_CONFIG), Job("demo config (10 s)", demo_config())]
    run_pair(jobs)
    print("   cwagent run over %.0f s (budget: RSS <= 6 MB, CPU <= 0.05 %% of a core):" % SECONDS)
    for j in jobs:
        print("   %-22s VmRSS %5.2f MB (RssAnon %4.2f MB, the rest shared library pages)  VmHWM %5.2f MB"
              % (j.label, j.rss / 1024.0, j.anon / 1024.0, j.hwm / 1024.0))
        print("   %-22s CPU utime+stime %5.1f ms = %.3f %% of a core (steady, after %.0f s: %.3f %%)"
              % ("", j.cpu_ms, j.cpu_all, STEADY_AFTER, j.cpu_steady))
        print("   %-22s CPU schedstat   %5.1f ms (steady: %.4f %% of a core)  %d datums in %d calls"
              % ("", j.sched_ms, j.sched_steady, len(j.datums), len(j.reqs)))


def packing():
    cfg = demo_config(interval=1, flush=60)
    cfg["metrics"].pop("aggregation_dimensions", None)
    jobs = [Job("plain", cfg), Job("--pack-values", cfg, ["--pack-values"])]
    run_pair(jobs)
    print("   --pack-values: interval 1 s, flush 60 s, %.0f s run (+ final flush at SIGTERM):" % SECONDS)
    for j in jobs:
        samples = sum(sum(m["counts"]) if "counts" in m else 1 for m in j.datums)
        print("   %-14s %3d PutMetricData calls, %5d datums (%5d samples), %7d body bytes (%d gzip'd)"
              % (j.label, len(j.reqs), len(j.datums), samples, sum(r["decoded_size"] or 0 for r in j.reqs),
                 sum(r["body_size"] or 0 for r in j.reqs)))
    a, b = jobs
    if len(a.reqs) and len(a.datums):
        print("   saved: %d of %d calls (%.0f %%), %d of %d datums (%.0f %%)"
              % (len(a.reqs) - len(b.reqs), len(a.reqs), 100.0 * (len(a.reqs) - len(b.reqs)) / len(a.reqs),
                 len(a.datums) - len(b.datums), len(a.datums),
                 100.0 * (len(a.datums) - len(b.datums)) / len(a.datums)))


if __name__ == "__main__":
    if not os.path.exists(cwtest.CWAGENT):
        print("   %s is missing (make)" % cwtest.CWAGENT)
        sys.exit(0)
    resources()
    packing()
