"""`cwagent run` refuses what it cannot run, with exit status 2 and a message that names the
file and the JSON path (or what is missing): bad values, bad JSON, conflicting files, a region
that cannot be found (no agent.region, no AWS_REGION, instance metadata disabled)."""
import os
import shutil
import tempfile

import cwtest
import run_common as rc

MEM = {"mem": {"measurement": ["mem_used_percent"]}}


def run(tmp, configs, env_extra=None, region_env=False):
    env = rc.agent_env(None, extra=env_extra)
    if region_env:
        env["AWS_REGION"] = "us-east-1"
    args = ["run", "--state-dir", os.path.join(tmp, "state")]
    for c in configs:
        args += ["-c", c]
    p = cwtest.run_agent(*args, timeout=20, env=env)
    return p


def with_tmp(fn):
    def wrapper():
        tmp = tempfile.mkdtemp(prefix="cwe2e-")
        try:
            fn(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    wrapper.__name__ = fn.__name__
    return wrapper


@with_tmp
def test_bad_value_names_file_and_json_path(tmp):
    cfg = rc.metrics_config("http://127.0.0.1:9", MEM)
    cfg["agent"]["metrics_collection_interval"] = "ten"
    path = rc.write_json(os.path.join(tmp, "bad.json"), cfg)
    p = run(tmp, [path])
    cwtest.eq(p.returncode, 2, "exit status (stderr: %s)" % p.stderr[-500:])
    line = next((l for l in p.stderr.splitlines() if "agent.metrics_collection_interval" in l), None)
    cwtest.check(line and path in line, "a line naming %s and agent.metrics_collection_interval: %s"
                 % (path, p.stderr[-600:]))
    cwtest.check(not os.path.exists(os.path.join(tmp, "state", "spool")), "a refused config created the spool")


@with_tmp
def test_unknown_measurement_names_its_path(tmp):
    cfg = rc.metrics_config("http://127.0.0.1:9", {"mem": {"measurement": ["mem_used_percent", "no_such_field"]}})
    path = rc.write_json(os.path.join(tmp, "m.json"), cfg)
    p = run(tmp, [path])
    if p.returncode == 2:
        cwtest.check(path in p.stderr and "metrics.metrics_collected.mem.measurement" in p.stderr,
                     "message names file and path: %s" % p.stderr[-600:])
    else:  # accepted with a warning naming it (then it must run)
        raise AssertionError("exit %d; expected 2 for an unknown measurement: %s" % (p.returncode, p.stderr[-600:]))


@with_tmp
def test_invalid_json_names_line_and_column(tmp):
    path = os.path.join(tmp, "broken.json")
    with open(path, "w") as f:
        f.write('{"agent": {"region": "us-east-1",}\n')
    p = run(tmp, [path])
    cwtest.eq(p.returncode, 2, "exit status")
    cwtest.check("%s:1:" % path in p.stderr and "invalid JSON" in p.stderr, "FILE:LINE:COL message: %s" % p.stderr[-400:])


@with_tmp
def test_conflicting_files_name_both(tmp):
    a = rc.write_json(os.path.join(tmp, "a.json"), rc.metrics_config("http://127.0.0.1:9", MEM, flush=5))
    b = rc.write_json(os.path.join(tmp, "b.json"), {"metrics": {"force_flush_interval": 7, "metrics_collected": {}}})
    p = run(tmp, [a, b])
    cwtest.eq(p.returncode, 2, "exit status")
    line = next((l for l in p.stderr.splitlines() if "metrics.force_flush_interval" in l), "")
    cwtest.check(a in line and b in line, "one line naming both files: %s" % p.stderr[-500:])


@with_tmp
def test_missing_region_exits_2_with_a_clear_message(tmp):
    cfg = rc.metrics_config("http://127.0.0.1:9", MEM)
    del cfg["agent"]["region"]
    path = rc.write_json(os.path.join(tmp, "noregion.json"), cfg)
    p = run(tmp, [path], env_extra={"AWS_EC2_METADATA_DISABLED": "true"})
    cwtest.eq(p.returncode, 2, "exit status (stderr: %s)" % p.stderr[-500:])
    cwtest.check("region" in p.stderr and "agent.region" in p.stderr and "AWS_REGION" in p.stderr,
                 "message says how to set the region: %s" % p.stderr[-500:])
    # the same file runs once AWS_REGION is set (the message's advice works)
    env = rc.agent_env(None, extra={"AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1"})
    ag = rc.Agent([path], os.path.join(tmp, "state"), env).start()
    try:
        rc.wait_for(lambda: "running" in ag.err(), 10, what="the agent to start with AWS_REGION")
        code, _ = ag.stop()
    finally:
        ag.close()
    cwtest.eq(code, 0, "exit status with AWS_REGION set")


@with_tmp
def test_usage_errors_exit_2(tmp):
    p = cwtest.run_agent("run", timeout=10, env=rc.agent_env(None))
    cwtest.eq(p.returncode, 2, "no -c")
    cwtest.check("-c" in p.stderr, "message mentions -c: %s" % p.stderr)
    p = run(tmp, [os.path.join(tmp, "missing.json")])
    cwtest.eq(p.returncode, 2, "missing config file")
    cwtest.check("missing.json" in p.stderr, "message names the file: %s" % p.stderr[-300:])


cwtest.main(globals())
