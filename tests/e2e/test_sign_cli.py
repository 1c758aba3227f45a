"""`cwagent sign`: output forms, where the credentials come from, usage errors, and that the
secret never reaches the output."""
import json
import os
import shutil
import tempfile

import cwtest
from cwtest import REFERENCE, check, eq, run_agent

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
VECTORS = os.path.join(REFERENCE, "sigv4-test-suite", "aws-sig-v4-test-suite")
BASE = ["--service", "service", "--region", "us-east-1", "--access-key", "AKIDEXAMPLE"]
ENV = {"AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": "", "AWS_ACCESS_KEY_ID": ""}


def vector(name, ext):
    with open(os.path.join(VECTORS, name, name + ext)) as f:
        return f.read().rstrip("\n")


def sign(*args, env=None, input=None):
    e = dict(ENV)
    e.update(env or {})
    r = run_agent("sign", *args, env=e, input=input, timeout=20)
    check(SECRET not in r.stdout and SECRET not in r.stderr, "the secret was printed")
    return r


def test_json_output_matches_the_vector():
    r = sign(os.path.join(VECTORS, "get-vanilla", "get-vanilla.req"), "--json", *BASE)
    eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr)
    out = json.loads(r.stdout)
    eq(sorted(out), ["amz_date", "authorization", "canonical_request", "signature",
                     "signed_request", "string_to_sign"], "keys")
    eq(out["canonical_request"], vector("get-vanilla", ".creq"), "canonical request")
    eq(out["string_to_sign"], vector("get-vanilla", ".sts"), "string to sign")
    eq(out["authorization"], vector("get-vanilla", ".authz"), "authorization")
    eq(out["amz_date"], "20150830T123600Z", "date from the request's X-Amz-Date")
    check(out["signed_request"].startswith("GET / HTTP/1.1\r\n"), out["signed_request"])
    check("\r\nAuthorization: " + out["authorization"] + "\r\n\r\n" in out["signed_request"],
          out["signed_request"])


def test_human_output_has_labelled_sections_from_stdin():
    req = vector("post-x-www-form-urlencoded", ".req")
    r = sign("-", *BASE, input=req)
    eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr)
    for label in ("--- canonical request\n", "--- string to sign\n", "--- signature\n",
                  "--- signed request"):
        check(label in r.stdout, "missing %r in %r" % (label, r.stdout))
    check(vector("post-x-www-form-urlencoded", ".creq") in r.stdout, r.stdout)
    check(vector("post-x-www-form-urlencoded", ".authz") in r.stdout, r.stdout)


def test_date_option_overrides_and_token_is_signed_or_not():
    req = "POST / HTTP/1.1\r\nHost: logs.eu-west-1.amazonaws.com\r\nX-Amz-Date: 20150830T123600Z\r\n" \
          "Authorization: stale\r\n\r\n{}"
    base = ["--service", "logs", "--region", "eu-west-1", "--access-key", "AKIDEXAMPLE",
            "--json", "--date", "20240229T235959Z"]
    out = json.loads(sign(*base, "--session-token", "TOK", input=req).stdout)
    eq(out["amz_date"], "20240229T235959Z", "amz_date")
    check("x-amz-date:20240229T235959Z\nx-amz-security-token:TOK\n" in out["canonical_request"],
          out["canonical_request"])
    check("stale" not in out["signed_request"], "old Authorization kept")
    eq(out["signed_request"].count("X-Amz-Date"), 1, "X-Amz-Date headers")
    check("Credential=AKIDEXAMPLE/20240229/eu-west-1/logs/aws4_request" in out["authorization"],
          out["authorization"])
    out = json.loads(sign(*base, "--unsigned-token", input=req,
                          env={"AWS_SESSION_TOKEN": "ENVTOK"}).stdout)
    check("x-amz-security-token" not in out["canonical_request"], out["canonical_request"])
    check("X-Amz-Security-Token: ENVTOK\r\n" in out["signed_request"], out["signed_request"])


def test_credentials_from_environment_and_secret_file():
    d = tempfile.mkdtemp(prefix="cwsign.")
    try:
        path = os.path.join(d, "secret")
        with open(path, "w") as f:
            f.write(SECRET + "\n")
        req = os.path.join(VECTORS, "get-vanilla", "get-vanilla.req")
        r = sign(req, "--json", "--service", "service", "--region", "us-east-1",
                 "--secret-key-file", path, env={"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                                                 "AWS_SECRET_ACCESS_KEY": "wrong"})
        eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr)
        eq(json.loads(r.stdout)["authorization"], vector("get-vanilla", ".authz"),
           "file secret wins over the environment")
    finally:
        shutil.rmtree(d)


def test_default_date_is_now():
    r = sign("--json", *BASE, input="GET / HTTP/1.1\nHost: h\n")
    eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr)
    import time
    now = time.strftime("%Y%m%dT%H%M", time.gmtime())
    check(json.loads(r.stdout)["amz_date"][:13] <= now, "date not now")
    check(json.loads(r.stdout)["amz_date"][:8] == now[:8], "date not today")


def test_usage_errors_exit_2_with_a_specific_message():
    cases = [
        (["--region", "r", "--access-key", "A"], {}, "--service is required"),
        (["--service", "s", "--access-key", "A"], {}, "--region is required"),
        (["--service", "s", "--region", "r"], {}, "no access key"),
        (BASE, {"AWS_SECRET_ACCESS_KEY": ""}, "no secret key"),
        (BASE + ["--secret-key", SECRET], {}, "never from the command line"),
        (BASE + ["--date", "2015-08-30T12:36:00Z"], {}, "--date"),
        (BASE + ["--date", "20150230T123600Z"], {}, "--date"),
        (BASE + ["--frobnicate"], {}, "unknown option '--frobnicate'"),
        (BASE + ["a.req", "b.req"], {}, "only one request file"),
        (BASE + ["--service"], {}, "--service needs a value"),
        (BASE + ["--unsigned-token"], {}, "--unsigned-token needs a session token"),
        (BASE + ["--secret-key-file", "/nonexistent/secret"], {}, "cannot open secret key file"),
        (BASE + ["/nonexistent/request"], {}, "cannot open /nonexistent/request"),
    ]
    for args, env, msg in cases:
        r = sign(*args, env=env, input="GET / HTTP/1.1\nHost: h\n")
        eq(r.returncode, 2, "exit status for %r" % (args,))
        check(msg in r.stderr, "%r: expected %r in %r" % (args, msg, r.stderr))
        check(r.stdout == "", "usage error printed to stdout: %r" % r.stdout)


def test_bad_requests_exit_1():
    for req, msg in [("GET / HTTP/1.1\nX-A: 1\n", "no Host header"),
                     ("garbage\n", "cannot parse the request"),
                     ("GET / HTTP/1.1\nHost: h\nX-Amz-Date: yesterday\n", "cannot be signed")]:
        r = sign(*BASE, input=req)
        eq(r.returncode, 1, "exit status for %r" % req)
        check(msg in r.stderr, "expected %r in %r" % (msg, r.stderr))


def test_batch_signs_pipelined_requests_one_json_line_each():
    good = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"
    stream = good + "GET / HTTP/1.1\r\nX-No-Host: 1\r\n\r\n" + good + "\r\n"
    r = sign("--batch", "--date", "20150830T123600Z", *BASE, input=stream)
    eq(r.returncode, 1, "exit status with one unsignable request")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    eq(len(lines), 3, "output lines")
    eq(lines[1], {"error": "the request has no Host header"}, "error line")
    eq(lines[0]["signature"], lines[2]["signature"], "same request, same signature")
    check("request 1: the request has no Host header" in r.stderr, r.stderr)
    r = sign("--batch", *BASE, input=good + "nonsense\r\n\r\n")
    eq(r.returncode, 1, "exit status with an unparsable request")
    eq(len(r.stdout.splitlines()), 2, "a result line, then the parse error line")


def test_help_explains_why_no_secret_argument():
    r = run_agent("sign", "--help")
    eq(r.returncode, 0, "exit status")
    check("usage: cwagent sign" in r.stdout and "/proc/<pid>/cmdline" in r.stdout, r.stdout)
    check("sign" in run_agent("--help").stdout, "sign not listed in cwagent --help")


cwtest.main(globals())
