"""Hardening end to end (issue 17), against the emulator:

- symlinks planted in a watched log directory by another user — to a 0600 root file and to
  /proc/self/environ (which holds the agent's AWS secret key) — are not shipped, while the agent
  runs with the unit's privileges (uid nobody, only CAP_DAC_READ_SEARCH, via setpriv); a link the
  other user made to its own file is shipped; each refused link is logged once and counted in
  `cwagent status` (logs.tail.links_refused);
- a full disk (the state directory on a full 256 KiB tmpfs, in a private mount namespace) does
  not stop metrics: batches the spool cannot take are sent from memory, and status shows the
  failed spool writes.
Both need root (setpriv, unshare -m, mount); without it they SKIP with the reason.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import cwtest
import run_common as rc
import test_logs_basic as lb

SECRET_FILE_TEXT = "ROOT-ONLY-SECRET-CONTENT aws_secret_access_key=PLANTEDrootonly"
UNIT_PRIVS = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
              "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
              "--bounding-set=-all,+dac_read_search", "--no-new-privs"]


def need_root(what):
    if os.geteuid() != 0:
        raise cwtest.Skip("needs root for %s" % what)
    for tool in what.split("+"):
        if shutil.which(tool.strip()) is None:
            raise cwtest.Skip("%s is not installed" % tool.strip())


def status(state):
    r = subprocess.run([cwtest.CWAGENT, "status", "--json", "--state-dir", state], capture_output=True,
                       text=True, timeout=10)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {}


def as_daemon(*cmd):
    subprocess.run(["setpriv", "--reuid=daemon", "--regid=daemon", "--clear-groups"] + list(cmd),
                   check=True, timeout=10)


def test_planted_symlinks_are_not_shipped_under_unit_privileges():
    need_root("setpriv")
    tmp = tempfile.mkdtemp(prefix="cwharden-")
    emu = cwtest.Emulator()
    proc = None
    try:
        os.chmod(tmp, 0o755)
        app = os.path.join(tmp, "app")
        os.mkdir(app)
        os.chown(app, 1, 1)  # daemon: "any user who can create a file in a watched directory"
        secret = os.path.join(tmp, "rootonly.txt")
        with open(secret, "w") as f:
            f.write(SECRET_FILE_TEXT + "\n")
        os.chmod(secret, 0o600)
        as_daemon("sh", "-c", "echo DAEMON-OWN-LINE > %s/own.txt && echo PLAIN-LINE > %s/plain.log"
                  % (app, app))
        as_daemon("ln", "-s", secret, os.path.join(app, "evil.log"))
        as_daemon("ln", "-s", "/proc/self/environ", os.path.join(app, "env.log"))
        as_daemon("ln", "-s", os.path.join(app, "own.txt"), os.path.join(app, "mine.log"))
        state = os.path.join(tmp, "state")
        os.mkdir(state, 0o700)
        os.chown(state, 65534, 65534)
        emu.start()
        cfg = lb.config(emu.endpoint, [{"file_path": os.path.join(app, "*.log"),
                                        "log_group_name": "harden", "log_stream_name": "s",
                                        "publish_multi_logs": True}])
        cfg_path = os.path.join(tmp, "agent.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        os.chmod(cfg_path, 0o644)
        env = dict(os.environ, **lb.EMU_ENV)
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = emu.endpoint
        out = open(os.path.join(tmp, "agent.log"), "w")
        proc = subprocess.Popen(UNIT_PRIVS + [cwtest.CWAGENT, "run", "-c", cfg_path,
                                              "--state-dir", state],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env)
        lb.wait_for(lambda: lb.count(emu) >= 2, 20, what="the two permitted lines")
        time.sleep(3)  # polls and re-globs: the refused links stay refused
        st = status(state)
        # another user cannot read the socket: "unknown" and exit 1, never "stopped"
        other = subprocess.run(["setpriv", "--reuid=daemon", "--regid=daemon", "--clear-groups",
                                cwtest.CWAGENT, "status", "--json", "--state-dir", state],
                               capture_output=True, text=True, timeout=10)
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        out.close()
        with open(os.path.join(tmp, "agent.log")) as f:
            log = f.read()
        shipped = json.dumps(lb.groups(emu))
        cwtest.check("PLANTEDrootonly" not in shipped, "the root-only file was shipped")
        cwtest.check(cwtest.SECRET_KEY not in shipped, "the agent's environment was shipped")
        cwtest.check("DAEMON-OWN-LINE" in shipped, "the link to daemon's own file was not followed")
        cwtest.check("PLAIN-LINE" in shipped, "the plain file was not shipped")
        for name in ("evil.log", "env.log"):
            cwtest.eq(log.count("not following the symlink %s/%s" % (app, name)), 1,
                      "log lines about %s; log: %s" % (name, log[-1500:]))
        cwtest.eq(st.get("logs", {}).get("tail", {}).get("links_refused"), 2,
                  "status logs.tail.links_refused")
        cwtest.eq(other.returncode, 1, "status exit for another user (%s)" % other.stderr)
        cwtest.eq(json.loads(other.stdout).get("status"), "unknown", "status for another user")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_full_disk_metrics_still_sent_from_memory():
    need_root("unshare + mount")
    tmp = tempfile.mkdtemp(prefix="cwharden-")
    emu = cwtest.Emulator()
    proc = None
    try:
        state = os.path.join(tmp, "state")
        os.mkdir(state, 0o700)
        emu.start()
        cfg = rc.metrics_config(emu.endpoint, {"mem": {"measurement": ["mem_used_percent"]}})
        cfg_path = rc.write_json(os.path.join(tmp, "cfg.json"), cfg)
        env = rc.agent_env(emu)
        # a private mount namespace: the tmpfs is gone with the agent, the host sees nothing
        script = ('mount -t tmpfs -o size=256k,mode=0700 tmpfs "$1" && mkdir "$1/spool" && '
                  'mkdir "$1/logs" && (dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null; true) && '
                  'exec "$2" run -c "$3" --state-dir "$1"')
        out = open(os.path.join(tmp, "agent.log"), "w")
        proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                                 "sh", state, cwtest.CWAGENT, cfg_path],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env)
        try:
            rc.wait_for(lambda: len(rc.metrics(emu)) >= 3 or proc.poll() is not None, 20,
                        what="datums despite the full disk")
        except AssertionError:
            pass
        # `cwagent status` runs outside the namespace: the socket is on the tmpfs, not here
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
        out.close()
        with open(os.path.join(tmp, "agent.log")) as f:
            log = f.read()
        if "mount:" in log and "permission denied" in log.lower():
            raise cwtest.Skip("cannot mount a tmpfs here: %s" % log.strip()[:200])
        got = rc.metrics(emu)
        cwtest.check(len(got) >= 3, "only %d datums arrived with a full state disk; log: %s"
                     % (len(got), log[-1500:]))
        cwtest.check("No space left on device" in log, "the spool did not fail: %s" % log[-800:])
        cwtest.check("keeping it (and the next ones) in memory" in log, "no memory fallback")
        cwtest.check("they are lost" not in log, "a batch was lost: %s" % log[-800:])
        cwtest.eq(code, 0, "exit status")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[2])  # effective
    return None


def test_run_as_user_is_honoured_or_refused():
    """Started as root, agent.run_as_user switches the process to that user (state directory
    handed over); an unknown user is refused (exit 2), never silently ignored."""
    need_root("setpriv")
    tmp = tempfile.mkdtemp(prefix="cwharden-")
    emu = cwtest.Emulator()
    try:
        os.chmod(tmp, 0o755)
        emu.start()
        cfg = rc.metrics_config(emu.endpoint, {"mem": {"measurement": ["mem_used_percent"]}})
        cfg["agent"]["run_as_user"] = "nobody"
        path = rc.write_json(os.path.join(tmp, "cfg.json"), cfg)
        os.chmod(path, 0o644)
        state = os.path.join(tmp, "state")
        ag = rc.Agent([path], state, rc.agent_env(emu)).start()
        try:
            rc.wait_for(lambda: len(rc.metrics(emu)) >= 2, 20, what="datums as nobody")
            cwtest.eq(proc_uid(ag.pid), 65534, "effective uid of the agent")
            cwtest.eq(os.stat(os.path.join(state, "spool")).st_uid, 65534, "owner of the spool")
            code, _ = ag.stop()
            cwtest.eq(code, 0, "exit status")
        finally:
            ag.close()
        cwtest.check("running as nobody" in ag.err(), "no 'running as' line: %s" % ag.err()[-500:])
        cfg["agent"]["run_as_user"] = "no-such-user-cwharden"
        rc.write_json(path, cfg)
        r = cwtest.run_agent("run", "-c", path, "--state-dir", state, timeout=30,
                             env=rc.agent_env(emu))
        cwtest.eq(r.returncode, 2, "exit for an unknown run_as_user (%s)" % r.stderr[-300:])
        cwtest.check("no user \"no-such-user-cwharden\"" in r.stderr, r.stderr[-300:])
    finally:
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_agent_own_log_is_not_timestamp_parsed():
    """As the reference: events of agent.logfile get the time they were read, so an old
    timestamp in a line is not "too old" (a parsed one would be dropped)."""
    tmp = tempfile.mkdtemp(prefix="cwharden-")
    emu = cwtest.Emulator()
    try:
        own = os.path.join(tmp, "cwagent.log")
        with open(own, "w") as f:
            f.write("2001-01-01T00:00:00Z I! [x] ANCIENT-OWN-LINE\n")
        other = os.path.join(tmp, "app.log")
        with open(other, "w") as f:
            f.write("2001-01-01T00:00:00Z I! [x] ANCIENT-APP-LINE\n")
        emu.start()
        entry = {"log_group_name": "own", "timestamp_format": "%Y-%m-%dT%H:%M:%SZ"}
        cfg = lb.config(emu.endpoint, [dict(entry, file_path=own, log_stream_name="own"),
                                       dict(entry, file_path=other, log_stream_name="app")])
        cfg["agent"]["logfile"] = own
        t0 = time.time()
        with lb.Agent(tmp, cfg, emu.endpoint) as ag:
            lb.wait_for(lambda: "ANCIENT-OWN-LINE" in json.dumps(lb.groups(emu)), 20,
                        what="the agent's own log line")
            time.sleep(2)
            ev = [e for e in lb.events(emu).get(("own", "own"), [])
                  if "ANCIENT-OWN-LINE" in e["message"]]
            app = lb.messages(emu, "own", "app")
            cwtest.check(ev and ev[0]["timestamp"] / 1000.0 >= t0 - 5,
                         "own log event time %r (read at ~%d)" % (ev[:1], t0))
            cwtest.check("ANCIENT-APP-LINE" not in json.dumps(app),
                         "the other file's 2001 line should be too old: %r; log %s"
                         % (app, ag.output()[-500:]))
    finally:
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)


cwtest.main(globals())
