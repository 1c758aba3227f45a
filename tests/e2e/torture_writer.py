"""The application of the rotation torture test: appends numbered lines to a log file at a fixed
rate and reopens it (O_APPEND, like any logger) on SIGUSR1, optionally late.

    torture_writer.py PATH RATE TOTAL REOPEN_DELAY_S PIDFILE

Each line is "seq=NNNNNNNNN <padding>\n" (about 100 bytes), written with one write(2) per batch
of whole lines, so a file only ever holds complete lines. The pid file is written once the log
is open. Exits after TOTAL lines.
"""
import os
import signal
import sys
import time

TICK = 0.005
PAD = "x" * 84


def line(i):
    return "seq=%09d %s\n" % (i, PAD)


def main():
    path, rate, total, delay, pidfile = (sys.argv[1], float(sys.argv[2]), int(sys.argv[3]),
                                         float(sys.argv[4]), sys.argv[5])
    reopen_at = []  # monotonic times at which to reopen (one per SIGUSR1)
    signal.signal(signal.SIGUSR1, lambda *_: reopen_at.append(time.monotonic() + delay))
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    fd = os.open(path, flags, 0o644)
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(pidfile + ".tmp", pidfile)
    start = time.monotonic()
    seq = 0
    while seq < total:
        now = time.monotonic()
        while reopen_at and now >= reopen_at[0]:
            reopen_at.pop(0)
            os.close(fd)
            fd = os.open(path, flags, 0o644)
        due = min(total, int((now - start) * rate) + 1)
        if due > seq:
            os.write(fd, "".join(line(i) for i in range(seq, due)).encode())
            seq = due
        time.sleep(TICK)
    os.close(fd)


if __name__ == "__main__":
    main()
