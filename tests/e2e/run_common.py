"""run_common — helpers for the `cwagent run` end-to-end tests (tests/e2e/test_run_*.py) and
bench/bench_run.py: start the real agent against the emulator, signal it, read its counters.

The agent's own accounting (stderr, agent/metrics_pipe.c and agent/cmd_run.c):
  "flush: S datums sent, Q queued, R rejected, spool E entries (B bytes)"  once per flush
  "stopped: S datums sent, R rejected, E batches left in the spool"          once at exit
Q counts every datum written to the on-disk spool since the pipe started (a SIGHUP reload starts
a new pipe, so the counters restart from 0). Datums still in memory when the agent is SIGKILLed
were never queued and are not expected anywhere.
"""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import cwtest

FLUSH_RE = re.compile(r"flush: (\d+) datums sent, (\d+) queued, (\d+) rejected, spool (\d+) entries")
STOP_RE = re.compile(r"stopped: (\d+) datums sent, (\d+) rejected, (\d+) batches left in the spool")


def agent_env(emu, static_keys=True, extra=None):
    """Environment for the agent: only loopback endpoints, the emulator's keys, no user files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": emu.info["imds"] if emu else "http://127.0.0.1:9",
        "AWS_ENDPOINT_URL": emu.endpoint if emu else "http://127.0.0.1:9",
        "AWS_CONFIG_FILE": "/nonexistent/cwagent-e2e/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/cwagent-e2e/credentials",
    })
    if static_keys:
        env["AWS_ACCESS_KEY_ID"] = cwtest.ACCESS_KEY
        env["AWS_SECRET_ACCESS_KEY"] = cwtest.SECRET_KEY
    if extra:
        env.update(extra)
    return env


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
    return path


def metrics_config(endpoint, collected, interval=1, flush=1, **metrics_extra):
    """A config with agent.region us-east-1, the endpoint override and `collected`."""
    m = {"endpoint_override": endpoint, "force_flush_interval": flush, "metrics_collected": collected}
    m.update(metrics_extra)
    return {"agent": {"metrics_collection_interval": interval, "region": "us-east-1"}, "metrics": m}


class Agent:
    """`cwagent run` as a child process; stderr goes to a file read with .err()."""

    def __init__(self, configs, state_dir, env, args=()):
        self.configs = list(configs)
        self.state_dir = state_dir
        self.env = env
        self.args = list(args)
        self.proc = None
        self._err = None
        self._text = ""
        self.started = None

    def start(self):
        cmd = [cwtest.CWAGENT, "run", "--state-dir", self.state_dir] + self.args
        for c in self.configs:
            cmd += ["-c", c]
        self._err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._err,
                                     stderr=self._err, env=self.env, text=True)
        self.started = time.time()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()

    @property
    def pid(self):
        return self.proc.pid

    def err(self):
        if not self._err:
            return self._text
        self._err.seek(0)
        return self._err.read()

    def send(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("cwagent did not exit within %ss; stderr tail: %s"
                                 % (timeout, self.err()[-1500:]))

    def stop(self, timeout=15):
        """SIGTERM and wait; returns (rc, seconds taken)."""
        t0 = time.time()
        self.send(signal.SIGTERM)
        rc = self.wait(timeout)
        return rc, time.time() - t0

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.kill()
        if self._err:
            self._text = self.err()
            self._err.close()
            self._err = None

    def flushes(self):
        """[(sent, queued, rejected, spool_entries)] in order."""
        return [tuple(int(x) for x in m.groups()) for m in FLUSH_RE.finditer(self.err())]

    def queued_total(self):
        """Datums this process wrote to the spool, summed over its pipes: each start or SIGHUP
        reload logs "publishing metrics to" and starts a pipe whose counters begin at 0."""
        total = 0
        for seg in self.err().split("publishing metrics to")[1:]:
            qs = [int(m.group(2)) for m in FLUSH_RE.finditer(seg)]
            total += qs[-1] if qs else 0
        return total

    def stopped(self):
        """(sent, rejected, left) from the shutdown line, or None."""
        m = STOP_RE.search(self.err())
        return tuple(int(x) for x in m.groups()) if m else None


def wait_for(pred, timeout, step=0.25, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def metrics(emu):
    return emu.get("/_emulator/metrics")["metrics"]


def dim_names(m):
    return tuple(d["Name"] for d in m["dimensions"])


def key(m):
    return (m["namespace"], m["name"], tuple((d["Name"], d["Value"]) for d in m["dimensions"]),
            round(m["timestamp"], 3))


def check_exactly_once(got, expected_count, what="datums"):
    """Each (namespace, name, dims, timestamp) once, and as many as the agent queued."""
    keys = [key(m) for m in got]
    dups = len(keys) - len(set(keys))
    cwtest.check(dups == 0, "%s: %d duplicate (name, dims, timestamp) keys among %d" % (what, dups, len(keys)))
    cwtest.eq(len(got), expected_count, "%s delivered vs queued by the agent" % what)


def series(got, name, dims=None):
    """Sorted timestamps of one series (dims None: the first dims seen for that name)."""
    sel = [m for m in got if m["name"] == name]
    if not sel:
        return []
    want = dims if dims is not None else sel[0]["dimensions"]
    return sorted(m["timestamp"] for m in sel if m["dimensions"] == want)


def max_gap(ts):
    return max((b - a for a, b in zip(ts, ts[1:])), default=0.0)


def hostname():
    return socket.gethostname()


def spool_files(state_dir):
    d = os.path.join(state_dir, "spool")
    return sorted(f for f in os.listdir(d) if f.endswith(".spl")) if os.path.isdir(d) else []
