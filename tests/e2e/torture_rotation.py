"""Rotation torture: Debian's real logrotate rotates a log that a writer fills with numbered lines
while cwagent ships it to the emulator; every line is then accounted for.

Per scenario it prints: written, stored, lost (inherent: the line is in no file left on disk and
the mode is copytruncate, whose copy-then-truncate window no tailer can see; defect: anything
else), duplicated, out of order. run() returns those figures; the callers assert on them.

Used by tests/e2e/test_logs_torture.py (small counts, `make test`) and by `make torture`
(python3 tests/e2e/torture_rotation.py [LINES] [SCENARIO...], the issue's 150,000 lines).
"""
import glob
import gzip
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import cwtest
from test_logs_basic import Agent, TmpDir, config
from test_logs_rotation import wait_opened

HERE = os.path.dirname(os.path.abspath(__file__))
SEQ = re.compile(r"seq=(\d{9})")
LINE_BYTES = 99  # torture_writer.py: "seq=%09d " + 84 bytes + "\n"
LOGROTATE = shutil.which("logrotate") or "/usr/sbin/logrotate"

# name: logrotate options, file_path suffix, extra knobs
SCENARIOS = {
    "create": {"opts": ["create"]},
    "copytruncate": {"opts": ["copytruncate"], "inherent": True},
    "compress_delaycompress": {"opts": ["create", "compress", "delaycompress"]},
    "dateext": {"opts": ["create", "dateext", "dateformat -%Y%m%d-%s"], "min_gap": 1.1},
    "rotate1_outage": {"opts": ["create"], "rotate": 1, "outage": True},
    "copytruncate_outage": {"opts": ["copytruncate"], "inherent": True, "outage": True},
    "sigkill_x5": {"opts": ["create"], "kills": 5},
    "sigterm_gap": {"opts": ["create"], "stop_gap": 5.0},
    "late_reopen": {"opts": ["create"], "reopen_delay": 3.0},
    "glob": {"opts": ["create"], "glob": True},
}


def have_logrotate():
    return os.access(LOGROTATE, os.X_OK)


def logrotate_conf(path, sc, pidfile, rotate):
    lines = ["%s {" % path, "  rotate %d" % rotate, "  missingok", "  nomail", "  ifempty"]
    lines += ["  " + o for o in sc["opts"]]
    if "copytruncate" not in sc["opts"]:
        lines += ["  postrotate", "    kill -USR1 $(cat %s) 2>/dev/null || true" % pidfile,
                  "  endscript"]
    return "\n".join(lines + ["}", ""])


class Rotator(threading.Thread):
    """Runs logrotate -f every 0.5-2 s (seeded) until stopped."""

    def __init__(self, conf, state, rnd, min_gap):
        super().__init__(daemon=True)
        self.conf, self.state, self.rnd, self.min_gap = conf, state, rnd, min_gap
        self.stop_now = threading.Event()
        self.count = 0
        self.times = []  # seconds each logrotate run took
        self.errors = []

    def run(self):
        while not self.stop_now.wait(self.rnd.uniform(max(0.5, self.min_gap), 2.0)):
            t = time.monotonic()
            r = subprocess.run([LOGROTATE, "-f", "-s", self.state, self.conf],
                               capture_output=True, text=True)
            self.count += 1
            self.times.append(round(time.monotonic() - t, 2))
            if r.returncode != 0 and len(self.errors) < 5:
                self.errors.append(r.stderr.strip()[-300:])


def on_disk(tmp):
    """Every sequence number still in a file of the log's directory (gzip read too)."""
    seqs = set()
    for p in glob.glob(os.path.join(tmp, "logs", "app.log*")):
        opener = gzip.open if p.endswith(".gz") else open
        try:
            with opener(p, "rb") as f:
                seqs.update(int(m) for m in SEQ.findall(f.read().decode("ascii", "replace")))
        except (OSError, EOFError):
            pass
    return seqs


def account(got, total, disk, inherent_ok):
    """The figures of one run from the stored messages, in stream order."""
    seqs = [int(m.group(1)) for m in (SEQ.search(x) for x in got) if m]
    seen, dup, ooo, high = set(), 0, 0, -1
    for s in seqs:
        if s in seen:
            dup += 1
            continue
        seen.add(s)
        if s < high:
            ooo += 1
        high = max(high, s)
    missing = set(range(total)) - seen
    inherent = {s for s in missing if s not in disk} if inherent_ok else set()
    return {"written": total, "stored": len(seqs), "lost": len(missing),
            "lost_inherent": len(inherent), "lost_defect": len(missing) - len(inherent),
            "duplicated": dup, "out_of_order": ooo, "foreign": len(got) - len(seqs),
            "first_missing": sorted(missing - inherent)[:5]}


def _status(state):
    """The running agent's `cwagent status` logs section ({} when it does not answer)."""
    try:
        r = subprocess.run([cwtest.CWAGENT, "status", "--json", "--state-dir", state], capture_output=True,
                           text=True, timeout=20)
        return json.loads(r.stdout).get("logs", {})
    except (ValueError, subprocess.TimeoutExpired, AttributeError):
        return {}


def _settle(total, deadline, ag):
    """Waits until the agent (this run of it) sent every line, or its count of events sent
    stopped moving for 6 s. Asks the agent, not the emulator: reading 150,000 events back from
    the emulator every second would load the machine more than the test itself."""
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if ag.proc.poll() is not None:
            raise AssertionError("agent exited: %s" % ag.last_output()[-1500:])
        n = _status(ag.state).get("events_sent", -1)
        if n >= total:
            return
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since > 6:
            return
        time.sleep(1)


def stream_messages(emu, group, stream, timeout=300):
    """The stored messages of one stream, in arrival order (one request, a long timeout)."""
    with urllib.request.urlopen(emu.endpoint + "/_emulator/logs", timeout=timeout) as r:
        groups = json.loads(r.read())["groups"]
    events = groups.get(group, {}).get("streams", {}).get(stream, {}).get("events", [])
    return [e["message"] for e in events]


def _drive(sc, ag, emu, writer, rnd, duration):
    """The scenario's disturbances while the writer runs: outage, kills, a stopped gap."""
    t0 = time.monotonic()
    if sc.get("outage"):
        time.sleep(duration * 0.2)
        secs = max(3, int(duration * 0.4))
        emu.post("/_emulator/faults", {"operation": "PutLogEvents", "mode": "503",
                                       "seconds": secs})
    for _ in range(sc.get("kills", 0)):
        time.sleep(rnd.uniform(0.1, 0.18) * duration)
        ag.kill()
        ag.start()
    if sc.get("stop_gap"):
        time.sleep(duration * 0.3)
        rc = ag.stop(timeout=120)
        if rc != 0:  # a clean stop that had to be killed would explain duplicates: say so
            raise AssertionError("SIGTERM stop: exit status %s (expected 0)" % rc)
        time.sleep(sc["stop_gap"])
        ag.start()
    writer.wait(timeout=max(30, 3 * duration - (time.monotonic() - t0)))


def run(name, total, rate, seed=None, verbose=True):
    """Runs one scenario; returns its figures (dict). Raises cwtest.Skip without logrotate."""
    if not have_logrotate():
        raise cwtest.Skip("logrotate is not installed (apt-get install logrotate)")
    sc = SCENARIOS[name]
    seed = int(os.environ.get("CW_SEED", time.time())) if seed is None else seed
    rnd = random.Random(seed)
    duration = total / rate
    with TmpDir("cwtorture-") as tmp, cwtest.Emulator("-q") as emu:
        logs = os.path.join(tmp, "logs")
        os.mkdir(logs, 0o755)
        path = os.path.join(logs, "app.log")
        pidfile = os.path.join(tmp, "writer.pid")
        conf = os.path.join(tmp, "logrotate.conf")
        with open(conf, "w") as f:
            f.write(logrotate_conf(path, sc, pidfile, sc.get("rotate", 1000)))
        os.chmod(conf, 0o644)
        item = {"file_path": path + ("*" if sc.get("glob") else ""), "log_group_name": "g",
                "log_stream_name": "s"}
        cfg = config(emu.endpoint, [item])
        cfg["agent"]["cwagent"] = {"log_read_ahead_kb": 128}
        open(path, "w").close()
        writer = None
        rot = Rotator(conf, os.path.join(tmp, "logrotate.state"), rnd, sc.get("min_gap", 0))
        with Agent(tmp, cfg, emu.endpoint) as ag:
            try:
                wait_opened(ag, path)  # the agent follows app.log before anything rotates
                writer = subprocess.Popen([sys.executable, os.path.join(HERE, "torture_writer.py"),
                                           path, str(rate), str(total),
                                           str(sc.get("reopen_delay", 0)), pidfile])
                while not os.path.exists(pidfile):
                    time.sleep(0.01)
                rot.start()
                _drive(sc, ag, emu, writer, rnd, duration)
            finally:
                rot.stop_now.set()
                if writer and writer.poll() is None:
                    writer.kill()
                    writer.wait()
            rot.join()
            _settle(total, time.monotonic() + 120, ag)
            reported = int(_status(ag.state).get("truncated_unread_bytes", 0))
            cwtest.eq(ag.stop(), 0, "agent exit status")
            agent_log = [ln for ln in ag.output().splitlines() if "[logtail]" in ln]
        got = stream_messages(emu, "g", "s")
        fig = account(got, total, on_disk(tmp), sc.get("inherent", False))
        fig.update(scenario=name, rotations=rot.count, seed=seed,
                   reported_lost_lines=reported // LINE_BYTES)
        if rot.errors:
            fig["logrotate_errors"] = rot.errors
        fig["logrotate_seconds"] = rot.times
        if fig["lost_defect"] or fig["out_of_order"] or (fig["duplicated"] and not sc.get("kills")):
            print("\n".join(["  agent log (logtail), %s:" % name] + agent_log[-80:]), flush=True)
        if verbose:
            print("  %-22s written %6d  stored %6d  lost %5d (inherent %5d, defect %5d)  "
                  "duplicated %5d  out of order %5d  rotations %3d  agent-reported lost %d  seed %d"
                  % (name, fig["written"], fig["stored"], fig["lost"], fig["lost_inherent"],
                     fig["lost_defect"], fig["duplicated"], fig["out_of_order"], rot.count,
                     fig["reported_lost_lines"], seed),
                  flush=True)
        return fig


def check(fig, max_dups=0):
    """The promise: no defect loss, nothing out of order, no duplicates (beyond max_dups)."""
    problems = []
    if fig["lost_defect"]:
        problems.append("%d lines lost that are still on disk or not inherent (first %s)"
                        % (fig["lost_defect"], fig["first_missing"]))
    if fig["out_of_order"]:
        problems.append("%d lines out of order" % fig["out_of_order"])
    if fig["duplicated"] > max_dups:
        problems.append("%d duplicates (at most %d allowed)" % (fig["duplicated"], max_dups))
    if fig["foreign"]:
        problems.append("%d events that are not writer lines" % fig["foreign"])
    if fig["rotations"] < 2:
        problems.append("only %d rotations happened" % fig["rotations"])
    if problems:
        raise AssertionError("%s (seed %d): %s" % (fig["scenario"], fig["seed"],
                                                   "; ".join(problems)))


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 150000
    names = sys.argv[2:] or list(SCENARIOS)
    bad = 0
    results = []
    for nm in names:
        try:
            fig = run(nm, n, 2500)
            results.append(fig)
            check(fig, 5 * 10000 if SCENARIOS[nm].get("kills") else 0)
            print("PASS torture.%s" % nm, flush=True)
        except cwtest.Skip as e:
            print("SKIP torture.%s: %s" % (nm, e), flush=True)
        except Exception as e:  # noqa: BLE001 - reported, never hidden
            bad += 1
            print("FAIL torture.%s: %s" % (nm, str(e)[:2000]), flush=True)
    print(json.dumps(results, indent=1))
    sys.exit(1 if bad else 0)
