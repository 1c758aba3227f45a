"""Logs end to end: 1,000 files under one glob with publish_multi_logs: every file's lines arrive
in the group and stream the reference names (plugins/inputs/logfile/logfile.go
generateLogGroupName / generateLogStreamName)."""
import os
import re
import time

import cwtest
from test_logs_basic import Agent, TmpDir, config, events, wait_count, write_lines

NFILES = 1000
LINES = 10


def ref_group(path):
    """generateLogGroupName: every character outside [.-_/#A-Za-z0-9] becomes '_'."""
    return re.sub(r"[^.\-_/#A-Za-z0-9]", "_", path.replace("\\", "/"))


def ref_stream(path, stream):
    """generateLogStreamName: <stream>_<group name of the path with '/' → '_'>."""
    return "%s_%s" % (stream, ref_group(path).replace("/", "_"))


def test_thousand_files_publish_multi_logs():
    """500 files with a log_group_name (one stream per file: <stream>_<path>) and 500 without
    (one group per file named after its path, stream = log_stream_name); a few names carry
    characters that must be replaced (space, '+', ':')."""
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        da, db = os.path.join(tmp, "named"), os.path.join(tmp, "unnamed")
        os.mkdir(da)
        os.mkdir(db)
        want = {}
        for i in range(NFILES):
            d = da if i % 2 == 0 else db
            name = "app %d+x:y.log" % i if i % 50 == 0 else "app%04d.log" % i
            path = os.path.join(d, name)
            lines = ["file %d line %d" % (i, k) for k in range(LINES)]
            write_lines(path, lines)
            key = ("g-many", ref_stream(path, "web")) if d == da else (ref_group(path), "web")
            cwtest.check(key not in want, "distinct destinations")
            want[key] = lines
        cfg = config(emu.endpoint, [
            {"file_path": os.path.join(da, "*.log"), "log_group_name": "g-many", "log_stream_name": "web",
             "publish_multi_logs": True},
            {"file_path": os.path.join(db, "*.log"), "log_stream_name": "web", "publish_multi_logs": True}])
        t0 = time.monotonic()
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_count(emu, NFILES * LINES, 120, ag, interval=2)
            took = time.monotonic() - t0
            time.sleep(2)
            cwtest.eq(ag.stop(), 0, "exit status")
        got = {k: [e["message"] for e in v] for k, v in events(emu).items()}
        missing = sorted(set(want) - set(got))[:3]
        extra = sorted(set(got) - set(want))[:3]
        cwtest.check(not missing and not extra, "destinations: missing %s, unexpected %s" % (missing, extra))
        bad = [k for k in want if got[k] != want[k]][:3]
        cwtest.check(not bad, "lines differ for %s: got %s" % (bad, [got[k] for k in bad]))
        print("  %d files, %d streams: all lines in %.1f s" % (NFILES, len(got), took))


if __name__ == "__main__":
    cwtest.main(globals())
