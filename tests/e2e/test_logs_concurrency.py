"""Logs end to end: logs.concurrency 4 puts several PutLogEvents of one stream on the wire at
once, and a checkpoint never passes a batch CloudWatch has not accepted: while the first batch is
held up (the emulator answers the first two calls 15 s late), the later ones are stored, yet the saved offset stays
at 0; once the first is answered every line is there exactly once."""
import os
import time

import cwtest
from test_logs_basic import Agent, TmpDir, config, counted, messages, wait_for, write_lines

LINES = 40000  # 4 batches of 10,000 events (PutLogEvents' event cap)
DELAY_MS = 15000


def committed(state):
    """The committed offset of the only followed file (0 before the first checkpoint)."""
    try:
        with open(os.path.join(state, "logs", "logtail.state")) as f:
            rows = [line.split(" ", 7) for line in f.readlines()[1:]]
    except OSError:
        return 0
    return max([int(r[5]) for r in rows if len(r) == 8] or [0])


def test_later_batches_never_commit_past_an_unanswered_one():
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        path = os.path.join(tmp, "app.log")
        want = counted("conc", 0, LINES, 60)
        write_lines(path, want)
        size = os.path.getsize(path)
        logs = emu.client("logs")  # the stream exists: no creation chain delays batches 3 and 4
        logs.create_log_group(logGroupName="g-conc")
        logs.create_log_stream(logGroupName="g-conc", logStreamName="s")
        # The first two PutLogEvents (batches 1 and 2) are answered 15 s late.
        emu.post("/_emulator/faults", {"operation": "PutLogEvents", "mode": "delay",
                                       "delay_ms": DELAY_MS, "count": 2})
        cfg = config(emu.endpoint, [{"file_path": path, "log_group_name": "g-conc", "log_stream_name": "s"}],
                     concurrency=4)
        state = os.path.join(tmp, "state")
        with Agent(tmp, cfg, emu.endpoint, state=state) as ag:
            # Sample until the first batch is stored: whenever later batches are stored and the
            # first is not, the saved offset must still be 0 (the offset is read first, so a
            # first batch accepted in between cannot excuse a wrong offset).
            samples, wrong = 0, []
            deadline = time.monotonic() + DELAY_MS / 1000 + 30
            while time.monotonic() < deadline:
                off = committed(state)
                got = messages(emu, "g-conc", "s")
                if want[0] in got:
                    break
                if len(got) >= 10000:
                    samples += 1
                    if off != 0:
                        wrong.append(off)
                time.sleep(0.1)
            cwtest.eq(wrong, [], "offsets saved while the first batch was unanswered")
            fired = sum(f.get("fired", 0) for f in emu.get("/_emulator/faults")["faults"])
            wait_for(lambda: committed(state) == size, DELAY_MS / 1000 + 30, 0.2, "the whole file committed")
            cwtest.eq(ag.stop(), 0, "exit status")
        got = messages(emu, "g-conc", "s")
        cwtest.eq(len(got), LINES, "events stored (none twice)")
        cwtest.check(sorted(got) == want, "every line exactly once")
        if samples == 0:  # seen on a loaded machine: the first batch was stored first
            raise cwtest.Skip("no moment with later batches stored and the first not: the saved offset "
                              "could not be checked (delay fault fired %d times)" % fired)
        cwtest.check(got[0] != want[0], "a later batch was stored before the first")


if __name__ == "__main__":
    cwtest.main(globals())
