"""Cross-check of the SigV4 signer against botocore (code nobody here wrote).

1,000 random requests (fixed seed) are signed by `cwagent sign --batch` (JSON lines; one process
per 25 requests, since one per request takes over a minute under ASan); each is then rebuilt as a
botocore AWSRequest with the same method, URL, headers and body, and signed by
botocore.auth.SigV4Auth at the same time. The canonical request, string to sign, signature and
Authorization header must be identical.

The generator covers what a client sends: percent-encoded paths with unicode, reserved characters,
'.', '..' and empty segments; queries with repeated keys, empty values and keys without '=';
header values with runs of spaces and tabs, repeated headers (also differing in case); bodies from
0 bytes to over 1 MiB; GET, POST and PUT; with and without a session token.

Known differences kept out of the generated requests (documented in sigv4/sigv4.h and uri.h):
- botocore 1.29 takes the query string verbatim, we decode and re-encode each name and value
  (as aws-c-auth does). Both agree on queries encoded the way clients encode them (RFC 3986
  unreserved set, uppercase hex); a raw '/', '+' or lowercase hex would differ.
- botocore signs with the Date header when a request has one; we do not treat Date specially.
- botocore replaces an X-Amz-Date already in the request; we honour it (cwagent sign --date
  drops it). So no generated request carries Date or X-Amz-Date.
- We never sign hop-by-hop headers (connection, keep-alive, te, upgrade, ...), botocore 1.29
  does; both skip user-agent and expect, which are generated to check that.
- botocore collapses any Unicode whitespace in header values; we collapse spaces and tabs (the
  only whitespace HTTP allows there).
"""
import datetime
import json
import os
import random
import subprocess
import time
import types
import urllib.parse

import cwtest
from cwtest import CWAGENT, check

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SEED = 20150830
COUNT = 1000
BATCH = 25  # requests per cwagent sign --batch call (they share credentials and time)

SEGMENT_CHARS = (
    "abcxyzABCXYZ0189-._~" * 3 + "!$&'()*+,;=:@ %\"<>[]^`{|}#?/" + "éüßжሴ日本語😀")
QUERY_KEYS = ["a", "b", "Param", "param", "x-y", "Z~", "k 1", "a&b", "c=d", "ключ", "ሴ", "%"]
QUERY_CHARS = "abcXYZ019-._~ +/=&?%:@!$'()*,;éሴ😀"
HEADER_NAMES = ["X-Custom", "x-custom", "My-Header1", "Content-Type", "X-Amz-Target",
                "X-Amz-Meta-Foo", "Accept", "User-Agent", "Expect", "X-Trace", "Zeta", "A"]
HEADER_CHARS = "abc XYZ 019\t-_.~!\"#$%&'()*+,/:;<=>?@[\\]^`{|}  "
SERVICES = ["monitoring", "logs", "sts", "service", "execute-api"]
REGIONS = ["us-east-1", "eu-west-3", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]


def rand_text(rng, chars, lo, hi):
    return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))


def gen_path(rng, feats):
    segs = []
    for _ in range(rng.randint(0, 5)):
        r = rng.random()
        if r < 0.08:
            segs.append(".")
            feats["dot"] += 1
        elif r < 0.16:
            segs.append("..")
            feats["dot"] += 1
        elif r < 0.22:
            segs.append("")  # a doubled slash
            feats["empty_segment"] += 1
        else:
            seg = rand_text(rng, SEGMENT_CHARS, 1, 12)
            # Clients encode everything but the unreserved set; some leave sub-delims raw.
            safe = "" if rng.random() < 0.7 else "!$&'()*+,;=:@"
            enc = urllib.parse.quote(seg, safe=safe)
            if any(ord(c) > 127 for c in seg):
                feats["unicode_path"] += 1
            if enc != seg:
                feats["encoded_path"] += 1
            segs.append(enc)
    path = "/" + "/".join(segs)
    if segs and rng.random() < 0.3:
        path += "/"
    return path


def gen_query(rng, feats):
    if rng.random() < 0.35:
        return ""
    keys = [rng.choice(QUERY_KEYS) for _ in range(rng.randint(1, 7))]
    if len(keys) != len(set(keys)):
        feats["repeated_key"] += 1
    parts = []
    for k in keys:
        ek = urllib.parse.quote(k, safe="-_.~")
        r = rng.random()
        if r < 0.15:
            parts.append(ek)  # no '='
            feats["no_equals"] += 1
        elif r < 0.3:
            parts.append(ek + "=")
            feats["empty_value"] += 1
        else:
            parts.append(ek + "=" + urllib.parse.quote(rand_text(rng, QUERY_CHARS, 1, 10),
                                                       safe="-_.~"))
    return "&".join(parts)


def gen_headers(rng, feats, host, body_len, method):
    headers = [("Host", host)]
    for _ in range(rng.randint(0, 7)):
        name = rng.choice(HEADER_NAMES)
        value = rand_text(rng, HEADER_CHARS, 0, 24)
        if rng.random() < 0.3:
            value = "  " + value.replace(" ", "   ") + " \t "
        if "  " in value or "\t" in value:
            feats["header_spaces"] += 1
        headers.append((name, value))
    names = [n.lower() for n, _ in headers]
    if len(names) != len(set(names)):
        feats["repeated_header"] += 1
    # cwagent sign --batch reads pipelined requests: a body needs Content-Length.
    if body_len or rng.random() < 0.5:
        headers.append(("Content-Length", str(body_len)))
    rng.shuffle(headers)
    return headers


def gen_body(rng, method, feats):
    r = rng.random()
    if method == "GET" and r < 0.8:
        n = 0
    elif r < 0.02:
        n = rng.randint(1 << 20, (1 << 20) + 100000)
        feats["body_over_1mib"] += 1
    elif r < 0.1:
        n = rng.randint(4096, 200000)
    else:
        n = rng.randint(0, 2048)
    if n == 0:
        feats["empty_body"] += 1
    return rng.randbytes(n)


def gen_context(rng, feats):
    """What one cwagent sign --batch call shares: service, region, credentials, time."""
    ctx = {
        "service": rng.choice(SERVICES),
        "region": rng.choice(REGIONS),
        "access_key": "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                                       for _ in range(16)),
        "secret": "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789+/") for _ in range(40)),
        "token": None,
        "time": datetime.datetime(2015, 1, 1) + datetime.timedelta(
            seconds=rng.randint(0, 15 * 365 * 86400)),
    }
    if rng.random() < 0.4:
        ctx["token"] = "".join(rng.choice("ABCabc0123456789+/=") for _ in range(rng.randint(16,
                                                                                            300)))
        feats["session_token"] += 1
    return ctx


def gen_request(rng, feats, ctx):
    method = rng.choice(["GET", "POST", "PUT"])
    host = "%s.%s.amazonaws.com" % (ctx["service"], ctx["region"])
    body = gen_body(rng, method, feats)
    req = dict(ctx)
    req.update({
        "method": method,
        "path": gen_path(rng, feats),
        "query": gen_query(rng, feats),
        "headers": gen_headers(rng, feats, host, len(body), method),
        "body": body,
    })
    return req


def raw_http(req):
    target = req["path"] + ("?" + req["query"] if req["query"] else "")
    head = "%s %s HTTP/1.1\r\n" % (req["method"], target)
    head += "".join("%s: %s\r\n" % (n, v) for n, v in req["headers"]) + "\r\n"
    return head.encode() + req["body"]


def cwagent_sign(reqs):
    """Signs requests sharing one context with one `cwagent sign --batch` call."""
    ctx = reqs[0]
    args = [CWAGENT, "sign", "--batch", "--service", ctx["service"], "--region", ctx["region"],
            "--access-key", ctx["access_key"], "--date", ctx["time"].strftime("%Y%m%dT%H%M%SZ")]
    if ctx["token"]:
        args += ["--session-token", ctx["token"]]
    env = dict(os.environ, AWS_SECRET_ACCESS_KEY=ctx["secret"])
    env.pop("AWS_SESSION_TOKEN", None)
    p = subprocess.run(args, input=b"".join(raw_http(r) for r in reqs), capture_output=True,
                       timeout=60, env=env)
    secret = ctx["secret"].encode()
    check(secret not in p.stdout and secret not in p.stderr, "cwagent sign printed the secret")
    if p.returncode != 0:
        raise AssertionError("cwagent sign exited %d: %s" % (p.returncode,
                                                              p.stderr.decode(errors="replace")))
    out = [json.loads(line) for line in p.stdout.splitlines()]
    check(len(out) == len(reqs), "%d requests in, %d results out" % (len(reqs), len(out)))
    return out


class _FrozenDatetime(datetime.datetime):
    frozen = None

    @classmethod
    def utcnow(cls):
        return cls.frozen


def botocore_sign(req):
    """Signs with SigV4Auth.add_auth at the request's time; returns the four strings."""
    _FrozenDatetime.frozen = req["time"]
    saved = botocore.auth.datetime
    botocore.auth.datetime = types.SimpleNamespace(datetime=_FrozenDatetime)
    try:
        host = dict((n.lower(), v) for n, v in req["headers"])["host"]
        url = "https://%s%s%s" % (host, req["path"], "?" + req["query"] if req["query"] else "")
        r = AWSRequest(method=req["method"], url=url, data=req["body"])
        for n, v in req["headers"]:
            r.headers[n] = v  # HTTPHeaders appends: repeated headers stay, in order
        auth = botocore.auth.SigV4Auth(Credentials(req["access_key"], req["secret"],
                                                   req["token"]), req["service"], req["region"])
        auth.add_auth(r)
        authorization = r.headers["Authorization"]
        del r.headers["Authorization"]  # recompute the intermediate strings as add_auth did
        creq = auth.canonical_request(r)
        sts = auth.string_to_sign(r, creq)
        return {"canonical_request": creq, "string_to_sign": sts,
                "signature": auth.signature(sts, r), "authorization": authorization,
                "amz_date": r.context["timestamp"]}
    finally:
        botocore.auth.datetime = saved


def describe(req):
    short = dict(req)
    short["body"] = "<%d bytes>" % len(req["body"])
    short["secret"] = "<hidden>"
    short["time"] = req["time"].isoformat()
    return json.dumps(short, ensure_ascii=True)


FEATURES = ["dot", "empty_segment", "unicode_path", "encoded_path", "repeated_key", "no_equals",
            "empty_value", "header_spaces", "repeated_header", "body_over_1mib", "empty_body",
            "session_token"]


def test_botocore_agrees_on_random_requests():
    rng = random.Random(SEED)
    feats = dict.fromkeys(FEATURES, 0)
    batches = []
    while sum(len(b) for b in batches) < COUNT:
        ctx = gen_context(rng, feats)
        batches.append([gen_request(rng, feats, ctx) for _ in range(BATCH)])
    start = time.monotonic()
    results = [cwagent_sign(b) for b in batches]
    signed = time.monotonic()
    mismatches = []
    n = 0
    for batch, outs in zip(batches, results):
        for req, ours in zip(batch, outs):
            theirs = botocore_sign(req)
            for field in ("canonical_request", "string_to_sign", "signature", "authorization",
                          "amz_date"):
                if ours.get(field) != theirs[field]:
                    mismatches.append("#%d %s: cwagent %r, botocore %r; request %s" % (
                        n, field, str(ours.get(field, ours))[:600], theirs[field][:600],
                        describe(req)[:1500]))
                    break
            n += 1
    print("# %d requests in %d batches: cwagent signed them in %.1f s, botocore verified in "
          "%.1f s; features: %s" % (n, len(batches), signed - start, time.monotonic() - signed,
                                    feats))
    check(n >= COUNT, "only %d requests checked" % n)
    check(not mismatches, "%d of %d differ; first: %s" % (len(mismatches), n,
                                                          " || ".join(mismatches[:3])))
    # The generator must really have produced what the cross-check claims to cover.
    for feat, count in feats.items():
        check(count > 0, "the generator produced no request with %s" % feat)


def test_mismatch_is_detected():
    """The comparison can fail: a different secret on our side must change the signature."""
    rng = random.Random(SEED + 1)
    feats = dict.fromkeys(FEATURES, 0)
    req = gen_request(rng, feats, gen_context(rng, feats))
    theirs = botocore_sign(req)
    req["secret"] = req["secret"][::-1]
    ours = cwagent_sign([req])[0]
    check(ours["canonical_request"] == theirs["canonical_request"], "canonical request differs")
    check(ours["signature"] != theirs["signature"], "a wrong secret gave the same signature")


cwtest.main(globals())
