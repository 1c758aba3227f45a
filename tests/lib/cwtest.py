"""cwtest — the harness for Python end-to-end tests.

A test file defines functions named test_*, and ends with `cwtest.main(globals())`. Each test
prints one line: "PASS <file>.<test>", "FAIL <file>.<test>: <why>" or "SKIP <file>.<test>: <why>"
(tests/run.sh counts them). Raise cwtest.Skip("reason") to skip.

Helpers start the real programs: Emulator() runs tests/emulator/cwemu on a free loopback port and
stops it on exit; run_agent() runs the cwagent binary with a timeout. Everything is bounded in time.
"""
import json
import os
import signal
import subprocess
import sys
import time
import traceback
import urllib.request

REPO = os.environ.get("CW_REPO", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SHARED = os.environ.get("CW_SHARED", os.path.abspath(os.path.join(REPO, "..", "shared")))
CWAGENT = os.environ.get("CWAGENT", os.path.join(REPO, "build", "cwagent"))
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
CWEMU = os.path.join(REPO, "tests", "emulator", "cwemu")

# The emulator's documented static key pair (tests/emulator/README.md).
ACCESS_KEY = "AKIDCWEMULATOR00001"
SECRET_KEY = "cwemu/secret/key/for/local/tests/only00"


class Skip(Exception):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(got, want, what="value"):
    if got != want:
        raise AssertionError("%s: expected %r, got %r" % (what, want, got))


class Emulator:
    """Runs cwemu on 127.0.0.1 with a free port; use as a context manager."""

    def __init__(self, *args, timeout=10):
        self.args = list(args)
        self.timeout = timeout
        self.proc = None
        self.info = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, port=0):
        cmd = [PYTHON, CWEMU, "--port", str(port)] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        deadline = time.time() + self.timeout
        line = self.proc.stdout.readline()
        if not line or time.time() > deadline:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            raise AssertionError("emulator did not start: %s" % err[-2000:])
        self.info = json.loads(line)
        return self.info

    @property
    def endpoint(self):
        return self.info["endpoint"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            for f in (self.proc.stdout, self.proc.stderr):
                if f:
                    f.close()

    def get(self, path):
        with urllib.request.urlopen(self.endpoint + path, timeout=10) as r:
            return json.loads(r.read().decode())

    def post(self, path, obj):
        req = urllib.request.Request(self.endpoint + path, data=json.dumps(obj).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read().decode()
            return json.loads(body) if body else None


def run_agent(*args, timeout=60, env=None, input=None):
    """Runs cwagent with args; returns CompletedProcess (text)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([CWAGENT] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=e, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)


def main(ns):
    suite = os.path.splitext(os.path.basename(ns.get("__file__", sys.argv[0])))[0]
    only = sys.argv[1] if len(sys.argv) > 1 else None
    failed = False
    for name, fn in list(ns.items()):
        if not name.startswith("test_") or not callable(fn):
            continue
        if only and only not in name:
            continue
        try:
            fn()
            print("PASS %s.%s" % (suite, name), flush=True)
        except Skip as e:
            print("SKIP %s.%s: %s" % (suite, name, e), flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, never hidden
            failed = True
            tb = traceback.format_exc().strip().splitlines()
            where = next((l.strip() for l in reversed(tb) if l.strip().startswith("File ")), "")
            msg = ("%s: %s [%s]" % (type(e).__name__, e, where)).replace("\n", " | ")
            print("FAIL %s.%s: %s" % (suite, name, msg[:3000]), flush=True)
            sys.stderr.write("\n".join(tb) + "\n")
    sys.exit(1 if failed else 0)
