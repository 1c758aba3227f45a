"""`cwagent status` against a running agent (figures move when data flows), the stopped
document, and agent.logfile + agent.debug (the agent's own log goes to the file, never a secret)."""
import json
import os
import subprocess
import tempfile
import time

import cwtest
import run_common as rc
from cwtest import check, eq


def status(state):
    r = subprocess.run([cwtest.CWAGENT, "status", "--json", "--state-dir", state], capture_output=True,
                       text=True, timeout=20)
    eq(r.returncode, 0, "status exit (%s)" % r.stderr)
    return json.loads(r.stdout)


def human(state):
    r = subprocess.run([cwtest.CWAGENT, "status", "--state-dir", state], capture_output=True,
                       text=True, timeout=20)
    eq(r.returncode, 0, "status exit (%s)" % r.stderr)
    check(not r.stdout.lstrip().startswith("{"), "status without --json printed JSON")
    return r.stdout


def wait_status(state, pred, seconds, what):
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        try:
            last = status(state)
            if pred(last):
                return last
        except (AssertionError, ValueError):
            pass
        time.sleep(0.3)
    raise AssertionError("timed out waiting for %s; last status: %s" % (what, last))


def test_status_figures_move_while_data_flows():
    with tempfile.TemporaryDirectory() as tmp, cwtest.Emulator("-q") as emu:
        log = os.path.join(tmp, "app.log")
        with open(log, "w") as f:
            f.write("".join("line %d\n" % i for i in range(100)))
        cfg = rc.metrics_config(emu.endpoint, {"mem": {"measurement": ["mem_used_percent"]}})
        cfg["logs"] = {"endpoint_override": emu.endpoint, "force_flush_interval": 1,
                       "logs_collected": {"files": {"collect_list": [
                           {"file_path": log, "log_group_name": "status-g"}]}}}
        path = rc.write_json(os.path.join(tmp, "c.json"), cfg)
        state = os.path.join(tmp, "state")
        with rc.Agent([path], state, rc.agent_env(emu)) as ag:
            first = wait_status(state, lambda s: s.get("metrics", {}).get("datums_sent", 0) > 0
                                and s.get("logs", {}).get("events_sent", 0) >= 99, 20,
                                "datums and events sent")
            for key in ("status", "starttime", "configstatus", "version"):
                check(key in first, "reference field %s missing: %s" % (key, first))
            eq(first["status"], "running", "status")
            eq(first["credentials"]["source"], "environment", "credentials source")
            check(cwtest.SECRET_KEY not in json.dumps(first), "secret in the status document")
            files = first["logs"]["files"]
            eq(len(files), 1, "followed files")
            eq(files[0]["path"], log, "file path")
            with open(log, "a") as f:  # the last line waits for the multi-line idle flush
                f.write("".join("more %d\n" % i for i in range(50)))
            later = wait_status(state, lambda s: s["metrics"]["datums_sent"] >
                                first["metrics"]["datums_sent"] and
                                s["logs"]["events_sent"] >= 149, 20, "figures to move")
            f0 = later["logs"]["files"][0]
            eq(f0["size"], os.path.getsize(log), "file size")
            check(f0["committed"] <= f0["size"] and f0["lag_bytes"] == f0["size"] - f0["committed"],
                  "offsets: %s" % f0)
            check(later["metrics"]["api"]["calls"] >= 2, "api calls: %s" % later["metrics"]["api"])
            text = human(state)
            for want in ("running since", "region us-east-1", "credentials   environment",
                         "metrics       shipping: last accepted", "logs          shipping: ",
                         "files (1)", "  %s  " % log, "events sent"):
                check(want in text, "%r not in the human status:\n%s" % (want, text))
            check(text.lstrip().startswith("cwagent "), text)
            rc_, _ = ag.stop()
            eq(rc_, 0, "agent exit")
        stopped = status(state)
        eq(stopped["status"], "stopped", "status after stop")
        check(human(state).startswith("cwagent %s stopped (" % first["version"]),
              "human stopped status: %r" % human(state))
        check(not os.path.exists(os.path.join(state, "cwagent.sock")), "socket left behind")
        mode = os.stat(state).st_mode & 0o777
        eq(mode, 0o700, "state directory mode")


def test_logfile_and_debug_never_show_a_secret():
    with tempfile.TemporaryDirectory() as tmp, cwtest.Emulator("-q") as emu:
        logfile = os.path.join(tmp, "agent.log")
        cfg = rc.metrics_config(emu.endpoint, {"mem": {"measurement": ["mem_used_percent"]}})
        cfg["agent"].update({"logfile": logfile, "debug": True})
        path = rc.write_json(os.path.join(tmp, "c.json"), cfg)
        with rc.Agent([path], os.path.join(tmp, "state"), rc.agent_env(emu)) as ag:
            rc.wait_for(lambda: rc.metrics(emu), 15, what="first datums")
            eq(ag.stop()[0], 0, "agent exit")
            err = ag.err()
        with open(logfile) as f:
            text = f.read()
        check("] running" in text and "flush:" in text, "log file content: %s" % text[-800:])
        check(" D! " in text, "agent.debug gives debug lines")
        check("flush:" not in err, "after the switch, lines go to the file, not stderr: %s" % err)
        for secret in (cwtest.SECRET_KEY, cwtest.ACCESS_KEY):
            check(secret not in text and secret not in err, "secret %s logged" % secret[:6])


cwtest.main(globals())
