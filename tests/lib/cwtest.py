"""cwtest — the harness for Python end-to-end tests.

A test file defines functions named test_*, and ends with `cwtest.main(globals())`. Each test
prints one line: "PASS <file>.<test>", "FAIL <file>.<test>: <why>" or "SKIP <file>.<test>: <why>"
(tests/run.sh counts them). Raise cwtest.Skip("reason") to skip.

Helpers start the real programs: Emulator() runs tests/emulator/cwemu on a free loopback port and
stops it on exit; run_agent() runs the cwagent binary with a timeout. Everything is bounded in time.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

REPO = os.environ.get("CW_REPO", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
# Reference data vendored in the repository (tests/fixtures/reference/README.md).
REFERENCE = os.path.join(REPO, "tests", "fixtures", "reference")
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
    """Runs cwemu on 127.0.0.1 with a free port; use as a context manager.

    args are cwemu flags, e.g. Emulator("--creds-lifetime", "30", "--imdsv1"). The startup line is in
    .info (endpoint, imds, ecs, port, pid, region). The emulator's stderr (one line per request) goes
    to a temporary file, read with .stderr_text().
    """

    def __init__(self, *args, timeout=10):
        self.args = list(args)
        self.timeout = timeout
        self.proc = None
        self.info = None
        self._err = None
        self._models = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, port=0):
        cmd = [PYTHON, CWEMU, "--port", str(port)] + self.args
        self._err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err,
                                     stdin=subprocess.DEVNULL, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("emulator did not start: %s" % self.stderr_text()[-2000:])
        self.info = json.loads(line)
        return self.info

    def stderr_text(self):
        if not self._err:
            return ""
        self._err.seek(0)
        return self._err.read()

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
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if self._err:
            self._err.close()
            self._err = None
        if self._models:
            shutil.rmtree(self._models, ignore_errors=True)
            self._models = None

    def get(self, path):
        with urllib.request.urlopen(self.endpoint + path, timeout=10) as r:
            return json.loads(r.read().decode())

    def post(self, path, obj):
        req = urllib.request.Request(self.endpoint + path, data=json.dumps(obj).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read().decode()
            return json.loads(body) if body else None

    def delete(self, path):
        req = urllib.request.Request(self.endpoint + path, method="DELETE")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read().decode() or "null")

    def raw(self, method, path, headers=None, body=None, timeout=10):
        """Any HTTP request to the emulator; returns (status, headers dict lower-cased, body bytes)."""
        req = urllib.request.Request(self.endpoint + path, data=body, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def client(self, service, access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=None,
               region="us-east-1", **config):
        """A botocore client for `service` (cloudwatch, logs, sts, ec2, ssm) aimed at the emulator.

        logs and sts use the newer official models from tests/fixtures/reference/aws-models (so e.g.
        logGroupClass exists); cloudwatch keeps botocore's bundled awsQuery model.
        """
        import botocore.config
        import botocore.session
        session = botocore.session.get_session()
        session.get_component("data_loader").search_paths.insert(0, self._model_dir())
        cfg = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"},
                                     connect_timeout=5, read_timeout=20, **config)
        return session.create_client(service, endpoint_url=self.endpoint, region_name=region,
                                     aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                     aws_session_token=token, config=cfg)

    def _model_dir(self):
        if self._models is None:
            self._models = tempfile.mkdtemp(prefix="cwtest-models-")
            for svc, ver in (("logs", "2014-03-28"), ("sts", "2011-06-15")):
                src = os.path.join(REFERENCE, "aws-models", svc, "service-2.json")
                if os.path.exists(src):
                    os.makedirs(os.path.join(self._models, svc, ver))
                    os.symlink(src, os.path.join(self._models, svc, ver, "service-2.json"))
        return self._models


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
