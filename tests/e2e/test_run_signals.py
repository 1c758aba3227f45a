"""`cwagent run` signals: SIGTERM flushes and exits 0 within 10 s (the drain is bounded at 5 s);
with the endpoint down the rest stays in STATE/spool and a restart delivers it; SIGHUP reloads
the configuration (here: one more measurement) without losing or repeating queued datums."""
import os
import shutil
import signal
import tempfile
import time

import cwtest
import run_common as rc

MEM = {"mem": {"measurement": ["mem_used_percent"]}}


class Tmp:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="cwe2e-")
        return self.dir

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


def test_sigterm_flushes_what_is_pending_and_exits_fast():
    with Tmp() as tmp, cwtest.Emulator() as emu:
        # flush every 60 s: only the SIGTERM flush can deliver these samples
        cfg = rc.write_json(os.path.join(tmp, "c.json"), rc.metrics_config(emu.endpoint, MEM, flush=60))
        ag = rc.Agent([cfg], os.path.join(tmp, "state"), rc.agent_env(emu)).start()
        try:
            time.sleep(3.5)
            cwtest.eq(rc.metrics(emu), [], "datums before the first flush (60 s)")
            code, took = ag.stop()
            got = rc.metrics(emu)
        finally:
            ag.close()
    cwtest.eq(code, 0, "exit status")
    cwtest.check(took < 10, "SIGTERM to exit took %.1f s" % took)
    cwtest.check(len(got) >= 3, "the SIGTERM flush delivered only %d datums" % len(got))
    cwtest.eq(ag.stopped(), (len(got), 0, 0), "stopped: sent, rejected, left")
    rc.check_exactly_once(got, ag.queued_total())


def test_sigterm_with_endpoint_down_spools_and_restart_delivers():
    with Tmp() as tmp:
        state = os.path.join(tmp, "state")
        emu = cwtest.Emulator()
        a = b = None
        try:
            emu.start()
            port = emu.info["port"]
            env = rc.agent_env(emu)
            cfg = rc.write_json(os.path.join(tmp, "c.json"), rc.metrics_config(emu.endpoint, MEM))
            a = rc.Agent([cfg], state, env).start()
            rc.wait_for(lambda: rc.metrics(emu), 10, what="first datums")
            first = rc.metrics(emu)
            emu.stop()
            time.sleep(3)
            code, took = a.stop()
            cwtest.eq(code, 0, "exit status with the endpoint down")
            cwtest.check(took < 10, "SIGTERM to exit took %.1f s with the endpoint down" % took)
            sent_a, _, left = a.stopped()
            cwtest.check(left >= 3, "batches left in the spool: %d" % left)
            cwtest.eq(len(rc.spool_files(state)), left, "spool files vs the 'left' count")
            q1 = a.queued_total()
            emu.start(port=port)
            # flush every 60 s: what arrives now is the replay of the spool, nothing newer
            cfg2 = rc.write_json(os.path.join(tmp, "c2.json"), rc.metrics_config(emu.endpoint, MEM, flush=60))
            b = rc.Agent([cfg2], state, env).start()
            rc.wait_for(lambda: len(first) + len(rc.metrics(emu)) >= q1, 20, what="the spool's replay")
            replayed = rc.metrics(emu)
            # an entry leaves the spool once its answer is in: a moment after the emulator stored it
            rc.wait_for(lambda: not rc.spool_files(state), 5, step=0.1, what="an empty spool after the replay")
            code, _ = b.stop()
            cwtest.eq(code, 0, "exit status of the second run")
            second = rc.metrics(emu)
        finally:
            for ag in (a, b):
                if ag:
                    ag.close()
            emu.stop()
    cwtest.eq(len(first) + len(replayed), q1, "first run's datums (delivered + replayed) vs queued")
    cwtest.eq(sent_a, len(first), "first run: sent vs delivered before the outage")
    rc.check_exactly_once(first + second, q1 + b.queued_total(), "datums over both runs")


def test_sighup_reload_adds_a_measurement_without_loss():
    with Tmp() as tmp, cwtest.Emulator() as emu:
        path = os.path.join(tmp, "c.json")
        rc.write_json(path, rc.metrics_config(emu.endpoint, MEM))
        ag = rc.Agent([path], os.path.join(tmp, "state"), rc.agent_env(emu)).start()
        try:
            time.sleep(3.2)
            more = {"mem": {"measurement": ["mem_used_percent", "mem_available"]}}
            rc.write_json(path, rc.metrics_config(emu.endpoint, more))
            t_hup = time.time()
            ag.send(signal.SIGHUP)
            time.sleep(3.2)
            # a broken file on the next SIGHUP keeps the running configuration
            with open(path, "w") as f:
                f.write("{ not json")
            ag.send(signal.SIGHUP)
            time.sleep(2.2)
            code, _ = ag.stop()
            got = rc.metrics(emu)
        finally:
            ag.close()
    err = ag.err()
    cwtest.eq(code, 0, "exit status")
    cwtest.eq(err.count("configuration reloaded"), 1, "reloads logged")
    cwtest.check("keeping the running one" in err, "the invalid reload is reported: %s" % err[-600:])
    avail = rc.series(got, "mem_available")
    cwtest.check(avail and min(avail) >= t_hup - 1, "mem_available appears after the SIGHUP: %s" % avail[:3])
    cwtest.check(len(avail) >= 4, "mem_available points after the reload: %d" % len(avail))
    ts = rc.series(got, "mem_used_percent")
    cwtest.check(rc.max_gap(ts) < 1.8, "mem_used_percent gap of %.2f s across the reload" % rc.max_gap(ts))
    rc.check_exactly_once(got, ag.queued_total())


def test_sighup_while_a_call_is_on_the_wire_sends_nothing_twice():
    with Tmp() as tmp, cwtest.Emulator() as emu:
        path = rc.write_json(os.path.join(tmp, "c.json"), rc.metrics_config(emu.endpoint, MEM))
        ag = rc.Agent([path], os.path.join(tmp, "state"), rc.agent_env(emu)).start()
        try:
            rc.wait_for(lambda: rc.metrics(emu), 10, what="first datums")
            # the next PutMetricData is answered after 1.5 s (stored first): SIGHUP meanwhile
            emu.post("/_emulator/faults", {"operation": "PutMetricData", "mode": "delay",
                                           "delay_ms": 1500, "count": 1})
            rc.wait_for(lambda: emu.get("/_emulator/faults")["faults"][0]["fired"], 5, step=0.05,
                        what="the delayed call")
            time.sleep(0.3)
            ag.send(signal.SIGHUP)
            time.sleep(4)
            code, _ = ag.stop()
            got = rc.metrics(emu)
        finally:
            ag.close()
    cwtest.eq(code, 0, "exit status")
    cwtest.check("configuration reloaded" in ag.err(), "reload logged: %s" % ag.err()[-500:])
    rc.check_exactly_once(got, ag.queued_total())




def test_sigterm_while_starting_exits_cleanly():
    """A stop asked for while the agent still waits for instance metadata (here: an IMDS that
    accepts connections and never answers) is honoured in order: exit 0, not killed by the signal."""
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        with Tmp() as tmp, cwtest.Emulator() as emu:
            cfg = rc.write_json(os.path.join(tmp, "c.json"), rc.metrics_config(emu.endpoint, MEM))
            env = rc.agent_env(emu, extra={
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:%d" % silent.getsockname()[1]})
            ag = rc.Agent([cfg], os.path.join(tmp, "state"), env).start()
            try:
                time.sleep(1.0)
                cwtest.check("running" not in ag.err().split("starting", 1)[-1].split("\n")[0],
                             "still starting when the signal is sent")
                code, took = ag.stop(timeout=30)
            finally:
                ag.close()
        cwtest.eq(code, 0, "exit status (stderr: %s)" % ag.err()[-600:])
        cwtest.check("received SIGTERM" in ag.err(), "the stop was logged: %s" % ag.err()[-600:])
        cwtest.check(took < 25, "SIGTERM while starting to exit took %.1f s" % took)
    finally:
        silent.close()


cwtest.main(globals())
