"""HTTP front: one ThreadingHTTPServer on 127.0.0.1 routing AWS API calls, IMDS, the ECS endpoint and
/_emulator/ control paths; startup line, request log, clean shutdown."""
import argparse
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import api, control, imds, validate, web
from .faults import REQUEST_MODES, Faults
from .store import Store

MAX_BODY = 2 * 1024 * 1024 + 65536   # bodies above this get 413 without being parsed
DRAIN_MAX = 16 * 1024 * 1024         # read and discard an oversized body up to this, else just close


class Req:
    """A received request: raw pieces plus what decoding adds (data, gzip)."""

    def __init__(self, method, target, headers, body, too_large=False):
        self.method = method
        path, _, self.raw_query = target.partition("?")
        self.raw_path = path or "/"
        self.headers = headers  # list of (name, value) as received
        self.body = body
        self.data = b""
        self.gzip = False
        self.too_large = too_large
        self.max_body = MAX_BODY
        self.rid = str(uuid.uuid4())
        self._lower = {}
        for k, v in headers:
            self._lower.setdefault(k.lower(), v)

    def header(self, name):
        return self._lower.get(name.lower())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections are closed after this
    server_version = "cwemu"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # the request line is logged by _log_line instead
        pass

    def date_time_string(self, timestamp=None):
        return formatdate(self.server.store.now() if timestamp is None else timestamp, usegmt=True)

    def _read_chunked(self):
        out = bytearray()
        while True:
            line = self.rfile.readline(1024)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return bytes(out), False
            if len(out) + size > MAX_BODY:
                self.close_connection = True
                return b"", True
            out += self.rfile.read(size)
            self.rfile.readline(8)

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if n < 0:
            self.close_connection = True
            return b"", False
        if n > MAX_BODY:
            if n <= DRAIN_MAX:
                while n > 0:
                    n -= len(self.rfile.read(min(n, 65536)) or b"x" * n)
            self.close_connection = True
            return b"", True
        return self.rfile.read(n), False

    def _dispatch(self):
        start = time.time()
        try:
            body, too_large = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        req = Req(self.command, self.path, list(self.headers.items()), body, too_large)
        try:
            resp, entry = self.server.route(req)
        except Exception:  # noqa: BLE001 - an emulator bug outside the API path: 500, trace logged
            import traceback
            traceback.print_exc(file=sys.stderr)
            from .wire import Response
            resp, entry = Response(500, '{"error": "internal emulator error"}', {}, "application/json"), {}
        entry.update({"time": start, "method": req.method, "path": req.raw_path, "status": resp.status,
                      "error": resp.error_code, "request_id": req.rid, "gzip": req.gzip,
                      "body_size": len(body), "decoded_size": len(req.data),
                      "duration_ms": round((time.time() - start) * 1000, 1)})
        self.server.store.log_request(entry)
        self._log_line(entry)
        if getattr(resp, "hang", None):
            self._hang(resp.hang)
        elif resp.drop:
            self._drop()
        else:
            self._send(resp)

    def _send(self, resp):
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _hang(self, seconds):
        """Holds the connection without answering until the client gives up or `seconds` pass."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            r, _, _ = select.select([self.connection], [], [], min(0.1, max(0.0, deadline - time.time())))
            if r:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        break
                except OSError:
                    break
        self._drop()

    def _log_line(self, e):
        if self.server.quiet:
            return
        sys.stderr.write("cwemu %s %s %s %s.%s %s%s key=%s %sB%s %.1fms\n" % (
            time.strftime("%H:%M:%S"), e["method"], e["path"], e.get("service"), e.get("operation"),
            e["status"], " " + e["error"] if e.get("error") else "", e.get("access_key"), e["body_size"],
            " gzip" if e["gzip"] else "", e["duration_ms"]))
        sys.stderr.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, args):
        super().__init__(addr, Handler)
        self.faults = Faults()
        self.store = Store(args, lambda: time.time() + self.faults.skew())
        self.quiet = args.quiet

    def handle_error(self, request, client_address):
        """A client that vanished is one log line; anything else keeps its traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            if not self.quiet:
                sys.stderr.write("cwemu: connection from %s:%d ended: %s\n" % (client_address + (exc,)))
            return
        super().handle_error(request, client_address)

    def _simple_fault(self, op):
        f = self.faults.take(REQUEST_MODES, None, op)
        if f is None:
            return None
        if f["mode"] == "delay":
            time.sleep(f["delay_ms"] / 1000.0)
            return None
        from .wire import Response
        resp = Response({"throttle": 429, "500": 500, "503": 503}.get(f["mode"], 0), "")
        resp.drop = f["mode"] == "drop"
        return resp

    def route(self, req):
        """Returns (Response, request-log entry) for any request."""
        path = req.raw_path
        if path.startswith("/_emulator/"):
            return control.handle(req, self.store, self.faults), {"service": "emulator", "operation": path[11:]}
        if path.startswith("/latest/"):
            op = imds.imds_operation(req)
            resp = self._simple_fault(op) or imds.handle_imds(req, self.store, self.faults)
            return resp, {"service": "imds", "operation": op}
        page = web.handle(req, self.store)
        if page is not None:
            return page, {"service": "web", "operation": path}
        if path in self.store.config["ecs_paths"]:
            resp = self._simple_fault("ECS.Credentials") or imds.handle_ecs(req, self.store)
            return resp, {"service": "ecs", "operation": "ECS.Credentials"}
        resp, call = api.handle(req, self.store, self.faults)
        return resp, {"service": call.service, "operation": call.op, "protocol": call.protocol,
                      "access_key": call.cred.key_id if call.cred else None}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="cwemu", description="Local CloudWatch/Logs/STS/IMDS/ECS emulator")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free one)")
    p.add_argument("--key", action="append", metavar="ID:SECRET", help="accept another key pair")
    p.add_argument("--imdsv1", action="store_true", help="answer IMDS GETs without a token")
    p.add_argument("--creds-lifetime", type=float, default=3600.0, help="lifetime of issued credentials (s)")
    p.add_argument("--record", metavar="FILE", help="append every accepted request as a JSON line")
    p.add_argument("--region", default="us-east-1", help="signing region accepted ('*' = any)")
    p.add_argument("--ecs-token", default=None, help="Authorization value the ECS endpoint requires")
    p.add_argument("--max-skew", type=int, default=300, help="allowed X-Amz-Date skew in seconds")
    p.add_argument("--fault", action="append", metavar="JSON", help="add a fault at startup (as POST /_emulator/faults)")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-request log lines on stderr")
    return p.parse_args(argv)


def _warm_up():
    """Loads botocore and the models most requests need (ec2 and ssm load on first use)."""
    for service in ("monitoring", "logs", "sts"):
        try:
            validate.service_model(service)
        except Exception as e:  # noqa: BLE001 - reported; the request that needs it will fail loudly
            sys.stderr.write("cwemu: cannot load model %s: %s\n" % (service, e))
    import botocore.auth  # noqa: F401


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    server = Server(("127.0.0.1", args.port), args)
    for spec in args.fault or []:
        try:
            server.faults.add(json.loads(spec), server.store.expire_all)
        except (ValueError, TypeError, AttributeError) as e:
            sys.stderr.write("cwemu: bad --fault %s: %s\n" % (spec, e))
            return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    port = server.server_address[1]
    base = "http://127.0.0.1:%d" % port
    print(json.dumps({"endpoint": base, "imds": base, "ecs": base + "/ecs/creds", "port": port,
                      "pid": os.getpid(), "region": server.store.region}), flush=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    threading.Thread(target=_warm_up, daemon=True).start()
    while not stop.wait(0.1):
        pass
    server.shutdown()
    server.server_close()
    return 0
