"""bench_sources_idle — `cwagent run` idle with the journal reader and the EMF listener on
(figures, never asserted): RSS (VmRSS, RssAnon) and CPU over BENCH_IDLE_SECONDS (default 20),
compared with the same agent with one idle tailed file only. The journal is an empty
directory (CWAGENT_JOURNAL_DIR), the EMF listener is on loopback TCP."""
import os
import socket
import sys
import tempfile
import time
import shutil

REPO = os.environ.get("CW_REPO", os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path[:0] = [os.path.join(REPO, "tests", "lib"), os.path.join(REPO, "tests", "e2e")]
import cwtest  # noqa: E402
from test_logs_basic import Agent  # noqa: E402

SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "20"))
TICK = os.sysconf("SC_CLK_TCK")


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def measure(name, logs_extra, collected_extra):
    tmp = tempfile.mkdtemp(prefix="cwbench-idle-")
    try:
        with cwtest.Emulator("-q") as emu:
            path = os.path.join(tmp, "app.log")
            open(path, "w").close()
            collected = {"files": {"collect_list": [{"file_path": path, "log_group_name": "g"}]}}
            collected.update(collected_extra)
            logs = {"endpoint_override": emu.endpoint, "logs_collected": collected}
            logs.update(logs_extra)
            jdir = os.path.join(tmp, "journal")
            os.mkdir(jdir)
            cfg = {"agent": {"region": "us-east-1"}, "logs": logs}
            with Agent(tmp, cfg, emu.endpoint, env={"CWAGENT_JOURNAL_DIR": jdir}) as ag:
                time.sleep(3)
                pid = ag.proc.pid
                t0 = cpu_ticks(pid)
                time.sleep(SECONDS)
                cpu = (cpu_ticks(pid) - t0) / TICK / SECONDS * 100
                print("   %-34s VmRSS %5d kB, RssAnon %5d kB, CPU %.3f %% of a core" % (
                    name, status_kb(pid, "VmRSS"), status_kb(pid, "RssAnon"), cpu))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    print("   idle over %.0f s:" % SECONDS)
    measure("one tailed file", {}, {})
    measure("+ journald + EMF listener", {"metrics_collected": {"emf": {
        "service_address": "tcp://127.0.0.1:%d" % port}}},
        {"journald": {"collect_list": [{"log_group_name": "j"}]}})


if __name__ == "__main__":
    main()
