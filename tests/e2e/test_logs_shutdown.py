"""SIGTERM delivers the last multi-line event of a quiet file before the agent exits (it does not
wait for the next start), and nothing is sent twice after a restart."""
import os
import tempfile
import time

import cwtest
import run_common as rc
from cwtest import eq


def stored(emu, group):
    g = emu.get("/_emulator/logs")["groups"].get(group)
    if not g:
        return []
    return [e["message"] for s in g["streams"].values() for e in s["events"]]


def test_sigterm_sends_the_pending_multiline_event():
    with tempfile.TemporaryDirectory() as tmp, cwtest.Emulator("-q") as emu:
        log = os.path.join(tmp, "app.log")
        lines = ["event %d" % i for i in range(20)] + ["Traceback:", "  at frame 1", "  at frame 2"]
        with open(log, "w") as f:
            f.write("\n".join(lines) + "\n")
        cfg = {"agent": {"region": "us-east-1"},
               "logs": {"endpoint_override": emu.endpoint, "force_flush_interval": 1,
                        "logs_collected": {"files": {"collect_list": [
                            {"file_path": log, "log_group_name": "shutdown-g"}]}}}}
        path = rc.write_json(os.path.join(tmp, "c.json"), cfg)
        state = os.path.join(tmp, "state")
        env = rc.agent_env(emu)
        with rc.Agent([path], state, env) as ag:
            rc.wait_for(lambda: len(stored(emu, "shutdown-g")) >= 20, 15, what="20 events")
            time.sleep(0.5)
            eq(len(stored(emu, "shutdown-g")), 20, "the trace is still pending (idle flush 5 s)")
            eq(ag.stop()[0], 0, "agent exit")
        got = stored(emu, "shutdown-g")
        eq(got[-1], "Traceback:\n  at frame 1\n  at frame 2", "last event delivered at SIGTERM")
        eq(len(got), 21, "events after SIGTERM")
        with rc.Agent([path], state, env) as ag:  # a restart sends nothing again
            time.sleep(7)
            eq(ag.stop()[0], 0, "agent exit")
        eq(len(stored(emu, "shutdown-g")), 21, "events after a restart (no duplicates)")


cwtest.main(globals())
