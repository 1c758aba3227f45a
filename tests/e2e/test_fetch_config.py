"""`cwagent fetch-config`: file:, ssm: (against the emulator) and default sources, the reference
ctl's file names, validation before anything is written, atomic 0640 files, and the default /
append / remove multi-config actions."""
import json
import os
import shutil
import stat
import subprocess
import tempfile

import cwtest
from cwtest import CWAGENT, check, eq

MEM = {"metrics": {"metrics_collected": {"mem": {"measurement": ["mem_used_percent"]}}}}
CPU = {"metrics": {"metrics_collected": {"cpu": {"measurement": ["usage_idle"]}}}}
LOGS = {"logs": {"logs_collected": {"files": {"collect_list": [
    {"file_path": "/var/log/syslog", "log_group_name": "syslog"}]}}}}


class Tmp:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="cwt-fetch-")
        self.out = os.path.join(self.dir, "cwagent.d")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, obj):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))
        return path

    def listing(self):
        if not os.path.isdir(self.out):
            return {}
        res = {}
        for n in sorted(os.listdir(self.out)):
            with open(os.path.join(self.out, n)) as f:
                res[n] = f.read()
        return res


def base_env(home):
    """A clean environment: no AWS variables from the caller, no ~/.aws, no IMDS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = home
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def fetch(t, *args, env=None, extra=None):
    e = env if env is not None else base_env(t.dir)
    if extra:
        e = dict(e, **extra)
    return subprocess.run([CWAGENT, "fetch-config", "-o", t.out] + list(args), capture_output=True,
                          text=True, timeout=90, env=e, stdin=subprocess.DEVNULL)


def emu_env(t, emu, **kw):
    env = base_env(t.dir)
    env.update({"AWS_ACCESS_KEY_ID": cwtest.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": cwtest.SECRET_KEY,
                "AWS_ENDPOINT_URL_SSM": emu.endpoint, "AWS_REGION": "us-east-1"})
    env.update(kw)
    return env


def ok(r, what="fetch-config"):
    eq(r.returncode, 0, "%s exit status (stderr %r)" % (what, r.stderr))


def validate_dir(t):
    r = subprocess.run([CWAGENT, "config", "validate", "-c", t.out], capture_output=True, text=True,
                       timeout=30)
    eq(r.returncode, 0, "config validate -c DIR (stderr %r)" % r.stderr)


# ---- file: -------------------------------------------------------------------------------------

def test_file_source_is_validated_and_saved_as_file_basename_0640():
    with Tmp() as t:
        src = t.write("app.json", MEM)
        r = fetch(t, "-s", "file:" + src)
        ok(r)
        eq(sorted(os.listdir(t.out)), ["file_app.json"], "files")
        path = os.path.join(t.out, "file_app.json")
        eq(json.load(open(path)), MEM, "content")
        eq(stat.S_IMODE(os.stat(path).st_mode), 0o640, "mode")
        check("file_app.json" in r.stdout, r.stdout)
        validate_dir(t)


def test_file_names_escape_space_and_colon_like_the_reference():
    with Tmp() as t:
        src = t.write("my conf:1.json", MEM)
        ok(fetch(t, "-s", "file:" + src))
        eq(sorted(os.listdir(t.out)), ["file_my_conf_1.json"], "files")


def test_invalid_json_keeps_the_old_configuration():
    with Tmp() as t:
        ok(fetch(t, "-s", "file:" + t.write("a.json", MEM)))
        before = t.listing()
        bad = t.write("a.json", '{"metrics": {"metrics_collected": {"mem": ')
        r = fetch(t, "-s", "file:" + bad)
        eq(r.returncode, 2, "exit status for invalid JSON")
        check("invalid JSON" in r.stderr and bad in r.stderr, r.stderr)
        check("unchanged" in r.stderr, r.stderr)
        eq(t.listing(), before, "directory after a failed fetch")
        # Schema errors too, and no temporary file is left behind.
        bad = t.write("a.json", {"metrics": {"metrics_collected": {"mem": {"measurement": ["x"]}}}})
        r = fetch(t, "-s", "file:" + bad)
        eq(r.returncode, 2, "exit status for a schema error")
        check("metrics.metrics_collected.mem.measurement" in r.stderr, r.stderr)
        eq(sorted(os.listdir(t.out)), ["file_a.json"], "files (no temporary left)")


def test_missing_file_is_exit_2_naming_it():
    with Tmp() as t:
        missing = os.path.join(t.dir, "nope.json")
        r = fetch(t, "-s", "file:" + missing)
        eq(r.returncode, 2, "exit status")
        check(missing in r.stderr and "No such file" in r.stderr, r.stderr)
        eq(t.listing(), {}, "directory")
        r = fetch(t, "-s", "file:" + t.dir)
        eq(r.returncode, 2, "exit status for a directory")
        check("not a regular file" in r.stderr, r.stderr)


# ---- default ------------------------------------------------------------------------------------

def test_default_on_premise_and_on_ec2():
    with Tmp() as t:
        ok(fetch(t, "-s", "default", "-m", "onPremise"))
        doc = json.load(open(os.path.join(t.out, "default")))
        eq(doc["agent"], {"run_as_user": "cwagent"}, "agent")
        mc = doc["metrics"]["metrics_collected"]
        eq(mc["mem"]["measurement"], ["mem_used_percent"], "mem")
        eq(mc["disk"], {"measurement": ["used_percent"], "resources": ["*"]}, "disk")
        check("append_dimensions" not in doc["metrics"], "no EC2 dimensions on premises")
        ok(fetch(t, "-s", "default", "-m", "ec2"))
        doc = json.load(open(os.path.join(t.out, "default")))
        eq(doc["metrics"]["append_dimensions"],
           {"ImageId": "${aws:ImageId}", "InstanceId": "${aws:InstanceId}",
            "InstanceType": "${aws:InstanceType}",
            "AutoScalingGroupName": "${aws:AutoScalingGroupName}"}, "EC2 dimensions")
        eq(os.listdir(t.out), ["default"], "files")
        validate_dir(t)


def test_default_auto_mode_asks_instance_metadata():
    with Tmp() as t, cwtest.Emulator() as emu:
        env = base_env(t.dir)
        del env["AWS_EC2_METADATA_DISABLED"]
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = emu.info["imds"]
        ok(fetch(t, "-s", "default", "-m", "auto", env=env))
        check("append_dimensions" in json.load(open(os.path.join(t.out, "default")))["metrics"],
              "auto mode with IMDS answering = EC2")
        ok(fetch(t, "-s", "default", "-m", "auto"))  # IMDS disabled
        check("append_dimensions" not in json.load(open(os.path.join(t.out, "default")))["metrics"],
              "auto mode without IMDS = on premises")


# ---- multi-config ----------------------------------------------------------------------------------

def test_fetch_replaces_append_adds_remove_removes():
    with Tmp() as t:
        ok(fetch(t, "-s", "file:" + t.write("mem.json", MEM)))
        os.makedirs(t.out, exist_ok=True)
        with open(os.path.join(t.out, "stale.tmp"), "w") as f:
            f.write("{}")
        with open(os.path.join(t.out, "NOTES"), "w") as f:
            f.write("not a configuration")
        ok(fetch(t, "-s", "file:" + t.write("cpu.json", CPU)))
        eq(sorted(os.listdir(t.out)), ["NOTES", "file_cpu.json"], "after fetch (replace)")
        ok(fetch(t, "-s", "file:" + t.write("logs.json", LOGS), "--multi-config", "append"))
        ok(fetch(t, "-s", "default", "-m", "onPremise", "--multi-config", "append"))
        eq(sorted(os.listdir(t.out)), ["NOTES", "default", "file_cpu.json", "file_logs.json"],
           "after append")
        validate_dir(t)
        r = fetch(t, "-s", "file:/anywhere/logs.json", "--multi-config", "remove")
        ok(r, "remove")
        eq(sorted(os.listdir(t.out)), ["NOTES", "default", "file_cpu.json"], "after remove")
        r = fetch(t, "-s", "file:/anywhere/logs.json", "--multi-config", "remove")
        eq(r.returncode, 2, "removing what is not there")
        check("no such configuration" in r.stderr, r.stderr)
        ok(fetch(t, "-s", "all", "--multi-config", "remove"), "remove all")
        eq(sorted(os.listdir(t.out)), ["NOTES"], "after remove all")


def test_append_that_conflicts_is_refused_and_nothing_changes():
    with Tmp() as t:
        ok(fetch(t, "-s", "file:" + t.write("a.json", {"agent": {"metrics_collection_interval": 60}})))
        before = t.listing()
        r = fetch(t, "-s", "file:" + t.write("b.json", {"agent": {"metrics_collection_interval": 10}}),
                  "--multi-config", "append")
        eq(r.returncode, 2, "exit status (stderr %r)" % r.stderr)
        check("metrics_collection_interval" in r.stderr, r.stderr)
        eq(t.listing(), before, "directory")
        # Re-appending the same source replaces its own file rather than conflicting with it.
        ok(fetch(t, "-s", "file:" + t.write("a.json", {"agent": {"metrics_collection_interval": 30}}),
                 "--multi-config", "append"))
        eq(json.loads(t.listing()["file_a.json"]), {"agent": {"metrics_collection_interval": 30}},
           "file_a.json")


def test_usage_errors_exit_2():
    with Tmp() as t:
        for args, needle in ((["-s", "all"], "only valid with --multi-config remove"),
                             (["-s", "ftp:x"], "malformed"),
                             (["-s", "ssm:"], "malformed"),
                             (["-s", "default", "-m", "mars"], "mode"),
                             (["-s", "default", "--multi-config", "merge"], "--multi-config"),
                             (["-s", "file:/x/y.tmp"], ".tmp")):
            r = fetch(t, *args)
            eq(r.returncode, 2, "exit status for %r" % args)
            check(needle in r.stderr, "%r: %r" % (args, r.stderr))
        r = subprocess.run([CWAGENT, "fetch-config", "-s", "default"], capture_output=True, text=True,
                           timeout=30)
        eq(r.returncode, 2, "without -o")
        r = subprocess.run([CWAGENT, "fetch-config", "--help"], capture_output=True, text=True,
                           timeout=30)
        eq(r.returncode, 0, "--help")
        check("ssm:PARAMETER" in r.stdout, r.stdout)


# ---- ssm: ---------------------------------------------------------------------------------------------

def test_ssm_parameter_is_fetched_with_decryption_and_named_like_the_reference():
    with Tmp() as t:
        rec = os.path.join(t.dir, "record.jsonl")
        with cwtest.Emulator("--record", rec) as emu:
            emu.post("/_emulator/config", {"ssm_parameters": {
                "/cw/agent config": {"Value": json.dumps(MEM), "Type": "SecureString"}}})
            r = fetch(t, "-s", "ssm:/cw/agent config", env=emu_env(t, emu))
            ok(r)
        eq(sorted(os.listdir(t.out)), ["ssm__cw_agent_config"], "files")
        eq(json.loads(t.listing()["ssm__cw_agent_config"]), MEM, "content")
        calls = [json.loads(l) for l in open(rec) if l.strip()]
        gp = [c for c in calls if c.get("operation") == "GetParameter"]
        eq(len(gp), 1, "GetParameter calls")
        eq(gp[0]["params"], {"Name": "/cw/agent config", "WithDecryption": True}, "params")
        eq(gp[0]["service"], "ssm", "service")


def test_ssm_region_from_the_flag_and_endpoint_from_aws_endpoint_url():
    with Tmp() as t, cwtest.Emulator("--region", "eu-west-1") as emu:
        emu.post("/_emulator/config", {"ssm_parameters": {"cfg": json.dumps(CPU)}})
        env = emu_env(t, emu)
        del env["AWS_ENDPOINT_URL_SSM"]
        env["AWS_ENDPOINT_URL"] = emu.endpoint
        r = fetch(t, "-s", "ssm:cfg", env=env)  # AWS_REGION us-east-1: wrong scope, rejected
        eq(r.returncode, 1, "wrong region exit status (stderr %r)" % r.stderr)
        ok(fetch(t, "-s", "ssm:cfg", "--region", "eu-west-1", env=env))
        eq(sorted(os.listdir(t.out)), ["ssm_cfg"], "files")


def test_ssm_region_from_instance_metadata():
    with Tmp() as t, cwtest.Emulator() as emu:
        emu.post("/_emulator/config", {"ssm_parameters": {"cfg": json.dumps(CPU)}})
        env = emu_env(t, emu)
        del env["AWS_REGION"]
        del env["AWS_EC2_METADATA_DISABLED"]
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = emu.info["imds"]
        ok(fetch(t, "-s", "ssm:cfg", env=env))
        # Without any region source it says what to do.
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        r = fetch(t, "-s", "ssm:cfg", env=env)
        eq(r.returncode, 1, "exit status without a region")
        check("--region" in r.stderr and "AWS_REGION" in r.stderr, r.stderr)


def test_ssm_missing_parameter_names_it_and_exits_2():
    with Tmp() as t, cwtest.Emulator() as emu:
        ok(fetch(t, "-s", "default", "-m", "onPremise"))
        before = t.listing()
        r = fetch(t, "-s", "ssm:/does/not/exist", env=emu_env(t, emu))
        eq(r.returncode, 2, "exit status")
        check("'/does/not/exist'" in r.stderr and "ParameterNotFound" in r.stderr, r.stderr)
        eq(t.listing(), before, "directory")


def test_ssm_invalid_json_keeps_the_old_configuration():
    with Tmp() as t, cwtest.Emulator() as emu:
        emu.post("/_emulator/config", {"ssm_parameters": {"good": json.dumps(MEM),
                                                          "bad": '{"metrics": [1, 2'}})
        ok(fetch(t, "-s", "ssm:good", env=emu_env(t, emu)))
        before = t.listing()
        r = fetch(t, "-s", "ssm:bad", env=emu_env(t, emu))
        eq(r.returncode, 2, "exit status")
        check("ssm:bad" in r.stderr and "invalid JSON" in r.stderr, r.stderr)
        eq(t.listing(), before, "directory")


def test_ssm_throttling_is_retried_and_5xx_gives_up_with_exit_1():
    with Tmp() as t, cwtest.Emulator() as emu:
        emu.post("/_emulator/config", {"ssm_parameters": {"cfg": json.dumps(MEM)}})
        emu.post("/_emulator/faults", {"operation": "GetParameter", "mode": "throttle", "count": 1})
        ok(fetch(t, "-s", "ssm:cfg", env=emu_env(t, emu)))
        emu.delete("/_emulator/faults")
        emu.post("/_emulator/faults", {"operation": "GetParameter", "mode": "503"})
        r = fetch(t, "-s", "ssm:cfg", "--multi-config", "append", env=emu_env(t, emu))
        eq(r.returncode, 1, "exit status (stderr %r)" % r.stderr)
        check("ServiceUnavailable" in r.stderr, r.stderr)
        eq(sorted(os.listdir(t.out)), ["ssm_cfg"], "files")


def test_ssm_without_credentials_exits_1():
    with Tmp() as t, cwtest.Emulator() as emu:
        env = emu_env(t, emu)
        del env["AWS_ACCESS_KEY_ID"]
        del env["AWS_SECRET_ACCESS_KEY"]
        r = fetch(t, "-s", "ssm:cfg", env=env)
        eq(r.returncode, 1, "exit status (stderr %r)" % r.stderr)
        check("no AWS credentials" in r.stderr, r.stderr)
        eq(t.listing(), {}, "directory")


cwtest.main(globals())
