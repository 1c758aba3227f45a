"""bench_statsd_udp — StatsD over real UDP into `cwagent run` (figures, never asserted).

Sends 100,000 lines/s (10 lines per datagram, 10,000 datagrams/s, 1,000 series) to the agent's
StatsD listener for BENCH_STATSD_SECONDS (default 60) on loopback, then reports: lines received
and refused, datagrams the kernel dropped (SO_RXQ_OVFL, from `cwagent status`), the socket
receive buffer the kernel granted, the agent's CPU (% of one core) and RSS. The buffer asked for
is allowed_pending_messages x 1 KiB; the kernel caps it at net.core.rmem_max unless the agent may
use SO_RCVBUFFORCE (CAP_NET_ADMIN)."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.environ.get("CW_REPO", os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path[:0] = [os.path.join(REPO, "tests", "lib"), os.path.join(REPO, "tests", "e2e")]
import cwtest  # noqa: E402
import run_common as rc  # noqa: E402

SECONDS = float(os.environ.get("BENCH_STATSD_SECONDS", "60"))
RATE = 100000
PER_DATAGRAM = 10


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def status(state):
    r = subprocess.run([cwtest.CWAGENT, "status", "--json", "--state-dir", state], capture_output=True,
                       text=True, timeout=20)
    return json.loads(r.stdout)["metrics"]["statsd"]


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    tmp = tempfile.mkdtemp(prefix="cwbench-statsd-")
    with cwtest.Emulator() as emu:
        cfg = rc.metrics_config(emu.endpoint, {"statsd": {"service_address": "127.0.0.1:%d" % port}},
                                interval=60, flush=60)
        path = rc.write_json(os.path.join(tmp, "cfg.json"), cfg)
        state = os.path.join(tmp, "state")
        ag = rc.Agent([path], state, rc.agent_env(emu)).start()
        try:
            rc.wait_for(lambda: "listening on" in ag.err(), 10, what="listener")
            payloads = []
            for i in range(200):
                lines = ["app.req.%d:1|c|#route:/r%d" % ((i * PER_DATAGRAM + j) % 1000, j)
                         for j in range(PER_DATAGRAM)]
                payloads.append("\n".join(lines).encode())
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            dst = ("127.0.0.1", port)
            c0, t0 = cpu_ticks(ag.pid), time.time()
            sent = 0
            per_tick = RATE // PER_DATAGRAM // 100  # datagrams per 10 ms
            while time.time() - t0 < SECONDS:
                tick = time.time()
                for k in range(per_tick):
                    sock.sendto(payloads[(sent + k) % 200], dst)
                sent += per_tick
                lag = 0.01 - (time.time() - tick)
                if lag > 0:
                    time.sleep(lag)
            elapsed = time.time() - t0
            time.sleep(1.0)
            c1 = cpu_ticks(ag.pid)
            st = status(state)
            rss = rss_kb(ag.pid)
        finally:
            ag.stop()
            ag.close()
    tick = os.sysconf("SC_CLK_TCK")
    lines = sent * PER_DATAGRAM
    print("statsd udp: %d lines in %d datagrams over %.1f s (%.0f lines/s sent); agent read %d "
          "datagrams, %d lines, refused %d; kernel drops %d datagrams (%.3f %%); rcvbuf %d bytes; "
          "agent CPU %.1f %% of a core; RSS %d kB"
          % (lines, sent, elapsed, lines / elapsed, st["datagrams"], st["received"], st["refused"],
             st["kernel_drops"], 100.0 * st["kernel_drops"] / max(sent, 1), st["rcvbuf"],
             100.0 * (c1 - c0) / tick / elapsed, rss))


if __name__ == "__main__":
    main()
