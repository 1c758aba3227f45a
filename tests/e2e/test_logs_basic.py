"""Logs end to end: the real cwagent binary tails files and ships them to the emulator.

This file is also the helper module of the other tests/e2e/test_logs_*.py files (they import it):
Agent (start / SIGTERM / SIGKILL the agent with a config aimed at an emulator), config(),
events() / messages() (read back /_emulator/logs), wait_for(), same_lines() (the oracle: exactly
the lines written, in order, no duplicates). Its own tests are the small features: placeholders,
retention and class, filters, events too old, multi-line Java traces, timestamp formats,
invalid UTF-8 / huge lines / binary files.
"""
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import cwtest

EMU_ENV = {"AWS_ACCESS_KEY_ID": cwtest.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": cwtest.SECRET_KEY}


class TmpDir:
    """mkdtemp under /tmp, removed on exit."""

    def __init__(self, prefix="cwlogs-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def config(endpoint, collect_list, **logs_extra):
    """A config dict: region us-east-1, logs aimed at endpoint, force_flush_interval 1."""
    logs = {"endpoint_override": endpoint, "force_flush_interval": 1,
            "logs_collected": {"files": {"collect_list": collect_list}}}
    logs.update(logs_extra)
    return {"agent": {"region": "us-east-1"}, "logs": logs}


class Agent:
    """cwagent run with a config (dict or path) and a state dir; output to tmp/agent-N.log.

    Use as a context manager: on exit the agent is stopped (SIGTERM, then SIGKILL)."""

    def __init__(self, tmp, cfg, endpoint, state=None, env=None, args=()):
        self.tmp = tmp
        if isinstance(cfg, dict):
            self.cfg_path = os.path.join(tmp, "agent.json")
            with open(self.cfg_path, "w") as f:
                json.dump(cfg, f)
        else:
            self.cfg_path = cfg
        self.state = state or os.path.join(tmp, "state")
        self.env = dict(os.environ, **EMU_ENV)
        self.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = endpoint
        self.env.update(env or {})
        self.args = list(args)
        self.proc = None
        self.runs = 0
        self.logs = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.runs += 1
        path = os.path.join(self.tmp, "agent-%d.log" % self.runs)
        self.logs.append(path)
        with open(path, "w") as out:
            self.proc = subprocess.Popen(
                [cwtest.CWAGENT, "run", "-c", self.cfg_path, "--state-dir", self.state] + self.args,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env)
        return self.proc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM and wait (SIGKILL after timeout). Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output(self):
        text = []
        for p in self.logs:
            try:
                with open(p, errors="replace") as f:
                    text.append(f.read())
            except OSError:
                pass
        return "\n".join(text)

    def last_output(self):
        with open(self.logs[-1], errors="replace") as f:
            return f.read()


def events(emu):
    """{(group, stream): [event, ...]} in arrival order."""
    out = {}
    for gname, g in emu.get("/_emulator/logs")["groups"].items():
        for sname, s in g["streams"].items():
            out[(gname, sname)] = s["events"]
    return out


def groups(emu):
    return emu.get("/_emulator/logs")["groups"]


def messages(emu, group, stream):
    return [e["message"] for e in events(emu).get((group, stream), [])]


def count(emu):
    return sum(len(v) for v in events(emu).values())


def wait_for(pred, timeout, interval=0.5, what="condition"):
    """Polls pred() until it returns a true value; returns it, or raises after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def wait_count(emu, n, timeout, agent=None, interval=1.0):
    """Waits until the emulator holds >= n events in all; returns the count."""
    def ready():
        if agent is not None and agent.proc is not None and agent.proc.poll() is not None:
            raise AssertionError("agent exited with %s: %s" % (agent.proc.returncode,
                                                              agent.last_output()[-1500:]))
        c = count(emu)
        return c if c >= n else 0
    try:
        return wait_for(ready, timeout, interval, "%d events" % n)
    except AssertionError as e:
        if "timed out" in str(e):
            raise AssertionError("%s (have %d)%s" % (e, count(emu), _tail(agent)))
        raise


def wait_lines(emu, wants, timeout, agent=None, interval=1.0):
    """Waits until every stream holds every wanted line: wants = {(group, stream): [lines]}
    (duplicates allowed, so this also works after crashes)."""
    def ready():
        if agent is not None and agent.proc is not None and agent.proc.poll() is not None:
            raise AssertionError("agent exited with %s: %s" % (agent.proc.returncode,
                                                              agent.last_output()[-1500:]))
        ev = events(emu)
        return all(set(w) <= set(e["message"] for e in ev.get(k, [])) for k, w in wants.items())
    try:
        return wait_for(ready, timeout, interval, "all lines")
    except AssertionError as e:
        if "timed out" in str(e):
            raise AssertionError("%s (have %d events)%s" % (e, count(emu), _tail(agent)))
        raise


def _tail(agent):
    return "; agent log tail: " + agent.output()[-1500:] if agent else ""


def same_lines(got, want, what="events", max_dups=0):
    """The oracle: got == want (in order). With max_dups > 0, got may repeat earlier lines (a
    re-sent batch after a crash) at most max_dups times in total; every wanted line must be
    there, in order of first appearance. Returns the number of duplicates."""
    if max_dups == 0:
        if got == want:
            return 0
        _explain(got, want, what)
    seen = set()
    firsts = []
    dups = 0
    for m in got:
        if m in seen:
            dups += 1
        else:
            seen.add(m)
            firsts.append(m)
    if firsts != want:
        _explain(firsts, want, what + " (first occurrences)")
    if dups > max_dups:
        raise AssertionError("%s: expected at most %d duplicates, got %d" % (what, max_dups, dups))
    return dups


def _explain(got, want, what):
    i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    missing = len(set(want) - set(got))
    extra = len(got) - len(set(got))
    raise AssertionError("%s: expected %d lines, got %d (%d missing, %d duplicates); first "
                         "difference at %d: expected %r, got %r"
                         % (what, len(want), len(got), missing, extra, i,
                            want[i][:120] if i < len(want) else None,
                            got[i][:120] if i < len(got) else None))


def write_lines(path, lines, mode="a"):
    with open(path, mode) as f:
        for line in lines:
            f.write(line + "\n")


def counted(prefix, start, n, width=60):
    """n distinct lines: '<prefix> 000123 xxxx' padded to about `width` characters."""
    pad = "x" * max(0, width - len(prefix) - 8)
    return ["%s %06d %s" % (prefix, i, pad) for i in range(start, start + n)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- tests ---------------------------------------------------------------------------------


def test_burst_end_does_not_wait_for_the_flush_interval():
    """force_flush_interval 60: a burst of 25,000 lines (two full batches of 10,000 events and a
    partial one) arrives whole within seconds, its last lines (the partial batch, and the file's
    last line, which has no start line after it) as soon as the reader caught up; a few lines
    written later to a stream that is quiet again wait for the interval (batched, not sent one
    call each)."""
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        path = os.path.join(tmp, "app.log")
        burst, later = counted("burst", 0, 25000), counted("later", 0, 5)
        cfg = config(emu.endpoint, [{"file_path": path, "log_group_name": "g-burst",
                                     "log_stream_name": "s"}])
        cfg["logs"]["force_flush_interval"] = 60
        write_lines(path, burst)
        with Agent(tmp, cfg, emu.endpoint) as ag:
            t0 = time.monotonic()
            wait_count(emu, len(burst), 20, ag, interval=0.2)
            took = time.monotonic() - t0
            write_lines(path, later)
            time.sleep(4)
            cwtest.eq(len(messages(emu, "g-burst", "s")), len(burst),
                      "events stored 4 s after 5 more lines to a quiet stream (interval 60 s)")
            cwtest.eq(ag.stop(), 0, "agent exit status")  # a clean stop sends what is batched
        same_lines(messages(emu, "g-burst", "s"), burst + later)
        print("  burst of %d lines stored in %.1f s (force_flush_interval 60)" % (len(burst), took))


def test_smoke_lines_in_order():
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        path = os.path.join(tmp, "app.log")
        want = counted("smoke", 0, 500)
        write_lines(path, want[:250])
        cfg = config(emu.endpoint, [{"file_path": path, "log_group_name": "g-smoke",
                                     "log_stream_name": "s"}])
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_count(emu, 250, 20, ag)
            write_lines(path, want[250:])
            wait_count(emu, 500, 20, ag)
            cwtest.eq(ag.stop(), 0, "agent exit status")
        same_lines(messages(emu, "g-smoke", "s"), want)
        cwtest.check("stopped: 500 log events sent" in ag.output(),
                     "agent reports 500 sent: %s" % ag.output()[-800:])


def test_retention_class_and_placeholders():
    """retention_in_days and log_group_class are applied; {instance_id}, {hostname},
    {ip_address} resolve from IMDS (the emulator's)."""
    with TmpDir() as tmp, cwtest.Emulator("-q", "--imdsv1") as emu:
        a, b = os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")
        write_lines(a, ["alpha"])
        write_lines(b, ["beta"])
        md = {}
        for k in ("instance-id", "local-hostname", "hostname", "local-ipv4"):
            with cwtest.urllib.request.urlopen(emu.info["imds"] + "/latest/meta-data/" + k,
                                               timeout=5) as r:
                md[k] = r.read().decode()
        cfg = config(emu.endpoint, [
            {"file_path": a, "log_group_name": "g-{instance_id}", "log_stream_name": "{hostname}",
             "retention_in_days": 7, "log_group_class": "INFREQUENT_ACCESS"},
            {"file_path": b, "log_group_name": "g-ip", "log_stream_name": "{ip_address}",
             "retention_in_days": 30}])
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_count(emu, 2, 20, ag)
            time.sleep(1.5)  # PutRetentionPolicy follows the first accepted batch
        g = groups(emu)
        ga = g.get("g-" + md["instance-id"])
        cwtest.check(ga is not None, "group g-%s exists: %s" % (md["instance-id"], sorted(g)))
        cwtest.eq(ga["retentionInDays"], 7, "retention of g-{instance_id}")
        cwtest.eq(ga["logGroupClass"], "INFREQUENT_ACCESS", "class of g-{instance_id}")
        cwtest.eq(list(ga["streams"]), [md["hostname"]], "{hostname} stream")
        cwtest.eq(g["g-ip"]["retentionInDays"], 30, "retention of g-ip")
        cwtest.eq(g["g-ip"]["logGroupClass"], "STANDARD", "default class")
        cwtest.eq(list(g["g-ip"]["streams"]), [md["local-ipv4"]], "{ip_address} stream")
        # And through the API, as DescribeLogGroups shows it.
        resp = emu.client("logs").describe_log_groups(logGroupNamePrefix="g-")
        by = {x["logGroupName"]: x for x in resp["logGroups"]}
        cwtest.eq(by["g-ip"].get("retentionInDays"), 30, "DescribeLogGroups retention")


def test_filters_include_exclude():
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        path = os.path.join(tmp, "f.log")
        lines = ["%s request %d %s" % (lvl, i, "/health" if i % 3 == 0 else "/api")
                 for i, lvl in enumerate(["INFO", "ERROR", "WARN", "DEBUG"] * 25)]
        write_lines(path, lines)
        cfg = config(emu.endpoint, [{"file_path": path, "log_group_name": "g-f", "log_stream_name": "s",
                                     "filters": [{"type": "include", "expression": "ERROR|WARN"},
                                                 {"type": "exclude", "expression": "/health"}]}])
        want = [l for l in lines if re.search("ERROR|WARN", l) and "/health" not in l]
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_count(emu, len(want), 20, ag)
            time.sleep(1.5)
        same_lines(messages(emu, "g-f", "s"), want)


def test_too_old_events_not_sent_and_counted():
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        path = os.path.join(tmp, "old.log")
        now = datetime.datetime.now(datetime.timezone.utc)
        old = (now - datetime.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%S")
        recent = (now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        lines = ["%s old %d" % (old, i) for i in range(5)] + ["%s new %d" % (recent, i) for i in range(5)]
        write_lines(path, lines)
        cfg = config(emu.endpoint, [{"file_path": path, "log_group_name": "g-old", "log_stream_name": "s",
                                     "timestamp_format": "%Y-%m-%dT%H:%M:%S", "timezone": "UTC"}])
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_count(emu, 5, 20, ag)
            cwtest.eq(ag.stop(), 0, "exit status")
        same_lines(messages(emu, "g-old", "s"), lines[5:])
        out = ag.output()
        cwtest.check("too old" in out, "the agent logs the too-old events: %s" % out[-800:])
        cwtest.check("5 too old/new not sent" in out, "the count of too-old events: %s" % out[-800:])


JAVA_TRACE = [
    "Exception in thread \"main\" java.lang.IllegalStateException: boom",
    "\tat com.example.App.run(App.java:42)",
    "\tat com.example.App.main(App.java:10)",
    "Caused by: java.io.IOException: disk",
    "\tat com.example.Disk.write(Disk.java:7)",
    "\t... 2 more",
]


def test_multiline_java_default_pattern():
    """Default start pattern ^[\\S]: lines starting with a tab join the event before them
    ("Caused by:" starts a new event, as in the reference)."""
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        path = os.path.join(tmp, "java.log")
        write_lines(path, ["2026-01-01 first line"] + JAVA_TRACE + ["last line"])
        want = ["2026-01-01 first line", "\n".join(JAVA_TRACE[:3]), "\n".join(JAVA_TRACE[3:]), "last line"]
        cfg = config(emu.endpoint, [{"file_path": path, "log_group_name": "g-ml", "log_stream_name": "s"}])
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_count(emu, 4, 25, ag)  # the last event leaves after 5 s idle
            time.sleep(1.5)
        same_lines(messages(emu, "g-ml", "s"), want)


def test_multiline_java_timestamp_format():
    """multi_line_start_pattern {timestamp_format}: an event is everything from one timestamped
    line to the next; event timestamps are the parsed ones."""
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        path = os.path.join(tmp, "java.log")
        t0 = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(hours=1)
        ts = [(t0 + datetime.timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(3)]
        ev = ["%s,123 INFO starting" % ts[0],
              "%s,456 ERROR failed\n%s" % (ts[1], "\n".join(JAVA_TRACE)),
              "%s,789 INFO done" % ts[2]]
        with open(path, "w") as f:
            f.write("\n".join(ev) + "\n")
        cfg = config(emu.endpoint, [{"file_path": path, "log_group_name": "g-mlt", "log_stream_name": "s",
                                     "timestamp_format": "%Y-%m-%d %H:%M:%S,%f", "timezone": "UTC",
                                     "multi_line_start_pattern": "{timestamp_format}"}])
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_count(emu, 3, 25, ag)
            time.sleep(1.5)
        got = events(emu)[("g-mlt", "s")]
        same_lines([e["message"] for e in got], ev)
        want_ts = [int((t0 + datetime.timedelta(seconds=i)).timestamp() * 1000) + ms
                   for i, ms in enumerate((123, 456, 789))]
        cwtest.eq([e["timestamp"] for e in got], want_ts, "event timestamps")


def _local_offset_ms(dt_naive):
    """The local zone's offset for a naive local time (TZ of this process = the agent's)."""
    return int(time.mktime(dt_naive.timetuple()) * 1000)


def test_timestamp_formats():
    """Five formats (UTC, Local, %z with and without colon, %s, %Q) → stored timestamps equal the
    parsed ones; trim_timestamp removes the match. The agent runs with TZ=Asia/Kolkata (+05:30)
    so Local differs from UTC."""
    tz_env = {"TZ": "Asia/Kolkata"} if os.path.exists("/usr/share/zoneinfo/Asia/Kolkata") else {}
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        base = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(hours=3)
        ms = lambda dt: int(dt.timestamp() * 1000)  # noqa: E731
        cases = []  # (name, entry extras, [(line, want_ts, want_message)])
        # 1. UTC, %b %d %H:%M:%S (no year).
        d = base
        line = "%s host sshd[1]: accepted" % d.strftime("%b %d %H:%M:%S")
        cases.append(("utc", {"timestamp_format": "%b %d %H:%M:%S", "timezone": "UTC"},
                      [(line, ms(d), line)]))
        # 2. Local (TZ of the agent), trim_timestamp.
        if tz_env:
            kolkata = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
            loc = base.astimezone(kolkata)
        else:
            loc = base.astimezone()
        line = "%s local event" % loc.strftime("%Y-%m-%d %H:%M:%S")
        cases.append(("local", {"timestamp_format": "%Y-%m-%d %H:%M:%S", "timezone": "Local",
                                "trim_timestamp": True},
                      [(line, ms(base), "local event")]))
        # 3. %z with a colon (+02:00) and 4. without (-0700), with %f.
        z1 = base.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
        z2 = base.astimezone(datetime.timezone(datetime.timedelta(hours=-7)))
        l1 = "%s.250%s colon zone" % (z1.strftime("%Y-%m-%dT%H:%M:%S"), "+02:00")
        l2 = "%s.750%s plain zone" % (z2.strftime("%Y-%m-%dT%H:%M:%S"), "-0700")
        cases.append(("zone", {"timestamp_format": "%Y-%m-%dT%H:%M:%S.%f%z", "timezone": "UTC"},
                      [(l1, ms(base) + 250, l1), (l2, ms(base) + 750, l2)]))
        # 5. epoch seconds and milliseconds.
        l3 = "ts=%d epoch seconds" % (ms(base) // 1000)
        cases.append(("epoch-s", {"timestamp_format": "%s"}, [(l3, ms(base), l3)]))
        l4 = "%d epoch millis trimmed" % (ms(base) + 321)
        cases.append(("epoch-ms", {"timestamp_format": "%Q", "trim_timestamp": True},
                      [(l4, ms(base) + 321, "epoch millis trimmed")]))
        entries = []
        for name, extra, rows in cases:
            p = os.path.join(tmp, name + ".log")
            write_lines(p, [r[0] for r in rows])
            e = {"file_path": p, "log_group_name": "g-ts", "log_stream_name": name}
            e.update(extra)
            entries.append(e)
        total = sum(len(c[2]) for c in cases)
        with Agent(tmp, config(emu.endpoint, entries), emu.endpoint, env=tz_env) as ag:
            wait_count(emu, total, 25, ag)
            time.sleep(1.5)
        ev = events(emu)
        for name, _, rows in cases:
            got = ev.get(("g-ts", name), [])
            cwtest.eq([e["message"] for e in got], [r[2] for r in rows], "%s messages" % name)
            cwtest.eq([e["timestamp"] for e in got], [r[1] for r in rows], "%s timestamps" % name)


def test_invalid_utf8_huge_line_binary_file():
    """Invalid UTF-8 → U+FFFD; a 5 MB line → events ≤ 1 MiB ending in the split marker; a
    binary file neither stalls itself nor other files; lines after each still arrive."""
    marker = "[...]"
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        p1, p2 = os.path.join(tmp, "mixed.log"), os.path.join(tmp, "bin.dat")
        big = ("0123456789abcdef" * (5 * 1024 * 1024 // 16))
        with open(p1, "wb") as f:
            f.write(b"before\n")
            f.write(b"bad \xff\xfe bytes \xc3\x28 end\n")
            f.write(big.encode() + b"\n")
            f.write(b"after the big line\n")
        with open(p2, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024))
            f.write(b"\ntext after binary\n")
        cfg = config(emu.endpoint, [{"file_path": p1, "log_group_name": "g-bin", "log_stream_name": "mixed"},
                                    {"file_path": p2, "log_group_name": "g-bin", "log_stream_name": "bin"}])
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_for(lambda: "after the big line" in messages(emu, "g-bin", "mixed")
                     and "text after binary" in messages(emu, "g-bin", "bin"), 40, 1,
                     "the lines after the big line and the binary data")
            cwtest.eq(ag.stop(), 0, "exit status")
        got = messages(emu, "g-bin", "mixed")
        cwtest.eq(got[0], "before", "first line")
        cwtest.eq(got[1], "bad \ufffd\ufffd bytes \ufffd( end", "invalid UTF-8 replaced")
        cwtest.eq(got[-1], "after the big line", "line after the big one")
        pieces = got[2:-1]
        cwtest.check(len(pieces) >= 5, "5 MB line split into >= 5 events, got %d" % len(pieces))
        for p in pieces:
            cwtest.check(len(p.encode()) + 26 <= 1048576, "piece of %d bytes fits an event" % len(p))
        cwtest.check(all(p.endswith(marker) for p in pieces[:-1]), "every piece but the last has the marker")
        cwtest.check(not pieces[-1].endswith(marker), "the last piece has no marker")
        cwtest.eq("".join(p[:-len(marker)] for p in pieces[:-1]) + pieces[-1], big, "pieces rebuild the line")
        binmsgs = messages(emu, "g-bin", "bin")
        cwtest.eq(binmsgs[-1], "text after binary", "last event of the binary file")
        for m in binmsgs:
            cwtest.check(len(m.encode()) + 26 <= 1048576, "binary event fits")


if __name__ == "__main__":
    cwtest.main(globals())
