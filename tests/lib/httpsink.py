#!/usr/bin/python3
"""httpsink — a small loopback HTTP/1.1 server for the C transport tests and benchmarks.

    /usr/bin/python3 tests/lib/httpsink.py --port 0 [--lifetime SECONDS]

Prints the bound port on its first line, then serves on 127.0.0.1 until killed (or until the
lifetime elapses, so a crashed test cannot leave it behind). Keep-alive is on. Paths:

    /echo            200, body = the request body; headers X-Echo-Method, X-Echo-Len, X-Conn
    /echoheaders     200, body = the request header lines, one per line
    /status/N        status N, body "status N" (or the ?body= query value)
    /delay/MS        sleeps MS milliseconds, then 200 "late"
    /drop            reads the request and closes the connection without answering
    /partial         announces Content-Length 100, sends 10 bytes, closes
    /huge/N          200 with an N-byte body and Content-Length
    /hugechunked/N   200 with an N-byte chunked body (no Content-Length)
    /headers/N       200 with N extra headers X-H-<i>: v<i>
    /stats           200, body = number of TCP connections accepted so far

Every response carries X-Conn: the id of the connection it was served on (to observe reuse).
"""
import argparse
import http.server
import os
import sys
import threading
import time
import urllib.parse


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.lock = threading.Lock()
        self.connections = 0

    def next_conn_id(self):
        with self.lock:
            self.connections += 1
            return self.connections

    def handle_error(self, request, client_address):
        pass  # clients time out and hang up on purpose


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def setup(self):
        super().setup()
        self.conn_id = self.server.next_conn_id()

    def log_message(self, *args):
        pass

    def reply(self, status, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Conn", str(self.conn_id))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        name, arg = parts[0], (parts[1] if len(parts) > 1 else "0")
        handler = getattr(self, "do_path_" + name, None)
        if handler is None:
            self.reply(404, b"no such path")
            return
        handler(body, arg, urllib.parse.parse_qs(url.query))

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any

    def do_path_echo(self, body, arg, q):
        self.reply(200, body, [("X-Echo-Method", self.command), ("X-Echo-Len", str(len(body)))])

    def do_path_echoheaders(self, body, arg, q):
        lines = "".join("%s: %s\n" % (k, v) for k, v in self.headers.items())
        self.reply(200, lines.encode())

    def do_path_status(self, body, arg, q):
        text = q.get("body", ["status " + arg])[0]
        self.reply(int(arg), text.encode(), [("Date", "Mon, 23 Nov 2026 12:00:00 GMT")])

    def do_path_delay(self, body, arg, q):
        time.sleep(int(arg) / 1000.0)
        self.reply(200, b"late")

    def do_path_drop(self, body, arg, q):
        self.close_connection = True
        self.wfile.flush()

    def do_path_partial(self, body, arg, q):
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.close_connection = True

    def do_path_huge(self, body, arg, q):
        self.reply(200, b"x" * int(arg))

    def do_path_hugechunked(self, body, arg, q):
        n = int(arg)
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"y" * 65536
        while n > 0:
            c = chunk[: min(n, len(chunk))]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            n -= len(c)
        self.wfile.write(b"0\r\n\r\n")

    def do_path_headers(self, body, arg, q):
        self.reply(200, b"ok", [("X-H-%d" % i, "v%d" % i) for i in range(int(arg))])

    def do_path_stats(self, body, arg, q):
        self.reply(200, str(self.server.connections).encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120.0)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    print(srv.server_address[1], flush=True)
    t = threading.Timer(args.lifetime, lambda: os._exit(0))
    t.daemon = True
    t.start()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
