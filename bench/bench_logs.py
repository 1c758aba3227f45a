"""bench_logs — log shipping by the real cwagent binary to a fast local HTTP sink (nginx, not the
Python emulator: no signature checks, it reads each body and answers {} with 200).

  1. throughput: a pre-written file of 200-byte lines (CW_BENCH_LOGS_MB, default 500 MB) shipped
     from start to the checkpoint reaching the file's end: MB/s, agent CPU seconds per MB, RSS,
     PutLogEvents requests. CW_BENCH_PERF=1 adds a `perf record` profile of the agent (top symbols).
  2. steady tailing: 100 files x 1,000 lines/min for CW_BENCH_TAIL_SECONDS (default 60): agent CPU %
     of one core and RSS.

Needs nginx (Debian: `apt-get install -y nginx-light`, which brings nginx and the echo module);
prints "skipped" without it. Prints figures, never asserts. Runs as root or as any user (temp prefix,
port 127.0.0.1 only)."""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.environ.get("CW_REPO", os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
CWAGENT = os.environ.get("CWAGENT", os.path.join(REPO, "build", "cwagent"))
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
LINE = 200
ENV = {"AWS_ACCESS_KEY_ID": "AKIDCWEMULATOR00001",
       "AWS_SECRET_ACCESS_KEY": "cwemu/secret/key/for/local/tests/only00",
       "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1"}  # no IMDS: fails at once


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Nginx:
    def __init__(self, prefix):
        self.prefix = prefix
        self.port = free_port()
        self.tls_port = free_port()
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        self.cert, self.tls_error = self.make_cert()
        tls = ("server { listen 127.0.0.1:%d ssl; ssl_certificate %s; ssl_certificate_key %s;\n"
               " location / { default_type application/x-amz-json-1.1; %%s }\n}\n"
               % (self.tls_port, self.cert, self.cert + ".key")) if self.cert else ""
        echo = os.path.exists(ECHO_MODULE)
        # The echo module reads the whole body before answering; without it `return` answers at
        # once and discards the body (nginx still reads it off the connection).
        body = "echo_read_request_body; echo -n '{}';" if echo else "return 200 '{}';"
        temp = "".join("%s_temp_path %s/%s;\n" % (k, prefix, k)
                       for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = ("%sworker_processes 1;\nerror_log logs/error.log warn;\npid logs/nginx.pid;\n"
                "events { worker_connections 256; }\nhttp {\n"
                "log_format sink '$msec $request_length $status';\naccess_log logs/access.log sink;\n"
                "client_body_buffer_size 2m;\nclient_max_body_size 8m;\nkeepalive_requests 100000;\n%s"
                "server { listen 127.0.0.1:%d;\n location / { default_type application/x-amz-json-1.1; %s }\n}\n"
                "%s}\n"
                % ("load_module %s;\n" % ECHO_MODULE if echo else "", temp, self.port, body,
                   tls.replace("%s", body) if tls else ""))
        self.conf = os.path.join(prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.reads_body = echo
        self.proc = subprocess.Popen([NGINX, "-p", prefix, "-c", self.conf, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start: %s" % self.error_log())

    def make_cert(self):
        """A self-signed P-256 certificate for 127.0.0.1 (what the agent is made to trust)."""
        cert = os.path.join(self.prefix, "sink.pem")
        try:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                            "subjectAltName=IP:127.0.0.1", "-keyout", cert + ".key", "-out", cert],
                           check=True, capture_output=True, timeout=30)
            probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=10)
            if probe.returncode != 0:
                return None, "unshare -rm (to make the agent trust the sink's certificate) failed"
            return cert, ""
        except (OSError, subprocess.SubprocessError) as e:
            return None, "cannot make a certificate: %s" % e

    def error_log(self):
        try:
            with open(os.path.join(self.prefix, "logs", "error.log")) as f:
                return f.read()[-500:]
        except OSError:
            return ""

    def requests(self):
        """(requests, body bytes, first, last epoch s) from the access log; then empties it."""
        n = size = 0
        first = last = 0.0
        log = os.path.join(self.prefix, "logs", "access.log")
        try:
            with open(log) as f:
                for line in f:
                    parts = line.split()
                    n += 1
                    size += int(parts[1])
                    first = first or float(parts[0])
                    last = float(parts[0])
            open(log, "w").close()  # nginx keeps appending at its offset: fine for counting
        except OSError:
            pass
        return n, size, first, last

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tck


def minflt(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def sched(pid):
    """(on-CPU s, run-queue wait s, voluntary context switches) of the process."""
    with open("/proc/%d/schedstat" % pid) as f:
        run, wait, _ = (int(x) for x in f.read().split())
    vol = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                vol = int(line.split()[1])
    return run / 1e9, wait / 1e9, vol


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid, key="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def committed(state_dir):
    """{path: committed offset} from the agent's checkpoint file."""
    out = {}
    try:
        with open(os.path.join(state_dir, "logs", "logtail.state")) as f:
            for line in f.readlines()[1:]:
                p = line.rstrip("\n").split(" ", 7)
                if len(p) == 8:
                    out[p[7]] = max(out.get(p[7], 0), int(p[5]))
    except OSError:
        pass
    return out


def start_agent(tmp, port, entries, flush=1, compression=None, scheme="http", concurrency=1, ca=None):
    cfg = {"agent": {"region": "us-east-1", "logfile": os.path.join(tmp, "agent-own.log")},
           "logs": {"endpoint_override": "%s://127.0.0.1:%d" % (scheme, port), "force_flush_interval": flush,
                    "logs_collected": {"files": {"collect_list": entries}}}}
    if compression:
        cfg["agent"]["cwagent"] = {"logs_compression": compression}
    if concurrency > 1:
        cfg["logs"]["concurrency"] = concurrency
    path = os.path.join(tmp, "agent.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    out = open(os.path.join(tmp, "agent.out"), "w")
    wrap = os.environ.get("CW_BENCH_WRAP", "").split()  # e.g. "valgrind --tool=callgrind"
    if ca:  # the agent trusts the sink's certificate: bound over the system bundle, privately
        wrap = ["unshare", "-rm", "sh", "-c", 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"',
                ca] + wrap
    proc = subprocess.Popen(wrap + [CWAGENT, "run", "-c", path, "--state-dir", os.path.join(tmp, "state")],
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, **ENV))
    out.close()
    return proc


def stop_agent(proc, tmp):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with open(os.path.join(tmp, "agent.out"), errors="replace") as f:
        return [l.strip() for l in f if "stopped:" in l or "E!" in l][-3:]


def make_lines(n, size, seed=1):
    """n log lines of `size` bytes that look like an application's (timestamp, level, ids,
    paths, words): gzip -1 shrinks them about 3.3x (200 bytes) to 4x (1,000 bytes), as real
    logs, not the 100x of a repeated character."""
    r = random.Random(seed)
    lv = ["INFO", "INFO", "INFO", "WARN", "DEBUG", "ERROR"]
    paths = ["/api/v1/items/%d", "/api/v1/users/%d/orders", "/static/js/app.%d.js", "/healthz?x=%d",
             "/api/v2/search?q=%d"]
    words = ("the quick brown fox jumps over lazy dog request handled cache miss upstream timeout "
             "retry queue flushed session user token").split()
    out = []
    for i in range(n):
        s = "2026-12-02T13:%02d:%02d.%03dZ %s [worker-%d] req=%016x %s %s status=%d ms=%d user=u%d " % (
            i // 60000 % 60, i // 1000 % 60, i % 1000, r.choice(lv), r.randrange(16), r.getrandbits(64),
            r.choice(["GET", "POST", "PUT"]), r.choice(paths) % r.randrange(100000),
            r.choice([200, 200, 200, 201, 304, 404, 500]), r.randrange(2000), r.randrange(5000))
        while len(s) < size - 1:
            s += r.choice(words) + " "
        out.append(s[:size - 1] + "\n")
    return "".join(out).encode()


def write_big(path, mb, line=LINE):
    block = make_lines(4 * 1000 * 1000 // line, line)  # 4 MB of distinct lines, repeated
    n = 0
    with open(path, "wb") as f:
        while n < mb * 1000 * 1000:
            f.write(block)
            n += len(block)
    return n


def perf_start(pid, tmp):
    if os.environ.get("CW_BENCH_PERF") != "1" or not shutil.which("perf"):
        return None
    data = os.path.join(tmp, "perf.data")
    return subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", data, "-p", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), data


def perf_stop(p):
    if not p:
        return
    proc, data = p
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    for sort, limit in (("dso", "1"), ("dso,symbol", "1.5")):
        rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--percent-limit", limit,
                              "--sort", sort, "-g", "none"], capture_output=True, text=True, timeout=120)
        print("   perf by %s (self time >= %s%%):" % (sort, limit))
        for line in rep.stdout.splitlines():
            if line.strip() and not line.startswith("#"):
                print("     " + line.strip())


# (name, line bytes, scheme, agent.cwagent.logs_compression, logs.concurrency, MB/s budget)
SCENARIOS = [
    ("200 B lines, https, gzip when it pays", 200, "https", None, 1, 220),
    ("200 B lines, https, gzip always", 200, "https", "gzip", 1, None),
    ("200 B lines, http, gzip when it pays", 200, "http", None, 1, 220),
    ("200 B lines, https, concurrency 2", 200, "https", None, 2, 220),
    ("1,000 B lines, https, gzip when it pays", 1000, "https", None, 1, 300),
]
BUDGET_MB_PER_CPU_S = 250  # DESIGN.md: 2x Fluent Bit measured here
BUDGET_RSS_MB = 24


def budget(value, limit, more_is_better=True, unit=""):
    if limit is None:
        return ""
    ok = value >= limit if more_is_better else value <= limit
    return " [budget %s %g%s: %s]" % (">=" if more_is_better else "<=", limit, unit, "met" if ok else "NOT met")


def ship_file(ng, tmp, path, size, line, scheme, compression, concurrency):
    """Ships one pre-written file; returns a dict of figures."""
    state = os.path.join(tmp, "state")
    shutil.rmtree(state, ignore_errors=True)
    t0, wall0 = time.monotonic(), time.time()
    port = ng.tls_port if scheme == "https" else ng.port
    ag = start_agent(tmp, port, [{"file_path": path, "log_group_name": "bench", "log_stream_name": "s"}],
                     compression=compression, scheme=scheme, concurrency=concurrency,
                     ca=ng.cert if scheme == "https" else None)
    prof = perf_start(ag.pid, tmp)
    peak = 0
    deadline = t0 + 600
    # Done when the whole file (its last line too: a single-line file's last line goes at its
    # end, and the last partial batch as soon as the reader caught up) is committed.
    while committed(state).get(path, 0) < size:
        if ag.poll() is not None or time.monotonic() > deadline:
            print("   agent stopped early or timed out at offset %d of %d" % (committed(state).get(path, 0), size))
            break
        peak = max(peak, rss_kb(ag.pid))
        time.sleep(0.05)
    r = {"took": time.monotonic() - t0, "wall0": wall0}
    alive = ag.poll() is None
    r["cpu"] = cpu_seconds(ag.pid) if alive else float("nan")
    r["on_cpu"], r["rq_wait"], r["vol"] = sched(ag.pid) if alive else (0, 0, 0)
    r["faults"] = minflt(ag.pid) if alive else 0
    r["hwm"] = rss_kb(ag.pid, "VmHWM") if alive else peak
    perf_stop(prof)
    r["reqs"], r["body"], r["first"], r["last"] = ng.requests()
    r["tail"] = stop_agent(ag, tmp)
    return r


def bench_throughput(ng):
    mb = int(os.environ.get("CW_BENCH_LOGS_MB", "300"))
    only = os.environ.get("CW_BENCH_SCENARIO", "")
    tmp = tempfile.mkdtemp(prefix="bench-logs-")
    files = {}
    print("   (wall-clock figures depend on the machine's load: the agent's and nginx's waits for a "
          "CPU are printed; CPU-s per MB is the steadier figure)")
    try:
        for name, line, scheme, compression, conc, mbs_budget in SCENARIOS:
            if only and only not in name:
                continue
            if scheme == "https" and not ng.cert:
                print("   %s: skipped (no TLS: %s)" % (name, ng.tls_error))
                continue
            if line not in files:
                for old in files.values():
                    os.unlink(old[0])
                files.clear()
                path = os.path.join(tmp, "big-%d.log" % line)
                files[line] = (path, write_big(path, mb, line))
            path, size = files[line]
            r = ship_file(ng, tmp, path, size, line, scheme, compression, conc)
            mbs = size / 1e6
            rate, per_cpu = mbs / r["took"], mbs / r["cpu"] if r["cpu"] else 0
            print("   %s:" % name)
            print("     %.0f MB in %.2f s = %.1f MB/s (%.0f k lines/s)%s"
                  % (mbs, r["took"], rate, size / line / r["took"] / 1000, budget(rate, mbs_budget, unit=" MB/s")))
            print("     agent CPU %.2f s = %.0f MB per CPU-second%s; peak RSS %.1f MB%s"
                  % (r["cpu"], per_cpu, budget(per_cpu, BUDGET_MB_PER_CPU_S), r["hwm"] / 1024,
                     budget(r["hwm"] / 1024, BUDGET_RSS_MB, False, " MB")))
            print("     sink: %d requests, %.0f MB on the wire (%.2fx smaller), first %.2f s after start, "
                  "last-first %.2f s" % (r["reqs"], r["body"] / 1e6, size / r["body"] if r["body"] else 0,
                                         r["first"] - r["wall0"], r["last"] - r["first"]))
            print("     agent: %.2f s on CPU, %.2f s waiting for a CPU, %d sleeps (epoll), %d page faults"
                  % (r["on_cpu"], r["rq_wait"], r["vol"], r["faults"]))
            for l in r["tail"]:
                print("     agent: " + l)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_tailing(ng):
    secs = int(os.environ.get("CW_BENCH_TAIL_SECONDS", "60"))
    nfiles, per_min = 100, 1000
    tmp = tempfile.mkdtemp(prefix="bench-logs-")
    try:
        d = os.path.join(tmp, "logs")
        os.mkdir(d)
        paths = [os.path.join(d, "app%03d.log" % i) for i in range(nfiles)]
        for p in paths:
            open(p, "w").close()
        ag = start_agent(tmp, ng.port, [{"file_path": os.path.join(d, "*.log"), "log_group_name": "bench-tail",
                                         "log_stream_name": "s", "publish_multi_logs": True}], flush=5)
        time.sleep(2)
        line = ("y" * (LINE - 1)) + "\n"
        files = [open(p, "a") for p in paths]
        cpu0, t0, vol0 = cpu_seconds(ag.pid), time.monotonic(), sched(ag.pid)[2]
        written, peak = 0, 0
        step = 0.1
        while time.monotonic() - t0 < secs:
            due = int((time.monotonic() - t0) * nfiles * per_min / 60)
            while written < due:
                f = files[written % nfiles]
                f.write(line)
                f.flush()
                written += 1
            peak = max(peak, rss_kb(ag.pid))
            time.sleep(step)
        for f in files:
            f.close()
        took = time.monotonic() - t0
        cpu = cpu_seconds(ag.pid) - cpu0
        wakes = (sched(ag.pid)[2] - vol0) / took
        hwm = rss_kb(ag.pid, "VmHWM")
        now_rss = rss_kb(ag.pid)
        anon, rfile, pss = rss_kb(ag.pid, "RssAnon"), rss_kb(ag.pid, "RssFile"), pss_kb(ag.pid)
        reqs = ng.requests()[0]
        tail = stop_agent(ag, tmp)
        print("   tailing %d files x %d lines/min for %.0f s (%d lines): agent CPU %.2f %% of a core%s, "
              "RSS %.1f MB%s (peak %.1f MB, VmHWM %.1f MB), %d requests"
              % (nfiles, per_min, took, written, 100 * cpu / took, budget(100 * cpu / took, 1, False, " %"),
                 now_rss / 1024, budget(now_rss / 1024, 14, False, " MB"), peak / 1024, hwm / 1024, reqs))
        print("   RSS split: %.1f MB anonymous (heap, stacks), %.1f MB file-backed (binary and shared "
              "libraries: libcurl, OpenSSL, ...); PSS %.1f MB; force_flush_interval 5 (default); "
              "%.0f wake-ups/s" % (anon / 1024, rfile / 1024, pss / 1024, wakes))
        for l in tail:
            print("   agent: " + l)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not os.path.exists(CWAGENT):
        print("   skipped: %s not built" % CWAGENT)
        return 0
    if not NGINX:
        print("   skipped: nginx not installed (Debian: apt-get install -y nginx-light)")
        return 0
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    prefix = tempfile.mkdtemp(prefix="bench-nginx-")
    ng = None
    try:
        ng = Nginx(prefix)
        if only in ("", "throughput"):
            bench_throughput(ng)
        if only in ("", "tail"):
            bench_tailing(ng)
    finally:
        if ng:
            ng.stop()
        shutil.rmtree(prefix, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
