"""CloudWatch Logs: groups/streams/retention, PutLogEvents batch rules and rejectedLogEventsInfo."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emutest  # noqa: E402
from emutest import api_error, call_json, cwtest  # noqa: E402

check, eq = cwtest.check, cwtest.eq
DAY = 86400000


def _now_ms():
    return int(time.time() * 1000)


def _setup(e, group="app", stream="s1", **kw):
    logs = e.client("logs", parameter_validation=False)
    logs.create_log_group(logGroupName=group, **kw)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    return logs


def _events(e, group="app", stream="s1"):
    return e.get("/_emulator/logs")["groups"][group]["streams"][stream]["events"]


def _ple_error(logs, events, group="app", stream="s1"):
    return api_error(logs.put_log_events, logGroupName=group, logStreamName=stream, logEvents=events)


def test_groups_streams_retention_and_read_back():
    e = emutest.emu()
    logs = _setup(e, logGroupClass="INFREQUENT_ACCESS")
    logs.put_retention_policy(logGroupName="app", retentionInDays=7)
    t = _now_ms()
    out = logs.put_log_events(logGroupName="app", logStreamName="s1",
                              logEvents=[{"timestamp": t - 5, "message": "one"}, {"timestamp": t, "message": "twö"}])
    check("rejectedLogEventsInfo" not in out, "nothing rejected: %r" % out)
    g = e.get("/_emulator/logs")["groups"]["app"]
    eq((g["retentionInDays"], g["logGroupClass"]), (7, "INFREQUENT_ACCESS"), "group retention and class")
    ev = g["streams"]["s1"]["events"]
    eq([(x["timestamp"], x["message"]) for x in ev], [(t - 5, "one"), (t, "twö")], "events in order")
    check(all(abs(x["ingestionTime"] - t) < 5000 for x in ev), "ingestion time")
    got = logs.get_log_events(logGroupName="app", logStreamName="s1", startFromHead=True)["events"]
    eq([x["message"] for x in got], ["one", "twö"], "GetLogEvents")
    grp = logs.describe_log_groups(logGroupNamePrefix="ap")["logGroups"]
    eq((grp[0]["logGroupName"], grp[0]["retentionInDays"], grp[0]["logGroupClass"]),
       ("app", 7, "INFREQUENT_ACCESS"), "DescribeLogGroups")
    st = logs.describe_log_streams(logGroupName="app")["logStreams"]
    eq((st[0]["logStreamName"], st[0]["lastEventTimestamp"]), ("s1", t), "DescribeLogStreams")
    eq(api_error(logs.create_log_group, logGroupName="app")[:2], ("ResourceAlreadyExistsException", 400), "dup group")
    eq(api_error(logs.create_log_stream, logGroupName="app", logStreamName="s1")[0],
       "ResourceAlreadyExistsException", "dup stream")
    eq(api_error(logs.create_log_stream, logGroupName="nope", logStreamName="s")[0], "ResourceNotFoundException",
       "stream in a missing group")
    eq(_ple_error(logs, [{"timestamp": t, "message": "x"}], stream="nope")[0], "ResourceNotFoundException",
       "missing stream")
    eq(_ple_error(logs, [{"timestamp": t, "message": "x"}], group="nope")[0], "ResourceNotFoundException",
       "missing group")
    for days in (2, 0, 4000):
        eq(api_error(logs.put_retention_policy, logGroupName="app", retentionInDays=days)[0],
           "InvalidParameterException", "retention %d" % days)


def test_name_rules():
    e = emutest.emu()
    logs = e.client("logs", parameter_validation=False)
    for bad in ("has space", "aws/reserved", "x" * 513, "", "colon:name"):
        eq(api_error(logs.create_log_group, logGroupName=bad)[0], "InvalidParameterException", "group %r" % bad)
    logs.create_log_group(logGroupName="/var/log/app_1-2.#x")
    for bad in ("a:b", "a*b", "y" * 513):
        eq(api_error(logs.create_log_stream, logGroupName="/var/log/app_1-2.#x", logStreamName=bad)[0],
           "InvalidParameterException", "stream %r" % bad)
    logs.create_log_stream(logGroupName="/var/log/app_1-2.#x", logStreamName="i-123 / ok")
    eq(api_error(logs.create_log_group, logGroupName="g2", logGroupClass="GOLD")[0], "InvalidParameterException",
       "bad class")


def test_batch_limits():
    e = emutest.emu()
    logs = _setup(e)
    t = _now_ms()
    logs.put_log_events(logGroupName="app", logStreamName="s1",
                        logEvents=[{"timestamp": t, "message": "m"} for _ in range(10000)])
    eq(len(_events(e)), 10000, "10,000 events accepted")
    eq(_ple_error(logs, [{"timestamp": t, "message": "m"} for _ in range(10001)])[:2],
       ("InvalidParameterException", 400), "10,001 events")
    # 4 events of 262,118 bytes + 26 each = 1,048,576 exactly: accepted; one byte more: rejected.
    exact = [{"timestamp": t, "message": "a" * 262118} for _ in range(4)]
    logs.put_log_events(logGroupName="app", logStreamName="s1", logEvents=exact)
    over = [dict(x) for x in exact]
    over[3]["message"] += "b"
    eq(_ple_error(logs, over)[:2], ("InvalidParameterException", 400), "batch of 1,048,577 bytes")
    multi = {"logGroupName": "app", "logStreamName": "s1",
             "logEvents": [{"timestamp": t, "message": "é" * 131060} for _ in range(4)]}  # 2 bytes each
    status, _, body = call_json(e, "logs", "Logs_20140328.PutLogEvents", None,
                                raw=json.dumps(multi, ensure_ascii=False).encode())
    eq((status, body.get("__type")), (400, "InvalidParameterException"), "size counted in UTF-8 bytes")
    eq(_ple_error(logs, [{"timestamp": t, "message": "x" * 1048551}])[0], "InvalidParameterException", "event > 1 MB")
    eq(_ple_error(logs, [{"timestamp": t, "message": "b"}, {"timestamp": t - 1, "message": "a"}])[0],
       "InvalidParameterException", "unsorted events")
    eq(_ple_error(logs, [{"timestamp": t - DAY - 1000, "message": "a"}, {"timestamp": t, "message": "b"}])[0],
       "InvalidParameterException", "span over 24 h")
    eq(_ple_error(logs, [{"timestamp": t, "message": ""}])[0], "InvalidParameterException", "empty message")
    eq(_ple_error(logs, [])[0], "InvalidParameterException", "no events")
    eq(len(_events(e)), 10004, "failed batches store nothing")


def test_invalid_utf8_rejected():
    e = emutest.emu()
    _setup(e)
    t = _now_ms()
    raw = ('{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":"ok \xff\xfe"}]}'
           % t).encode("latin-1")
    status, _, body = call_json(e, "logs", "Logs_20140328.PutLogEvents", None, raw=raw)
    eq((status, body.get("__type")), (400, "InvalidParameterException"), "raw invalid UTF-8 bytes")
    raw = ('{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":"x\\ud800"}]}'
           % t).encode()
    status, _, body = call_json(e, "logs", "Logs_20140328.PutLogEvents", None, raw=raw)
    eq((status, body.get("__type")), (400, "InvalidParameterException"), "lone surrogate escape")
    eq(len(_events(e)), 0, "nothing stored")


def test_rejected_events_info():
    e = emutest.emu()
    logs = _setup(e)
    t = _now_ms()
    evs = [{"timestamp": t - 15 * DAY, "message": "old1"}, {"timestamp": t - 15 * DAY + 1, "message": "old2"},
           {"timestamp": t - 1000, "message": "ok1"}, {"timestamp": t, "message": "ok2"},
           {"timestamp": t + 3 * 3600000, "message": "new"}]
    out = logs.put_log_events(logGroupName="app", logStreamName="s1", logEvents=evs)
    eq(out["rejectedLogEventsInfo"], {"tooOldLogEventEndIndex": 2, "tooNewLogEventStartIndex": 4},
       "rejectedLogEventsInfo")
    eq([x["message"] for x in _events(e)], ["ok1", "ok2"], "only valid events stored")
    # Span over 24 h counts only the valid events.
    out = logs.put_log_events(logGroupName="app", logStreamName="s1", logEvents=[
        {"timestamp": t - 15 * DAY, "message": "old"}, {"timestamp": t, "message": "ok3"}])
    eq(out["rejectedLogEventsInfo"], {"tooOldLogEventEndIndex": 1}, "too old only")
    logs.put_retention_policy(logGroupName="app", retentionInDays=1)
    out = logs.put_log_events(logGroupName="app", logStreamName="s1", logEvents=[
        {"timestamp": t - 2 * DAY, "message": "expired"}, {"timestamp": t, "message": "ok4"}])
    eq(out["rejectedLogEventsInfo"], {"expiredLogEventEndIndex": 1}, "expired by retention")
    eq([x["message"] for x in _events(e)], ["ok1", "ok2", "ok3", "ok4"], "stored")


def test_gzip_and_protocol_errors():
    e = emutest.emu()
    _setup(e)
    t = _now_ms()
    obj = {"logGroupName": "app", "logStreamName": "s1", "logEvents": [{"timestamp": t, "message": "gz"}]}
    status, _, body = call_json(e, "logs", "Logs_20140328.PutLogEvents", obj, gz=True)
    eq(status, 200, "gzip PutLogEvents: %r" % body)
    eq([x["message"] for x in _events(e)], ["gz"], "gzip event stored")
    status, _, body = call_json(e, "logs", "Logs_20140328.PutLogEvents", obj, ct="application/json")
    eq((status, body.get("__type")), (400, "SerializationException"), "wrong content type")
    status, _, body = call_json(e, "logs", "Logs_20140328.PutLogEvents", None, raw=b'{"logGroupName": ')
    eq((status, body.get("__type")), (400, "SerializationException"), "invalid JSON")
    status, _, body = call_json(e, "logs", "Logs_20140328.PutLogEvents", None, raw=b"[1,2]")
    eq((status, body.get("__type")), (400, "SerializationException"), "JSON array body")
    obj2 = dict(obj, logEvents=[{"timestamp": "yesterday", "message": "x"}])
    status, _, body = call_json(e, "logs", "Logs_20140328.PutLogEvents", obj2)
    eq((status, body.get("__type")), (400, "SerializationException"), "string timestamp")
    status, _, body = call_json(e, "logs", "Logs_20140328.NoSuchOperation", {})
    eq((status, body.get("__type")), (400, "UnknownOperationException"), "unknown target")
    status, _, body = call_json(e, "logs", "Logs_20140328.PutLogEvents", dict(obj, bogus=1))
    eq((status, body.get("__type")), (400, "InvalidParameterException"), "unknown member")
    eq(len(_events(e)), 1, "nothing else stored")
    check(json.dumps(body), "")


def test_emf_extraction():
    """EMF events become metrics (namespace, each dimension set, unit, resolution, arrays); a
    directive with more than 100 metrics or a missing dimension value yields no metric and an
    AWS/Logs EMFValidationErrors datum; non-EMF events are plain logs."""
    e = emutest.emu()
    logs = _setup(e, group="emf", stream="s")
    t = _now_ms()
    doc = {"_aws": {"Timestamp": t, "CloudWatchMetrics": [{
        "Namespace": "App", "Dimensions": [["Svc"], ["Svc", "Op"]],
        "Metrics": [{"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1},
                    {"Name": "Hits"}]}]},
        "Svc": "api", "Op": "get", "Latency": [1, 2.5], "Hits": 3}
    big = {"_aws": {"Timestamp": t, "CloudWatchMetrics": [{
        "Namespace": "Big", "Dimensions": [[]], "Metrics": [{"Name": "m%d" % i} for i in range(101)]}]}}
    big.update({"m%d" % i: i for i in range(101)})
    nodim = {"_aws": {"Timestamp": t, "CloudWatchMetrics": [{
        "Namespace": "NoDim", "Dimensions": [["Missing"]], "Metrics": [{"Name": "x"}]}]}, "x": 1}
    logs.put_log_events(logGroupName="emf", logStreamName="s", logEvents=[
        {"timestamp": t, "message": json.dumps(m)} for m in (doc, big, nodim, "plain")])
    cw = e.client("cloudwatch")
    got = sorted((m["MetricName"], tuple(sorted(d["Name"] for d in m["Dimensions"])))
                 for m in cw.list_metrics(Namespace="App")["Metrics"])
    eq(got, [("Hits", ("Op", "Svc")), ("Hits", ("Svc",)), ("Latency", ("Op", "Svc")),
             ("Latency", ("Svc",))], "extracted metrics")
    eq(cw.list_metrics(Namespace="Big")["Metrics"], [], "no metric from a directive of 101")
    eq(cw.list_metrics(Namespace="NoDim")["Metrics"], [], "no metric without a dimension value")
    errs = cw.list_metrics(Namespace="AWS/Logs", MetricName="EMFValidationErrors")["Metrics"]
    eq(errs[0]["Dimensions"], [{"Name": "LogGroupName", "Value": "emf"}], "validation errors")
    eq(len(_events(e, "emf", "s")), 4, "every event stored as a log event")


cwtest.main(globals())
