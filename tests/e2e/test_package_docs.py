"""docs/install.md can be followed to the letter: its JSON blocks parse, the IAM policy names every
action the agent calls and equals packaging/iam-policy.json, the example configuration is valid,
and every cwagent-ctl / cwagent command line it shows uses options that exist."""
import json
import os
import re
import subprocess
import tempfile

import cwtest
from cwtest import CWAGENT, REPO, check, eq

DOC = os.path.join(REPO, "docs", "install.md")
ACTIONS = {"cloudwatch:PutMetricData", "logs:CreateLogGroup", "logs:CreateLogStream",
           "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:PutRetentionPolicy",
           "ec2:DescribeTags", "ssm:GetParameter"}


def blocks(lang):
    with open(DOC) as f:
        return re.findall(r"```%s\n(.*?)```" % lang, f.read(), re.S)


def test_json_blocks_parse_and_the_policy_covers_every_call():
    js = [json.loads(b) for b in blocks("json")]
    check(len(js) >= 3, "expected the policy, a config and the status object")
    policy = js[0]
    eq(policy["Version"], "2012-10-17", "policy version")
    actions = set()
    for st in policy["Statement"]:
        eq(st["Effect"], "Allow", "effect")
        actions.update(st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    eq(sorted(ACTIONS - actions), [], "actions missing from the policy")
    with open(os.path.join(REPO, "packaging", "iam-policy.json")) as f:
        eq(json.load(f), policy, "packaging/iam-policy.json")
    eq(sorted(js[2]), ["configstatus", "starttime", "status", "version"], "status keys")


def test_example_configuration_is_valid():
    cfg = [b for b in blocks("json") if '"metrics_collected"' in b]
    check(cfg, "no example configuration")
    d = tempfile.mkdtemp(prefix="cwt-doc-")
    try:
        path = os.path.join(d, "config.json")
        with open(path, "w") as f:
            f.write(cfg[0])
        r = subprocess.run([CWAGENT, "config", "validate", "-c", path], capture_output=True,
                           text=True, timeout=30)
        eq(r.returncode, 0, "validate (stderr %r)" % r.stderr)
        eq(r.stderr, "", "warnings")
    finally:
        os.remove(path)
        os.rmdir(d)


def test_command_lines_use_existing_options():
    text = "\n".join(blocks("sh"))
    with open(DOC) as f:
        text += "\n" + "\n".join(re.findall(r"`([^`\n]*cwagent-ctl [^`\n]*)`", f.read()))
    ctl = re.findall(r"cwagent-ctl ((?:-[amcs](?: [^\s`|]+)? ?)+)", text)
    check(len(ctl) >= 8, "cwagent-ctl lines found: %r" % ctl)
    for line in ctl:
        opts = re.findall(r"(?:^|\s)-([a-z])(?=\s|$)", line)
        check(set(opts) <= set("amcs"), "unknown option in %r" % line)
        m = re.search(r"-a (\S+)", line)
        if m:
            check(m.group(1) in ("fetch-config", "append-config", "remove-config", "start", "stop",
                                 "status"), "action %r" % m.group(1))
        m = re.search(r"-m (\S+)", line)
        if m:
            check(m.group(1) in ("ec2", "onPremise", "auto"), "mode %r" % m.group(1))
        m = re.search(r"-c (\S+)", line)
        if m:
            check(re.match(r"(default|all|ssm:\S+|file:\S+)$", m.group(1)), "source %r" % m.group(1))
    help_text = subprocess.run([CWAGENT, "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    for sub in set(re.findall(r"\bcwagent (config|fetch-config|run|version)\b", text)):
        check("  " + sub + " " in help_text, "cwagent %s is not a command" % sub)


cwtest.main(globals())
