"""Faults on demand: each mode behaves as specified, counts decrement, time windows end."""
import http.client
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emutest  # noqa: E402
from emutest import call_json, call_query, cwtest, xml_code  # noqa: E402

check, eq = cwtest.check, cwtest.eq
PMD = [("Namespace", "F"), ("MetricData.member.1.MetricName", "M"), ("MetricData.member.1.Value", "1")]


def _pmd(e, **kw):
    return call_query(e, "monitoring", "PutMetricData", "2010-08-01", PMD, **kw)


def _logs_create(e, name):
    return call_json(e, "logs", "Logs_20140328.CreateLogGroup", {"logGroupName": name})


def _faults(e):
    return e.get("/_emulator/faults")["faults"]


def test_throttle_count_decrements():
    e = emutest.emu()
    e.post("/_emulator/faults", {"operation": "PutMetricData", "mode": "throttle", "count": 3})
    got = [_pmd(e) for _ in range(4)]
    eq([(s, xml_code(b)) for s, _, b in got[:3]], [(400, "Throttling")] * 3, "three throttles")
    check(b"Rate exceeded" in got[0][2] and b"<Type>Sender</Type>" in got[0][2], "throttle body %r" % got[0][2])
    eq(got[3][0], 200, "fourth call passes")
    f = _faults(e)
    eq((f[0]["fired"], f[0]["remaining"], f[0]["active"]), (3, 0, False), "fired count and exhausted")
    eq(len(e.get("/_emulator/metrics")["metrics"]), 1, "only the passing call stored")
    eq(_logs_create(e, "g")[0], 200, "other operations unaffected")


def test_throttle_codes_per_service():
    e = emutest.emu()
    e.post("/_emulator/faults", [{"operation": "*", "service": "logs", "mode": "throttle", "count": 1},
                                 {"operation": "GetCallerIdentity", "mode": "throttle", "count": 1}])
    status, _, body = _logs_create(e, "g")
    eq((status, body.get("__type")), (400, "ThrottlingException"), "Logs throttle")
    status, _, body = call_query(e, "sts", "GetCallerIdentity", "2011-06-15", [])
    eq((status, xml_code(body)), (400, "Throttling"), "STS throttle")
    check(b"https://sts.amazonaws.com/doc/2011-06-15/" in body, "STS error namespace")
    status, _, body = call_json(e, "monitoring", "GraniteServiceVersion20100801.PutMetricData",
                                {"Namespace": "F", "MetricData": [{"MetricName": "M", "Value": 1}]},
                                ct="application/x-amz-json-1.0")
    eq(status, 200, "CloudWatch JSON unaffected by the logs-only fault")


def test_5xx_and_time_window():
    e = emutest.emu()
    e.post("/_emulator/faults", {"operation": "*", "mode": "500", "count": 1})
    status, _, body = _pmd(e)
    eq((status, xml_code(body)), (500, "InternalServiceError"), "500")
    check(b"<Type>Receiver</Type>" in body, "receiver fault")
    e.post("/_emulator/faults", {"operation": "*", "mode": "503", "seconds": 0.6})
    status, _, body = _pmd(e)
    eq((status, xml_code(body)), (503, "ServiceUnavailable"), "503 query")
    status, _, body = _logs_create(e, "g")
    eq((status, body.get("__type")), (503, "ServiceUnavailableException"), "503 JSON")
    time.sleep(0.7)
    eq(_pmd(e)[0], 200, "window ended")
    f = _faults(e)
    eq([x["fired"] for x in f], [1, 2], "fired counts")


def test_delay_and_drop():
    e = emutest.emu()
    e.post("/_emulator/faults", {"operation": "PutMetricData", "mode": "delay", "delay_ms": 300, "count": 1})
    t0 = time.time()
    eq(_pmd(e)[0], 200, "delayed call succeeds")
    check(time.time() - t0 >= 0.3, "delay applied")
    e.post("/_emulator/faults", {"operation": "PutMetricData", "mode": "drop", "count": 1})
    try:
        _pmd(e)
        raise AssertionError("expected the connection to be dropped")
    except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
        pass
    eq(_pmd(e)[0], 200, "next call works")
    eq(len(e.get("/_emulator/metrics")["metrics"]), 2, "dropped call not stored")
    e.delete("/_emulator/faults")
    eq(_faults(e), [], "DELETE clears")


def test_skew_fault_moves_clock_and_date_header():
    e = emutest.emu()
    e.post("/_emulator/faults", {"mode": "skew", "skew_seconds": 3600, "seconds": 30})
    status, hdrs, body = _pmd(e)
    eq((status, xml_code(body)), (403, "SignatureDoesNotMatch"), "client is an hour behind the emulator")
    from email.utils import parsedate_to_datetime
    server = parsedate_to_datetime(hdrs["date"]).timestamp()
    check(3500 < server - time.time() < 3700, "Date header carries the skewed clock: %s" % hdrs["date"])
    when = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(server))
    eq(_pmd(e, when=when)[0], 200, "a client that corrects by the Date header is accepted")
    e.delete("/_emulator/faults")
    eq(_pmd(e)[0], 200, "clock back to normal")


def test_expire_credentials_fault():
    e = emutest.emu()
    c = e.client("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="ss")["Credentials"]
    kw = dict(key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"])
    eq(_pmd(e, **kw)[0], 200, "before")
    added = e.post("/_emulator/faults", {"mode": "expire-credentials"})["added"][0]
    check(added["expired"] >= 1, "expired count %r" % added)
    eq(xml_code(_pmd(e, **kw)[2]), "ExpiredToken", "after")


def test_bad_fault_spec():
    e = emutest.emu()
    status, _, body = e.raw("POST", "/_emulator/faults", {"Content-Type": "application/json"}, b'{"mode":"explode"}')
    eq(status, 400, "unknown mode rejected: %r" % body)
    status, _, _ = e.raw("POST", "/_emulator/faults", {}, b"{not json")
    eq(status, 400, "invalid JSON rejected")


cwtest.main(globals())
