"""packaging/cwagent-ctl against the emulator and a fake systemctl (test seams CWAGENT_CTL_ROOT,
CWAGENT_BIN, CWAGENT_SYSTEMCTL): fetch-config / append-config / remove-config with file:, ssm:
and default, -s restarts, start / stop / status and its JSON, and failures that keep the old
configuration."""
import datetime
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile

import cwtest
from cwtest import CWAGENT, REPO, check, eq

CTL = os.path.join(REPO, "packaging", "cwagent-ctl")
MEM = {"metrics": {"metrics_collected": {"mem": {"measurement": ["mem_used_percent"]}}}}
CPU = {"metrics": {"metrics_collected": {"cpu": {"measurement": ["usage_idle"]}}}}

# A stand-in for systemctl: records each call, keeps the unit's state in a JSON file, and answers
# is-active / show -p MainPID like systemd. FAKE_SYSTEMCTL_FAIL makes every verb but the
# queries fail.
FAKE_SYSTEMCTL = r'''#!/usr/bin/python3
import json, os, sys
d = os.environ["FAKE_SD"]
args = sys.argv[1:]
with open(os.path.join(d, "calls"), "a") as f:
    f.write(" ".join(args) + "\n")
sp = os.path.join(d, "state.json")
st = json.load(open(sp)) if os.path.exists(sp) else {"active": False, "pid": 0}
verb = args[0]
if verb == "is-active":
    sys.exit(0 if st["active"] else 3)
if verb == "show":
    print(st["pid"] if st["active"] else 0)
    sys.exit(0)
if os.environ.get("FAKE_SYSTEMCTL_FAIL"):
    sys.exit(1)
if verb in ("start", "restart"):
    st = {"active": True, "pid": int(os.environ["FAKE_SD_PID"])}
elif verb == "stop":
    st = {"active": False, "pid": 0}
json.dump(st, open(sp, "w"))
'''


class Host:
    """A throw-away root for the ctl plus the fake systemctl."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="cwt-ctl-")
        self.root = os.path.join(self.dir, "root")
        self.conf = os.path.join(self.root, "etc", "cwagent", "cwagent.d")
        self.sd = os.path.join(self.dir, "sd")
        os.makedirs(self.sd)
        self.systemctl = os.path.join(self.dir, "systemctl")
        with open(self.systemctl, "w") as f:
            f.write(FAKE_SYSTEMCTL)
        os.chmod(self.systemctl, 0o755)
        self.emu = None
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)

    def env(self, **kw):
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update({"HOME": self.dir, "AWS_EC2_METADATA_DISABLED": "true",
                  "CWAGENT_CTL_ROOT": self.root, "CWAGENT_BIN": CWAGENT,
                  "CWAGENT_SYSTEMCTL": self.systemctl, "FAKE_SD": self.sd,
                  "FAKE_SD_PID": str(os.getpid())})
        if self.emu:
            e.update({"AWS_ACCESS_KEY_ID": cwtest.ACCESS_KEY,
                      "AWS_SECRET_ACCESS_KEY": cwtest.SECRET_KEY,
                      "AWS_ENDPOINT_URL_SSM": self.emu.endpoint, "AWS_REGION": "us-east-1"})
        e.update(kw)
        return e

    def ctl(self, *args, **kw):
        return subprocess.run(["/bin/sh", CTL] + list(args), capture_output=True, text=True,
                              timeout=90, env=self.env(**kw), stdin=subprocess.DEVNULL)

    def calls(self):
        p = os.path.join(self.sd, "calls")
        lines = open(p).read().splitlines() if os.path.exists(p) else []
        open(p, "w").close()
        return [l for l in lines if not l.startswith(("is-active", "show"))]

    def files(self):
        return sorted(os.listdir(self.conf)) if os.path.isdir(self.conf) else []

    def read(self, name):
        with open(os.path.join(self.conf, name)) as f:
            return f.read()

    def write(self, name, obj):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))
        return path

    def status(self):
        r = self.ctl("-a", "status")
        eq(r.returncode, 0, "status exit (stderr %r)" % r.stderr)
        return json.loads(r.stdout)


def ok(r, what):
    eq(r.returncode, 0, "%s exit status (stdout %r, stderr %r)" % (what, r.stdout, r.stderr))


def version():
    return subprocess.run([CWAGENT, "version"], capture_output=True, text=True,
                          timeout=10).stdout.split()[-1]


def test_status_of_a_fresh_host():
    with Host() as h:
        eq(h.status(), {"status": "stopped", "starttime": "", "configstatus": "not configured",
                        "version": version()}, "status")
        r = h.ctl("-a", "status")
        eq(list(json.loads(r.stdout).keys()), ["status", "starttime", "configstatus", "version"],
           "key order")


def test_fetch_config_ssm_with_restart_then_status_running():
    with Host() as h, cwtest.Emulator() as emu:
        h.emu = emu
        emu.post("/_emulator/config", {"ssm_parameters": {"AmazonCloudWatch-linux": json.dumps(MEM)}})
        r = h.ctl("-a", "fetch-config", "-m", "ec2", "-c", "ssm:AmazonCloudWatch-linux", "-s")
        ok(r, "fetch-config")
        eq(h.files(), ["ssm_AmazonCloudWatch-linux"], "files")
        eq(json.loads(h.read("ssm_AmazonCloudWatch-linux")), MEM, "content")
        eq(stat.S_IMODE(os.stat(os.path.join(h.conf, "ssm_AmazonCloudWatch-linux")).st_mode), 0o640,
           "mode")
        eq(h.calls(), ["daemon-reload", "enable cwagent.service", "restart cwagent.service"],
           "systemctl calls")
        st = h.status()
        eq((st["status"], st["configstatus"]), ("running", "configured"), "status")
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", st["starttime"]),
              "starttime %r" % st["starttime"])
        started = datetime.datetime.fromisoformat(st["starttime"])
        now = datetime.datetime.now(datetime.timezone.utc)
        check(now - datetime.timedelta(hours=2) <= started <= now,
              "starttime %s is this test's start (now %s)" % (started, now))
        # -s on a running agent stops then starts it.
        ok(h.ctl("-a", "fetch-config", "-c", "ssm:AmazonCloudWatch-linux", "-s"), "fetch again")
        eq(h.calls(), ["stop cwagent.service", "daemon-reload", "enable cwagent.service",
                       "restart cwagent.service"], "systemctl calls on restart")


def test_append_and_remove_config():
    with Host() as h, cwtest.Emulator() as emu:
        h.emu = emu
        emu.post("/_emulator/config", {"ssm_parameters": {"/cw/base": json.dumps(MEM)}})
        ok(h.ctl("-a", "fetch-config", "-c", "ssm:/cw/base"), "fetch-config")
        ok(h.ctl("-a", "append-config", "-c", "file:" + h.write("app.json", CPU)), "append-config")
        eq(h.files(), ["file_app.json", "ssm__cw_base"], "after append")
        eq(h.calls(), [], "no restart without -s")
        ok(h.ctl("-a", "remove-config", "-c", "ssm:/cw/base"), "remove-config")
        eq(h.files(), ["file_app.json"], "after remove")
        r = h.ctl("-a", "remove-config", "-c", "all", "-s")
        ok(r, "remove-config all")
        eq(h.files(), [], "after remove all")
        check("all cwagent configurations have been removed" in r.stdout, r.stdout)
        eq(h.status()["configstatus"], "not configured", "configstatus")


def test_bad_parameter_name_is_clear_and_keeps_the_old_configuration():
    with Host() as h, cwtest.Emulator() as emu:
        h.emu = emu
        emu.post("/_emulator/config", {"ssm_parameters": {"good": json.dumps(MEM)}})
        ok(h.ctl("-a", "fetch-config", "-c", "ssm:good", "-s"), "fetch-config good")
        h.calls()
        before = h.read("ssm_good")
        r = h.ctl("-a", "fetch-config", "-c", "ssm:no-such-param", "-s")
        eq(r.returncode, 2, "exit status")
        check("'no-such-param'" in r.stderr and "ParameterNotFound" in r.stderr, r.stderr)
        check("was not changed" in r.stderr, r.stderr)
        eq(h.files(), ["ssm_good"], "files")
        eq(h.read("ssm_good"), before, "content")
        eq(h.calls(), [], "no restart after a failed fetch")


def test_invalid_json_keeps_the_old_configuration():
    with Host() as h:
        ok(h.ctl("-a", "fetch-config", "-m", "onPremise", "-c", "file:" + h.write("a.json", MEM)),
           "fetch-config")
        r = h.ctl("-a", "fetch-config", "-c", "file:" + h.write("b.json", "{ not json"), "-s")
        eq(r.returncode, 2, "exit status")
        check("invalid JSON" in r.stderr, r.stderr)
        eq(h.files(), ["file_a.json"], "files")
        eq(json.loads(h.read("file_a.json")), MEM, "content")
        eq(h.calls(), [], "systemctl calls")


def test_start_applies_the_default_configuration_and_stop_stops():
    with Host() as h:
        r = h.ctl("-a", "start", "-m", "onPremise")
        ok(r, "start")
        eq(h.files(), ["default"], "files")
        doc = json.loads(h.read("default"))
        eq(doc["agent"]["run_as_user"], "cwagent", "run_as_user")
        check("append_dimensions" not in doc["metrics"], "on premises: no EC2 dimensions")
        eq(h.calls(), ["daemon-reload", "enable cwagent.service", "restart cwagent.service"],
           "start calls")
        r = h.ctl("-a", "start")
        ok(r, "start again")
        check("already been started" in r.stdout, r.stdout)
        eq(h.calls(), [], "no calls when running")
        ok(h.ctl("-a", "stop"), "stop")
        eq(h.calls(), ["stop cwagent.service"], "stop calls")
        eq(h.status()["status"], "stopped", "status")
        r = h.ctl("-a", "stop")
        check("already been stopped" in r.stdout, r.stdout)


def test_systemctl_failure_is_exit_1():
    with Host() as h:
        ok(h.ctl("-a", "fetch-config", "-m", "onPremise", "-c", "default"), "fetch-config")
        r = h.ctl("-a", "start", FAKE_SYSTEMCTL_FAIL="1")
        eq(r.returncode, 1, "exit status")
        check("daemon-reload failed" in r.stderr, r.stderr)


def test_usage_errors_exit_2():
    with Host() as h:
        for args, needle in ((["-a", "reboot"], "invalid action"),
                             (["-a", "start", "-m", "mars"], "invalid mode"),
                             (["-a", "fetch-config", "-c", "all"], "-c all"),
                             (["-a", "status", "-x"], "invalid option"),
                             (["-a"], "requires an argument"),
                             (["-a", "fetch-config", "-c", "ftp:x"], "malformed")):
            r = h.ctl(*args)
            eq(r.returncode, 2, "exit status of %r (stderr %r)" % (args, r.stderr))
            check(needle in r.stderr, "%r: %r" % (args, r.stderr))
        r = h.ctl("-h")
        eq(r.returncode, 0, "-h")
        check("fetch-config" in r.stdout and "ssm:<parameter-name>" in r.stdout, r.stdout)
        eq(h.files(), [], "files")


def test_ctl_is_posix_sh():
    r = subprocess.run(["dash", "-n", CTL], capture_output=True, text=True, timeout=30)
    eq(r.returncode, 0, "dash -n (stderr %r)" % r.stderr)
    if not shutil.which("shellcheck"):
        raise cwtest.Skip("shellcheck is not installed (CI: apt-get install shellcheck)")
    r = subprocess.run(["shellcheck", "-s", "sh", CTL] + [
        os.path.join(REPO, "packaging", "deb", n) for n in ("postinst", "prerm", "postrm",
                                                            "build-deb.sh")],
        capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, "shellcheck (output %r)" % r.stdout)


cwtest.main(globals())
