"""The systemd journal source end to end: journal files written by systemd's own
systemd-journal-remote (fed export format), read by the real cwagent through
CWAGENT_JOURNAL_DIR, shipped to the emulator. Every key of journald.collect_list, the event
shape, binary / huge / invalid UTF-8 fields, a rotated file, restart from the saved cursor and
SIGKILL while shipping (nothing lost, at most what was in flight re-sent)."""
import json
import os
import shutil
import struct
import subprocess
import time

import cwtest
from test_logs_basic import Agent, TmpDir, messages, wait_for

REMOTE = next((p for p in ("/lib/systemd/systemd-journal-remote",
                           "/usr/lib/systemd/systemd-journal-remote") if os.path.exists(p)), None)
BOOT = "0123456789abcdef0123456789abcdef"
_mono = [0]


def need_remote():
    if REMOTE is None:
        raise cwtest.Skip("systemd-journal-remote is not installed (Debian package "
                          "systemd-journal-remote)")


def export(entries, t0=None):
    """Journal export format of entries (dicts FIELD -> str|bytes|list); each gets a realtime
    timestamp 1 ms apart from t0 (µs) unless it has __REALTIME_TIMESTAMP, and PRIORITY 6 unless
    it has one."""
    t0 = t0 or int(time.time() * 1e6)
    out = bytearray()
    for i, e in enumerate(entries):
        _mono[0] += 1
        out += b"__REALTIME_TIMESTAMP=%d\n" % e.get("__REALTIME_TIMESTAMP", t0 + i * 1000)
        out += b"__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n" % (_mono[0], BOOT.encode())
        if "PRIORITY" not in e:  # journalctl --priority (the reference) skips entries without
            out += b"PRIORITY=6\n"
        for k, vs in e.items():
            if k.startswith("__"):
                continue
            for v in vs if isinstance(vs, list) else [vs]:
                b = v if isinstance(v, bytes) else str(v).encode()
                if b"\n" in b or any(c < 32 for c in b if c != 9):
                    out += k.encode() + b"\n" + struct.pack("<Q", len(b)) + b + b"\n"
                else:
                    out += k.encode() + b"=" + b + b"\n"
        out += b"\n"
    return bytes(out)


def jwrite(jdir, entries, name="remote.journal", t0=None):
    """Appends entries to jdir/name with systemd-journal-remote."""
    r = subprocess.run([REMOTE, "-o", os.path.join(jdir, name), "-"], input=export(entries, t0),
                       capture_output=True, timeout=60)
    cwtest.check(r.returncode == 0, "systemd-journal-remote: %s" % r.stderr.decode()[-500:])


def jconfig(endpoint, collect_list):
    return {"agent": {"region": "us-east-1"},
            "logs": {"endpoint_override": endpoint, "force_flush_interval": 1,
                     "logs_collected": {"journald": {"collect_list": collect_list}}}}


def bodies(emu, group, stream):
    return [json.loads(m)["body"] for m in messages(emu, group, stream)]


def msgs(emu, group, stream):
    return [b.get("MESSAGE") for b in bodies(emu, group, stream)]


def start(tmp, cfg, emu, jdir, **kw):
    return Agent(tmp, cfg, emu.endpoint, env={"CWAGENT_JOURNAL_DIR": jdir}, **kw)


def test_journald_follow_shape_and_restart():
    """From an empty journal directory: entries written later arrive with the reference's
    shape ({"body": fields}, timestamp = __REALTIME_TIMESTAMP); debug entries are left out by
    the default priority (info); after a restart, entries written while stopped arrive once."""
    need_remote()
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        jdir = os.path.join(tmp, "journal")
        os.mkdir(jdir)
        cfg = jconfig(emu.endpoint, [{"log_group_name": "g-j", "log_stream_name": "s"}])
        t0 = int(time.time() * 1e6)
        ag = start(tmp, cfg, emu, jdir)
        with ag:
            time.sleep(1.5)
            jwrite(jdir, [{"MESSAGE": "m%d" % i, "PRIORITY": 7 if i == 2 else 6,
                           "_SYSTEMD_UNIT": "app.service", "SYSLOG_IDENTIFIER": "app"}
                          for i in range(5)], t0=t0)
            wait_for(lambda: len(msgs(emu, "g-j", "s")) >= 4, 20, 0.5, "4 entries")
            cwtest.eq(ag.stop(), 0, "exit status")
            jwrite(jdir, [{"MESSAGE": "late%d" % i, "PRIORITY": 6} for i in range(3)])
            ag.start()
            wait_for(lambda: len(msgs(emu, "g-j", "s")) >= 7, 20, 0.5, "7 entries")
            time.sleep(2)
        cwtest.eq(msgs(emu, "g-j", "s"), ["m0", "m1", "m3", "m4", "late0", "late1", "late2"],
                  "messages (debug m2 filtered, nothing twice)")
        b = bodies(emu, "g-j", "s")[0]
        cwtest.eq(b["_SYSTEMD_UNIT"], "app.service", "a field")
        cwtest.eq(b["PRIORITY"], "6", "PRIORITY")
        cwtest.check(b["__CURSOR"].startswith("s="), "__CURSOR present: %r" % b)
        cwtest.check("__REALTIME_TIMESTAMP" not in b, "__REALTIME_TIMESTAMP removed from the body")
        ev = [e for e in emu.get("/_emulator/logs")["groups"]["g-j"]["streams"]["s"]["events"]]
        cwtest.eq(ev[0]["timestamp"], t0 // 1000, "timestamp from __REALTIME_TIMESTAMP")
        with open(os.path.join(tmp, "state", "logs", "journald.state")) as f:
            st = f.read()
        cwtest.check("\ts=" in st, "cursor saved: %r" % st)


def test_journald_first_start_reads_last_ten():
    """No saved cursor and a journal with 30 entries: as journalctl --follow, the last 10."""
    need_remote()
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        jdir = os.path.join(tmp, "journal")
        os.mkdir(jdir)
        jwrite(jdir, [{"MESSAGE": "old%d" % i} for i in range(30)])
        cfg = jconfig(emu.endpoint, [{"log_group_name": "g-t", "log_stream_name": "s"}])
        with start(tmp, cfg, emu, jdir) as ag:
            wait_for(lambda: len(msgs(emu, "g-t", "s")) >= 10, 20, 0.5, "10 entries")
            jwrite(jdir, [{"MESSAGE": "new"}])
            wait_for(lambda: "new" in msgs(emu, "g-t", "s"), 20, 0.5, "the new entry")
            cwtest.check("last 10 entries" in ag.output(), "first start said in the log")
        cwtest.eq(msgs(emu, "g-t", "s"), ["old%d" % i for i in range(20, 30)] + ["new"], "messages")


def test_journald_units_matches_priority_filters():
    """units (with and without .service), matches (ANDed in an object, ORed across), priority
    by name and number, include/exclude filters with journald semantics, placeholders and
    retention/class on the group; each entry to its own stream."""
    need_remote()
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        jdir = os.path.join(tmp, "journal")
        os.mkdir(jdir)
        cfg = jconfig(emu.endpoint, [
            {"log_group_name": "g-k", "log_stream_name": "units", "units": ["web", "db.service"]},
            {"log_group_name": "g-k", "log_stream_name": "matches",
             "matches": [{"SYSLOG_IDENTIFIER": "a", "PRIORITY": "3"}, {"_COMM": "c"}]},
            {"log_group_name": "g-k", "log_stream_name": "prio", "priority": "err"},
            {"log_group_name": "g-k", "log_stream_name": "prio7", "priority": "7"},
            {"log_group_name": "g-k", "log_stream_name": "filters",
             "filters": [{"type": "include", "expression": "keep"},
                         {"type": "include", "expression": "also"},
                         {"type": "exclude", "expression": "secret"}]},
            {"log_group_name": "g-k2-{hostname}", "log_stream_name": "x", "retention_in_days": 7,
             "log_group_class": "INFREQUENT_ACCESS", "units": ["web"]},
            {"log_group_name": "g-k3", "units": ["nothing-here"]},
        ])
        entries = [
            {"MESSAGE": "w1 keep", "_SYSTEMD_UNIT": "web.service", "PRIORITY": 6},
            {"MESSAGE": "d1 also", "_SYSTEMD_UNIT": "db.service", "PRIORITY": 3,
             "SYSLOG_IDENTIFIER": "a"},
            {"MESSAGE": "o1 keep secret", "_SYSTEMD_UNIT": "other.service", "PRIORITY": 2},
            {"MESSAGE": "a-err", "SYSLOG_IDENTIFIER": "a", "PRIORITY": 3},
            {"MESSAGE": "a-info", "SYSLOG_IDENTIFIER": "a", "PRIORITY": 6},
            {"MESSAGE": "c-any", "_COMM": "c", "PRIORITY": 5},
            {"MESSAGE": "dbg", "PRIORITY": 7},
            {"MESSAGE": "init about web", "UNIT": "web.service", "_PID": 1, "PRIORITY": 6},
        ]
        with start(tmp, cfg, emu, jdir) as ag:
            time.sleep(1.5)
            jwrite(jdir, entries)
            wait_for(lambda: len(msgs(emu, "g-k", "prio7")) >= len(entries), 20, 0.5, "all entries")
            time.sleep(2)
            ag.stop()
        cwtest.eq(msgs(emu, "g-k", "units"), ["w1 keep", "d1 also", "init about web"], "units")
        cwtest.eq(msgs(emu, "g-k", "matches"), ["d1 also", "a-err", "c-any"], "matches")
        cwtest.eq(msgs(emu, "g-k", "prio"), ["d1 also", "o1 keep secret", "a-err"], "priority err")
        cwtest.eq(len(msgs(emu, "g-k", "prio7")), len(entries), "priority 7 keeps debug")
        cwtest.eq(msgs(emu, "g-k", "filters"), ["w1 keep", "d1 also"], "filters")
        groups = emu.get("/_emulator/logs")["groups"]
        k2 = [g for g in groups if g.startswith("g-k2-")]
        cwtest.check(len(k2) == 1 and "{" not in k2[0], "placeholder resolved: %s" % k2)
        cwtest.eq((groups[k2[0]]["retentionInDays"], groups[k2[0]]["logGroupClass"]),
                  (7, "INFREQUENT_ACCESS"), "retention and class")
        cwtest.eq([json.loads(m)["body"]["MESSAGE"] for m in messages(emu, k2[0], "x")],
                  ["w1 keep", "init about web"], "units without .service")
        cwtest.check("g-k3" not in groups, "no group for an entry whose unit never logged")


def test_journald_binary_huge_invalid_utf8_repeated():
    """A binary field is an array of bytes, invalid UTF-8 too, a repeated field an array of
    values, a 3 MB MESSAGE is cut to fit one event (marked), and the next entry still arrives."""
    need_remote()
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        jdir = os.path.join(tmp, "journal")
        os.mkdir(jdir)
        cfg = jconfig(emu.endpoint, [{"log_group_name": "g-b", "log_stream_name": "s"}])
        big = "x" * (3 * 1024 * 1024)
        with start(tmp, cfg, emu, jdir):
            time.sleep(1.5)
            jwrite(jdir, [{"MESSAGE": b"bin\x00\x01\xff"}, {"MESSAGE": b"bad \xff\xfe utf8"},
                          {"MESSAGE": "rep", "TAG": ["one", "two"]}, {"MESSAGE": big},
                          {"MESSAGE": "after", "NOTE": "multi\nline"}])
            wait_for(lambda: len(bodies(emu, "g-b", "s")) >= 5, 30, 0.5, "5 entries")
        b = bodies(emu, "g-b", "s")
        cwtest.eq(b[0]["MESSAGE"], list(b"bin\x00\x01\xff"), "binary MESSAGE as bytes")
        cwtest.eq(b[1]["MESSAGE"], list(b"bad \xff\xfe utf8"), "invalid UTF-8 as bytes")
        cwtest.eq(b[2]["TAG"], ["one", "two"], "repeated field")
        cwtest.check(b[3]["MESSAGE"].endswith("[...]") and b[3]["MESSAGE"].startswith("xxx"),
                     "huge MESSAGE cut and marked")
        raw = messages(emu, "g-b", "s")[3]
        cwtest.check(len(raw.encode()) + 26 <= 1048576, "huge entry fits one event")
        cwtest.eq(b[4]["NOTE"], "multi\nline", "a field with a newline")
        cwtest.eq(b[4]["MESSAGE"], "after", "the entry after the huge one")


def test_journald_rotated_file():
    """The journal rotates (a new file in the directory) while the agent reads: entries of both
    files arrive in order, once."""
    need_remote()
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        jdir = os.path.join(tmp, "journal")
        os.mkdir(jdir)
        cfg = jconfig(emu.endpoint, [{"log_group_name": "g-r", "log_stream_name": "s"}])
        t0 = int(time.time() * 1e6)
        with start(tmp, cfg, emu, jdir):
            time.sleep(1.5)
            jwrite(jdir, [{"MESSAGE": "a%d" % i} for i in range(100)], "system@1.journal", t0)
            wait_for(lambda: len(msgs(emu, "g-r", "s")) >= 100, 20, 0.5, "first file")
            jwrite(jdir, [{"MESSAGE": "b%d" % i} for i in range(100)], "system.journal", t0 + 200000)
            wait_for(lambda: len(msgs(emu, "g-r", "s")) >= 200, 20, 0.5, "second file")
            time.sleep(1.5)
        cwtest.eq(msgs(emu, "g-r", "s"), ["a%d" % i for i in range(100)] + ["b%d" % i for i in range(100)],
                  "both files in order")


def test_journald_sigkill_while_shipping():
    """SIGKILL three times while 30,000 entries are shipped (the emulator slowed down so that
    calls are in flight): after a restart from the saved cursor every entry arrives, and each
    restart re-sends at most what was in flight (two batches of 10,000: the one on the wire and
    the one accepted within the 100 ms checkpoint delay)."""
    need_remote()
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        jdir = os.path.join(tmp, "journal")
        os.mkdir(jdir)
        cfg = jconfig(emu.endpoint, [{"log_group_name": "g-kill", "log_stream_name": "s"}])
        ag = start(tmp, cfg, emu, jdir)
        n = 30000
        try:
            ag.start()
            time.sleep(1.5)
            emu.post("/_emulator/faults", {"operation": "PutLogEvents", "mode": "delay", "delay_ms": 400, "count": 1000})
            jwrite(jdir, [{"MESSAGE": "k%05d" % i} for i in range(n)])
            for _ in range(3):
                wait_for(lambda: len(msgs(emu, "g-kill", "s")) > 0, 30, 0.2, "some events")
                time.sleep(0.7)
                ag.kill()
                ag.start()
            try:
                wait_for(lambda: len(set(msgs(emu, "g-kill", "s"))) >= n, 90, 1, "every entry")
            except AssertionError:
                pass  # reported below with what is missing
            time.sleep(2)
        finally:
            ag.stop()
        got = msgs(emu, "g-kill", "s")
        missing = sorted(set("k%05d" % i for i in range(n)) - set(got))
        cwtest.check(not missing, "%d entries lost, first %s; agent: %s" % (
            len(missing), missing[:5], ag.output()[-2000:]))
        dups = len(got) - n
        print("journald SIGKILL x3: %d events re-sent" % dups)
        cwtest.check(dups <= 3 * 2 * 10000, "re-sent %d <= 3 kills x 2 batches" % dups)
        first = {}
        for i, m in enumerate(got):
            first.setdefault(m, i)
        order = [first["k%05d" % i] for i in range(n)]
        cwtest.check(order == sorted(order), "first appearances in order")


def test_journald_outage_60s_nothing_lost():
    """CloudWatch Logs answers 503 for 60 s while 5,000 entries are written: after the outage
    every entry arrives, in order, once; `cwagent status` shows the reader's figures."""
    need_remote()
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        jdir = os.path.join(tmp, "journal")
        os.mkdir(jdir)
        state = os.path.join(tmp, "state")
        cfg = jconfig(emu.endpoint, [{"log_group_name": "g-out", "log_stream_name": "s"}])
        n = 5000
        with start(tmp, cfg, emu, jdir, state=state) as ag:
            time.sleep(1.5)
            emu.post("/_emulator/faults", {"operation": "PutLogEvents", "mode": "503", "seconds": 60})
            for k in range(5):
                jwrite(jdir, [{"MESSAGE": "o%05d" % (k * 1000 + i)} for i in range(1000)])
                time.sleep(2)
            time.sleep(5)
            cwtest.eq(msgs(emu, "g-out", "s"), [], "nothing accepted during the outage")
            wait_for(lambda: len(msgs(emu, "g-out", "s")) >= n, 120, 1, "every entry after the outage")
            time.sleep(2)
            r = subprocess.run([cwtest.CWAGENT, "status", "--json", "--state-dir", state], capture_output=True,
                               text=True, timeout=30)
            st = json.loads(r.stdout)["logs"]["journald"]
            cwtest.eq(ag.stop(), 0, "exit status")
        cwtest.eq(msgs(emu, "g-out", "s"), ["o%05d" % i for i in range(n)], "every entry once, in order")
        cwtest.eq((st["readers"], st["readers_open"], st["entries_read"], st["uncommitted"]),
                  (1, 1, n, 0), "status: readers, entries read, nothing uncommitted")


def test_journald_cursor_gone():
    """The saved cursor's journal file was removed (vacuumed) while the agent was stopped: the
    agent says so and reads what the journal now holds."""
    need_remote()
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        jdir = os.path.join(tmp, "journal")
        os.mkdir(jdir)
        cfg = jconfig(emu.endpoint, [{"log_group_name": "g-vac", "log_stream_name": "s"}])
        ag = start(tmp, cfg, emu, jdir)
        with ag:
            time.sleep(1.5)
            jwrite(jdir, [{"MESSAGE": "v%d" % i} for i in range(5)], "system@old.journal")
            wait_for(lambda: len(msgs(emu, "g-vac", "s")) >= 5, 20, 0.5, "first entries")
            cwtest.eq(ag.stop(), 0, "exit status")
            os.unlink(os.path.join(jdir, "system@old.journal"))
            jwrite(jdir, [{"MESSAGE": "w%d" % i} for i in range(3)], "system.journal")
            ag.start()
            wait_for(lambda: len(msgs(emu, "g-vac", "s")) >= 8, 20, 0.5, "entries of the new file")
            cwtest.check("no longer in the journal" in ag.last_output(),
                         "vacuumed cursor reported: %s" % ag.last_output()[-800:])
        cwtest.eq(msgs(emu, "g-vac", "s"), ["v%d" % i for i in range(5)] + ["w%d" % i for i in range(3)],
                  "messages")


if __name__ == "__main__":
    cwtest.main(globals())
