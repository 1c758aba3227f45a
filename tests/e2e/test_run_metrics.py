"""`cwagent run` end to end: every metric a configuration asks for reaches the emulator with the
reference agent's name, unit, dimensions, StorageResolution and namespace; roll-ups and
drop_original_metrics; measurement objects with rename/unit. Each test runs the real binary for
a few seconds against a fresh emulator and stops it with SIGTERM (the final flush delivers)."""
import os
import shutil
import tempfile
import time

import cwtest
import run_common as rc

WANT_UNITS = {
    "mem_used_percent": "Percent", "mem_available": "Bytes", "MemTotalMB": "Megabytes",
    "cpu_usage_idle": "Percent", "cpu_usage_user": "Percent", "disk_used_percent": "Percent",
    "disk_inodes_free": "Count", "swap_used_percent": "Percent", "netstat_tcp_established": "Count",
    "processes_total": "Count", "net_bytes_sent": "Bytes", "diskio_reads": "Count",
}
WANT_DIMS = {  # dimension names after `host`, in order
    "mem_used_percent": (), "mem_available": (), "MemTotalMB": (), "cpu_usage_idle": ("cpu",),
    "disk_used_percent": ("device", "fstype", "path"), "disk_inodes_free": ("device", "fstype", "path"),
    "swap_used_percent": (), "netstat_tcp_established": (), "processes_total": (),
    "net_bytes_sent": ("interface",), "diskio_reads": ("name",),
}


def run_for(emu, cfg, seconds, env_extra=None, static_keys=True, args=()):
    """Runs the agent with cfg for `seconds`, SIGTERM, returns (agent, metrics)."""
    tmp = tempfile.mkdtemp(prefix="cwe2e-")
    ag = None
    try:
        path = rc.write_json(os.path.join(tmp, "cfg.json"), cfg)
        ag = rc.Agent([path], os.path.join(tmp, "state"), rc.agent_env(emu, static_keys, env_extra), args).start()
        time.sleep(seconds)
        code, _ = ag.stop()
        cwtest.eq(code, 0, "exit status (stderr: %s)" % ag.err()[-800:])
        return ag, rc.metrics(emu)
    finally:
        if ag:
            ag.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_names_units_dimensions_with_host():
    collected = {
        "mem": {"measurement": ["mem_used_percent", "available",
                                {"name": "mem_total", "rename": "MemTotalMB", "unit": "Megabytes"}]},
        "cpu": {"measurement": ["usage_idle"], "totalcpu": True},
        "disk": {"measurement": ["used_percent", "inodes_free"], "resources": ["/"]},
        "swap": {"measurement": ["swap_used_percent"]},
        "netstat": {"measurement": ["tcp_established"]},
        "processes": {"measurement": ["total"]},
        "net": {"measurement": ["bytes_sent"]},
        "diskio": {"measurement": ["reads"]},
    }
    with cwtest.Emulator() as emu:
        ag, got = run_for(emu, rc.metrics_config(emu.endpoint, collected), 4.5)
    names = {m["name"] for m in got}
    cwtest.eq(sorted(names), sorted(WANT_UNITS.keys() - {"cpu_usage_user"}), "metric names")
    host = rc.hostname()
    for m in got:
        n = m["name"]
        cwtest.eq(m["namespace"], "CWAgent", "%s namespace" % n)
        cwtest.eq(m["unit"], WANT_UNITS[n], "%s unit" % n)
        cwtest.eq(m["storage_resolution"], 1, "%s StorageResolution (interval 1 s)" % n)
        cwtest.eq(m["dimensions"][0], {"Name": "host", "Value": host}, "%s first dimension" % n)
        cwtest.eq(rc.dim_names(m)[1:], WANT_DIMS[n], "%s dimensions after host" % n)
        cwtest.check("value" in m, "%s has a single Value (no packing by default): %r" % (n, m))
    cpu = [m for m in got if m["name"] == "cpu_usage_idle"]
    cwtest.eq({m["dimensions"][1]["Value"] for m in cpu}, {"cpu-total"}, "cpu dimension values")
    disk = [m for m in got if m["name"] == "disk_used_percent"]
    cwtest.eq({m["dimensions"][3]["Value"] for m in disk}, {"/"}, "disk path (resources [\"/\"])")
    # one datum per sample: the mem series has one point per second of the run
    ts = rc.series(got, "mem_used_percent")
    cwtest.check(len(ts) >= 4, "mem_used_percent: expected >= 4 points in 4.5 s, got %d" % len(ts))
    cwtest.check(rc.max_gap(ts) < 1.8, "mem_used_percent: gap of %.2f s between samples" % rc.max_gap(ts))
    rc.check_exactly_once(got, ag.queued_total())


def test_ec2_dimensions_from_imds_replace_host_and_namespace_and_resolution_60():
    collected = {"mem": {"measurement": ["mem_used_percent"], "append_dimensions": {"Team": "e2e"}},
                 "disk": {"measurement": ["used_percent"], "resources": ["/"]}}
    cfg = rc.metrics_config(None, collected, interval=60, flush=1, namespace="E2E/Run")
    with cwtest.Emulator() as emu:
        cfg["metrics"]["endpoint_override"] = emu.endpoint
        cfg["metrics"]["append_dimensions"] = {
            "InstanceId": "${aws:InstanceId}", "InstanceType": "${aws:InstanceType}",
            "ImageId": "${aws:ImageId}", "AutoScalingGroupName": "${aws:AutoScalingGroupName}"}
        inst = emu.get("/_emulator/state")
        ag, got = run_for(emu, cfg, 3.5)
        ops = [r["operation"] for r in emu.get("/_emulator/requests")["requests"]]
    cwtest.check("DescribeTags" in ops, "AutoScalingGroupName comes from ec2:DescribeTags; requests: %s" % ops)
    i = inst["config"]["instance"]
    want_ec2 = {"AutoScalingGroupName": inst["config"]["asg_name"], "ImageId": i["ami_id"],
                "InstanceId": i["instance_id"], "InstanceType": i["instance_type"]}
    cwtest.eq(sorted({m["name"] for m in got}), ["disk_used_percent", "mem_used_percent"], "names")
    for m in got:
        dims = {d["Name"]: d["Value"] for d in m["dimensions"]}
        cwtest.check("host" not in dims, "%s: host must be removed with append_dimensions: %r" % (m["name"], dims))
        for k, v in want_ec2.items():
            cwtest.eq(dims.get(k), v, "%s dimension %s" % (m["name"], k))
        cwtest.eq(list(rc.dim_names(m)), sorted(rc.dim_names(m)), "%s dimension order" % m["name"])
        cwtest.eq(m["namespace"], "E2E/Run", "namespace")
        cwtest.eq(m["storage_resolution"], 60, "%s StorageResolution (interval 60 s)" % m["name"])
    mem = [m for m in got if m["name"] == "mem_used_percent"]
    cwtest.check(all({"Name": "Team", "Value": "e2e"} in m["dimensions"] for m in mem),
                 "plugin append_dimensions Team=e2e on mem_used_percent: %r" % mem[:1])
    rc.check_exactly_once(got, ag.queued_total())


def test_rollups_and_drop_original_metrics():
    collected = {
        "cpu": {"measurement": ["usage_idle", "usage_user"], "resources": ["*"], "totalcpu": True,
                "drop_original_metrics": ["cpu_usage_user"]},
        "mem": {"measurement": ["mem_used_percent"]},
    }
    cfg = rc.metrics_config(None, collected,
                            aggregation_dimensions=[["cpu"], [], ["cpu", "host"], ["InstanceId"]])
    with cwtest.Emulator() as emu:
        cfg["metrics"]["endpoint_override"] = emu.endpoint
        ag, got = run_for(emu, cfg, 4)
    sets = {}
    for m in got:
        sets.setdefault(m["name"], set()).add(rc.dim_names(m))
    cwtest.eq(sets.get("cpu_usage_idle"), {("host", "cpu"), ("cpu",), ()}, "cpu_usage_idle dimension sets")
    cwtest.eq(sets.get("cpu_usage_user"), {("cpu",), ()}, "cpu_usage_user (original dropped) dimension sets")
    cwtest.eq(sets.get("mem_used_percent"), {("host",), ()}, "mem_used_percent dimension sets")
    # a roll-up is a re-dimensioned copy of each datum, not an aggregate: per timestamp, as many
    # [] datums as originals (one per cpu incl. cpu-total)
    by_ts = {}
    for m in got:
        if m["name"] == "cpu_usage_idle":
            by_ts.setdefault(m["timestamp"], []).append(rc.dim_names(m))
    cwtest.check(by_ts, "no cpu_usage_idle datums")
    for ts, dl in by_ts.items():
        cwtest.eq(dl.count(()), dl.count(("host", "cpu")), "roll-ups [] vs originals at %s" % ts)
    # cpu_usage_user [] roll-up values equal the originals' values (same set of per-cpu values as the [cpu] roll-up)
    for ts in by_ts:
        a = sorted(m["value"] for m in got if m["name"] == "cpu_usage_user" and m["timestamp"] == ts and not m["dimensions"])
        b = sorted(m["value"] for m in got if m["name"] == "cpu_usage_user" and m["timestamp"] == ts and rc.dim_names(m) == ("cpu",))
        cwtest.eq(a, b, "cpu_usage_user roll-up values at %s" % ts)
    # roll-ups of several cpus share (name, dims, timestamp), so only the count is compared
    cwtest.eq(len(got), ag.queued_total(), "delivered vs queued")


def test_omit_hostname_and_per_plugin_interval():
    collected = {"mem": {"measurement": ["mem_used_percent"]},
                 "swap": {"measurement": ["used_percent"], "metrics_collection_interval": 60}}
    cfg = rc.metrics_config(None, collected)
    cfg["agent"]["omit_hostname"] = True
    with cwtest.Emulator() as emu:
        cfg["metrics"]["endpoint_override"] = emu.endpoint
        ag, got = run_for(emu, cfg, 3.5)
    cwtest.check(got, "no datums")
    for m in got:
        cwtest.eq(m["dimensions"], [], "%s dimensions with omit_hostname" % m["name"])
    res = {m["name"]: m["storage_resolution"] for m in got}
    cwtest.eq(res, {"mem_used_percent": 1, "swap_used_percent": 60}, "StorageResolution per plugin interval")
    cwtest.eq(len(rc.series(got, "swap_used_percent")), 1, "swap points (60 s interval, first gather at start)")
    rc.check_exactly_once(got, ag.queued_total())


def test_pack_values_sends_one_accepted_datum_per_series():
    collected = {"mem": {"measurement": ["mem_used_percent"]},
                 "disk": {"measurement": ["used_percent"], "resources": ["/"]}}
    with cwtest.Emulator() as emu:
        # flush every 60 s: the SIGTERM flush packs the whole run's samples
        cfg = rc.metrics_config(emu.endpoint, collected, flush=60)
        ag, got = run_for(emu, cfg, 4.5, args=["--pack-values"])
    sent, rejected, left = ag.stopped()
    cwtest.eq((rejected, left), (0, 0), "rejected datums, batches left (stderr: %s)" % ag.err()[-600:])
    cwtest.eq(sorted(m["name"] for m in got), ["disk_used_percent", "mem_used_percent"], "one datum per series")
    for m in got:
        cwtest.check("values" in m and "counts" in m and "value" not in m, "packed datum: %r" % m)
        cwtest.check("statistic_values" not in m, "Values and StatisticValues together: %r" % m)
        cwtest.check(sum(m["counts"]) >= 4, "%s: %s samples packed in 4.5 s" % (m["name"], sum(m["counts"])))
        cwtest.eq(len(m["values"]), len(m["counts"]), "Values vs Counts length")
    cwtest.eq(sent, len(got), "datums sent")


cwtest.main(globals())
