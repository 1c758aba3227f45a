"""StatsD end to end: real clients nobody here wrote (Debian's python3-statsd, npm's hot-shots)
send to `cwagent run`; the datums read back from the emulator carry the reference agent's names,
dimensions (host, metric_type, tags) and Values/Counts/StatisticValues with exact sums, last
values and statistic sets. Bad input (garbage, truncated lines, oversized datagrams, a bounded
flood) is refused, counted in `cwagent status`, and never stops the good lines."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import cwtest
import run_common as rc
from cwtest import check, eq

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_DIR = os.path.join(REPO, "tests", "node", "statsd")
DEBIAN_PY = "/usr/lib/python3/dist-packages"


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def statsd_config(emu, port, **statsd):
    sd = {"service_address": "127.0.0.1:%d" % port, "metrics_collection_interval": 60}
    sd.update(statsd)
    return rc.metrics_config(emu.endpoint, {"statsd": sd}, interval=60, flush=60)


def status(state):
    r = subprocess.run([cwtest.CWAGENT, "status", "--json", "--state-dir", state], capture_output=True,
                       text=True, timeout=20)
    eq(r.returncode, 0, "status exit (%s)" % r.stderr)
    return json.loads(r.stdout)


class Run:
    """The agent with a StatsD config; `send` is called once it listens, then SIGTERM delivers."""

    def __init__(self, emu, cfg):
        self.emu, self.cfg = emu, cfg
        self.tmp = tempfile.mkdtemp(prefix="cwstatsd-")
        self.state = os.path.join(self.tmp, "state")
        self.ag = None

    def __enter__(self):
        path = rc.write_json(os.path.join(self.tmp, "cfg.json"), self.cfg)
        self.ag = rc.Agent([path], self.state, rc.agent_env(self.emu)).start()
        rc.wait_for(lambda: "listening on" in self.ag.err(), 10,
                    what="the StatsD listener (stderr: %s)" % self.ag.err()[-500:])
        return self

    def stop(self):
        code, _ = self.ag.stop()
        eq(code, 0, "exit status (stderr: %s)" % self.ag.err()[-800:])
        return rc.metrics(self.emu)

    def __exit__(self, *exc):
        if self.ag:
            self.ag.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def by_series(got):
    """{(name, ((dim, value), ...)): [datum, ...]}"""
    out = {}
    for m in got:
        out.setdefault((m["name"], tuple((d["Name"], d["Value"]) for d in m["dimensions"])), []).append(m)
    return out


def stats(datums):
    """StatisticValues summed over the datums of one series (windows may split them)."""
    n = s = 0.0
    lo, hi = float("inf"), float("-inf")
    for m in datums:
        sv = m.get("statistic_values")
        check(sv is not None and "values" in m, "Values with StatisticValues expected: %r" % m)
        n += sv["SampleCount"]
        s += sv["Sum"]
        lo, hi = min(lo, sv["Minimum"]), max(hi, sv["Maximum"])
    return n, s, lo, hi


def one(series, name, **dims):
    host = rc.hostname()
    want = tuple([("host", host)] + sorted(dims.items()))
    got = series.get((name, want))
    check(got, "no datum %s %r; have %s" % (name, want, sorted(series.keys())))
    return got


def values(datums):
    out = {}
    for m in datums:
        for v, c in zip(m["values"], m["counts"]):
            out[v] = out.get(v, 0) + c
    return out


def test_python_statsd_counters_gauges_timers_sets_pipelines():
    if not os.path.exists(os.path.join(DEBIAN_PY, "statsd", "__init__.py")):
        raise cwtest.Skip("Debian's python3-statsd is not installed")
    port = free_udp_port()
    client_code = r"""
import sys, time
sys.path.insert(0, %r)
import statsd
c = statsd.StatsClient('127.0.0.1', %d, prefix='app')
for _ in range(7):
    c.incr('orders')
c.incr('orders', 3)
c.decr('orders')
c.gauge('temp', 20)
c.gauge('temp', 5, delta=True)
c.gauge('temp', -3, delta=True)
for ms in (12, 18, 30):
    c.timing('db.query', ms)
c.set('visitors', 'ann')
c.set('visitors', 'bob')
c.set('visitors', 'ann')
with c.pipeline() as p:
    p.incr('pipe.count')
    p.incr('pipe.count', 4)
    p.timing('pipe.t', 5)
""" % (DEBIAN_PY, port)
    with cwtest.Emulator() as emu, Run(emu, statsd_config(emu, port)) as run:
        subprocess.run(["/usr/bin/python3", "-c", client_code], check=True, timeout=20)
        time.sleep(0.5)
        got = run.stop()
    s = by_series(got)
    for m in got:
        eq(m["storage_resolution"], 60, "%s StorageResolution (aggregation 60 s)" % m["name"])
        eq(m["unit"], "None", "%s unit" % m["name"])
    eq(stats(one(s, "app_orders", metric_type="counter"))[1], 9, "app_orders Sum (7 + 3 - 1)")
    eq(values(one(s, "app_temp", metric_type="gauge")), {22.0: 1.0}, "app_temp last value (20 +5 -3)")
    n, total, lo, hi = stats(one(s, "app_db_query", metric_type="timing"))
    eq((n, total, lo, hi), (3, 60, 12, 30), "app_db_query SampleCount/Sum/Min/Max")
    eq(values(one(s, "app_db_query", metric_type="timing")), {12.0: 1, 18.0: 1, 30.0: 1},
       "app_db_query Values/Counts (exact)")
    eq(stats(one(s, "app_visitors", metric_type="set"))[1], 2, "app_visitors distinct count")
    eq(stats(one(s, "app_pipe_count", metric_type="counter"))[1], 5, "pipeline counter Sum")
    eq(stats(one(s, "app_pipe_t", metric_type="timing"))[:2], (1, 5), "pipeline timing")


def test_hot_shots_dogstatsd_tags_sample_rates_global_tags():
    if not shutil.which("node") or not shutil.which("npm"):
        raise cwtest.Skip("node/npm not installed")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "hot-shots")):
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=NODE_DIR,
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise cwtest.Skip("npm ci failed (no registry?): %s" % r.stderr[-300:])
    port = free_udp_port()
    with cwtest.Emulator() as emu, Run(emu, statsd_config(emu, port)) as run:
        subprocess.run(["node", "send.js", str(port)], cwd=NODE_DIR, check=True, timeout=30)
        time.sleep(0.5)
        got = run.stop()
    s = by_series(got)
    eq(stats(one(s, "hs_requests", metric_type="counter", env="test", route="login"))[1], 10,
       "hs_requests{route:login} Sum")
    eq(stats(one(s, "hs_requests", metric_type="counter", env="test", route="home"))[1], 5,
       "hs_requests{route:home} Sum")
    eq(values(one(s, "hs_queue_depth", metric_type="gauge", env="test")), {17.0: 1.0},
       "gauge last value")
    lat = one(s, "hs_latency", metric_type="timing", env="test", route="login")
    eq(stats(lat), (4, 100, 10, 40), "hs_latency statistic set")
    eq(values(lat), {10.0: 1, 20.0: 1, 30.0: 1, 40.0: 1}, "hs_latency Values/Counts")
    eq(stats(one(s, "hs_size", metric_type="histogram", env="test"))[:2], (1, 512), "histogram")
    eq(stats(one(s, "hs_dist", metric_type="distribution", env="test"))[:2], (1, 7),
       "DogStatsD distribution (the reference refuses |d)")
    eq(stats(one(s, "hs_users", metric_type="set", env="test"))[1], 2, "set of 2 distinct users")
    eq(stats(one(s, "hs_sampled", metric_type="counter", env="test", kind="rate"))[1], 16,
       "4 counter increments at @0.25 count 4 each")
    eq(stats(one(s, "hs_sampled_latency", metric_type="timing", env="test"))[:2], (2, 200),
       "a timing at @0.5 weighs 2")


def test_no_aggregation_sends_each_window_at_high_resolution():
    port = free_udp_port()
    with cwtest.Emulator() as emu:
        cfg = statsd_config(emu, port, metrics_aggregation_interval=0, metrics_collection_interval=1)
        cfg["metrics"]["force_flush_interval"] = 1
        with Run(emu, cfg) as run:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.sendto(b"jobs:2|c\njobs:3|c\nlat:7|ms", ("127.0.0.1", port))
            time.sleep(1.5)
            sock.sendto(b"jobs:4|c", ("127.0.0.1", port))
            sock.close()
            time.sleep(0.3)
            got = run.stop()
    s = by_series(got)
    jobs = one(s, "jobs", metric_type="counter")
    eq(sorted(m["value"] for m in jobs), [4, 5], "one Value per 1-s window (2+3, then 4)")
    for m in jobs:
        eq(m["storage_resolution"], 1, "StorageResolution with aggregation 0")
    lat = one(s, "lat", metric_type="timing")
    eq(stats(lat)[:2], (1, 7), "timings are still Values/Counts")


def test_bad_input_is_refused_counted_and_good_lines_still_arrive():
    port = free_udp_port()
    with cwtest.Emulator() as emu, Run(emu, statsd_config(emu, port, allowed_pending_messages=100)) as run:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dst = ("127.0.0.1", port)
        bad = [b"\x00\xff\xfe garbage", b"no_type:1", b"x:abc|c", b"y:1|zz", b":1|c", b"neg:-1|ms",
               b"trunc:1|", b"z:1|c|junk", b"\n\n", b"w:nan|g"]
        sent_bad = 0
        for b in bad:
            sock.sendto(b, dst)
            sent_bad += 1 if b.strip() else 0
        sock.sendto(b"good:1|c\ngarbage line\ngood:2|c", dst)  # one bad line keeps the rest
        sock.sendto(b"big:1|c\n" + b"x" * 60000, dst)           # a 60 KB line: refused, big kept
        # a bounded flood: 20,000 datagrams as fast as possible (some may be dropped by the
        # kernel; they must then be counted)
        t0 = time.time()
        for i in range(20000):
            sock.sendto(b"flood:1|c", dst)
        flood_s = time.time() - t0
        # the kernel reports its drop count with the next datagram read: send one once the
        # buffer has drained
        time.sleep(1.0)
        sock.sendto(b"after:1|c", dst)
        sock.close()

        last = {}

        def settled():
            last.update(status(run.state)["metrics"].get("statsd", {}))
            return dict(last) if last.get("datagrams", 0) + last.get("kernel_drops", 0) >= 20000 + 13 else None
        try:
            st = rc.wait_for(settled, 20, what="the listener to read every datagram")
        except AssertionError as e:
            raise AssertionError("%s; last status %r" % (e, last))
        got = run.stop()
    eq(st["refused"], sent_bad + 2, "refused lines (status: %r)" % st)
    s = by_series(got)
    eq(stats(one(s, "good", metric_type="counter"))[1], 3, "good lines around a bad one")
    eq(stats(one(s, "big", metric_type="counter"))[1], 1, "line before an oversized one")
    eq(stats(one(s, "after", metric_type="counter"))[1], 1, "a line after the flood")
    flood = stats(one(s, "flood", metric_type="counter"))[1]
    eq(flood + st["kernel_drops"], 20000, "flood received + counted kernel drops")
    sys.stderr.write("flood: 20000 datagrams in %.2f s, %d kernel drops, rcvbuf %d\n"
                     % (flood_s, st["kernel_drops"], st["rcvbuf"]))


def test_outage_loses_nothing_and_sends_nothing_twice():
    """PutMetricData answers 503 (then drops connections) for seconds while StatsD keeps arriving;
    the spool replays: every counter increment and timing arrives exactly once."""
    port = free_udp_port()
    with cwtest.Emulator() as emu:
        cfg = statsd_config(emu, port, metrics_collection_interval=1, metrics_aggregation_interval=1)
        cfg["metrics"]["force_flush_interval"] = 1
        with Run(emu, cfg) as run:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            dst = ("127.0.0.1", port)
            emu.post("/_emulator/faults", [
                {"operation": "PutMetricData", "mode": "503", "seconds": 3},
                {"operation": "PutMetricData", "mode": "drop", "count": 2}])
            for i in range(30):
                sock.sendto(b"outage.count:1|c\noutage.lat:%d|ms" % (i + 1), dst)
                time.sleep(0.2)
            sock.close()
            time.sleep(1.5)
            rc.wait_for(lambda: not [f for f in emu.get("/_emulator/faults")["faults"] if f["active"]],
                        30, step=0.5, what="the faults to be used up")
            fired = [(f["mode"], f["fired"]) for f in emu.get("/_emulator/faults")["faults"]]
            got = run.stop()
    check(fired[0][1] >= 1 and fired[1] == ("drop", 2), "faults fired: %r" % fired)
    s = by_series(got)
    eq(stats(one(s, "outage_count", metric_type="counter"))[1], 30, "counter Sum after the outage")
    eq(stats(one(s, "outage_lat", metric_type="timing")), (30, 465, 1, 30), "timings after the outage")


def test_rollups_and_drop_original_metrics():
    port = free_udp_port()
    with cwtest.Emulator() as emu:
        cfg = statsd_config(emu, port, drop_original_metrics=["dropme"])
        cfg["metrics"]["aggregation_dimensions"] = [["metric_type"], []]
        with Run(emu, cfg) as run:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.sendto(b"dropme:2|c|#a:1\nkeepme:3|c", ("127.0.0.1", port))
            sock.close()
            time.sleep(0.5)
            got = run.stop()
    s = by_series(got)
    host = rc.hostname()
    have = sorted(k for k in s if k[0] in ("dropme", "keepme"))
    eq(have, [("dropme", ()), ("dropme", (("metric_type", "counter"),)),
              ("keepme", ()), ("keepme", (("host", host), ("metric_type", "counter"))),
              ("keepme", (("metric_type", "counter"),))],
       "original datums (dropme dropped) and roll-ups")
    for k in have:
        eq(stats(s[k])[1], 2 if k[0] == "dropme" else 3, "%r Sum" % (k,))


def test_reload_keeps_what_was_received():
    """SIGHUP closes the socket only after the window and the aggregation went to the pipeline,
    and the new pipeline listens on the same port."""
    import signal
    port = free_udp_port()
    with cwtest.Emulator() as emu, Run(emu, statsd_config(emu, port)) as run:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(b"reload.count:1|c\nreload.lat:5|ms", ("127.0.0.1", port))
        time.sleep(0.5)
        run.ag.send(signal.SIGHUP)
        rc.wait_for(lambda: run.ag.err().count("listening on") >= 2, 15, what="the reloaded listener")
        sock.sendto(b"reload.count:2|c\nreload.lat:7|ms", ("127.0.0.1", port))
        sock.close()
        time.sleep(0.5)
        got = run.stop()
    s = by_series(got)
    eq(stats(one(s, "reload_count", metric_type="counter"))[1], 3, "counter Sum across a reload")
    eq(stats(one(s, "reload_lat", metric_type="timing"))[:2], (2, 12), "timings across a reload")


def test_busy_port_is_reported_retried_and_never_stops_the_agent():
    port = free_udp_port()
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", port))
    with cwtest.Emulator() as emu:
        cfg = statsd_config(emu, port)
        cfg["metrics"]["metrics_collected"]["mem"] = {"measurement": ["used_percent"],
                                                      "metrics_collection_interval": 1}
        cfg["metrics"]["force_flush_interval"] = 1
        tmp = tempfile.mkdtemp(prefix="cwstatsd-")
        ag = rc.Agent([rc.write_json(os.path.join(tmp, "c.json"), cfg)], os.path.join(tmp, "state"),
                      rc.agent_env(emu)).start()
        try:
            rc.wait_for(lambda: "retrying every 10 s" in ag.err(), 10, what="the bind error")
            st = status(os.path.join(tmp, "state"))["metrics"]["statsd"]
            eq(st["listening"], False, "listening while the port is busy")
            rc.wait_for(lambda: [m for m in rc.metrics(emu) if m["name"] == "mem_used_percent"], 10,
                        what="host metrics while the StatsD port is busy")
            blocker.close()
            rc.wait_for(lambda: status(os.path.join(tmp, "state"))["metrics"]["statsd"]["listening"],
                        15, what="the listener after the port was freed")
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.sendto(b"late:4|c", ("127.0.0.1", port))
            sock.close()
            time.sleep(0.5)
            code, _ = ag.stop()
            eq(code, 0, "exit status")
        finally:
            ag.close()
            shutil.rmtree(tmp, ignore_errors=True)
            blocker.close()
        s = by_series(rc.metrics(emu))
    eq(stats(one(s, "late", metric_type="counter"))[1], 4, "a line after the retry")


def test_config_validate_accepts_every_statsd_key():
    cfg = {"metrics": {"metrics_collected": {"statsd": {
        "service_address": ":8125", "metrics_collection_interval": 10,
        "metrics_aggregation_interval": 60, "allowed_pending_messages": 10000,
        "metric_separator": "_", "drop_original_metrics": ["x"]}}}}
    tmp = tempfile.mkdtemp(prefix="cwstatsd-")
    try:
        path = rc.write_json(os.path.join(tmp, "c.json"), cfg)
        r = cwtest.run_agent("config", "validate", "-c", path)
        eq(r.returncode, 0, "validate exit (%s)" % r.stderr)
        check("not supported" not in r.stdout + r.stderr, "statsd reported unsupported: %s" % (r.stdout + r.stderr))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    cwtest.main(globals())
