"""The reference agent's sample configurations (tests/fixtures/reference/amazon-cloudwatch-agent/
samples/*.json) that have a "metrics" section, run with `cwagent run -c SAMPLE -c override.json`
for a few seconds against the emulator.

The override file adds the emulator endpoint, a 1 s collection interval and a 1 s flush. The
merge rules (config/config.h) make the same scalar with two different values an error, so the
override only carries the keys the sample does not set. complete_linux_config.json sets all
three (and a FIPS endpoint, role ARNs and a logs section that would reach real AWS): it is run
from a copy with endpoint_override, credentials, intervals and the logs/traces sections removed.

Each sample either publishes every metric it asks for that cwagent collects, named as the
reference names it, or is reported key by key: every plugin and measurement cwagent does not
implement has its own "...: not supported by cwagent; ignored" warning naming its JSON path.
"""
import copy
import glob
import json
import os
import re
import shutil
import tempfile
import time

import cwtest
import run_common as rc

SAMPLES = os.path.join(cwtest.REFERENCE, "amazon-cloudwatch-agent", "samples")
SUPPORTED = {"cpu", "disk", "diskio", "mem", "swap", "net", "netstat", "processes", "procstat",
             "ethtool", "nvidia_gpu", "system",
             "statsd", "collectd"}  # the listeners publish what they receive: nothing here
# plugins whose first gather already yields datums (the others are deltas: they need two)
GAUGES = {"disk", "mem", "swap", "netstat", "processes", "procstat"}
RUN_S = 3.5


def samples():
    out = []
    for p in sorted(glob.glob(os.path.join(SAMPLES, "*.json"))):
        with open(p) as f:
            doc = json.load(f)
        if "metrics" in doc:
            out.append((p, doc))
    return out


def override_for(doc, endpoint):
    """(extra config paths content, copy of the sample or None)."""
    agent, metrics = doc.get("agent", {}), doc["metrics"]
    if "endpoint_override" in metrics:
        cp = copy.deepcopy(doc)
        for k in ("logs", "traces"):
            cp.pop(k, None)
        cp["agent"].pop("credentials", None)
        cp["agent"].pop("metrics_collection_interval", None)
        cp["agent"].pop("logfile", None)
        for k in ("endpoint_override", "force_flush_interval", "credentials"):
            cp["metrics"].pop(k, None)
        agent, metrics, doc = cp["agent"], cp["metrics"], cp
    else:
        cp = None
    ov = {"metrics": {"endpoint_override": endpoint, "metrics_collected": {}}}
    if "force_flush_interval" not in metrics:
        ov["metrics"]["force_flush_interval"] = 1
    if "metrics_collection_interval" not in agent:
        ov["agent"] = {"metrics_collection_interval": 1}
    return ov, cp


def field_of(plugin, entry):
    """(field, final name) of a measurement entry (string or {name, rename})."""
    name = entry if isinstance(entry, str) else entry["name"]
    field = name[len(plugin) + 1:] if name.startswith(plugin + "_") else name
    prefix = "nvidia_smi" if plugin == "nvidia_gpu" else plugin  # the reference's measurement
    if plugin == "nvidia_gpu" and name.startswith("nvidia_smi_"):
        field = name[len("nvidia_smi_"):]
    final = entry.get("rename") if isinstance(entry, dict) and entry.get("rename") else "%s_%s" % (prefix, field)
    if plugin == "procstat" and field == "pid_count":
        final = "procstat_lookup_pid_count"
    return field, final


def plugin_instances(doc):
    for plugin, conf in doc["metrics"]["metrics_collected"].items():
        for i, c in enumerate(conf if isinstance(conf, list) else [conf]):
            yield plugin, i if isinstance(conf, list) else None, c


def processes():
    """[(cmdline, comm)] of the running processes."""
    out = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(d + "/comm") as f:
                out.append((cmd, f.read().strip()))
        except OSError:
            continue
    return out


def procstat_matches(c, procs):
    """Whether a procstat entry finds a process (the agent itself counts: a sample's path in
    its command line matches the pattern "amazon-cloudwatch-agent", as the reference's own
    binary would)."""
    if c.get("pid_file"):
        try:
            with open(c["pid_file"]) as f:
                return os.path.exists("/proc/%d" % int(f.read().strip()))
        except (OSError, ValueError):
            return False
    pat = c.get("pattern") or c.get("exe")
    rx = re.compile(pat)
    return any(rx.search(cmd if c.get("pattern") else comm) for cmd, comm in procs)


def has_amazon_nvme():
    for model in glob.glob("/sys/class/nvme/nvme*/model"):
        with open(model) as f:
            if f.read().strip().startswith("Amazon"):
                return True
    return False


def needs_hardware(plugin, c, field, logged):
    """True when the datum needs hardware this host lacks (an NVIDIA GPU, an EBS / instance
    store NVMe controller); the collector must then say so once in the log (`logged`)."""
    if plugin == "nvidia_gpu" and not os.access(c.get("bin_path", "/usr/bin/nvidia-smi"), os.X_OK):
        logged.add("[collectors] nvidia_gpu: ")
        return True
    if plugin == "diskio" and field.startswith(("ebs_", "instance_store_")) and not has_amazon_nvme():
        logged.add("[collectors] diskio_nvme: ")
        return True
    return False


def expectations(doc, warnings, procs, logged=None):
    """({final name: interval} cwagent must publish, names it must not, the unsupported keys
    it must name in a warning); `logged` collects the log lines hardware-less hosts must show."""
    agent_iv = doc.get("agent", {}).get("metrics_collection_interval", 1)
    want, never, unsupported = {}, set(), []
    logged = set() if logged is None else logged
    for plugin, idx, c in plugin_instances(doc):
        path = "metrics.metrics_collected.%s" % plugin + ("[%d]" % idx if idx is not None else "")
        if plugin not in SUPPORTED:
            if path.split("[")[0] not in unsupported:
                unsupported.append(path.split("[")[0])
            continue
        if plugin == "cpu" and c.get("totalcpu", True) is False and "*" not in c.get("resources", []):
            # the reference's telegraf cpu input with percpu=false and totalcpu=false emits
            # nothing (standard_config_linux.json, advanced_config_linux.json)
            never.update(field_of("cpu", m)[1] for m in c.get("measurement", []))
            continue
        iv = c.get("metrics_collection_interval", agent_iv)
        if iv > 2 and plugin not in GAUGES:
            continue  # a delta plugin with a long interval publishes after its second gather
        if plugin == "procstat" and not procstat_matches(c, procs):
            continue
        drop = set(c.get("drop_original_metrics", []))
        for j, m in enumerate(c.get("measurement", [])):
            field, final = field_of(plugin, m)
            if any(("%s.measurement[%d]" % (path, j)) in w for w in warnings):
                continue  # reported as not supported (checked below)
            if needs_hardware(plugin, c, field, logged):
                continue
            if final in drop or "%s_%s" % (plugin, field) in drop:
                continue  # original dropped (roll-ups only, none without aggregation_dimensions)
            want[final] = iv
    return want, never, unsupported


def run_sample(emu, tmp, path, doc):
    ov, cp = override_for(doc, emu.endpoint)
    if cp is not None:
        path = rc.write_json(os.path.join(tmp, os.path.basename(path)), cp)
        doc = cp
    ovp = rc.write_json(os.path.join(tmp, "override.json"), ov)
    env = rc.agent_env(emu, extra={"AWS_REGION": "us-east-1"})
    ag = rc.Agent([path, ovp], os.path.join(tmp, "state"), env).start()
    try:
        time.sleep(RUN_S)
        procs = processes()
        code, _ = ag.stop()
    finally:
        ag.close()
    return doc, ag, code, procs


def check_sample(emu, tmp, path, doc):
    name = os.path.basename(path)
    emu.post("/_emulator/reset", {})
    doc, ag, code, procs = run_sample(emu, tmp, path, doc)
    err = ag.err()
    cwtest.eq(code, 0, "%s: exit status (stderr: %s)" % (name, err[-800:]))
    warnings = [l for l in err.splitlines() if "not supported by cwagent" in l or "no measurement cwagent" in l]
    logged = set()
    want, never, unsupported = expectations(doc, warnings, procs, logged)
    for line in sorted(logged):
        cwtest.check(line in err, "%s: no log line %r (stderr: %s)" % (name, line, err[-800:]))
    for key in unsupported:
        cwtest.check(any(key + ":" in w and "not supported" in w for w in warnings),
                     "%s: no 'not supported' warning for %s; warnings: %s" % (name, key, warnings))
    got = rc.metrics(emu)
    names = {m["name"] for m in got}
    missing = sorted(set(want) - names)
    cwtest.check(not missing, "%s: asked for but not published: %s (got %s)" % (name, missing, sorted(names)))
    cwtest.eq(sorted(never & names), [], "%s: published although the reference sends nothing" % name)
    global_dims = "append_dimensions" in doc["metrics"]
    ns = doc["metrics"].get("namespace", "CWAgent")
    rollups = {tuple(sorted(a)) for a in doc["metrics"].get("aggregation_dimensions", [])}
    for m in got:
        dn = rc.dim_names(m)
        cwtest.eq(m["namespace"], ns, "%s: namespace" % name)
        if dn in rollups:
            continue  # an aggregation_dimensions roll-up: only those dimensions
        if global_dims:
            cwtest.check("host" not in dn and "InstanceId" in dn, "%s: %s dims %s" % (name, m["name"], dn))
        elif not doc.get("agent", {}).get("omit_hostname"):
            cwtest.eq(dn[:1], ("host",), "%s: %s first dimension" % (name, m["name"]))
        if m["name"] in want:
            cwtest.eq(m["storage_resolution"], 1 if want[m["name"]] < 60 else 60,
                      "%s: %s StorageResolution" % (name, m["name"]))
    if rollups:  # roll-ups of several series share (name, dims, timestamp): compare counts only
        cwtest.eq(len(got), ag.queued_total(), "%s: delivered vs queued" % name)
    else:
        rc.check_exactly_once(got, ag.queued_total(), name)
    return len(want), len(unsupported)


def make_test(path, doc):
    def t():
        tmp = tempfile.mkdtemp(prefix="cwe2e-")
        try:
            with cwtest.Emulator("--region", "*") as emu:
                n, u = check_sample(emu, tmp, path, doc)
            print("  %s: %d metrics published, %d unsupported plugins reported" % (os.path.basename(path), n, u))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return t


for _p, _d in samples():
    globals()["test_sample_" + re.sub(r"\W", "_", os.path.basename(_p)[:-5])] = make_test(_p, _d)

if not samples():
    def test_samples_present():
        raise cwtest.Skip("no samples under %s" % SAMPLES)

cwtest.main(globals())
