"""collectd end to end: Debian's collectd daemon (collectd-core) sends its load and memory
plugins through its network plugin, in each security level, to `cwagent run`; the datums read
back from the emulator carry the reference's names (collectd_<plugin>_<ds>) and dimensions (the
packet's host, instance, type, type_instance). A level below the configured one and a wrong
password are refused, counted in `cwagent status`, and logged; a missing types.db or auth file
stops the agent with a message naming the file. Loopback only; each daemon runs for seconds."""
import os
import shutil
import subprocess
import tempfile
import time

import cwtest
import run_common as rc
from cwtest import check, eq
from test_statsd import Run, by_series, free_udp_port, stats, status

COLLECTD = "/usr/sbin/collectd"
TYPESDB = "/usr/share/collectd/types.db"
HOST = "cwtest-host"


def need_collectd():
    if not (os.access(COLLECTD, os.X_OK) and os.path.exists(TYPESDB)
            and os.path.exists("/usr/lib/collectd/network.so")):
        raise cwtest.Skip("Debian's collectd-core is not installed")


class Collectd:
    """collectd -f with load + memory every second, sending to 127.0.0.1:port."""

    def __init__(self, tmp, port, level, user="alice", password="s3cret"):
        self.dir = os.path.join(tmp, "collectd")
        os.makedirs(self.dir)
        server = '<Server "127.0.0.1" "%d">\n' % port
        if level != "None":
            server += '    SecurityLevel %s\n    Username "%s"\n    Password "%s"\n' % (level, user, password)
        server += "  </Server>"
        self.conf = os.path.join(self.dir, "collectd.conf")
        with open(self.conf, "w") as f:
            f.write("""Hostname "%s"
FQDNLookup false
BaseDir "%s"
PIDFile "%s/collectd.pid"
Interval 1
TypesDB "%s"
LoadPlugin load
LoadPlugin memory
LoadPlugin network
<Plugin network>
  %s
</Plugin>
""" % (HOST, self.dir, self.dir, TYPESDB, server))
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen([COLLECTD, "-f", "-C", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def collectd_config(emu, port, tmp, level, agg=0, **extra):
    auth = os.path.join(tmp, "auth_file")
    with open(auth, "w") as f:
        f.write("# user: password\nalice: s3cret\n")
    cd = {"service_address": "udp://127.0.0.1:%d" % port, "collectd_security_level": level,
          "collectd_auth_file": auth, "collectd_typesdb": [TYPESDB],
          "metrics_aggregation_interval": agg}
    cd.update(extra)
    return rc.metrics_config(emu.endpoint, {"collectd": cd}, interval=60, flush=1)


def run_pair(level_agent, level_collectd, seconds=3.5, agg=0, password="s3cret", **extra):
    need_collectd()
    port = free_udp_port()
    tmp = tempfile.mkdtemp(prefix="cwcollectd-")
    try:
        with cwtest.Emulator() as emu:
            with Run(emu, collectd_config(emu, port, tmp, level_agent, agg, **extra)) as run:
                with Collectd(tmp, port, level_collectd, password=password):
                    time.sleep(seconds)
                st = status(run.state)["metrics"]["collectd"]
                got = run.stop()
                log = run.ag.err()
        return got, st, log
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_names_and_dims(got, what):
    s = by_series(got)
    load = s.get(("collectd_load_shortterm", (("host", HOST), ("type", "load"))))
    check(load, "%s: no collectd_load_shortterm{host=%s,type=load}; have %s"
          % (what, HOST, sorted({k[0] for k in s})))
    used = s.get(("collectd_memory_value", (("host", HOST), ("type", "memory"), ("type_instance", "used"))))
    check(used, "%s: no collectd_memory_value{type_instance=used}; have %s" % (what, sorted(s)[:8]))
    for name in ("collectd_load_midterm", "collectd_load_longterm"):
        check(any(k[0] == name for k in s), "%s: %s missing" % (what, name))
    return s


def test_each_security_level_delivers_with_reference_names():
    for level_agent, level_cd in (("none", "None"), ("sign", "Sign"), ("encrypt", "Encrypt")):
        got, st, _ = run_pair(level_agent, level_cd)
        s = check_names_and_dims(got, level_agent)
        used = s[("collectd_memory_value", (("host", HOST), ("type", "memory"), ("type_instance", "used")))]
        check(all(m["value"] > 0 and m["storage_resolution"] == 1 for m in used),
              "%s: memory used values / resolution: %r" % (level_agent, used[:2]))
        eq(st["refused"], 0, "%s: refused (status %r)" % (level_agent, st))
        check(st["received"] >= 4, "%s: value lists received: %r" % (level_agent, st))


def test_aggregation_sends_values_and_statistic_sets():
    got, st, _ = run_pair("encrypt", "Encrypt", agg=60)
    s = check_names_and_dims(got, "aggregated")
    load = s[("collectd_load_shortterm", (("host", HOST), ("type", "load")))]
    n, total, lo, hi = stats(load)
    check(n >= 2, "collectd_load_shortterm SampleCount >= 2 over 3.5 s: %r" % (load,))
    eq(sum(sum(m["counts"]) for m in load), n, "Counts add up to SampleCount")
    for m in load:
        eq(m["storage_resolution"], 60, "StorageResolution with 60-s aggregation")


def test_lower_level_than_configured_is_counted_and_logged():
    got, st, log = run_pair("encrypt", "None")
    eq([m for m in got if m["name"].startswith("collectd_")], [], "plain packets under encrypt")
    check(st["insecure"] >= 2, "insecure value lists counted: %r" % st)
    check("below the configured security level" in log, "no log line: %s" % log[-600:])


def test_wrong_password_is_refused_and_counted():
    got, st, log = run_pair("encrypt", "Encrypt", password="not-the-password")
    eq([m for m in got if m["name"].startswith("collectd_")], [], "datums with a wrong password")
    check(st["refused"] >= 1 and st["received"] == 0, "refused packets counted: %r" % st)
    check("wrong password" in log and "s3cret" not in log and "not-the-password" not in log,
          "log names the cause without a secret: %s" % log[-600:])


def test_missing_types_db_stops_the_agent_naming_the_file():
    need_collectd()
    tmp = tempfile.mkdtemp(prefix="cwcollectd-")
    try:
        with cwtest.Emulator() as emu:
            cfg = collectd_config(emu, free_udp_port(), tmp, "encrypt")
            cfg["metrics"]["metrics_collected"]["collectd"]["collectd_typesdb"] = ["/nonexistent/types.db"]
            path = rc.write_json(os.path.join(tmp, "c.json"), cfg)
            ag = rc.Agent([path], os.path.join(tmp, "state"), rc.agent_env(emu)).start()
            try:
                code = ag.wait(20)
                check(code != 0, "missing types.db: exit status %d" % code)
                check("collectd_typesdb" in ag.err() and "/nonexistent/types.db" in ag.err(),
                      "message: %r" % ag.err()[-400:])
            finally:
                ag.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_missing_auth_file_is_reported_and_read_once_it_appears():
    """The reference starts without its auth file too; cwagent says so, refuses and counts the
    encrypted packets, and accepts them as soon as the file exists."""
    need_collectd()
    port = free_udp_port()
    tmp = tempfile.mkdtemp(prefix="cwcollectd-")
    try:
        with cwtest.Emulator() as emu:
            cfg = collectd_config(emu, port, tmp, "encrypt")
            auth = os.path.join(tmp, "later_auth")
            cfg["metrics"]["metrics_collected"]["collectd"]["collectd_auth_file"] = auth
            with Run(emu, cfg) as run, Collectd(tmp, port, "Encrypt"):
                rc.wait_for(lambda: status(run.state)["metrics"]["collectd"]["refused"] >= 1, 20,
                            what="refused encrypted packets")
                check(auth in run.ag.err() and "collectd_auth_file" in run.ag.err(),
                      "the log names the missing file: %s" % run.ag.err()[-500:])
                with open(auth, "w") as f:
                    f.write("alice: s3cret\n")
                rc.wait_for(lambda: status(run.state)["metrics"]["collectd"]["received"] >= 1, 20,
                            what="value lists accepted once the auth file exists")
                got = run.stop()
        check_names_and_dims(got, "after the auth file appeared")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_config_validate_accepts_every_collectd_key():
    cfg = {"metrics": {"metrics_collected": {"collectd": {
        "service_address": "udp://127.0.0.1:25826", "name_prefix": "collectd_",
        "collectd_security_level": "encrypt", "collectd_auth_file": "/etc/collectd/auth_file",
        "collectd_typesdb": [TYPESDB], "metrics_aggregation_interval": 60,
        "drop_original_metrics": ["collectd_cpu_value"], "append_dimensions": {"app": "x"}}}}}
    tmp = tempfile.mkdtemp(prefix="cwcollectd-")
    try:
        path = rc.write_json(os.path.join(tmp, "c.json"), cfg)
        r = cwtest.run_agent("config", "validate", "-c", path)
        eq(r.returncode, 0, "validate exit (%s)" % r.stderr)
        check("not supported" not in r.stdout + r.stderr, "collectd reported unsupported: %s" % (r.stdout + r.stderr))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    cwtest.main(globals())
