"""`cwagent cost` on the reference agent's sample configurations
(tests/fixtures/reference/amazon-cloudwatch-agent/samples/*.json with a metrics section): the
series it counts, per plugin, are exactly the series `cwagent run` publishes with the same
configuration on this host (ListMetrics on the emulator). Each sample runs from a copy with the
intervals set to 1 s and the endpoint, credentials and logs sections removed (intervals do not
change which series exist). Also: the estimate's arithmetic on a small config, the price file's
errors, and the warning for a configuration that explodes (per-cpu)."""
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import cwtest
import run_common as rc

SAMPLES = os.path.join(cwtest.REFERENCE, "amazon-cloudwatch-agent", "samples")
PRICES = os.path.join(cwtest.REPO, "packaging", "cloudwatch-prices.json")
RUN_S = 3.5


def samples():
    out = []
    for p in sorted(glob.glob(os.path.join(SAMPLES, "*.json"))):
        with open(p) as f:
            doc = json.load(f)
        if "metrics" in doc:
            out.append((p, doc))
    return out


def fast_copy(doc):
    cp = copy.deepcopy(doc)
    for k in ("logs", "traces"):
        cp.pop(k, None)
    agent = cp.setdefault("agent", {})
    for k in ("credentials", "logfile"):
        agent.pop(k, None)
    agent["metrics_collection_interval"] = 1
    m = cp["metrics"]
    for k in ("endpoint_override", "credentials"):
        m.pop(k, None)
    m["force_flush_interval"] = 1
    for conf in m["metrics_collected"].values():
        for c in conf if isinstance(conf, list) else [conf]:
            if isinstance(c, dict) and "metrics_collection_interval" in c:
                c["metrics_collection_interval"] = 1
    return cp


def cost(cfg, env, *args):
    r = subprocess.run([cwtest.CWAGENT, "cost", "-c", cfg, "--prices", PRICES] + list(args),
                       capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    return r


def key(name, dims):
    return (name, tuple(sorted((d["Name"], d["Value"]) for d in dims)))


def check_sample(path, doc):
    name = os.path.basename(path)
    tmp = tempfile.mkdtemp(prefix="cwcost-")
    try:
        with cwtest.Emulator("-q", "--region", "*") as emu:
            cfg = rc.write_json(os.path.join(tmp, name), fast_copy(doc))
            env = rc.agent_env(emu, extra={"AWS_REGION": "us-east-1"})
            r = cost(cfg, env, "--json", "--list-series")
            cwtest.eq(r.returncode, 0, "%s: cost exit status (stderr %s)" % (name, r.stderr[-600:]))
            report = json.loads(r.stdout)
            planned = {key(s["name"], s["dimensions"]): s["plugin"] for s in report["series_list"]}
            cwtest.eq(report["series"], len(planned), "%s: series count vs list" % name)
            ag = rc.Agent([cfg], os.path.join(tmp, "state"), env).start()
            try:
                time.sleep(RUN_S)
                code, _ = ag.stop()
            finally:
                ag.close()
            cwtest.eq(code, 0, "%s: agent exit (stderr %s)" % (name, ag.err()[-600:]))
            got = {key(m["name"], m["dimensions"]) for m in rc.metrics(emu)}
        extra, missing = sorted(got - set(planned)), sorted(set(planned) - got)
        cwtest.check(not extra, "%s: published but not counted by cost: %s" % (name, extra[:5]))
        cwtest.check(not missing, "%s: counted by cost but not published: %s" % (name, missing[:5]))
        per_plugin = {p["plugin"]: p["series"] for p in report["plugins"]}
        warned = {w["plugin"] for w in report["warnings"]}
        for plugin, n in per_plugin.items():
            if n > 50:
                cwtest.check(plugin in warned, "%s: %s publishes %d series without a warning" % (name, plugin, n))
        for plugin, n in per_plugin.items():
            cwtest.eq(sum(1 for k in got if planned.get(k) == plugin), n, "%s: %s series" % (name, plugin))
        return per_plugin
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_test(path, doc):
    def t():
        per = check_sample(path, doc)
        print("  %s: %s" % (os.path.basename(path), ", ".join("%s %d" % kv for kv in sorted(per.items()))))
    return t


for _p, _d in samples():
    globals()["test_cost_matches_run_" + re.sub(r"\W", "_", os.path.basename(_p)[:-5])] = make_test(_p, _d)


def test_arithmetic_and_explosion_warning():
    tmp = tempfile.mkdtemp(prefix="cwcost-")
    try:
        cfg = rc.write_json(os.path.join(tmp, "c.json"), {
            "agent": {"metrics_collection_interval": 60, "region": "us-east-1"},
            "metrics": {"force_flush_interval": 60, "metrics_collected": {
                "mem": {"measurement": ["mem_used_percent", "mem_available"]},
                "cpu": {"measurement": ["usage_idle", "usage_user", "usage_system", "usage_iowait",
                                        "usage_steal", "usage_nice", "usage_irq", "usage_softirq",
                                        "usage_guest", "usage_active"],
                        "resources": ["*"], "totalcpu": True}}}})
        env = rc.agent_env(None, extra={"AWS_EC2_METADATA_DISABLED": "true"})
        r = cost(cfg, env, "--json", "--log-gb-per-month", "10")
        cwtest.eq(r.returncode, 0, "cost (stderr %s)" % r.stderr)
        rep = json.loads(r.stdout)
        ncpu = os.cpu_count()
        cwtest.eq({p["plugin"]: p["series"] for p in rep["plugins"]}, {"cpu": 10 * (ncpu + 1), "mem": 2},
                  "series per plugin")
        n = rep["series"]
        cwtest.check(rep["estimate"] is True, "marked as an estimate")
        cwtest.eq(round(rep["monthly_cost"]["metrics"], 6), round(0.30 * n, 6), "metrics cost")
        calls = 730 * 60 * (-(-n // 1000))  # one flush a minute, ceil(n / 1000) calls each
        cwtest.eq(rep["put_metric_data_calls_per_month"], calls, "calls per month")
        cwtest.eq(round(rep["monthly_cost"]["put_metric_data"], 6), round(calls / 1000 * 0.01, 6), "API cost")
        cwtest.eq(rep["monthly_cost"]["logs"], 5.0, "10 GB of logs at 0.50")
        text = cost(cfg, env).stdout
        cwtest.check(text.startswith("ESTIMATE"), "text says it is an estimate: %r" % text[:80])
        if 10 * (ncpu + 1) > 50 or ncpu + 1 > 10:  # the cost module's thresholds
            cwtest.check("warning: cpu publishes" in text and "per-cpu" in text, "per-cpu warning: %s" % text)
            cwtest.eq([w["plugin"] for w in rep["warnings"]], ["cpu"], "warnings")
        else:
            cwtest.eq(rep["warnings"], [], "warnings for %d cpus" % ncpu)
        bad = rc.write_json(os.path.join(tmp, "prices.json"), {"as_of": "x", "region": "r", "currency": "USD",
                                                               "source": "s", "metric_tiers": []})
        r = subprocess.run([cwtest.CWAGENT, "cost", "-c", cfg, "--prices", bad], capture_output=True,
                           text=True, timeout=60, env=env)
        cwtest.eq(r.returncode, 2, "bad price file exit status")
        cwtest.check("prices.json: metric_tiers: expected 1 to 8 tiers" in r.stderr, r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    cwtest.main(globals())
