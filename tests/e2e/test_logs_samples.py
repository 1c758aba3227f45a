"""Logs end to end: every reference sample config with a `logs` section loads.

For each sample: `cwagent config validate` accepts it and names the keys cwagent does not support;
merging an override file (`-c sample -c override.json`) works where the sample has no
conflicting scalar; then a copy with its file paths moved under a temp dir, the endpoints aimed
at the emulator and the role ARNs removed runs, and lines written to its files arrive in the
groups and streams the sample names (filters applied)."""
import json
import os
import re
import socket
import subprocess
import time

import cwtest
from test_logs_basic import Agent, TmpDir, events, wait_for, write_lines

SAMPLES = os.path.join(cwtest.REFERENCE, "amazon-cloudwatch-agent", "samples")
ENV = {"ENV_REGION": "us-east-1", "ENV_LOG_STREAM_NAME": "env-stream", "ENV_CREDENTIALS_ROLE_ARN": ""}


def logs_samples():
    if not os.path.isdir(SAMPLES):
        raise cwtest.Skip("no samples at %s" % SAMPLES)
    out = []
    for name in sorted(os.listdir(SAMPLES)):
        with open(os.path.join(SAMPLES, name)) as f:
            cfg = json.load(f)
        if "logs" in cfg:
            out.append((name, cfg))
    cwtest.check(len(out) >= 4, "found the samples with a logs section: %s" % [n for n, _ in out])
    return out


def validate(*paths):
    args = []
    for p in paths:
        args += ["-c", p]
    return cwtest.run_agent("config", "validate", *args, timeout=30, env=ENV)


def test_samples_validate_and_report_unsupported():
    for name, cfg in logs_samples():
        r = validate(os.path.join(SAMPLES, name))
        cwtest.eq(r.returncode, 0, "%s: validate exit status (%s)" % (name, r.stderr[-500:]))
        logs = cfg["logs"]
        expected = []
        out = r.stdout + r.stderr
        for key in ("logs.logs_collected.journald", "logs.metrics_collected.emf"):
            cwtest.check(not re.search(re.escape(key) + r".*not supported", out),
                         "%s: %s is implemented; output: %s" % (name, key, out[-800:]))
        for i, e in enumerate(logs.get("logs_collected", {}).get("files", {}).get("collect_list", [])):
            if "backpressure_mode" in e:
                expected.append("collect_list[%d].backpressure_mode" % i)
        out = r.stdout + r.stderr
        for key in expected:
            cwtest.check(re.search(re.escape(key) + r".*not supported", out),
                         "%s: %s reported as not supported; output: %s" % (name, key, out[-800:]))


def test_samples_merge_override():
    """-c sample -c override.json: the override adds logs.endpoint_override where the sample has
    none; where it has one, the merge reports the conflict (exit 2) rather than picking one."""
    with TmpDir() as tmp:
        ov = os.path.join(tmp, "override.json")
        with open(ov, "w") as f:
            json.dump({"logs": {"endpoint_override": "http://127.0.0.1:9"}}, f)
        for name, cfg in logs_samples():
            r = cwtest.run_agent("config", "show", "-c", os.path.join(SAMPLES, name), "-c", ov,
                                 timeout=30, env=ENV)
            if "endpoint_override" in cfg["logs"]:
                cwtest.eq(r.returncode, 2, "%s: conflicting endpoint_override refused" % name)
                cwtest.check("endpoint_override" in r.stderr, "%s: conflict named: %s" % (name, r.stderr[-300:]))
                continue
            cwtest.eq(r.returncode, 0, "%s: merged show (%s)" % (name, r.stderr[-300:]))
            cwtest.eq(json.loads(r.stdout)["logs"]["endpoint_override"], "http://127.0.0.1:9",
                      "%s: the override is merged" % name)


def _rewrite(cfg, tmp, endpoint):
    """The sample, runnable here: paths under tmp, endpoints at the emulator, no role ARNs, no
    metrics (not this test's business), the agent's own log file in tmp."""
    cfg = json.loads(json.dumps(cfg))
    cfg.pop("metrics", None)
    agent = cfg.setdefault("agent", {})
    agent.pop("credentials", None)
    agent["logfile"] = os.path.join(tmp, "agent-own.log")
    agent["region"] = "us-east-1"
    logs = cfg["logs"]
    logs.pop("credentials", None)
    logs["endpoint_override"] = endpoint
    logs["force_flush_interval"] = 1
    emf = logs.get("metrics_collected", {}).get("emf")
    if emf is not None:  # tests listen on loopback only (the default is 0.0.0.0:25888)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            emf["service_address"] = "tcp://127.0.0.1:%d" % s.getsockname()[1]
    files = logs.get("logs_collected", {}).get("files", {}).get("collect_list", [])
    for i, e in enumerate(files):
        e["file_path"] = os.path.join(tmp, "f%d-%s" % (i, os.path.basename(e["file_path"])))
    return cfg, files


def _want(sample_logs, entry, instance_id):
    group = entry.get("log_group_name") or re.sub(r"\.[^./]*$", "", entry["file_path"])
    stream = entry.get("log_stream_name") or sample_logs.get("log_stream_name") or instance_id
    if stream == "${ENV_LOG_STREAM_NAME}":
        stream = ENV["ENV_LOG_STREAM_NAME"]
    return group, stream


def test_samples_run_against_emulator():
    for name, sample in logs_samples():
        with TmpDir() as tmp, cwtest.Emulator("-q", "--imdsv1") as emu:
            cfg, files = _rewrite(sample, tmp, emu.endpoint)
            # journald entries: an empty journal directory, not the host's journal
            jdir = os.path.join(tmp, "journal")
            os.mkdir(jdir)
            env = dict(ENV, CWAGENT_JOURNAL_DIR=jdir)
            if not files:
                # journald only: the agent must start and stop cleanly with an empty journal.
                with Agent(tmp, cfg, emu.endpoint, env=env) as ag:
                    time.sleep(1.5)
                    cwtest.check(ag.alive(), "%s: agent runs: %s" % (name, ag.output()[-500:]))
                    cwtest.eq(ag.stop(), 0, "%s: exit status" % name)
                continue
            with cwtest.urllib.request.urlopen(emu.info["imds"] + "/latest/meta-data/instance-id", timeout=5) as r:
                instance_id = r.read().decode()
            wants = {}
            for i, e in enumerate(files):
                lines = ["%s ERROR line %d of %s" % (name, k, i) for k in range(3)] + \
                        ["%s INFO StatusCode 404 in %d" % (name, i), "%s ERROR StatusCode 500 in %d" % (name, i)]
                write_lines(e["file_path"], lines)
                kept = lines
                for flt in e.get("filters", []):
                    rx = re.compile(flt["expression"])
                    kept = [l for l in kept if bool(rx.search(l)) == (flt["type"] == "include")]
                wants.setdefault(_want(sample["logs"], e, instance_id), []).extend(kept)
            with Agent(tmp, cfg, emu.endpoint, env=env) as ag:
                def arrived():
                    ev = events(emu)
                    return all(len(ev.get(k, [])) >= len(v) for k, v in wants.items())
                try:
                    wait_for(arrived, 30, 1, "%s: lines in %s" % (name, sorted(wants)))
                except AssertionError as e:
                    raise AssertionError("%s; have %s; agent: %s" % (e, sorted(events(emu)), ag.output()[-800:]))
                time.sleep(1.5)
                cwtest.eq(ag.stop(), 0, "%s: exit status" % name)
            ev = events(emu)
            for k, v in wants.items():
                cwtest.eq([e["message"] for e in ev[k]], v, "%s: events of %s" % (name, k))
            for e in files:
                if e.get("retention_in_days", -1) > 0:
                    g = emu.get("/_emulator/logs")["groups"][e["log_group_name"]]
                    cwtest.eq(g["retentionInDays"], e["retention_in_days"], "%s: retention" % name)


if __name__ == "__main__":
    cwtest.main(globals())
