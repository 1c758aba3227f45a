"""`cwagent run` under CloudWatch faults: throttling, 503s, dropped connections, clock skew and
expired IMDS credentials. Every datum the agent collected arrives exactly once.

Exactly-once oracle (two independent checks):
 1. the agent's own accounting: Q = datums it wrote to the spool ("flush: ... Q queued");
    at exit "stopped: S datums sent, 0 rejected, 0 batches left" with S == Q; the emulator holds
    exactly Q datums and no (namespace, name, dimensions, timestamp) key twice;
 2. independent of the agent's counters: the 1 s mem_used_percent series has one point per
    second from its first to its last timestamp (a lost batch leaves a gap, a duplicate a
    repeated key).
"""
import os
import shutil
import tempfile
import time

import cwtest
import run_common as rc

COLLECTED = {"mem": {"measurement": ["mem_used_percent"]},
             "disk": {"measurement": ["used_percent"], "resources": ["/"]},
             "cpu": {"measurement": ["usage_idle"], "totalcpu": True}}


def check_all_delivered(ag, got):
    st = ag.stopped()
    cwtest.check(st is not None, "no 'stopped:' line; stderr tail: %s" % ag.err()[-800:])
    sent, rejected, left = st
    q = ag.queued_total()
    cwtest.eq((rejected, left), (0, 0), "rejected datums and batches left in the spool")
    cwtest.eq(sent, q, "datums sent vs queued (agent's counters)")
    rc.check_exactly_once(got, q)
    ts = rc.series(got, "mem_used_percent")
    span = round(ts[-1] - ts[0]) + 1 if ts else 0
    cwtest.eq(len(ts), span, "mem_used_percent points vs seconds covered (%.1f..%.1f)"
              % (ts[0] if ts else 0, ts[-1] if ts else 0))
    cwtest.check(rc.max_gap(ts) < 1.8, "mem_used_percent gap of %.2f s" % rc.max_gap(ts))


class Run:
    """An agent on a temp state dir with COLLECTED at 1 s; use as a context manager."""

    def __init__(self, emu, static_keys=True, flush=1):
        self.tmp = tempfile.mkdtemp(prefix="cwe2e-")
        cfg = rc.metrics_config(emu.endpoint, COLLECTED, flush=flush)
        path = rc.write_json(os.path.join(self.tmp, "cfg.json"), cfg)
        self.agent = rc.Agent([path], os.path.join(self.tmp, "state"), rc.agent_env(emu, static_keys))

    def __enter__(self):
        self.agent.start()
        return self.agent

    def __exit__(self, *exc):
        self.agent.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def pmd_requests(emu):
    return [r for r in emu.get("/_emulator/requests")["requests"] if r.get("operation") == "PutMetricData"]


def test_throttling_then_503_then_dropped_connections_exactly_once():
    # One phase after the other: each starts when a PutMetricData went through (a new batch
    # starts a fresh backoff: throttling backs off from 1 s, 5xx/network errors from 0.2 s).
    phases = [{"operation": "PutMetricData", "mode": "throttle", "seconds": 20},
              {"operation": "PutMetricData", "mode": "503", "count": 3},
              {"operation": "PutMetricData", "mode": "drop", "count": 3}]
    fired = []
    with cwtest.Emulator() as emu, Run(emu) as ag:
        rc.wait_for(lambda: rc.metrics(emu), 10, what="first datums")
        for ph in phases:
            emu.delete("/_emulator/faults")
            emu.post("/_emulator/faults", ph)
            f = rc.wait_for(lambda: [g for g in emu.get("/_emulator/faults")["faults"] if not g["active"]],
                            60, step=0.5, what="%s fault to be used up" % ph["mode"])[0]
            fired.append((f["mode"], f["fired"]))
            n = len(rc.metrics(emu))
            rc.wait_for(lambda: len(rc.metrics(emu)) > n, 60, step=0.5,
                        what="delivery after the %s phase" % ph["mode"])
        code, _ = ag.stop()
        cwtest.eq(code, 0, "exit status")
        got = rc.metrics(emu)
        reqs = pmd_requests(emu)
    cwtest.check(fired[0][1] >= 3, "throttle fired %d times in 20 s" % fired[0][1])
    cwtest.eq(fired[1:], [("503", 3), ("drop", 3)], "503 and drop faults fired")
    errs = {r["error"] for r in reqs if r["status"] != 200}
    cwtest.check({"Throttling", "ServiceUnavailable"} <= errs, "errors the agent saw: %s" % errs)
    check_all_delivered(ag, got)


def test_clock_skew_is_corrected():
    with cwtest.Emulator() as emu:
        emu.post("/_emulator/faults", {"mode": "skew", "skew_seconds": 900})
        with Run(emu) as ag:
            time.sleep(5)
            code, _ = ag.stop()
            cwtest.eq(code, 0, "exit status")
            got = rc.metrics(emu)
            reqs = pmd_requests(emu)
    bad = [r for r in reqs if r["status"] != 200]
    cwtest.check(bad and bad[0]["error"] == "SignatureDoesNotMatch",
                 "the first calls fail with SignatureDoesNotMatch (skew 900 s): %s" % bad[:2])
    cwtest.check(len(bad) <= 2, "one correction is enough; failed calls: %d" % len(bad))
    cwtest.check(len(reqs) > len(bad), "no PutMetricData succeeded after the correction")
    check_all_delivered(ag, got)


def test_expired_imds_credentials_refresh_once():
    with cwtest.Emulator() as emu, Run(emu, static_keys=False) as ag:
        rc.wait_for(lambda: len(rc.metrics(emu)) > 3, 10, what="first datums with IMDS credentials")
        t0 = time.time()
        emu.post("/_emulator/faults", {"mode": "expire-credentials"})
        time.sleep(5)
        code, _ = ag.stop()
        cwtest.eq(code, 0, "exit status")
        got = rc.metrics(emu)
        reqs = emu.get("/_emulator/requests")["requests"]
    pmd = [r for r in reqs if r.get("operation") == "PutMetricData"]
    keys = {r["access_key"] for r in pmd if r.get("access_key")}
    cwtest.check(all(k.startswith("ASIA") for k in keys), "PutMetricData signed with IMDS (ASIA...) keys: %s" % keys)
    expired = [r for r in pmd if r["error"] in ("ExpiredToken", "ExpiredTokenException")]
    # one refused call: the resend waits for the refresh instead of signing with the old set
    cwtest.eq(len(expired), 1, "PutMetricData calls answered ExpiredToken")
    creds_after = [r for r in reqs if r.get("operation") == "IMDS.Credentials" and r["time"] >= t0
                   and r["path"].rstrip("/").count("/") >= 5]
    cwtest.eq(len(creds_after), 1, "IMDS role credential fetches after the expiry (paths %s)"
              % [r["path"] for r in creds_after])
    cwtest.eq(len(keys), 2, "distinct access keys (before / after the refresh)")
    check_all_delivered(ag, got)


if __name__ == "__main__":
    cwtest.main(globals())
