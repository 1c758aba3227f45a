"""Rotation torture (small): Debian's real logrotate rotates app.log every 0.5-2 s while a writer
appends 2,000 numbered lines/s; each scenario of issue 18 is run once and every line accounted
for (tests/e2e/torture_rotation.py prints: written, stored, lost inherent/defect, duplicated, out
of order). No line may be lost except copytruncate's inherent copy-then-truncate window, nothing
may be re-ordered or duplicated (SIGKILL: only what was accepted but not yet checkpointed).
`make torture` runs the same scenarios with 150,000 lines each."""
import os

import cwtest
import torture_rotation as tr

LINES = int(os.environ.get("CW_TORTURE_LINES", "16000"))
RATE = 2000
PLE_MAX_EVENTS = 10000


def _one(name, max_dups=0):
    tr.check(tr.run(name, LINES, RATE), max_dups)


def test_create():
    _one("create")


def test_copytruncate():
    _one("copytruncate")


def test_compress_delaycompress():
    _one("compress_delaycompress")


def test_dateext():
    _one("dateext")


def test_rotate1_outage():
    _one("rotate1_outage")


def test_copytruncate_outage():
    _one("copytruncate_outage")


def test_sigkill_x5():
    _one("sigkill_x5", 5 * PLE_MAX_EVENTS)


def test_sigterm_gap():
    _one("sigterm_gap")


def test_late_reopen():
    _one("late_reopen")


def test_glob():
    _one("glob")


if __name__ == "__main__":
    cwtest.main(globals())
