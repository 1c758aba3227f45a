"""Startup and shutdown, bad input of every kind, STS web identity, EC2 DescribeTags, SSM, control API."""
import gzip
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emutest  # noqa: E402
from emutest import api_error, call_json, call_query, cwtest, xml_code  # noqa: E402

check, eq = cwtest.check, cwtest.eq
PMD = [("Namespace", "X"), ("MetricData.member.1.MetricName", "M"), ("MetricData.member.1.Value", "1")]


def test_startup_line_and_clean_exit():
    t0 = time.time()
    proc = subprocess.Popen([cwtest.PYTHON, cwtest.CWEMU, "--port", "0", "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        started = time.time() - t0
        check(started < 1.5, "started in %.2f s" % started)
        eq(set(info) >= {"endpoint", "imds", "ecs", "pid", "port"}, True, "startup keys %r" % info)
        eq(info["pid"], proc.pid, "pid")
        check(info["endpoint"].startswith("http://127.0.0.1:"), "loopback endpoint")
        eq(info["ecs"], info["endpoint"] + "/ecs/creds", "ecs url")
        t1 = time.time()
        proc.send_signal(signal.SIGTERM)
        eq(proc.wait(timeout=5), 0, "exit status after SIGTERM")
        check(time.time() - t1 < 2, "quick exit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _signed_raw(e, headers, body):
    hdrs, body = emutest.sign(e.endpoint + "/", "monitoring", headers, body)
    return emutest.send(e, "POST", "/", hdrs, body)


def test_bad_input_gets_aws_errors():
    e = emutest.emu()
    body = emutest.query_body("PutMetricData", "2010-08-01", PMD)
    gz = gzip.compress(body)
    cases = [
        (dict(emutest.FORM, **{"Content-Encoding": "gzip"}), gz[: len(gz) // 2], 400, "MalformedHttpRequestException",
         "truncated gzip"),
        (dict(emutest.FORM, **{"Content-Encoding": "gzip"}), b"not gzip at all", 400, "MalformedHttpRequestException",
         "not gzip"),
        (dict(emutest.FORM, **{"Content-Encoding": "br"}), body, 400, "MalformedHttpRequestException", "unknown encoding"),
        ({"Content-Type": "text/plain"}, body, 400, "MissingAction", "form body with a wrong content type"),
        (emutest.FORM, b"Version=2010-08-01&Namespace=x", 400, "MissingAction", "missing Action"),
        (emutest.FORM, b"Action=PutMetricData&Namespace=x", 400, "MissingParameter", "missing Version"),
        (emutest.FORM, b"Action=FlyToMoon&Version=2010-08-01", 400, "InvalidAction", "unknown Action"),
        (emutest.FORM, b"Action=PutMetricData&Version=1999-01-01", 400, "InvalidAction", "unknown Version"),
        (emutest.FORM, b"Action=PutMetricData&Version=2010-08-01&Namespace=%FF%FE&MetricData.member.1.MetricName=a"
         b"&MetricData.member.1.Value=1", 400, "MalformedHttpRequestException", "invalid UTF-8 in form"),
    ]
    for headers, raw, status, code, what in cases:
        got_status, _, got = _signed_raw(e, headers, raw)
        eq((got_status, xml_code(got)), (status, code), what)
        check(b"<RequestId>" in got, "%s: AWS error body %r" % (what, got[:200]))
    eq(len(e.get("/_emulator/metrics")["metrics"]), 0, "nothing stored")
    status, _, body = call_json(e, "monitoring", "GraniteServiceVersion20100801.PutMetricData", {"Namespace": "x"},
                                ct="application/x-amz-json-1.1")
    eq((status, body.get("__type")), (400, "SerializationException"), "CloudWatch JSON with the 1.1 content type")
    status, _, body = call_json(e, "logs", "NoSuchService_2020.Op", {})
    eq((status, body.get("__type")), (400, "UnknownOperationException"), "unknown target prefix")
    u = urlsplit(e.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    conn.putrequest("POST", "/")
    conn.putheader("Content-Length", "not-a-number")
    conn.endheaders()
    try:
        r = conn.getresponse()
        check(r.status in (400, 403), "bad Content-Length answered with %d" % r.status)
    except (http.client.RemoteDisconnected, ConnectionResetError):
        pass
    conn.close()
    eq(e.get("/_emulator/state")["counts"]["metrics"], 0, "still serving")


def test_random_input_never_500s():
    """Deterministic fuzz: garbage, truncated gzip and ill-typed JSON, correctly signed or not, get
    4xx answers (or a closed connection for a garbled request line), never a 500 or a traceback."""
    import random
    import socket
    rnd = random.Random(1234)
    targets = {"monitoring": ("GraniteServiceVersion20100801.PutMetricData", "application/x-amz-json-1.0"),
               "logs": ("Logs_20140328.PutLogEvents", "application/x-amz-json-1.1"),
               "ssm": ("AmazonSSM.GetParameter", "application/x-amz-json-1.1")}
    shapes = [{}, [], {"logGroupName": 5}, {"Namespace": {"a": 1}}, {"MetricData": [None, 1, "x"]},
              {"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": 1, "Timestamp": 1e300}]},
              {"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": 10 ** 30, "message": "x"}]},
              {"Name": ["x"]}, {"Namespace": "n", "MetricData": [{"MetricName": "m", "Values": [1], "Counts": []}]}]
    with cwtest.Emulator() as e:
        statuses = []
        for i in range(120):
            svc = rnd.choice(sorted(targets))
            target, ct = targets[svc]
            body = rnd.choice([json.dumps(rnd.choice(shapes)).encode(),
                               bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 200)))])
            hdrs = {"Content-Type": ct, "X-Amz-Target": target}
            if i % 3 == 0:
                body = gzip.compress(body)[: rnd.randint(0, 40)]
                hdrs["Content-Encoding"] = "gzip"
            if i % 5 == 0:
                hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
                body = rnd.choice([b"Action=PutMetricData&Version=2010-08-01&" + body, body])
            if i % 2 == 0:
                hdrs, body = emutest.sign(e.endpoint + "/", svc, hdrs, body)
            statuses.append(emutest.send(e, "POST", "/", hdrs, body)[0])
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", e.info["port"]), timeout=5) as sock:
                sock.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 200))) + b"\r\n\r\n")
                sock.recv(4096)
        bad = [s for s in statuses if not 400 <= s < 500]
        eq(bad, [], "non-4xx answers to bad input")
        eq(e.get("/_emulator/state")["counts"]["metrics"], 0, "still serving, nothing stored")
        eq(e.stderr_text().count("Traceback"), 0, "tracebacks in the emulator log")


def test_keep_alive_and_chunked():
    e = emutest.emu()
    u = urlsplit(e.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    try:
        for _ in range(3):
            hdrs, body = emutest.sign(e.endpoint + "/", "monitoring", emutest.FORM,
                                      emutest.query_body("PutMetricData", "2010-08-01", PMD))
            conn.request("POST", "/", body=body, headers=hdrs)
            r = conn.getresponse()
            r.read()
            eq(r.status, 200, "request on a kept-alive connection")
        hdrs, body = emutest.sign(e.endpoint + "/", "monitoring", emutest.FORM,
                                  emutest.query_body("PutMetricData", "2010-08-01", PMD))
        conn.request("POST", "/", body=iter([body[:10], body[10:]]), headers=hdrs, encode_chunked=True)
        r = conn.getresponse()
        eq((r.status, r.read()[:0]), (200, b""), "chunked body")
    finally:
        conn.close()
    eq(len(e.get("/_emulator/metrics")["metrics"]), 4, "stored")


def test_get_with_query_in_url():
    from urllib.parse import quote, urlencode
    e = emutest.emu()
    e.client("cloudwatch").put_metric_data(Namespace="a b/c", MetricData=[{"MetricName": "M", "Value": 1.0}])
    qs = urlencode([("Action", "ListMetrics"), ("Version", "2010-08-01"), ("Namespace", "a b/c")], quote_via=quote)
    hdrs, body = emutest.sign(e.endpoint + "/?" + qs, "monitoring", {}, b"", method="GET")
    status, _, out = emutest.send(e, "GET", "/?" + qs, hdrs, b"")
    eq(status, 200, "signed GET with the query in the URL: %r" % out[:300])
    check(b"<MetricName>M</MetricName>" in out, "ListMetrics result %r" % out[:300])
    status, _, out = emutest.send(e, "GET", "/?" + qs.replace("ListMetrics", "ListMetricz"), hdrs, b"")
    eq((status, xml_code(out)), (403, "SignatureDoesNotMatch"), "query string changed after signing")


def test_sts_web_identity_and_caller_identity():
    e = emutest.emu()
    arn = "arn:aws:iam::123456789012:role/web"
    body = emutest.query_body("AssumeRoleWithWebIdentity", "2011-06-15",
                              [("RoleArn", arn), ("RoleSessionName", "pod-1"), ("WebIdentityToken", "eyJhbGciOi.x.y")])
    status, _, out = emutest.send(e, "POST", "/", dict(emutest.FORM), body)
    eq(status, 200, "unsigned AssumeRoleWithWebIdentity: %r" % out[:300])
    sts = e.client("sts")
    r = sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="pod-1", WebIdentityToken="tok-1234",
                                          DurationSeconds=900)
    c = r["Credentials"]
    left = (c["Expiration"].timestamp() - time.time())
    check(c["AccessKeyId"].startswith("ASIA") and 890 < left <= 900, "DurationSeconds lifetime %.0f" % left)
    body = emutest.query_body("AssumeRoleWithWebIdentity", "2011-06-15",
                              [("RoleArn", arn), ("RoleSessionName", "pod-1"), ("WebIdentityToken", "")])
    status, _, out = emutest.send(e, "POST", "/", dict(emutest.FORM), body)
    eq((status, xml_code(out) in ("ValidationError", "InvalidIdentityToken")), (400, True), "empty token: %r" % out)
    who = e.client("sts", access_key=c["AccessKeyId"], secret_key=c["SecretAccessKey"],
                   token=c["SessionToken"]).get_caller_identity()
    eq(who["Arn"], "arn:aws:sts::123456789012:assumed-role/web/pod-1", "caller identity of issued creds")
    eq(sts.get_caller_identity()["Account"], "123456789012", "static caller account")
    status, _, out = call_query(e, "sts", "AssumeRole", "2011-06-15", [("RoleArn", arn)])
    eq((status, xml_code(out)), (400, "MissingParameter"), "AssumeRole without RoleSessionName")
    status, _, out = call_query(e, "sts", "AssumeRole", "2011-06-15",
                                [("RoleArn", arn), ("RoleSessionName", "s"), ("DurationSeconds", "60")])
    eq((status, xml_code(out)), (400, "ValidationError"), "DurationSeconds below 900 / name too short")
    status, _, out = call_query(e, "sts", "AssumeRole", "2011-06-15", [("RoleArn", arn), ("RoleSessionName", "ss")],
                                key="AKIDNOPE000000000000")
    eq((status, xml_code(out)), (403, "InvalidClientTokenId"), "AssumeRole needs a valid signature")


def test_ec2_describe_tags_and_ssm():
    e = emutest.emu()
    ec2 = e.client("ec2")
    flt = [{"Name": "resource-id", "Values": ["i-0cwemu0000000001"]},
           {"Name": "key", "Values": ["aws:autoscaling:groupName"]}]
    tags = ec2.describe_tags(Filters=flt)["Tags"]
    eq([(t["Key"], t["Value"], t["ResourceType"]) for t in tags],
       [("aws:autoscaling:groupName", "cwemu-asg", "instance")], "DescribeTags")
    e.post("/_emulator/config", {"asg_name": "my-asg"})
    eq(ec2.describe_tags(Filters=flt)["Tags"][0]["Value"], "my-asg", "ASG name via control")
    eq(ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": ["i-other"]}])["Tags"], [], "other instance")
    status, _, out = call_query(e, "ec2", "DescribeTags", "2016-11-15", [], key="AKIDNOPE000000000000")
    eq((status, xml_code(out)), (401, "AuthFailure"), "EC2 auth failure shape")
    check(b"<Response><Errors><Error>" in out, "EC2 error body %r" % out)
    ssm = e.client("ssm")
    e.post("/_emulator/config", {"ssm_parameters": {"AmazonCloudWatch-linux": '{"metrics":{}}',
                                                    "/sec": {"Value": "s3cr3t", "Type": "SecureString"}}})
    p = ssm.get_parameter(Name="AmazonCloudWatch-linux")["Parameter"]
    eq((p["Value"], p["Type"]), ('{"metrics":{}}', "String"), "GetParameter")
    eq(ssm.get_parameter(Name="/sec", WithDecryption=True)["Parameter"]["Type"], "SecureString", "typed parameter")
    eq(api_error(ssm.get_parameter, Name="missing")[:2], ("ParameterNotFound", 400), "ParameterNotFound")


def test_control_api():
    e = emutest.emu()
    call_query(e, "monitoring", "PutMetricData", "2010-08-01", PMD)
    call_query(e, "monitoring", "PutMetricData", "2010-08-01", PMD, key="AKIDNOPE000000000000")
    reqs = [r for r in e.get("/_emulator/requests")["requests"] if r["service"] == "monitoring"]
    eq([(r["operation"], r["status"], r["error"]) for r in reqs],
       [("PutMetricData", 200, None), ("PutMetricData", 403, "InvalidClientTokenId")], "request log")
    r = reqs[0]
    eq((r["access_key"], r["gzip"], r["body_size"] > 0, isinstance(r["time"], float)),
       (cwtest.ACCESS_KEY, False, True, True), "request log fields")
    state = e.get("/_emulator/state")
    check(state["counts"]["metrics"] == 1 and "config" in state, "state %r" % state["counts"])
    check(all("SecretAccessKey" not in c for c in state["credentials"]), "no secrets in state")
    e.post("/_emulator/reset", {})
    eq(e.get("/_emulator/metrics")["metrics"], [], "reset clears metrics")
    status, _, _ = e.raw("GET", "/_emulator/nope")
    eq(status, 404, "unknown control path")
    status, _, _ = e.raw("POST", "/_emulator/config", {}, b'{"creds_lifetime": "long"}')
    eq(status, 400, "bad config value")


def test_region_flag():
    with cwtest.Emulator("--region", "eu-west-1") as e:
        eq(call_query(e, "monitoring", "PutMetricData", "2010-08-01", PMD, region="eu-west-1")[0], 200, "eu-west-1")
        eq(xml_code(call_query(e, "monitoring", "PutMetricData", "2010-08-01", PMD)[2]), "SignatureDoesNotMatch",
           "us-east-1 scope rejected")
        _, hdrs, tok = e.raw("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        eq(e.raw("GET", "/latest/meta-data/placement/region", {"X-aws-ec2-metadata-token": tok.decode()})[2],
           b"eu-west-1", "IMDS region")


cwtest.main(globals())
