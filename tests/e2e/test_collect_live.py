"""`cwagent collect --once --json` on this machine, cross-checked against the standard tools
(free, df, ss, ps) and against /proc read by the test itself, each with the tolerance its
definition allows (other engineers share the machine, so counts churn)."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile

import cwtest
from cwtest import check, eq, run_agent

MiB = 1024 * 1024


PROCSTAT_FIELDS = ["pid", "cpu_usage", "cpu_time_user", "memory_rss", "memory_vms",
                   "num_threads", "num_fds", "pid_count"]
_ALL = {}


def all_fields(plugin):
    """Every field the collector emits for `plugin` (from a run without a config)."""
    if not _ALL:
        r = run_agent("collect", "--once", "--json", "--interval", "0.2", timeout=60)
        for d in json.loads(r.stdout):
            pl, field = d["name"].split("_", 1)
            _ALL.setdefault(pl, set()).add(field)
    return sorted(_ALL.get(plugin, ()))


def with_measurements(plugins):
    """The reference schema requires `measurement`: list every field where a test omits it."""
    out = {}
    for name, sec in plugins.items():
        if name == "procstat":
            out[name] = [dict(it, measurement=it.get("measurement", PROCSTAT_FIELDS)) for it in sec]
        else:
            out[name] = dict(sec, measurement=sec.get("measurement", all_fields(name)))
    return out


def collect(plugins, interval="0.5", extra=None):
    """Runs collect --once --json with a config enabling `plugins` ({name: section})."""
    cfg = {"metrics": {"metrics_collected": with_measurements(plugins)}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="cwt_collect_", delete=False) as f:
        json.dump(cfg, f)
        path = f.name
    try:
        r = run_agent("collect", "--once", "--json", "-c", path, "--interval", interval,
                      *(extra or []), timeout=60)
    finally:
        os.unlink(path)
    eq(r.returncode, 0, "exit status (stderr: %s)" % r.stderr[-500:])
    return json.loads(r.stdout)


def by_name(data, metric, /, **dims):
    return [d for d in data if d["name"] == metric and all(d["dimensions"].get(k) == v
                                                          for k, v in dims.items())]


def one(data, metric, /, **dims):
    found = by_name(data, metric, **dims)
    eq(len(found), 1, "datums named %s %r" % (metric, dims))
    return found[0]["value"]


def near(got, want, tol, what):
    if abs(got - want) > tol:
        raise AssertionError("%s: expected %r ± %r, got %r" % (what, want, tol, got))


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            parts = v.split()
            out[k] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return out


def test_mem_against_free_and_meminfo():
    data = collect({"mem": {}, "swap": {}})
    free = subprocess.run(["free", "-b"], capture_output=True, text=True, check=True).stdout
    mem = [int(x) for x in free.splitlines()[1].split()[1:]]
    total, _used, freeb, shared, buffcache, avail = mem
    mi = meminfo()
    eq(one(data, "mem_total"), total, "mem_total vs free -b total")
    eq(one(data, "mem_total"), mi["MemTotal"], "mem_total vs MemTotal")
    tol = max(256 * MiB, total // 50)  # other processes allocate between the two reads
    # gopsutil's used = total - free - buffers - (Cached + SReclaimable) = free's
    # total - free - buff/cache (free -b prints used = total - available instead)
    near(one(data, "mem_used"), total - freeb - buffcache, tol, "mem_used")
    near(one(data, "mem_cached") + one(data, "mem_buffered"), buffcache, tol, "buff/cache")
    near(one(data, "mem_available"), avail, tol, "mem_available")
    near(one(data, "mem_shared"), shared, tol, "mem_shared")
    near(one(data, "mem_used_percent"), 100.0 * one(data, "mem_used") / total, 1e-9,
         "used_percent consistent")
    near(one(data, "mem_available_percent"), 100.0 * one(data, "mem_available") / total, 1e-9,
         "available_percent consistent")
    eq(by_name(data, "mem_used_percent")[0]["unit"], "Percent", "unit")
    swap_total = mi["SwapTotal"]
    near(one(data, "swap_free"), mi["SwapFree"], max(64 * MiB, swap_total // 50), "swap_free")
    if swap_total == 0:
        eq(one(data, "swap_used_percent"), 0, "swap_used_percent without swap")


def df_row(args, path):
    out = subprocess.run(["df"] + args + [path], capture_output=True, text=True, check=True)
    return [int(x) for x in out.stdout.splitlines()[1].split()]


def test_disk_against_df():
    data = collect({"disk": {}})
    paths = sorted({d["dimensions"]["path"] for d in data})
    check(paths, "no disk datums at all")
    check("/" in paths, "root file system missing: %r" % paths)
    for p in paths:
        size, used, avail = df_row(["-B1", "--output=size,used,avail"], p)
        itotal, iused, ifree = df_row(["--output=itotal,iused,iavail"], p)
        eq(one(data, "disk_total", path=p), size, "disk_total %s" % p)
        eq(one(data, "disk_inodes_total", path=p), itotal, "disk_inodes_total %s" % p)
        tol = 256 * MiB
        near(one(data, "disk_free", path=p), avail, tol, "disk_free %s" % p)
        near(one(data, "disk_used", path=p), used, tol, "disk_used %s" % p)
        near(one(data, "disk_inodes_free", path=p), ifree, 5000, "inodes_free %s" % p)
        near(one(data, "disk_inodes_used", path=p), iused, 5000, "inodes_used %s" % p)
        u, f = one(data, "disk_used", path=p), one(data, "disk_free", path=p)
        near(one(data, "disk_used_percent", path=p), 100.0 * u / (u + f), 1e-9, "used_percent")
        dims = by_name(data, "disk_total", path=p)[0]["dimensions"]
        eq(sorted(dims), ["device", "fstype", "path"], "dimension names")
        check(not dims["device"].startswith("/dev/"), "device keeps /dev/: %r" % dims)


def diskstats():
    out = {}
    with open("/proc/diskstats") as f:
        for line in f:
            x = line.split()
            out[x[2]] = [int(v) for v in x[3:14]]
    return out


def test_diskio_bounded_by_diskstats():
    before = diskstats()
    data = collect({"diskio": {}}, interval="1")
    after = diskstats()
    names = {d["dimensions"]["name"] for d in data}
    want = {n for n in after if not n.startswith(("loop", "ram")) and n in before}
    eq(names, want, "devices")
    idx = {"diskio_reads": 0, "diskio_writes": 4, "diskio_read_time": 3, "diskio_write_time": 7,
           "diskio_io_time": 9}
    for n in names:
        for metric, i in idx.items():
            v = one(data, metric, name=n)
            check(0 <= v <= after[n][i] - before[n][i],
                  "%s %s = %r outside [0, %r]" % (metric, n, v, after[n][i] - before[n][i]))
        rb = one(data, "diskio_read_bytes", name=n)
        check(0 <= rb <= (after[n][2] - before[n][2]) * 512 and rb % 512 == 0, "read_bytes %r" % rb)
        eq(by_name(data, "diskio_io_time", name=n)[0]["unit"], "Milliseconds", "unit")


def netdev():
    out = {}
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            name, rest = line.split(":", 1)
            out[name.strip()] = [int(v) for v in rest.split()]
    return out


def test_net_bounded_by_proc_net_dev():
    before = netdev()
    data = collect({"net": {}}, interval="1")
    after = netdev()
    names = {d["dimensions"]["interface"] for d in data}
    for n in names:
        with open("/sys/class/net/%s/flags" % n) as f:
            flags = int(f.read(), 16)
        check(flags & 1 and not flags & 8, "%s is down or loopback" % n)
        v = one(data, "net_bytes_recv", interface=n)
        check(0 <= v <= after[n][0] - before[n][0], "bytes_recv %s = %r" % (n, v))
        v = one(data, "net_packets_sent", interface=n)
        check(0 <= v <= after[n][9] - before[n][9], "packets_sent %s = %r" % (n, v))
    check("lo" not in names, "loopback reported by default")


def ss_counts():
    tcp = subprocess.run(["ss", "-tanH"], capture_output=True, text=True, check=True).stdout
    udp = subprocess.run(["ss", "-uanH"], capture_output=True, text=True, check=True).stdout
    counts = {}
    for line in tcp.splitlines():
        st = line.split()[0]
        counts[st] = counts.get(st, 0) + 1
    counts["UDP"] = len(udp.splitlines())
    return counts


def test_netstat_against_ss():
    socks = []
    try:
        for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            try:
                l = socket.socket(fam, socket.SOCK_STREAM)
                l.bind((addr, 0))
            except OSError:
                continue
            l.listen(16)
            socks.append(l)
            for _ in range(3):
                c = socket.socket(fam, socket.SOCK_STREAM)
                c.connect(l.getsockname()[:2])
                a, _ = l.accept()
                socks += [c, a]
            u = socket.socket(fam, socket.SOCK_DGRAM)
            u.bind((addr, 0))
            socks.append(u)
        ss_before = ss_counts()
        data = collect({"netstat": {}}, interval="0.1")
        ss_after = ss_counts()
    finally:
        for s in socks:
            s.close()
    names = {"netstat_tcp_listen": "LISTEN", "netstat_tcp_established": "ESTAB",
             "netstat_tcp_time_wait": "TIME-WAIT", "netstat_tcp_syn_sent": "SYN-SENT",
             "netstat_tcp_close_wait": "CLOSE-WAIT", "netstat_udp_socket": "UDP"}
    for metric, st in names.items():
        lo = min(ss_before.get(st, 0), ss_after.get(st, 0))
        hi = max(ss_before.get(st, 0), ss_after.get(st, 0))
        slack = max(10, hi // 20)
        v = one(data, metric)
        check(lo - slack <= v <= hi + slack, "%s = %r, ss says %r..%r" % (metric, v, lo, hi))
    check(one(data, "netstat_tcp_listen") >= 2, "our listeners (v4 + v6) not counted")
    check(one(data, "netstat_tcp_established") >= 6, "our connections not counted")
    eq(len(data), 13, "netstat datums")


def test_processes_against_ps():
    data = collect({"processes": {}}, interval="0.1")
    ps = subprocess.run(["ps", "-e", "-o", "stat="], capture_output=True, text=True,
                        check=True).stdout.split()
    threads = len(subprocess.run(["ps", "-eL", "-o", "lwp="], capture_output=True, text=True,
                                 check=True).stdout.split())
    slack = max(20, len(ps) // 20)  # other processes come and go between the two reads
    near(one(data, "processes_total"), len(ps), slack, "processes_total vs ps -e")
    near(one(data, "processes_total_threads"), threads, 3 * slack, "total_threads vs ps -eL")
    for metric, letters in (("processes_sleeping", "S"), ("processes_idle", "I"),
                            ("processes_zombies", "Z"), ("processes_stopped", "Tt")):
        n = sum(1 for s in ps if s[0] in letters)
        near(one(data, metric), n, slack, "%s vs ps" % metric)
    eq(by_name(data, "processes_zombies")[0]["unit"], "None", "zombies unit (as the reference)")
    total = sum(one(data, m) for m in ("processes_running", "processes_sleeping",
                                       "processes_blocked", "processes_zombies",
                                       "processes_stopped", "processes_idle", "processes_dead",
                                       "processes_paging"))
    check(total <= one(data, "processes_total"), "states sum above total")


def test_cpu_percentages_sum_to_100():
    data = collect({"cpu": {"resources": ["*"], "totalcpu": True}}, interval="0.5")
    fields = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest",
              "guest_nice"]
    cpus = sorted({d["dimensions"]["cpu"] for d in data})
    online = os.sysconf("SC_NPROCESSORS_ONLN")
    eq(len(cpus), online + 1, "cpu series (%r)" % cpus)
    for c in cpus:
        vals = {f: one(data, "cpu_usage_" + f, cpu=c) for f in fields}
        near(sum(vals.values()), 100.0, 1e-6, "sum of usage_* for %s" % c)
        near(one(data, "cpu_usage_active", cpu=c) + vals["idle"], 100.0, 1e-6, "active+idle")
        check(all(-1e-9 <= v <= 100 + 1e-9 for v in vals.values()), "range %r" % vals)
    with open("/proc/stat") as f:
        user = int(f.readline().split()[1])
    near(one(data, "cpu_time_user", cpu="cpu-total"), user / 100.0, 5.0, "time_user")


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = v.split()
    return out


def test_procstat_own_process():
    marker = "cwt-procstat-%d" % os.getpid()
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", marker],
                         stdin=subprocess.DEVNULL)
    fd, pidfile = tempfile.mkstemp(prefix="cwt_collect_", suffix=".pid")
    try:
        os.write(fd, b"%d\n" % p.pid)
        os.close(fd)
        import time
        time.sleep(0.3)  # let the interpreter finish starting
        data = collect({"procstat": [{"pid_file": pidfile}, {"pattern": marker}]}, interval="0.3")
        st = proc_status(p.pid)
        with open("/proc/%d/stat" % p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    finally:
        p.kill()
        p.wait()
        os.unlink(pidfile)
    for key, val in (("pidfile", pidfile), ("pattern", marker)):
        dims = {key: val, "process_name": st["Name"][0]}
        eq(one(data, "procstat_pid", **dims), p.pid, "pid (%s)" % key)
        eq(one(data, "procstat_memory_rss", **dims), int(st["VmRSS"][0]) * 1024, "memory_rss")
        eq(one(data, "procstat_memory_vms", **dims), int(st["VmSize"][0]) * 1024, "memory_vms")
        eq(one(data, "procstat_num_threads", **dims), int(st["Threads"][0]), "num_threads")
        eq(one(data, "procstat_num_fds", **dims), len(os.listdir("/proc/%d/fd" % p.pid))
           if os.path.exists("/proc/%d" % p.pid) else one(data, "procstat_num_fds", **dims),
           "num_fds")
        near(one(data, "procstat_cpu_time_user", **dims), int(fields[11]) / 100.0, 0.011,
             "cpu_time_user")
        cpu = one(data, "procstat_cpu_usage", **dims)
        check(0 <= cpu <= 100 * os.cpu_count(), "cpu_usage %r" % cpu)
        eq(by_name(data, "procstat_cpu_usage", **dims)[0]["unit"], "Percent", "unit")
        eq(one(data, "procstat_lookup_pid_count", **{key: val, "pid_finder": "native"}), 1,
           "pid_count (%s)" % key)


def test_table_output_and_json_shape():
    r = run_agent("collect", "--once", "--interval", "0.2", timeout=60)
    eq(r.returncode, 0, "exit status: %s" % r.stderr)
    lines = r.stdout.splitlines()
    check(re.match(r"NAME\s+UNIT\s+VALUE\s+DIMENSIONS", lines[0]), lines[0])
    check(any(l.startswith("mem_used_percent ") for l in lines), "mem_used_percent row")
    check(any("cpu=cpu-total" in l for l in lines), "cpu-total row")
    r = run_agent("collect", "--once", "--json", "--interval", "0.2", timeout=60)
    data = json.loads(r.stdout)
    for d in data:
        eq(sorted(d), ["dimensions", "name", "unit", "value"], "keys")
        check(d["unit"] in ("Percent", "Bytes", "Count", "Milliseconds", "Seconds", "None"), d)


def test_config_errors_name_the_json_path():
    cases = [({"cpu": {"measurement": ["usage_bogus"]}}, "usage_bogus"),
             ({"procstat": [{"measurement": ["pid"]}]},
              "metrics.metrics_collected.procstat[0]"),
             ({"disk": {"resources": "/"}}, "metrics.metrics_collected.disk.resources"),
             ({"mem": {"measurement": [42]}}, "metrics.metrics_collected.mem.measurement[0]")]
    for plugins, want in cases:
        with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="cwt_collect_") as f:
            json.dump({"metrics": {"metrics_collected": plugins}}, f)
            f.flush()
            r = run_agent("collect", "--once", "-c", f.name, "--interval", "0.01")
        eq(r.returncode, 2, "exit status for %r" % plugins)
        check(want in r.stderr, "stderr %r lacks %r" % (r.stderr, want))
    r = run_agent("collect", "--interval", "1")
    eq(r.returncode, 2, "without --once")


def test_reference_sample_configs():
    """Every sample config of the reference with a metrics section is accepted as is."""
    samples = os.path.join(cwtest.REFERENCE, "amazon-cloudwatch-agent", "samples")
    if not os.path.isdir(samples):
        raise cwtest.Skip("no reference samples in %s" % samples)
    seen = 0
    for name in sorted(os.listdir(samples)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(samples, name)
        with open(path) as f:
            has_metrics = "metrics_collected" in json.load(f).get("metrics", {})
        r = run_agent("collect", "--once", "--json", "-c", path, "--interval", "0.05")
        if has_metrics:
            eq(r.returncode, 0, "%s: exit status (%s)" % (name, r.stderr[-300:]))
            json.loads(r.stdout)
            seen += 1
        else:
            eq(r.returncode, 2, "%s without metrics: exit status" % name)
            check("metrics.metrics_collected" in r.stderr, r.stderr)
    check(seen >= 5, "only %d samples with metrics" % seen)
    # complete_linux_config: cpu totalcpu false + resources ["*"], a measurement subset
    data = json.loads(run_agent("collect", "--once", "--json", "-c",
                                os.path.join(samples, "complete_linux_config.json"),
                                "--interval", "0.2").stdout)
    cpus = {d["dimensions"]["cpu"] for d in data if d["name"].startswith("cpu_")}
    check(cpus and "cpu-total" not in cpus, "cpu series %r" % cpus)
    eq(sorted({d["name"] for d in data if d["name"].startswith("mem_")}),
       ["mem_cached", "mem_total", "mem_used"], "mem measurements")
    check(not [d for d in data if d["name"].startswith("disk_") and
               d["dimensions"].get("fstype") in ("sysfs", "devtmpfs")], "ignored fs reported")


def test_root_points_at_a_fixture_tree():
    root = os.path.join(cwtest.REPO, "tests", "fixtures", "collect", "a")
    data = collect({"mem": {"measurement": ["mem_total", "used"]}, "processes": {}},
                   interval="0.01", extra=["--root", root])
    eq(one(data, "mem_total"), 25276514304, "mem_total from the fixture")
    eq(one(data, "mem_used"), 110825472, "mem_used from the fixture")
    eq(one(data, "processes_total"), 8, "processes from the fixture")
    eq(len(by_name(data, "mem_free")), 0, "measurement filter")


cwtest.main(globals())
