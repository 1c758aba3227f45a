"""Helpers shared by the emulator's own tests: one emulator per test file, raw signed requests built
with botocore's AWSRequest + SigV4Auth (optionally mutated after signing) and sent with http.client."""
import atexit
import gzip
import http.client
import json
import os
import sys
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import cwtest  # noqa: E402

_EMU = None


def emu():
    """The file's shared emulator (started on first use, stopped at exit), reset before returning."""
    global _EMU
    if _EMU is None:
        _EMU = cwtest.Emulator()
        _EMU.start()
        atexit.register(_EMU.stop)
    _EMU.post("/_emulator/reset", {})
    return _EMU


def sign(url, service, headers, body, key=cwtest.ACCESS_KEY, secret=cwtest.SECRET_KEY, token=None,
         region="us-east-1", when=None, method="POST"):
    """Returns (headers dict, body) signed by botocore; `when` is an X-Amz-Date string (default now)."""
    import datetime

    from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = SigV4Auth(Credentials(key, secret, token), service, region)
    req.context["timestamp"] = when or datetime.datetime.utcnow().strftime(SIGV4_TIMESTAMP)
    signer._modify_request_before_signing(req)  # noqa: SLF001 - botocore's own signing steps
    canonical = signer.canonical_request(req)
    signature = signer.signature(signer.string_to_sign(req, canonical), req)
    signer._inject_signature_to_request(req, signature)  # noqa: SLF001
    return dict(req.headers.items()), body


def send(e, method, path, headers, body, timeout=10):
    """Sends raw bytes; returns (status, lower-case headers, body bytes)."""
    u = urlsplit(e.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def query_body(action, version, params):
    return urlencode([("Action", action), ("Version", version)] + list(params)).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def call_query(e, service, action, version, params, gz=False, mutate=None, **kw):
    """Signed awsQuery call; `mutate(body) -> body` runs after signing. Returns (status, hdrs, body)."""
    body = query_body(action, version, params)
    headers = dict(FORM)
    if gz:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    headers, body = sign(e.endpoint + "/", service, headers, body, **kw)
    if mutate:
        body = mutate(body)
    return send(e, "POST", "/", headers, body)


def call_json(e, service, target, obj, ct="application/x-amz-json-1.1", gz=False, raw=None, **kw):
    """Signed JSON call (obj, or raw bytes); returns (status, hdrs, parsed body or bytes)."""
    body = raw if raw is not None else json.dumps(obj).encode()
    headers = {"Content-Type": ct, "X-Amz-Target": target}
    if gz:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    headers, body = sign(e.endpoint + "/", service, headers, body, **kw)
    status, hdrs, data = send(e, "POST", "/", headers, body)
    try:
        return status, hdrs, json.loads(data or b"{}")
    except ValueError:
        return status, hdrs, data


def xml_code(body):
    """The <Code> of an awsQuery/EC2 XML error body."""
    text = body.decode()
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else None


def api_error(fn, *args, **kwargs):
    """Calls a botocore client method expecting a ClientError; returns (code, status, message)."""
    import botocore.exceptions
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as err:
        r = err.response
        return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Message", "")
    raise AssertionError("expected an error from %s" % getattr(fn, "__name__", fn))
