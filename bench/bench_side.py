"""bench_side — cwagent beside Debian's collectd and prometheus-node-exporter, one run, same
plugins (cpu, memory, swap, filesystems, disk I/O, network interfaces, processes), same 10 s
interval, all three at once for CW_BENCH_SIDE_SECONDS (default 300, the issue's 5 minutes):

  cwagent   `cwagent run` shipping to the local emulator (PutMetricData every 10 s);
  collectd  `collectd -f` with the network plugin sending to a loopback UDP port nobody reads;
  node_exporter  the same collectors only, scraped every 10 s by this script.

Figures per process: CPU time over the run summed over all threads, from the scheduler's own
nanosecond counters (/proc/PID/task/TID/schedstat, sampled every second so that a thread that
ends mid-run keeps what it used up to its last sample; the 10 ms ticks of /proc/PID/stat are far
too coarse for a process that runs ~0.3 ms per 10 s round), as % of one core, with the tick
figure beside it as a cross-check; and memory at the end: RSS, PSS and USS (private pages: Private_Clean +
Private_Dirty of /proc/PID/smaps_rollup). Then the ratios cwagent/collectd and
cwagent/node_exporter with the budgets of DESIGN.md (CPU <= 1/2 of collectd's, USS <= collectd's).
Prints "skipped" for a program that is not installed (Debian: collectd-core,
prometheus-node-exporter). Prints figures, never asserts.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.environ.get("CW_REPO", os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path[:0] = [os.path.join(REPO, "tests", "lib"), os.path.join(REPO, "tests", "e2e")]
import cwtest  # noqa: E402
import run_common as rc  # noqa: E402

SECONDS = float(os.environ.get("CW_BENCH_SIDE_SECONDS", "300"))
INTERVAL = 10
TICK = os.sysconf("SC_CLK_TCK")
COLLECTD = shutil.which("collectd") or ("/usr/sbin/collectd" if os.path.exists("/usr/sbin/collectd") else None)
NODE_EXPORTER = shutil.which("prometheus-node-exporter")

CWAGENT_METRICS = {
    "cpu": {"measurement": ["usage_idle", "usage_user", "usage_system", "usage_iowait"], "totalcpu": True},
    "mem": {"measurement": ["mem_used_percent", "mem_available", "mem_used"]},
    "swap": {"measurement": ["swap_used_percent", "swap_used"]},
    "disk": {"measurement": ["used_percent", "inodes_free"], "resources": ["*"]},
    "diskio": {"measurement": ["reads", "writes", "read_bytes", "write_bytes", "io_time"], "resources": ["*"]},
    "net": {"measurement": ["bytes_sent", "bytes_recv", "packets_sent", "packets_recv"], "resources": ["*"]},
    "processes": {"measurement": ["running", "sleeping", "blocked", "zombies", "total"]},
}

COLLECTD_CONF = """Interval %d
FQDNLookup false
LoadPlugin cpu
LoadPlugin memory
LoadPlugin swap
LoadPlugin df
LoadPlugin disk
LoadPlugin interface
LoadPlugin processes
LoadPlugin network
<Plugin network>
  Server "127.0.0.1" "%d"
</Plugin>
"""

NODE_COLLECTORS = ["cpu", "meminfo", "filesystem", "diskstats", "netdev", "processes", "vmstat"]


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class ThreadCpu:
    """CPU nanoseconds of all threads of one process since start(), from schedstat."""

    def __init__(self, pid):
        self.pid = pid
        self.base = {}  # tid -> ns at its first sample (0 for a thread born after start())
        self.last = {}  # tid -> ns at its latest sample

    def _read(self):
        out = {}
        try:
            tids = os.listdir("/proc/%d/task" % self.pid)
        except OSError:
            return out
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/schedstat" % (self.pid, tid)) as f:
                    out[tid] = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass  # the thread ended between listdir and open
        return out

    def start(self):
        self.base = self._read()
        self.last = dict(self.base)

    def sample(self):
        for tid, ns in self._read().items():
            self.base.setdefault(tid, 0)
            self.last[tid] = ns

    def seconds(self):
        return sum(self.last[t] - self.base[t] for t in self.last) / 1e9


def memory_kb(pid):
    """(RSS, PSS, USS) in kB from /proc/PID/smaps_rollup."""
    v = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                v[parts[0].rstrip(":")] = int(parts[1])
    return v.get("Rss", 0), v.get("Pss", 0), v.get("Private_Clean", 0) + v.get("Private_Dirty", 0)


def private_by_mapping(pid, top=8):
    """[(kB, mapping)] of the private pages (Private_Clean + Private_Dirty) per mapped file."""
    cur, agg = None, {}
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            p = line.split()
            if len(p) >= 5 and "-" in p[0] and not p[0].endswith(":"):
                cur = os.path.basename(p[5]) if len(p) > 5 else "[anon]"
            elif p and p[0] in ("Private_Clean:", "Private_Dirty:"):
                agg[cur] = agg.get(cur, 0) + int(p[1])
    return sorted(((v, k) for k, v in agg.items()), reverse=True)[:top]


def start_collectd(tmp):
    conf = os.path.join(tmp, "collectd.conf")
    with open(conf, "w") as f:
        f.write(COLLECTD_CONF % (INTERVAL, free_port(socket.SOCK_DGRAM)))
    return subprocess.Popen([COLLECTD, "-f", "-C", conf, "-P", os.path.join(tmp, "collectd.pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_node_exporter():
    port = free_port()
    args = [NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % port, "--collector.disable-defaults"]
    args += ["--collector.%s" % c for c in NODE_COLLECTORS]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port


def scrape(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            return len(r.read())
    except OSError:
        return 0


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ratio(a, b):
    return a / b if b else float("inf")


def main():
    if not os.path.exists(cwtest.CWAGENT):
        print("   skipped: %s not built" % cwtest.CWAGENT)
        return 0
    tmp = tempfile.mkdtemp(prefix="bench-side-")
    procs = {}
    ne_port = None
    emu = None
    try:
        emu = cwtest.Emulator("-q")
        emu.__enter__()
        cfg = rc.metrics_config(emu.endpoint, CWAGENT_METRICS, interval=INTERVAL, flush=INTERVAL)
        path = rc.write_json(os.path.join(tmp, "cwagent.json"), cfg)
        env = rc.agent_env(emu)
        env["GNUTLS_NO_IMPLICIT_INIT"] = "1"  # as packaging/cwagent.service runs it
        ag = rc.Agent([path], os.path.join(tmp, "state"), env).start()
        procs["cwagent"] = ag.proc
        if COLLECTD:
            procs["collectd"] = start_collectd(tmp)
        if NODE_EXPORTER:
            procs["node_exporter"], ne_port = start_node_exporter()
        time.sleep(3)  # start-up (config, first round) is not counted
        cpu0 = {k: cpu_s(p.pid) for k, p in procs.items() if p.poll() is None}
        meters = {k: ThreadCpu(p.pid) for k, p in procs.items() if k in cpu0}
        for m in meters.values():
            m.start()
        t0 = time.monotonic()
        scrapes = 0
        next_scrape = t0
        while time.monotonic() - t0 < SECONDS:
            if ne_port and time.monotonic() >= next_scrape:
                next_scrape += INTERVAL
                if scrape(ne_port):
                    scrapes += 1
            for m in meters.values():
                m.sample()
            time.sleep(max(0.0, min(1.0, SECONDS - (time.monotonic() - t0))))
        for m in meters.values():
            m.sample()
        took = time.monotonic() - t0
        rows = {}
        for k, p in procs.items():
            if p.poll() is not None or k not in cpu0:
                print("   %s: exited early (status %s)" % (k, p.returncode))
                continue
            rss, pss, uss = memory_kb(p.pid)
            rows[k] = (100 * meters[k].seconds() / took, rss, pss, uss,
                       100 * (cpu_s(p.pid) - cpu0[k]) / took)
            if k == "cwagent":
                where = private_by_mapping(p.pid)
        print("   %.0f s, interval %d s, same plugins; CPU as %% of one core, summed over threads "
              "(schedstat ns; ticks beside: +-%.3f %%)" % (took, INTERVAL, 100 * 0.01 / took))
        for k in ("cwagent", "collectd", "node_exporter"):
            if k not in rows:
                print("   %-13s skipped (not installed: Debian %s)"
                      % (k, "collectd-core" if k == "collectd" else "prometheus-node-exporter"))
                continue
            c, rss, pss, uss, ticks = rows[k]
            print("   %-13s CPU %.4f %% (%.2f ms per %d s round; ticks %.3f %%)  RSS %.1f MB  PSS %.1f MB  "
                  "USS %.1f MB%s"
                  % (k, c, c * INTERVAL * 10, INTERVAL, ticks, rss / 1024, pss / 1024, uss / 1024,
                     "  (%d scrapes)" % scrapes if k == "node_exporter" else ""))
        cw = rows.get("cwagent")
        if cw:
            print("   cwagent's private memory by mapping: " + ", ".join("%s %d kB" % (k, v) for v, k in where))
            print("   (USS counts the resident pages of a library no other process maps: libcurl's "
                  "dependencies - GnuTLS through librtmp, Kerberos, LDAP, SSH - are private here, "
                  "shared where another program uses them)")
        for k in ("collectd", "node_exporter"):
            if cw and k in rows:
                rc_, ru = ratio(cw[0], rows[k][0]), ratio(cw[3], rows[k][3])
                note = ""
                if k == "collectd":
                    note = "  [budget CPU <= 0.5: %s; USS <= 1.0: %s]" % (
                        "met" if rc_ <= 0.5 else "NOT met", "met" if ru <= 1.0 else "NOT met")
                print("   cwagent / %-13s CPU %.2fx  USS %.2fx%s" % (k, rc_, ru, note))
    finally:
        for p in procs.values():
            stop(p)
        if emu:
            emu.__exit__(None, None, None)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
