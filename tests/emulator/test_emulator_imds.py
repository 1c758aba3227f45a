"""IMDSv2 and the ECS credentials endpoint: tokens, v1 toggle, faults, credential lifetime."""
import datetime
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emutest  # noqa: E402
from emutest import call_query, cwtest, xml_code  # noqa: E402

check, eq = cwtest.check, cwtest.eq
PMD = [("Namespace", "I"), ("MetricData.member.1.MetricName", "M"), ("MetricData.member.1.Value", "1")]


def _token(e, ttl="21600"):
    status, hdrs, body = e.raw("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": ttl})
    return status, body.decode()


def _get(e, path, token=None):
    h = {"X-aws-ec2-metadata-token": token} if token else {}
    status, _, body = e.raw("GET", "/latest/" + path, h)
    return status, body.decode()


def test_imdsv2_flow():
    e = emutest.emu()
    status, tok = _token(e)
    eq(status, 200, "token PUT")
    for ttl in ("0", "21601", "abc"):
        eq(_token(e, ttl)[0], 400, "ttl %s" % ttl)
    eq(e.raw("PUT", "/latest/api/token", {})[0], 400, "PUT without ttl header")
    eq(_get(e, "meta-data/instance-id")[0], 401, "GET without token")
    eq(_get(e, "meta-data/instance-id", "bogus")[0], 401, "GET with a bad token")
    want = {"meta-data/instance-id": "i-0cwemu0000000001", "meta-data/placement/region": "us-east-1",
            "meta-data/placement/availability-zone": "us-east-1a", "meta-data/local-ipv4": "10.0.0.17"}
    for path, value in want.items():
        eq(_get(e, path, tok), (200, value), path)
    for path in ("meta-data/instance-type", "meta-data/ami-id", "meta-data/hostname", "meta-data/local-hostname"):
        status, body = _get(e, path, tok)
        check(status == 200 and body, "%s: %s %r" % (path, status, body))
    doc = json.loads(_get(e, "dynamic/instance-identity/document", tok)[1])
    eq((doc["region"], doc["instanceId"], doc["accountId"], doc["privateIp"]),
       ("us-east-1", "i-0cwemu0000000001", "123456789012", "10.0.0.17"), "identity document")
    check(doc["instanceType"] and doc["imageId"] and doc["availabilityZone"], "identity fields")
    eq(_get(e, "meta-data/no-such-thing", tok)[0], 404, "unknown path")
    eq(_get(e, "meta-data/tags/instance", tok)[0], 404, "tags off by default")
    e.post("/_emulator/config", {"imds_tags": True, "instance_tags": {"Name": "web", "env": "prod"}})
    eq(_get(e, "meta-data/tags/instance", tok), (200, "Name\nenv"), "tag listing")
    eq(_get(e, "meta-data/tags/instance/env", tok), (200, "prod"), "tag value")
    e.post("/_emulator/config", {"imds_tags": False})


def test_short_token_ttl_expires():
    e = emutest.emu()
    _, tok = _token(e, "1")
    eq(_get(e, "meta-data/instance-id", tok)[0], 200, "fresh token")
    time.sleep(1.1)
    eq(_get(e, "meta-data/instance-id", tok)[0], 401, "expired token")


def test_imdsv1_toggle():
    e = emutest.emu()
    e.post("/_emulator/config", {"imdsv1": True})
    eq(_get(e, "meta-data/instance-id"), (200, "i-0cwemu0000000001"), "v1 enabled via control")
    e.post("/_emulator/config", {"imdsv1": False})
    eq(_get(e, "meta-data/instance-id")[0], 401, "v1 disabled again")
    with cwtest.Emulator("--imdsv1", "--fault", '{"mode": "imds-disable", "count": 1}') as e2:
        eq(_get(e2, "meta-data/instance-id")[0], 403, "--fault given at startup")
        eq(_get(e2, "meta-data/instance-id")[0], 200, "--imdsv1 flag")


def test_credentials_lifetime_and_use():
    with cwtest.Emulator("--creds-lifetime", "30") as e:
        _, tok = _token(e)
        status, role = _get(e, "meta-data/iam/security-credentials/", tok)
        eq((status, role), (200, "cwemu-role"), "role listing")
        status, body = _get(e, "meta-data/iam/security-credentials/" + role, tok)
        c = json.loads(body)
        eq((c["Code"], c["Type"]), ("Success", "AWS-HMAC"), "credential document")
        check(c["AccessKeyId"].startswith("ASIA") and c["SecretAccessKey"] and c["Token"], "keys")
        check(c["Expiration"].endswith("Z") and c["LastUpdated"].endswith("Z"), "ISO-8601 Z times")
        exp = datetime.datetime.strptime(c["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        left = exp.timestamp() - time.time()
        check(25 <= left <= 31, "lifetime 30 s, got %.1f" % left)
        kw = dict(key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["Token"])
        eq(call_query(e, "monitoring", "PutMetricData", "2010-08-01", PMD, **kw)[0], 200, "IMDS creds accepted")
        eq(_get(e, "meta-data/iam/security-credentials/other-role", tok)[0], 404, "unknown role")
        # The control API changes the lifetime of credentials handed out from now on.
        e.post("/_emulator/config", {"creds_lifetime": 2})
        c2 = json.loads(_get(e, "meta-data/iam/security-credentials/" + role, tok)[1])
        check(c2["AccessKeyId"] != c["AccessKeyId"], "new credentials after the lifetime change")
        time.sleep(2.1)
        status, _, body = call_query(e, "monitoring", "PutMetricData", "2010-08-01", PMD, key=c2["AccessKeyId"],
                                     secret=c2["SecretAccessKey"], token=c2["Token"])
        eq((status, xml_code(body)), (403, "ExpiredToken"), "IMDS credential past its lifetime")
        c3 = json.loads(_get(e, "meta-data/iam/security-credentials/" + role, tok)[1])
        check(c3["AccessKeyId"] != c2["AccessKeyId"], "expired credentials are rotated")


def test_token_timeout_and_disable_faults():
    e = emutest.emu()
    e.post("/_emulator/faults", {"mode": "imds-token-timeout", "count": 1, "hang_seconds": 5})
    req = urllib.request.Request(e.endpoint + "/latest/api/token", method="PUT",
                                 headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    t0 = time.time()
    try:
        urllib.request.urlopen(req, timeout=0.5)
        raise AssertionError("expected the token PUT to time out")
    except (socket.timeout, TimeoutError, urllib.error.URLError):
        pass
    check(time.time() - t0 < 2, "client gave up on its own timeout")
    eq(_token(e)[0], 200, "count 1: next PUT answers")
    f = e.get("/_emulator/faults")["faults"]
    eq(f[0]["fired"], 1, "fired once")
    e.post("/_emulator/faults", {"mode": "imds-disable", "seconds": 0.5})
    eq(_token(e)[0], 403, "IMDS disabled: PUT")
    eq(_get(e, "meta-data/instance-id")[0], 403, "IMDS disabled: GET")
    time.sleep(0.6)
    eq(_token(e)[0], 200, "window over")
    e.post("/_emulator/faults", {"operation": "IMDS.Credentials", "mode": "500", "count": 1})
    _, tok = _token(e)
    eq(_get(e, "meta-data/iam/security-credentials/cwemu-role", tok)[0], 500, "500 on the credentials path")
    eq(_get(e, "meta-data/iam/security-credentials/cwemu-role", tok)[0], 200, "then fine")


def test_token_timeout_is_bounded():
    e = emutest.emu()
    e.post("/_emulator/faults", {"mode": "imds-token-timeout", "count": 1, "hang_seconds": 0.5})
    t0 = time.time()
    status, _ = (None, None)
    try:
        status, _ = _token(e)
    except Exception:  # noqa: BLE001 - the emulator closes without answering
        pass
    check(status is None and time.time() - t0 < 3, "closed without an answer within the bound")


def test_ecs_endpoint_auth():
    with cwtest.Emulator("--ecs-token", "Bearer secret-token") as e:
        path = "/ecs/creds"
        eq(e.raw("GET", path)[0], 401, "no Authorization")
        eq(e.raw("GET", path, {"Authorization": "Bearer wrong"})[0], 403, "wrong token")
        status, hdrs, body = e.raw("GET", path, {"Authorization": "Bearer secret-token"})
        eq(status, 200, "right token")
        c = json.loads(body)
        check(set(c) >= {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"}, "fields %r" % c)
        kw = dict(key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["Token"])
        eq(call_query(e, "monitoring", "PutMetricData", "2010-08-01", PMD, **kw)[0], 200, "ECS creds accepted")
        e.post("/_emulator/config", {"ecs_token": "other", "ecs_paths": ["/v2/credentials/abc"]})
        eq(e.raw("GET", "/v2/credentials/abc", {"Authorization": "other"})[0], 200, "configured path and token")


cwtest.main(globals())
