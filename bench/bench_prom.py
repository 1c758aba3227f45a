"""bench_prom — cwagent's /metrics (agent.cwagent.prometheus) against Debian's
prometheus-node-exporter on the same host (figures, never asserted).

1. Scrape latency and CPU per scrape: BENCH_PROM_SCRAPES (default 200) back-to-back GETs of
   /metrics; wall time per scrape (median, p99) and the exporter's CPU (schedstat) per scrape.
   cwagent serves the page rendered by its last round, so a scrape is a copy; node_exporter
   collects on every scrape.
2. Steady state, both scraped once per second for BENCH_PROM_SECONDS (default 30), cwagent
   with metrics_collection_interval 1 (one round per second, the same work as a 1 s scrape):
   CPU % of one core, CPU per round, and private memory (USS: Private_Clean + Private_Dirty of
   /proc/PID/smaps_rollup) at the end.
node_exporter runs twice: with its default collectors (what people install) and with only the
collectors behind cwagent's families (cpu, diskstats, filesystem, loadavg, meminfo, netdev,
netclass, pressure, stat, time, uname).
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.environ.get("CW_REPO", os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path[:0] = [os.path.join(REPO, "tests", "lib"), os.path.join(REPO, "tests", "e2e")]
import cwtest  # noqa: E402
import run_common as rc  # noqa: E402

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
SCRAPES = int(os.environ.get("BENCH_PROM_SCRAPES", "200"))
SECONDS = float(os.environ.get("BENCH_PROM_SECONDS", "30"))
SAME_SET = ["cpu", "diskstats", "filesystem", "loadavg", "meminfo", "netdev", "netclass",
            "pressure", "stat", "time", "uname"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def sched_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def uss_kb(pid):
    total = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def wait_up(url):
    deadline = time.time() + 15
    while True:
        try:
            return get(url)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def scrape_burst(pid, url):
    lat = []
    c0 = sched_ns(pid)
    for _ in range(SCRAPES):
        t0 = time.perf_counter()
        body = get(url)
        lat.append(time.perf_counter() - t0)
    cpu = (sched_ns(pid) - c0) / SCRAPES
    lat.sort()
    return {"median_ms": statistics.median(lat) * 1e3, "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1e3,
            "cpu_us": cpu / 1e3, "bytes": len(body), "series": sum(
                1 for l in body.decode().splitlines() if l and not l.startswith("#"))}


def steady(pid, url, rounds_fn=None):
    c0, t0 = sched_ns(pid), time.time()
    r0 = rounds_fn() if rounds_fn else 0
    n = 0
    while time.time() - t0 < SECONDS:
        get(url)
        n += 1
        time.sleep(max(0.0, t0 + n - time.time()))
    wall = time.time() - t0
    cpu = sched_ns(pid) - c0
    rounds = (rounds_fn() - r0) if rounds_fn else n
    return {"cpu_pct": 100.0 * cpu / 1e9 / wall, "cpu_per_round_us": cpu / 1e3 / max(rounds, 1),
            "uss_kb": uss_kb(pid), "rounds": rounds}


def cwagent_status(state):
    import json
    r = subprocess.run([cwtest.CWAGENT, "status", "--json", "--state-dir", state], capture_output=True,
                       text=True, timeout=20)
    return json.loads(r.stdout)["prometheus"]


def run_cwagent(tmp):
    port = free_port()
    cfg = rc.write_json(os.path.join(tmp, "c.json"), {"agent": {
        "metrics_collection_interval": 1, "region": "us-east-1",
        "cwagent": {"prometheus": {"listen": "127.0.0.1:%d" % port}}}})
    state = os.path.join(tmp, "state")
    ag = rc.Agent([cfg], state, rc.agent_env(None)).start()
    url = "http://127.0.0.1:%d/metrics" % port
    wait_up(url)
    time.sleep(1.5)
    try:
        burst = scrape_burst(ag.proc.pid, url)
        st = steady(ag.proc.pid, url, lambda: cwagent_status(state)["rounds"])
        st["round_wall_us"] = cwagent_status(state)["round_us"]
    finally:
        ag.stop()
    return burst, st


def run_node_exporter(args):
    port = free_port()
    p = subprocess.Popen([NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % port] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d/metrics" % port
    try:
        wait_up(url)
        time.sleep(1.0)
        burst = scrape_burst(p.pid, url)
        st = steady(p.pid, url)
    finally:
        p.terminate()
        p.wait(timeout=10)
    return burst, st


def show(name, burst, st):
    print("  %-34s scrape median %6.2f ms  p99 %6.2f ms  CPU/scrape %7.0f us  %4d series "
          "%6d bytes" % (name, burst["median_ms"], burst["p99_ms"], burst["cpu_us"],
                         burst["series"], burst["bytes"]))
    extra = "  (round wall %d us)" % st["round_wall_us"] if "round_wall_us" in st else ""
    print("  %-34s 1/s for %.0f s: CPU %.3f %% of a core, %.0f us per round, USS %d kB%s"
          % ("", SECONDS, st["cpu_pct"], st["cpu_per_round_us"], st["uss_kb"], extra))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        show("cwagent /metrics", *run_cwagent(tmp))
    if not os.path.exists(NODE_EXPORTER):
        print("  prometheus-node-exporter not installed: no side-by-side figures")
        return
    show("node_exporter (defaults)", *run_node_exporter([]))
    same = ["--collector.disable-defaults"] + ["--collector.%s" % c for c in SAME_SET]
    show("node_exporter (cwagent's families)", *run_node_exporter(same))


if __name__ == "__main__":
    main()
