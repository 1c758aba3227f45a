"""`cwagent run` through an endpoint outage: the emulator is stopped (SIGTERM) for
CW_OUTAGE_SECONDS (default 120 s, the issue's 2 minutes; the test takes ~2.5 min, the whole
test_run_* set ~5 min; CW_OUTAGE_SECONDS=60 shortens it) and restarted on the same port. Half-way through the outage the agent is
SIGKILLed and restarted with the same --state-dir: everything the first process had spooled and
everything the second one collects is delivered exactly once.

Oracle: the first agent's last "flush: ... Q1 queued" line before the kill (a datum is counted
there only once it is durably in STATE/spool; samples still in memory at SIGKILL were never
queued and are not expected), plus the second agent's Q2; the two emulator runs together hold
Q1 + Q2 datums, no (name, dims, timestamp) key twice; the second agent's "stopped:" line reports
everything sent and 0 batches left.
"""
import os
import shutil
import signal
import tempfile
import time

import cwtest
import run_common as rc

OUTAGE = float(os.environ.get("CW_OUTAGE_SECONDS", "120"))
COLLECTED = {"mem": {"measurement": ["mem_used_percent"]},
             "disk": {"measurement": ["used_percent"], "resources": ["/"]}}


def test_outage_with_sigkill_and_restart_loses_nothing():
    tmp = tempfile.mkdtemp(prefix="cwe2e-")
    state = os.path.join(tmp, "state")
    emu = cwtest.Emulator()
    a = b = None
    try:
        emu.start()
        port = emu.info["port"]
        env = rc.agent_env(emu)
        cfg = rc.write_json(os.path.join(tmp, "cfg.json"), rc.metrics_config(emu.endpoint, COLLECTED))
        a = rc.Agent([cfg], state, env).start()
        rc.wait_for(lambda: len(rc.metrics(emu)) >= 4, 15, what="first datums")
        first = rc.metrics(emu)
        emu.stop()  # SIGTERM: the endpoint is gone (connection refused)
        time.sleep(OUTAGE / 2)
        a.send(signal.SIGKILL)
        a.wait(10)
        q1 = a.queued_total()
        spooled = rc.spool_files(state)
        cwtest.check(spooled, "the killed agent left nothing in %s/spool" % state)
        b = rc.Agent([cfg], state, env).start()
        time.sleep(OUTAGE / 2)
        emu.start(port=port)
        # the retry backoff is capped at 60 s: delivery resumes within a minute
        rc.wait_for(lambda: len(first) + len(rc.metrics(emu)) >= q1 + b.queued_total(), 100,
                    step=1, what="replay after the outage")
        time.sleep(2)
        code, _ = b.stop()
        cwtest.eq(code, 0, "exit status of the second agent")
        second = rc.metrics(emu)
    finally:
        for ag in (a, b):
            if ag:
                ag.close()
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    sent, rejected, left = b.stopped()
    q2 = b.queued_total()
    cwtest.check(q1 > len(first) + 2 * (OUTAGE / 2 - 5), "agent 1 queued only %d datums" % q1)
    cwtest.eq((rejected, left), (0, 0), "second agent: rejected, batches left")
    cwtest.eq(sent, len(second), "second agent's sent count vs what the restarted emulator holds")
    rc.check_exactly_once(first + second, q1 + q2, "datums over both runs")
    # the series is continuous over each agent's own life (1 s interval)
    ts = rc.series(first + second, "mem_used_percent")
    gaps = [(x, y) for x, y in zip(ts, ts[1:]) if y - x > 1.8]
    cwtest.check(len(gaps) <= 1, "mem_used_percent has gaps other than the SIGKILL restart: %s" % gaps)


cwtest.main(globals())
