"""`cwagent config validate|show` through the real binary: exit codes 0/2, error and warning lines,
the reference samples and schema vectors, directories, CW_CONFIG_CONTENT, show round trips."""
import json
import os
import random
import re
import shutil
import tempfile

import cwtest
from cwtest import REFERENCE, REPO, check, eq, run_agent

FIX = os.path.join(REPO, "tests", "fixtures", "config")
REF = os.path.join(REFERENCE, "amazon-cloudwatch-agent")


def fx(name):
    return os.path.join(FIX, name)


def validate(*paths, env=None):
    args = ["config", "validate"]
    for p in paths:
        args += ["-c", p]
    return run_agent(*args, env=env, timeout=30)


def show(*paths, env=None):
    args = ["config", "show"]
    for p in paths:
        args += ["-c", p]
    return run_agent(*args, env=env, timeout=30)


def test_valid_file_exits_0():
    r = validate(fx("good.json"))
    eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr)
    check(r.stdout.strip().endswith("configuration valid"), r.stdout)
    eq(r.stderr, "", "stderr")


def test_invalid_json_reports_line_and_column():
    r = validate(fx("bad_syntax.json"))
    eq(r.returncode, 2, "exit status")
    check(re.search(r"bad_syntax\.json:4:\d+: invalid JSON: ", r.stderr), r.stderr)


def test_conflicting_files_name_both():
    r = validate(fx("conflict_a.json"), fx("conflict_b.json"))
    eq(r.returncode, 2, "exit status")
    want = "Different values are specified for metrics.namespace: 'A' in %s, 'B' in %s" % (
        fx("conflict_a.json"), fx("conflict_b.json"))
    check(want in r.stderr, r.stderr)


def test_wrong_types_and_unknown_keys_are_errors_with_file_and_path():
    r = validate(fx("wrong_types.json"))
    eq(r.returncode, 2, "exit status")
    f = fx("wrong_types.json")
    for want in [
        '%s: agent.metrics_collection_interval: found "60" (string), expected integer' % f,
        "%s: logs.logs_collected.files.collect_list[0].retention_in_days: found 10, expected one of" % f,
        '%s: logs.logs_collected.files.collect_list[0].from_beginning: found unknown key "from_beginning"' % f,
    ]:
        check(want in r.stderr, "missing %r in %r" % (want, r.stderr))


def test_unknown_root_key_is_an_error():
    r = validate(fx("unknown_root.json"))
    eq(r.returncode, 2, "exit status")
    check('agnet: found unknown key "agnet"' in r.stderr, r.stderr)


def test_not_supported_lines_on_valid_config():
    r = validate(fx("unsupported.json"))
    eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr)
    f = fx("unsupported.json")
    lines = r.stdout.splitlines()
    for want in [
        "warning: %s: metrics.metrics_collected.efa: not supported by cwagent; ignored" % f,
        "warning: %s: traces: not supported by cwagent; ignored" % f,
        "warning: %s: agent.flush_interval: Telegraf setting with no meaning for cwagent; ignored" % f,
    ]:
        eq(lines.count(want), 1, "occurrences of %r in %r" % (want, lines))
    eq(lines[-1], "configuration valid", "last line")


def test_show_applies_defaults_and_placeholders():
    r = show(fx("good.json"))
    eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr)
    cfg = json.loads(r.stdout)
    eq(cfg["agent"]["metrics_collection_interval"], 30, "agent interval")
    eq(cfg["metrics"]["namespace"], "MyApp", "namespace")
    eq(cfg["metrics"]["force_flush_interval"], 60, "metrics flush default")
    cpu = cfg["metrics"]["metrics_collected"]["cpu"]
    eq(cpu["metrics_collection_interval"], 30, "cpu inherits the agent interval")
    eq(cpu["measurement"][0], {"name": "usage_idle", "rename": "cpu_usage_idle"}, "cpu[0]")
    eq(cpu["measurement"][1], {"name": "usage_user", "rename": "CPU_USER", "unit": "Percent"}, "cpu[1]")
    eq(cfg["metrics"]["metrics_collected"]["mem"]["metrics_collection_interval"], 60, "mem interval")
    eq(cfg["logs"]["force_flush_interval"], 5, "logs flush default")
    f = cfg["logs"]["logs_collected"]["files"]["collect_list"][0]
    eq(f["log_group_name"], "/var/log/app/app", "default group = path minus extension")
    eq(f["log_stream_name"], os.uname().nodename, "{hostname} without IMDS = OS hostname")
    eq(f["retention_in_days"], 14, "retention")
    eq(f["multi_line_start_pattern"], "^[\\S]", "default multi-line pattern")


def test_show_round_trips_through_validate():
    with tempfile.TemporaryDirectory() as d:
        for name in sorted(os.listdir(os.path.join(REF, "samples"))) + ["GOOD"]:
            src = fx("good.json") if name == "GOOD" else os.path.join(REF, "samples", name)
            r1 = show(src, env={"ENV_REGION": "us-west-2"})
            eq(r1.returncode, 0, "%s: show exit status (stderr %r)" % (name, r1.stderr))
            out = os.path.join(d, "effective.json")
            with open(out, "w") as fh:
                fh.write(r1.stdout)
            r2 = show(out)
            eq(r2.returncode, 0, "%s: re-show exit status (stderr %r)" % (name, r2.stderr))
            eq(json.loads(r2.stdout), json.loads(r1.stdout), "%s: show(show(x)) == show(x)" % name)


def test_every_reference_sample_validates():
    samples = sorted(os.listdir(os.path.join(REF, "samples")))
    eq(len(samples), 15, "sample count")
    for name in samples:
        r = validate(os.path.join(REF, "samples", name))
        eq(r.returncode, 0, "%s: exit status (stderr %r)" % (name, r.stderr))


def test_schema_vectors_get_the_reference_verdicts():
    d = os.path.join(REF, "schema", "sampleSchema")
    for name in sorted(os.listdir(d)):
        r = validate(os.path.join(d, name))
        want = 0 if name.startswith("valid") else 2
        eq(r.returncode, want, "%s: exit status (stdout %r stderr %r)" % (name, r.stdout, r.stderr))


def test_directory_like_amazon_cloudwatch_agent_d():
    r = show(fx("confdir"))
    eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr)
    cfg = json.loads(r.stdout)
    eq(cfg["agent"]["run_as_user"], "cwagent", "from 'default'")
    mem = [m["name"] for m in cfg["metrics"]["metrics_collected"]["mem"]["measurement"]]
    eq(mem, ["used_percent", "available"], "mem measurements merged and de-duplicated")
    eq(cfg["logs"]["logs_collected"]["files"]["collect_list"][0]["log_group_name"], "syslog", "group")
    check("ssm_pending.tmp: skipped" in r.stderr, r.stderr)


def test_directory_and_file_together():
    d = tempfile.mkdtemp(prefix="cwcfg")
    try:
        shutil.copy(fx("conflict_b.json"), os.path.join(d, "b.json"))
        r = validate(fx("conflict_a.json"), d)
        eq(r.returncode, 2, "exit status")
        check("'A' in %s, 'B' in %s" % (fx("conflict_a.json"), os.path.join(d, "b.json")) in r.stderr,
              r.stderr)
    finally:
        shutil.rmtree(d)


def test_cw_config_content_env():
    content = json.dumps({"metrics": {"metrics_collected": {"swap": {"measurement": ["swap_used_percent"]}}}})
    r = run_agent("config", "show", env={"CW_CONFIG_CONTENT": content}, timeout=30)
    eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr)
    eq(json.loads(r.stdout)["metrics"]["metrics_collected"]["swap"]["measurement"][0]["name"],
       "used_percent", "swap measurement")


def test_validate_json_output():
    r = run_agent("config", "validate", "--json", "-c", fx("unsupported.json"), timeout=30)
    eq(r.returncode, 0, "exit status")
    v = json.loads(r.stdout)
    eq(v["valid"], True, "valid")
    eq(v["errors"], [], "errors")
    eq(len(v["warnings"]), 3, "warnings %r" % v["warnings"])
    r = run_agent("config", "validate", "--json", "-c", fx("wrong_types.json"), timeout=30)
    eq(r.returncode, 2, "exit status")
    v = json.loads(r.stdout)
    eq(v["valid"], False, "valid")
    eq(len(v["errors"]), 3, "errors %r" % v["errors"])


def _mutate(node, rng):
    """Returns a copy of a JSON value with one random change somewhere inside."""
    weird = [None, True, -1, 0, 1.5, 2 ** 40, "", "x" * 300, "(", "${X}", [], {}, [1, "a"], {"k": 1}]
    if isinstance(node, dict) and node and rng.random() < 0.8:
        k = rng.choice(sorted(node))
        out = dict(node)
        r = rng.random()
        if r < 0.15:
            del out[k]
        elif r < 0.3:
            out[k + "_x"] = rng.choice(weird)
        else:
            out[k] = _mutate(node[k], rng)
        return out
    if isinstance(node, list) and node and rng.random() < 0.8:
        i = rng.randrange(len(node))
        out = list(node)
        r = rng.random()
        if r < 0.2:
            out.append(out[i])
        elif r < 0.35:
            del out[i]
        else:
            out[i] = _mutate(node[i], rng)
        return out
    return rng.choice(weird)


def test_mutated_samples_never_crash():
    rng = random.Random(1234)
    docs = []
    for name in sorted(os.listdir(os.path.join(REF, "samples"))):
        with open(os.path.join(REF, "samples", name)) as fh:
            docs.append(json.load(fh))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.json")
        for i in range(150):
            doc = rng.choice(docs)
            for _ in range(rng.randint(1, 3)):
                doc = _mutate(doc, rng)
            with open(path, "w") as fh:
                json.dump(doc, fh)
            r = run_agent("config", "show", "-c", path, timeout=30)
            check(r.returncode in (0, 2) and "Sanitizer" not in r.stderr and "runtime error" not in r.stderr,
                  "mutation %d: exit %d, stderr %r, doc %s" % (i, r.returncode, r.stderr[-2000:], json.dumps(doc)[:2000]))
            if r.returncode == 0:
                json.loads(r.stdout)


def test_usage_errors_exit_2():
    no_content = {"CW_CONFIG_CONTENT": ""}  # set but empty: invalid JSON, exit 2 as well
    r = run_agent("config", "validate", timeout=30, env=no_content)
    eq(r.returncode, 2, "no -c, empty CW_CONFIG_CONTENT (stderr %r)" % r.stderr)
    eq(run_agent("config", "frobnicate", timeout=30).returncode, 2, "unknown subcommand")
    eq(run_agent("config", timeout=30).returncode, 2, "no subcommand")
    eq(run_agent("config", "validate", "-x", timeout=30).returncode, 2, "bad option")
    eq(validate("/nonexistent/cw.json").returncode, 2, "missing file")


cwtest.main(globals())
