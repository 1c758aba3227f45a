"""agent.cwagent.prometheus: cwagent's node_exporter-compatible /metrics, judged by Debian's own
Prometheus tools: the `prometheus` server scrapes it and answers PromQL queries over its HTTP
API, `promtool check metrics` parses it, and `prometheus-node-exporter` on the same host serves
the same names, labels and values. Then hostile clients (garbage, slowloris, 10,000
connections) must not stall scrapes, collection or delivery to CloudWatch."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import cwtest
import run_common as rc
from cwtest import check, eq

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"

# The families the issue lists (node_exporter 1.5.0 names).
FAMILIES = [
    "node_uname_info", "node_cpu_seconds_total", "node_load1", "node_load5", "node_load15",
    "node_memory_MemTotal_bytes", "node_memory_MemFree_bytes", "node_memory_MemAvailable_bytes",
    "node_memory_Buffers_bytes", "node_memory_Cached_bytes", "node_memory_SReclaimable_bytes",
    "node_memory_SwapTotal_bytes", "node_memory_SwapFree_bytes", "node_memory_Active_anon_bytes",
    "node_filesystem_size_bytes", "node_filesystem_free_bytes", "node_filesystem_avail_bytes",
    "node_filesystem_files", "node_filesystem_files_free", "node_filesystem_readonly",
    "node_filesystem_device_error", "node_disk_reads_completed_total",
    "node_disk_writes_completed_total", "node_disk_read_bytes_total",
    "node_disk_written_bytes_total", "node_disk_read_time_seconds_total",
    "node_disk_write_time_seconds_total", "node_disk_io_time_seconds_total", "node_disk_io_now",
    "node_network_receive_bytes_total", "node_network_transmit_bytes_total",
    "node_network_receive_packets_total", "node_network_transmit_packets_total",
    "node_network_receive_errs_total", "node_network_transmit_errs_total",
    "node_network_receive_drop_total", "node_network_transmit_drop_total", "node_network_up",
    "node_boot_time_seconds", "node_time_seconds", "node_procs_running", "node_procs_blocked",
    "node_context_switches_total", "node_forks_total", "node_intr_total",
]
PRESSURE = ["node_pressure_cpu_waiting_seconds_total", "node_pressure_io_waiting_seconds_total",
            "node_pressure_io_stalled_seconds_total", "node_pressure_memory_waiting_seconds_total",
            "node_pressure_memory_stalled_seconds_total"]

UPSTREAM_MOUNTS = "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
LINE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def need(*paths):
    for p in paths:
        if not os.path.exists(p):
            raise cwtest.Skip("%s is not installed (Debian package in DEB_PKGS)" % p)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse(text):
    """{family: {frozenset(labels.items()): value}} and {family: type}."""
    series, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = LINE_RE.match(line)
        check(m is not None, "unparsable line %r" % line)
        labels = frozenset(LABEL_RE.findall(m.group(3) or ""))
        series.setdefault(m.group(1), {})[labels] = float(m.group(4))
    return series, types


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def wait_up(url, seconds=10):
    deadline = time.time() + seconds
    while True:
        try:
            return get(url)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


class Exporter:
    """cwagent run with /metrics on a free port (and the emulator for CloudWatch delivery)."""

    def __init__(self, tmp, emu=None, interval=1):
        self.port = free_port()
        self.listen = "127.0.0.1:%d" % self.port
        agent = {"metrics_collection_interval": interval, "region": "us-east-1",
                 "cwagent": {"prometheus": {"listen": self.listen}}}
        cfg = {"agent": agent}
        if emu:
            cfg = rc.metrics_config(emu.endpoint, {"mem": {"measurement": ["mem_used_percent"]}})
            cfg["agent"].update(agent)
        self.cfgpath = rc.write_json(os.path.join(tmp, "c.json"), cfg)
        self.state = os.path.join(tmp, "state")
        self.agent = rc.Agent([self.cfgpath], self.state, rc.agent_env(emu))
        self.url = "http://%s/metrics" % self.listen

    def __enter__(self):
        self.agent.start()
        wait_up(self.url)
        return self

    def __exit__(self, *exc):
        code, _ = self.agent.stop()
        text = self.agent.err()
        self.agent.close()
        if exc[0] is None:  # a clean stop: exit 0, and (under ASan) no leak report
            eq(code, 0, "agent exit status; log tail: %s" % text[-2000:])

    def status(self):
        r = subprocess.run([cwtest.CWAGENT, "status", "--json", "--state-dir", self.state],
                           capture_output=True, text=True, timeout=20)
        eq(r.returncode, 0, "status exit (%s)" % r.stderr)
        return json.loads(r.stdout)


def test_format_headers_and_errors():
    with tempfile.TemporaryDirectory() as tmp, Exporter(tmp) as ex:
        status, ctype, body = get(ex.url)
        eq(status, 200, "status")
        eq(ctype, "text/plain; version=0.0.4; charset=utf-8", "content type")
        series, types = parse(body)
        for fam in FAMILIES:
            check(fam in series, "family %s missing from /metrics" % fam)
            check(fam in types, "family %s has no TYPE line" % fam)
            check(("# HELP %s " % fam) in body, "family %s has no HELP line" % fam)
        eq(types["node_cpu_seconds_total"], "counter", "cpu type")
        eq(types["node_load1"], "gauge", "load type")
        for fam in series:  # no host or instance labels; counters end in _total
            for labels in series[fam]:
                names = {k for k, _ in labels}
                check(not names & {"host", "instance", "job"}, "%s has %s" % (fam, names))
            if types.get(fam) == "counter":
                check(fam.endswith("_total"), "counter %s without _total" % fam)
        for bad_path, want in (("/", 404), ("/metricsx", 404), ("/metrics/", 404)):
            try:
                get("http://%s%s" % (ex.listen, bad_path))
                raise AssertionError("%s answered 200" % bad_path)
            except urllib.error.HTTPError as e:
                eq(e.code, want, "status of %s" % bad_path)
        req = urllib.request.Request(ex.url, data=b"x", method="POST")
        try:
            urllib.request.urlopen(req, timeout=5)
            raise AssertionError("POST answered 200")
        except urllib.error.HTTPError as e:
            eq(e.code, 405, "POST status")
            eq(e.headers.get("Allow"), "GET, HEAD", "Allow header")
        st = ex.status()["prometheus"]
        check(st["scrapes"] >= 1 and st["not_found"] == 3 and st["bad_requests"] == 1,
              "status counters: %s" % st)
        r = subprocess.run([cwtest.CWAGENT, "status", "--state-dir", ex.state],
                           capture_output=True, text=True, timeout=20)
        check(("prometheus    http://%s/metrics: " % ex.listen) in r.stdout and
              "3 not found" in r.stdout, "readable status: %s" % r.stdout)


def test_promtool_check_metrics():
    need(PROMTOOL)
    with tempfile.TemporaryDirectory() as tmp, Exporter(tmp) as ex:
        _, _, body = get(ex.url)
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                           text=True, timeout=30)
        out = (r.stdout + r.stderr).strip().splitlines()
        # exit 3 = lint findings only; node_exporter's own node_memory_* names (camelCase from
        # /proc/meminfo) draw the same finding, and keeping them is the point.
        check(r.returncode in (0, 3), "promtool exit %d: %s" % (r.returncode, out[:5]))
        others = [l for l in out if not (l.startswith("node_memory_") and "camelCase" in l)]
        eq(others, [], "promtool findings other than node_exporter's meminfo names")


def prom_query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    _, _, body = get(url)
    doc = json.loads(body)
    eq(doc["status"], "success", "query %s" % expr)
    return doc["data"]["result"]


def test_prometheus_server_scrapes_and_queries():
    need(PROMETHEUS)
    with tempfile.TemporaryDirectory() as tmp, Exporter(tmp) as ex:
        pport = free_port()
        pcfg = os.path.join(tmp, "prometheus.yml")
        with open(pcfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: node\n    static_configs:\n"
                    "      - targets: ['%s']\n" % ex.listen)
        plog = open(os.path.join(tmp, "prometheus.log"), "w")
        proc = subprocess.Popen([PROMETHEUS, "--config.file", pcfg,
                                 "--storage.tsdb.path", os.path.join(tmp, "tsdb"),
                                 "--web.listen-address", "127.0.0.1:%d" % pport],
                                stdout=plog, stderr=plog)
        base = "http://127.0.0.1:%d" % pport
        try:
            queries = {
                "node_load1": "node_load1",
                "cpu_rate": 'sum(rate(node_cpu_seconds_total{mode="idle"}[5s]))',
                "mem": "node_memory_MemAvailable_bytes",
                "rootfs": 'node_filesystem_avail_bytes{mountpoint="/"}',
                "uname": "node_uname_info",
                "up": 'up{job="node"}',
            }
            got, deadline = {}, time.time() + 40
            while time.time() < deadline and len(got) < len(queries):
                for k, q in queries.items():
                    try:
                        res = prom_query(base, q)
                    except (OSError, ValueError):
                        break
                    if res:
                        got[k] = res
                time.sleep(0.5)
            missing = sorted(set(queries) - set(got))
            with open(os.path.join(tmp, "prometheus.log")) as f:
                log_tail = f.read()[-1500:]
            eq(missing, [], "queries without a result (prometheus log: %s)" % log_tail)
            eq(got["up"][0]["value"][1], "1", "scrape target up")
            uname = got["uname"][0]["metric"]
            eq(uname["job"], "node", "job label added by Prometheus")
            eq(uname["instance"], ex.listen, "instance label added by Prometheus")
            eq(uname["nodename"], os.uname().nodename, "nodename")
            check(float(got["mem"][0]["value"][1]) > 0, "MemAvailable %s" % got["mem"])
            check(float(got["rootfs"][0]["value"][1]) > 0, "root fs avail %s" % got["rootfs"])
            idle = float(got["cpu_rate"][0]["value"][1])
            check(0 <= idle <= os.cpu_count() + 0.5, "idle cpu rate %s" % idle)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            plog.close()


def labelnames(series, fam):
    return {frozenset(k for k, _ in labels) for labels in series.get(fam, {})}


def only(series, fam, **want):
    for labels, v in series.get(fam, {}).items():
        d = dict(labels)
        if all(d.get(k) == val for k, val in want.items()):
            return v
    return None


def test_side_by_side_with_node_exporter():
    need(NODE_EXPORTER)
    with tempfile.TemporaryDirectory() as tmp, Exporter(tmp) as ex:
        nport = free_port()
        nlog = open(os.path.join(tmp, "ne.log"), "w")
        # Debian patches two defaults (lo and /run, /mnt, /media left out); cwagent follows
        # upstream node_exporter, so give Debian's binary upstream's defaults back.
        proc = subprocess.Popen([NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % nport,
                                 "--collector.netdev.device-exclude=",
                                 "--collector.filesystem.mount-points-exclude=" + UPSTREAM_MOUNTS],
                                stdout=nlog, stderr=nlog)
        try:
            _, _, ne_text = wait_up("http://127.0.0.1:%d/metrics" % nport)
            t_ne = time.time()
            _, _, cw_text = get(ex.url)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            nlog.close()
        cw, cw_types = parse(cw_text)
        ne, ne_types = parse(ne_text)
        fams = FAMILIES + [f for f in PRESSURE if f in ne]
        for fam in fams:
            check(fam in ne, "node_exporter has no %s" % fam)
            check(fam in cw, "cwagent has no %s" % fam)
            eq(cw_types[fam], ne_types[fam], "TYPE of %s" % fam)
            eq(labelnames(cw, fam), labelnames(ne, fam), "label names of %s" % fam)
        # the same series (label sets) for the per-device families
        for fam in ("node_cpu_seconds_total", "node_disk_reads_completed_total",
                    "node_network_receive_bytes_total", "node_filesystem_size_bytes",
                    "node_network_up", "node_uname_info"):
            eq(sorted(map(sorted, cw[fam])), sorted(map(sorted, ne[fam])), "series of %s" % fam)
        # gauges that do not move: equal
        for fam in ("node_memory_MemTotal_bytes", "node_boot_time_seconds",
                    "node_memory_SwapTotal_bytes"):
            eq(list(cw[fam].values()), list(ne[fam].values()), fam)
        for labels, v in ne["node_filesystem_size_bytes"].items():
            eq(cw["node_filesystem_size_bytes"][labels], v, "fs size %s" % dict(labels))
        # counters: cwagent's round is at most one interval (1 s) older than node_exporter's read
        age = t_ne - cw["node_time_seconds"][frozenset()] + 0.2
        check(age < 5, "round age %.2f s" % age)
        for labels, v in ne["node_cpu_seconds_total"].items():
            c = cw["node_cpu_seconds_total"][labels]
            check(-0.02 <= v - c <= age + 0.02,
                  "cpu %s: node_exporter %s, cwagent %s, age %.2f" % (dict(labels), v, c, age))
        check(0 <= ne["node_context_switches_total"][frozenset()] -
              cw["node_context_switches_total"][frozenset()], "context switches go forward")


def slow_client(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    return s


def test_hostile_clients_do_not_stall_scrapes_or_delivery():
    with tempfile.TemporaryDirectory() as tmp, cwtest.Emulator("-q") as emu, \
            Exporter(tmp, emu) as ex:
        port = ex.port
        # garbage, an oversized head, a bare newline flood
        for junk in (b"\x00\xff garbage\r\n\r\n", b"GET\r\n\r\n", b"GET /metrics HTTP/9\r\n\r\n",
                     b"A" * 20000, b"\r\n\r\n"):
            s = slow_client(port, junk)
            try:
                reply = s.recv(200)
            except OSError:
                reply = b""
            s.close()
            check(reply == b"" or reply.startswith(b"HTTP/1.1 4"), "reply to %r: %r"
                  % (junk[:20], reply))
        # slowloris: 200 connections that never finish their request head
        slow = [slow_client(port, b"GET /metrics HTTP/1.1\r\nX-a: ") for _ in range(200)]
        t0 = time.time()
        status, _, body = get(ex.url, timeout=5)
        took = time.time() - t0
        eq(status, 200, "scrape during slowloris")
        check(took < 2, "scrape took %.2f s during slowloris" % took)
        # 10,000 connections, 500 open at a time, each closed without a request
        for _ in range(20):
            batch = []
            for _ in range(500):
                try:
                    batch.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                except OSError:
                    pass
            for s in batch:
                s.close()
        eq(get(ex.url, timeout=5)[0], 200, "scrape after 10,000 connections")
        for s in slow:
            s.close()
        st0 = ex.status()
        time.sleep(3.5)
        st1 = ex.status()
        p = st1["prometheus"]
        check(p["rounds"] >= st0["prometheus"]["rounds"] + 2, "rounds stalled: %s" % p)
        check(st1["metrics"]["datums_sent"] > st0["metrics"]["datums_sent"],
              "CloudWatch delivery stalled: %s -> %s" % (st0["metrics"], st1["metrics"]))
        check(p["bad_requests"] >= 4 and p["evicted"] >= 100, "counters: %s" % p)
        with open("/proc/%d/maps" % ex.agent.proc.pid) as f:
            asan = "libasan" in f.read()  # ASan's shadow memory and quarantine inflate RSS
        with open("/proc/%d/status" % ex.agent.proc.pid) as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        check(asan or rss < 32 * 1024, "agent RSS %d kB after the attack" % rss)


if __name__ == "__main__":
    cwtest.main(globals())
