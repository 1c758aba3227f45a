"""Logs end to end: 100,000 lines written at full speed, rotated every 10,000 lines, by rename
and by copytruncate; the emulator must hold exactly the lines written, in order, once."""
import os
import shutil
import time

import cwtest
from test_logs_basic import Agent, TmpDir, config, counted, messages, same_lines, wait_count

TOTAL = 100000
EVERY = 10000


def agent_read_pos(pid, ino):
    """The agent's read position in the file with inode `ino` (its open descriptor), or None."""
    d = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(d)
    except OSError:
        return None
    for fd in fds:
        try:
            if os.stat(os.path.join(d, fd)).st_ino != ino:
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("pos:"):
                        return int(line.split()[1])
        except OSError:
            continue
    return None


def wait_read(ag, path, timeout=20):
    """Waits until the agent has read `path` (the inode now there) to its current end."""
    st = os.stat(path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pos = agent_read_pos(ag.proc.pid, st.st_ino)
        if pos is not None and pos >= st.st_size:
            return
        time.sleep(0.005)
    raise AssertionError("the agent did not read %s to its end (%d bytes) in %d s"
                         % (path, st.st_size, timeout))


def wait_opened(ag, path, timeout=20):
    """Waits until the agent has the file now at `path` open (it has seen this generation)."""
    ino = os.stat(path).st_ino
    deadline = time.monotonic() + timeout
    while agent_read_pos(ag.proc.pid, ino) is None:
        if time.monotonic() > deadline:
            raise AssertionError("the agent did not open %s in %d s" % (path, timeout))
        time.sleep(0.002)


def wait_reset(ag, path, timeout=20):
    """After a truncation: waits until the agent noticed it (its position went back to 0)."""
    ino = os.stat(path).st_ino
    deadline = time.monotonic() + timeout
    while agent_read_pos(ag.proc.pid, ino) != 0:
        if time.monotonic() > deadline:
            raise AssertionError("the agent did not notice the truncation of %s in %d s"
                                 % (path, timeout))
        time.sleep(0.002)


def _run(rotate, handshake):
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        path = os.path.join(tmp, "app.log")
        open(path, "w").close()
        cfg = config(emu.endpoint, [{"file_path": path, "log_group_name": "g-rot", "log_stream_name": "s"}])
        want = counted("rot", 0, TOTAL, 100)
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_opened(ag, path)  # not a fixed sleep: on a loaded machine the agent starts late
            f = open(path, "a")
            try:
                for i, line in enumerate(want):
                    f.write(line + "\n")
                    if (i + 1) % EVERY == 0 and i + 1 < TOTAL:
                        f.flush()
                        if handshake == "read":
                            wait_read(ag, path)
                        f = rotate(f, path, (i + 1) // EVERY)
                        if handshake == "read":
                            wait_reset(ag, path)
                        elif handshake == "open":
                            wait_opened(ag, path)
            finally:
                f.close()
            wait_count(emu, TOTAL, 120, ag)
            time.sleep(2)  # anything more would be a duplicate
            cwtest.eq(ag.stop(), 0, "agent exit status")
        same_lines(messages(emu, "g-rot", "s"), want)


def _rename(f, path, n):
    f.close()
    os.rename(path, "%s.%d" % (path, n))
    return open(path, "a")


def _copytruncate(f, path, n):
    shutil.copyfile(path, "%s.%d" % (path, n))
    f.truncate(0)
    f.seek(0)
    return f


def test_rename_rotation_full_speed():
    """No waiting at all: the writer renames app.log away every 10,000 lines (~1 MB, a few ms) and
    opens a new one. Most generations are renamed before the agent ever opened them; it must
    find them from the directory's rename events (logtail/watch.c) and send them in order."""
    _run(_rename, handshake=None)


def test_rename_rotation_seen():
    """The same, but the writer waits until the agent has opened each new file (never for reading
    or delivery): each rotated file is read to its end through its open descriptor."""
    _run(_rename, handshake="open")


def test_copytruncate_rotation():
    """copytruncate: copy app.log to app.log.N, truncate app.log. Lines not yet read when the file
    is truncated are gone for every tailer (logrotate's documented race), so the writer waits until
    the agent has read the file to its end (its descriptor's position in /proc) before truncating,
    and until it noticed the truncation (position back to 0) before writing the next generation
    (generations of equal size are otherwise indistinguishable by size); it never waits for
    delivery."""
    _run(_copytruncate, handshake="read")


if __name__ == "__main__":
    cwtest.main(globals())
