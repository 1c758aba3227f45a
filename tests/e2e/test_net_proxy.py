"""Proxies and private CAs end to end: the real agent, Debian's tinyproxy (with basic auth), and a
TLS front of the emulator whose certificate is signed by a test CA made here with openssl.

- metrics and logs arrive through the proxy (its log shows the CONNECTs), instance metadata
  calls do not go through it, and the proxy password never appears in the agent's output;
- NO_PROXY (from the environment) bypasses the proxy;
- a proxy that refuses connections gives a clear error at once, retried, and nothing is lost:
  a second run through a working proxy delivers every line and every spooled datum;
- without the CA the agent says "TLS: ... certificate" at the first failure and keeps the data;
  with ca_bundle_path (or AWS_CA_BUNDLE) the same endpoint works;
- a bad CA bundle and a malformed common-config.toml stop `cwagent run` at start-up (exit 2)
  with the file, line and key.
"""
import json
import os
import shutil
import tempfile
import time

import cwtest
import netfix
import run_common as rc

PASSWORD = "s3cretPW0xy"
LINES = 30


class Setup:
    """Emulator + TLS front + (optionally) tinyproxy in a temporary directory."""

    def __init__(self, proxy=True):
        self.tmp = tempfile.mkdtemp(prefix="cwnet-")
        self.emu = self.front = self.proxy = None
        self.agents = []
        try:
            self.name, addr, family = netfix.loopback_name()
            self.certs = netfix.make_ca(self.tmp, self.name)
            self.emu = cwtest.Emulator()
            self.emu.start()
            self.front = netfix.TlsFront(addr, self.certs["cert"], self.certs["key"],
                                         self.emu.info["port"], family)
            if proxy:
                self.proxy = netfix.Tinyproxy("alice", PASSWORD)
        except BaseException:
            self.close()
            raise
        self.hostport = "%s:%d" % (self.name, self.front.port)
        self.url = "https://" + self.hostport
        self.log = os.path.join(self.tmp, "app.log")
        self.state = os.path.join(self.tmp, "state")
        cfg = {"agent": {"region": "us-east-1", "metrics_collection_interval": 1},
               "metrics": {"endpoint_override": self.url, "force_flush_interval": 1,
                           "metrics_collected": {"mem": {"measurement": ["mem_used_percent"]}}},
               "logs": {"endpoint_override": self.url, "force_flush_interval": 1,
                        "logs_collected": {"files": {"collect_list": [
                            {"file_path": self.log, "log_group_name": "net",
                             "log_stream_name": "s"}]}}}}
        self.cfg = rc.write_json(os.path.join(self.tmp, "cfg.json"), cfg)
        self.cc = os.path.join(self.tmp, "common-config.toml")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def write_lines(self, start, n):
        with open(self.log, "a") as f:
            for i in range(start, start + n):
                f.write("line %04d\n" % i)

    def agent(self, extra_env=None, args=()):
        env = rc.agent_env(self.emu, extra=extra_env)
        for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY",
                  "no_proxy", "ALL_PROXY", "all_proxy"):
            if k not in (extra_env or {}):
                env.pop(k, None)
        a = rc.Agent([self.cfg], self.state, env, args=["--common-config", self.cc] + list(args))
        self.agents.append(a)
        return a.start()

    def messages(self):
        g = self.emu.get("/_emulator/logs")["groups"].get("net", {})
        return [e["message"] for e in g.get("streams", {}).get("s", {}).get("events", [])]

    def close(self):
        for a in self.agents:
            a.close()
        for x in (self.proxy, self.front, self.emu):
            if x:
                (x.close if hasattr(x, "close") else x.stop)()
        shutil.rmtree(self.tmp, ignore_errors=True)


def want_lines(n):
    return ["line %04d" % i for i in range(n)]


def test_metrics_and_logs_go_through_the_proxy_and_imds_does_not():
    with Setup() as s:
        netfix.write_common_config(s.cc, proxy=s.proxy.url, ca=s.certs["ca"])
        s.write_lines(0, LINES)
        a = s.agent()
        rc.wait_for(lambda: len(s.messages()) >= LINES and rc.metrics(s.emu), 30,
                    what="logs and metrics through the proxy")
        code, _ = a.stop()
        cwtest.eq(code, 0, "exit status")
        cwtest.eq(s.messages(), want_lines(LINES), "log lines delivered once, in order")
        cwtest.check(s.proxy.connects(s.hostport) >= 1,
                     "no CONNECT %s in the proxy log:\n%s" % (s.hostport, s.proxy.log()[-2000:]))
        cwtest.check("/latest/" not in s.proxy.log(), "instance metadata went through the proxy")
        cwtest.check("/latest/api/token" in s.emu.stderr_text(),
                     "the agent did not ask the (direct) instance metadata service")
        err = a.err()
        cwtest.check(PASSWORD not in err, "the proxy password is in the agent's output")
        cwtest.check("https proxy http://***@127.0.0.1:%d" % s.proxy.port in err,
                     "the proxy in use is not logged (redacted): %s" % err[-1500:])
        cwtest.eq(s.front.handshakes_failed, 0, "failed TLS handshakes at the front")


def test_no_proxy_from_the_environment_bypasses_the_proxy():
    with Setup() as s:
        netfix.write_common_config(s.cc, ca=s.certs["ca"])
        s.write_lines(0, 5)
        a = s.agent({"HTTPS_PROXY": s.proxy.url, "NO_PROXY": "example.com, " + s.name})
        rc.wait_for(lambda: len(s.messages()) >= 5 and rc.metrics(s.emu), 30,
                    what="delivery without the proxy")
        a.stop()
        cwtest.eq(s.proxy.connects(s.hostport), 0, "CONNECTs through the bypassed proxy")
        # The same environment without NO_PROXY does use the proxy (the test can fail).
        s.write_lines(5, 5)
        b = s.agent({"HTTPS_PROXY": s.proxy.url})
        rc.wait_for(lambda: len(s.messages()) >= 10, 30, what="delivery through the proxy")
        b.stop()
        cwtest.check(s.proxy.connects(s.hostport) >= 1, "HTTPS_PROXY was not used")
        cwtest.eq(s.messages(), want_lines(10), "log lines")


def test_refused_proxy_is_a_clear_retried_error_and_nothing_is_lost():
    with Setup() as s:
        dead = "http://alice:%s@127.0.0.1:%d" % (PASSWORD, netfix.closed_port())
        netfix.write_common_config(s.cc, proxy=dead, ca=s.certs["ca"])
        s.write_lines(0, LINES)
        a = s.agent()
        rc.wait_for(lambda: "through proxy http://***@127.0.0.1" in a.err(), 20,
                    what="the proxy error in the log")
        time.sleep(3)  # a few retries and metric flushes into the spool
        r = cwtest.run_agent("status", "--state-dir", s.state)
        for dest in ("metrics", "logs"):
            line = next((l for l in r.stdout.splitlines() if l.startswith(dest + " ")), "")
            cwtest.check("FAILING for" in line and "through proxy http://***@" in line,
                         "status does not say %s is failing: %s" % (dest, r.stdout))
        cwtest.check(PASSWORD not in r.stdout, "the proxy password is in cwagent status")
        code, _ = a.stop()
        cwtest.eq(code, 0, "exit status of the first run")
        err = a.err()
        cwtest.check(PASSWORD not in err, "the proxy password is in the agent's output")
        first = [l for l in err.splitlines() if "through proxy" in l]
        cwtest.check(first and "W!" in first[0] and "retrying" in first[0],
                     "first failure not logged as a retried warning: %r" % first[:2])
        cwtest.check(len(first) <= 4, "the proxy error is not rate-limited: %d lines" % len(first))
        cwtest.eq(s.messages(), [], "lines delivered through a dead proxy")
        spooled = a.queued_total()
        cwtest.check(spooled > 0, "no datum was spooled during the failure")
        # The proxy comes back: everything is delivered, once.
        netfix.write_common_config(s.cc, proxy=s.proxy.url, ca=s.certs["ca"])
        b = s.agent()
        rc.wait_for(lambda: len(s.messages()) >= LINES, 30, what="lines after the proxy is back")
        rc.wait_for(lambda: len(rc.metrics(s.emu)) >= spooled, 30, what="spooled datums")
        b.stop()
        cwtest.eq(s.messages(), want_lines(LINES), "log lines")
        rc.check_exactly_once(rc.metrics(s.emu), spooled + b.queued_total())


def test_private_ca_missing_is_a_tls_error_and_data_is_kept():
    with Setup(proxy=False) as s:
        netfix.write_common_config(s.cc)
        s.write_lines(0, 10)
        a = s.agent()
        rc.wait_for(lambda: "TLS: SSL certificate problem" in a.err(), 20, what="the TLS error")
        code, _ = a.stop()
        cwtest.eq(code, 0, "exit status")
        line = next(l for l in a.err().splitlines() if "TLS: SSL certificate problem" in l)
        cwtest.check("W!" in line and "ca_bundle_path" in line and "AWS_CA_BUNDLE" in line,
                     "the TLS error does not say what to do: %s" % line)
        cwtest.eq(s.messages(), [], "lines delivered to an untrusted endpoint")
        cwtest.check(s.front.handshakes_failed >= 1, "no handshake was refused by the agent")
        # AWS_CA_BUNDLE (no file setting): the same endpoint is trusted, nothing was lost.
        b = s.agent({"AWS_CA_BUNDLE": s.certs["ca"]})
        rc.wait_for(lambda: len(s.messages()) >= 10, 30, what="lines with the CA")
        b.stop()
        cwtest.eq(s.messages(), want_lines(10), "log lines")
        cwtest.check("trusting the CA bundle %s (AWS_CA_BUNDLE)" % s.certs["ca"] in b.err(),
                     "the CA bundle in use is not logged")


def test_bad_bundle_and_bad_common_config_stop_the_start():
    tmp = tempfile.mkdtemp(prefix="cwnet-")
    try:
        cfg = rc.write_json(os.path.join(tmp, "cfg.json"), rc.metrics_config(
            "http://127.0.0.1:9", {"mem": {"measurement": ["mem_used_percent"]}}))
        cc = os.path.join(tmp, "common-config.toml")
        env = rc.agent_env(None)
        notpem = os.path.join(tmp, "notpem.crt")
        with open(notpem, "w") as f:
            f.write("not a certificate\n")
        cases = [
            ('[ssl]\nca_bundle_path = "%s"\n' % notpem, {},
             "CA bundle %s (common-config.toml [ssl] ca_bundle_path): no PEM certificate in it"
             % notpem),
            ("", {"AWS_CA_BUNDLE": os.path.join(tmp, "missing.pem")},
             "CA bundle %s (AWS_CA_BUNDLE): cannot read: No such file or directory"
             % os.path.join(tmp, "missing.pem")),
            ("[proxy]\nhttps_proxy = http://p:3128\n", {},
             "%s:2: [proxy] https_proxy: 'http://p:3128' is not a value" % cc),
            ("[imds]\nimds_retries = 'x'\n", {},
             "%s:2: [imds] imds_retries: expected an integer, got a string" % cc),
            ("[proxy]\n[proxy]\n", {}, "%s:2: table [proxy] is defined twice" % cc),
        ]
        for text, extra, want in cases:
            with open(cc, "w") as f:
                f.write(text)
            e = dict(env, **extra)
            r = cwtest.run_agent("run", "-c", cfg, "--state-dir", os.path.join(tmp, "st"),
                                 "--common-config", cc, env=e, timeout=20)
            cwtest.eq(r.returncode, 2, "exit status for %r" % text)
            cwtest.check(want in r.stderr, "expected %r in: %s" % (want, r.stderr[-800:]))
        # fetch-config (what cwagent-ctl runs) refuses too, and writes nothing
        out = os.path.join(tmp, "cwagent.d")
        r = cwtest.run_agent("fetch-config", "-s", "default", "-o", out, "-m", "onPremise",
                             "--common-config", cc, env=env, timeout=20)
        cwtest.eq(r.returncode, 2, "fetch-config exit status with a bad common-config.toml")
        cwtest.check("%s:2: table [proxy] is defined twice" % cc in r.stderr, r.stderr)
        cwtest.check(not os.path.exists(os.path.join(out, "default")), "a config was written")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    cwtest.main(globals())
