"""netfix — fixtures for the network tests (tests/e2e/test_net_*.py): a test CA made at test time
with the openssl CLI, a TLS front (a small Python TLS terminator forwarding to the emulator's
plain HTTP port), and Debian's tinyproxy. Everything listens on loopback and stops on exit.

The front is reached by a host *name* that resolves to a loopback address (the machine's own
host name, which Debian maps to 127.0.1.1 and containers to 127.0.0.1): the agent never sends a
loopback address or "localhost" through a proxy, so a name is needed to make it use one, and the
proxy resolves that name back to loopback.
"""
import os
import select
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import cwtest


def loopback_name():
    """(name, address, family): a host name (not "localhost") that /etc/hosts maps to a loopback
    address -- the machine's own name (Debian: 127.0.1.1) first, else e.g. Debian's
    "ip6-localhost" (::1). Read from /etc/hosts only, so no DNS query leaves the machine. Skip
    when there is none."""
    found = []
    try:
        with open("/etc/hosts") as f:
            for line in f:
                fields = line.split("#")[0].split()
                if len(fields) < 2:
                    continue
                addr, names = fields[0], fields[1:]
                family = socket.AF_INET6 if ":" in addr else socket.AF_INET
                if not (addr.startswith("127.") or addr == "::1"):
                    continue
                found += [(n, addr, family) for n in names if not n.startswith("localhost")]
    except OSError:
        pass
    me = socket.gethostname()
    found.sort(key=lambda t: t[0] != me)
    for name, addr, family in found:
        try:  # usable here? (IPv6 may be off in a container)
            probe = socket.socket(family, socket.SOCK_STREAM)
            probe.bind((addr, 0))
            probe.close()
        except OSError:
            continue
        return name, addr, family
    raise cwtest.Skip("/etc/hosts maps no host name to a loopback address; the proxy test "
                      "needs one (the agent never proxies loopback addresses or localhost)")


def make_ca(tmp, name):
    """Creates ca.pem, and server.pem/server.key for `name` signed by it. Returns paths."""
    if not shutil.which("openssl"):
        raise cwtest.Skip("openssl CLI not installed")
    ca_key, ca = os.path.join(tmp, "ca.key"), os.path.join(tmp, "ca.pem")
    key, csr, crt = (os.path.join(tmp, n) for n in ("server.key", "server.csr", "server.pem"))
    ext = os.path.join(tmp, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" % name)

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=cwagent test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=%s" % name)
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
        "-days", "2", "-extfile", ext)
    return {"ca": ca, "cert": crt, "key": key}


class TlsFront:
    """Accepts TLS on addr:port (free port) and forwards each connection to the emulator."""

    def __init__(self, addr, cert, key, backend_port, family=socket.AF_INET):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.backend = ("127.0.0.1", backend_port)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handshakes_failed = 0
        self.connections = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, raw):
        raw.settimeout(10)
        try:
            tls = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1
            raw.close()
            return
        self.connections += 1
        try:
            back = socket.create_connection(self.backend, timeout=10)
        except OSError:
            tls.close()
            return
        self._pump(tls, back)

    @staticmethod
    def _pump(tls, back):
        tls.setblocking(False)
        back.setblocking(False)
        deadline = time.time() + 120
        try:
            while time.time() < deadline:
                if tls.pending():
                    r = [tls]
                else:
                    r, _, _ = select.select([tls, back], [], [], 1.0)
                for s in r:
                    other = back if s is tls else tls
                    try:
                        data = s.recv(65536)
                    except (ssl.SSLWantReadError, BlockingIOError):
                        continue
                    if not data:
                        return
                    other.setblocking(True)
                    other.sendall(data)
                    other.setblocking(False)
        except (OSError, ssl.SSLError):
            return
        finally:
            tls.close()
            back.close()

    def close(self):
        self.stopping = True
        self.sock.close()


class Tinyproxy:
    """Debian's tinyproxy on 127.0.0.1 (free port), optional basic auth; its log is .log()."""

    def __init__(self, user=None, password=None):
        if not shutil.which("tinyproxy"):
            raise cwtest.Skip("tinyproxy not installed (make deps: tinyproxy-bin)")
        # tinyproxy drops to nobody when started as root: its own directory, open to it
        self.dir = tempfile.mkdtemp(prefix="cwnet-tinyproxy-")
        os.chmod(self.dir, 0o777)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.logfile = os.path.join(self.dir, "tinyproxy.log")
        conf = os.path.join(self.dir, "tinyproxy.conf")
        lines = ["Port %d" % self.port, "Listen 127.0.0.1", "Timeout 60",
                 'LogFile "%s"' % self.logfile, "LogLevel Info", "MaxClients 50",
                 "Allow 127.0.0.1"]
        if user:
            lines.append("BasicAuth %s %s" % (user, password))
        if os.getuid() == 0:
            lines += ["User nobody", "Group nogroup"]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.url = "http://%s127.0.0.1:%d" % ("%s:%s@" % (user, password) if user else "",
                                             self.port)
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.close()
        raise AssertionError("tinyproxy did not start on port %d" % self.port)

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def connects(self, hostport):
        return self.log().count("CONNECT %s " % hostport)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def closed_port():
    """A loopback port nothing listens on (bound then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_common_config(path, proxy=None, ca=None, no_proxy=None, extra=""):
    lines = []
    if proxy or no_proxy:
        lines.append("[proxy]")
        if proxy:
            lines.append('https_proxy = "%s"' % proxy)
            lines.append('http_proxy = "%s"' % proxy)
        if no_proxy:
            lines.append('no_proxy = "%s"' % no_proxy)
    if ca:
        lines += ["[ssl]", 'ca_bundle_path = "%s"' % ca]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + extra)
    return path
