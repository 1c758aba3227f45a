"""CloudWatch: accepted datums read back three ways; JSON 1.0 and gzip; every PutMetricData limit."""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emutest  # noqa: E402
from emutest import api_error, call_json, call_query, cwtest, xml_code  # noqa: E402

check, eq = cwtest.check, cwtest.eq
NOW = datetime.datetime.now(datetime.timezone.utc)
CW_JSON = "application/x-amz-json-1.0"
PMD_TARGET = "GraniteServiceVersion20100801.PutMetricData"


def _put(cw, datums, ns="Cwemu/Test"):
    return cw.put_metric_data(Namespace=ns, MetricData=datums)


def test_query_put_then_read_back():
    e = emutest.emu()
    cw = e.client("cloudwatch")
    dims = [{"Name": "Host", "Value": "a b+c/d=e&f"}, {"Name": "Env", "Value": "prod"}]
    _put(cw, [{"MetricName": "Latency", "Dimensions": dims, "Value": 1.5, "Unit": "Milliseconds",
               "StorageResolution": 1, "Timestamp": NOW},
              {"MetricName": "Sizes", "Values": [1.0, 2.0], "Counts": [3.0, 4.0], "Timestamp": NOW},
              {"MetricName": "Stats", "StatisticValues": {"SampleCount": 2, "Sum": 3, "Minimum": 1,
                                                          "Maximum": 2}, "Timestamp": NOW}])
    got = e.get("/_emulator/metrics")["metrics"]
    eq(len(got), 3, "stored datums")
    eq(got[0]["dimensions"], dims, "dimensions in sent order")
    eq((got[0]["value"], got[0]["unit"], got[0]["storage_resolution"]), (1.5, "Milliseconds", 1), "datum 1")
    check(abs(got[0]["timestamp"] - NOW.timestamp()) < 0.01, "timestamp %r" % got[0]["timestamp"])
    eq((got[1]["values"], got[1]["counts"]), ([1.0, 2.0], [3.0, 4.0]), "values/counts")
    eq(got[2]["statistic_values"]["Sum"], 3.0, "statistic set")
    eq(got[1]["storage_resolution"], 60, "default storage resolution")
    names = sorted(m["MetricName"] for m in cw.list_metrics(Namespace="Cwemu/Test")["Metrics"])
    eq(names, ["Latency", "Sizes", "Stats"], "ListMetrics")
    start, end = NOW - datetime.timedelta(minutes=2), NOW + datetime.timedelta(minutes=2)
    st = cw.get_metric_statistics(Namespace="Cwemu/Test", MetricName="Sizes", StartTime=start, EndTime=end,
                                  Period=300, Statistics=["Sum", "SampleCount", "Maximum"])["Datapoints"]
    eq((st[0]["Sum"], st[0]["SampleCount"], st[0]["Maximum"]), (11.0, 7.0, 2.0), "GetMetricStatistics")
    md = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[{"Id": "q", "MetricStat": {
        "Metric": {"Namespace": "Cwemu/Test", "MetricName": "Latency", "Dimensions": dims},
        "Period": 60, "Stat": "Average"}}])["MetricDataResults"]
    eq(md[0]["Values"], [1.5], "GetMetricData")


def test_json10_put_metric_data_and_gzip():
    e = emutest.emu()
    obj = {"Namespace": "Cwemu/Json", "MetricData": [
        {"MetricName": "M", "Value": 2.0, "Timestamp": NOW.timestamp(), "Dimensions": [{"Name": "A", "Value": "b"}]}]}
    status, hdrs, _ = call_json(e, "monitoring", PMD_TARGET, obj, ct=CW_JSON)
    eq(status, 200, "JSON 1.0 PutMetricData")
    status, _, _ = call_json(e, "monitoring", PMD_TARGET, obj, ct=CW_JSON, gz=True)
    eq(status, 200, "gzip JSON 1.0 PutMetricData")
    status, _, body = call_query(e, "monitoring", "PutMetricData", "2010-08-01",
                                 [("Namespace", "Cwemu/Q"), ("MetricData.member.1.MetricName", "G"),
                                  ("MetricData.member.1.Value", "7")], gz=True)
    eq(status, 200, "gzip query PutMetricData: %s" % body[:300])
    got = e.get("/_emulator/metrics")["metrics"]
    eq([(m["namespace"], m["name"], m["value"]) for m in got],
       [("Cwemu/Json", "M", 2.0), ("Cwemu/Json", "M", 2.0), ("Cwemu/Q", "G", 7.0)], "stored")
    reqs = [r for r in e.get("/_emulator/requests")["requests"] if r["operation"] == "PutMetricData"]
    eq([r["gzip"] for r in reqs], [False, True, True], "gzip flags in the request log")
    eq([r["protocol"] for r in reqs], ["json", "json", "query"], "protocols")
    # A JSON 1.0 error carries __type, x-amzn-ErrorType and the query-compatible code header.
    obj["MetricData"][0]["Value"] = "x"
    status, hdrs, body = call_json(e, "monitoring", PMD_TARGET, obj, ct=CW_JSON)
    eq(status, 400, "bad JSON type")
    status, hdrs, body = call_json(e, "monitoring", PMD_TARGET, {"Namespace": "N", "MetricData": [
        {"MetricName": "M", "Value": 1, "StorageResolution": 5}]}, ct=CW_JSON)
    eq((status, body.get("__type"), hdrs.get("x-amzn-query-error")),
       (400, "InvalidParameterValueException", "InvalidParameterValue;Sender"), "JSON error shape")


def _datum(i=0, **kw):
    d = {"MetricName": "m%d" % i, "Value": 1.0}
    d.update(kw)
    return d


def _cw_error(cw, datums, ns="Cwemu/Limits"):
    return api_error(cw.put_metric_data, Namespace=ns, MetricData=datums)


def test_limits_counts():
    e = emutest.emu()
    cw = e.client("cloudwatch", parameter_validation=False)  # the emulator, not botocore, judges
    _put(cw, [_datum(i) for i in range(1000)])
    eq(len(e.get("/_emulator/metrics")["metrics"]), 1000, "1000 datums accepted")
    eq(_cw_error(cw, [_datum(i) for i in range(1001)])[:2], ("InvalidParameterValue", 400), "1001 datums")
    dims = [{"Name": "d%d" % i, "Value": "v"} for i in range(31)]
    _put(cw, [_datum(Dimensions=dims[:30])])
    eq(_cw_error(cw, [_datum(Dimensions=dims)])[:2], ("InvalidParameterValue", 400), "31 dimensions")
    _put(cw, [{"MetricName": "v", "Values": [float(i) for i in range(150)]}])
    eq(_cw_error(cw, [{"MetricName": "v", "Values": [float(i) for i in range(151)]}])[:2],
       ("InvalidParameterValue", 400), "151 values")
    eq(_cw_error(cw, [{"MetricName": "v", "Values": [1.0, 2.0], "Counts": [1.0]}])[:2],
       ("InvalidParameterValue", 400), "Values/Counts length mismatch")
    eq(len(e.get("/_emulator/metrics")["metrics"]), 1002, "rejected requests store nothing")


def test_limits_values():
    e = emutest.emu()
    cw = e.client("cloudwatch", parameter_validation=False)
    for bad in (float("nan"), float("inf"), -float("inf"), 2.0 ** 361, -(2.0 ** 361)):
        eq(_cw_error(cw, [_datum(Value=bad)])[:2], ("InvalidParameterValue", 400), "value %r" % bad)
    eq(_cw_error(cw, [_datum(Values=[1.0, float("nan")])])[0], "InvalidParameterCombination", "Value+Values")
    eq(_cw_error(cw, [{"MetricName": "x", "Values": [1.0, float("nan")]}])[0], "InvalidParameterValue", "NaN in Values")
    _put(cw, [_datum(Value=2.0 ** 359)])
    for res in (0, 5, 30, 120):
        eq(_cw_error(cw, [_datum(StorageResolution=res)])[:2], ("InvalidParameterValue", 400), "resolution %d" % res)
    old, new = NOW - datetime.timedelta(days=14, minutes=5), NOW + datetime.timedelta(hours=2, minutes=5)
    eq(_cw_error(cw, [_datum(Timestamp=old)])[0], "InvalidParameterValue", "timestamp > 2 weeks old")
    eq(_cw_error(cw, [_datum(Timestamp=new)])[0], "InvalidParameterValue", "timestamp > 2 h ahead")
    _put(cw, [_datum(Timestamp=NOW - datetime.timedelta(days=13)), _datum(Timestamp=NOW + datetime.timedelta(hours=1))])
    eq(_cw_error(cw, [_datum()], ns="AWS/EC2")[0], "InvalidParameterValue", "AWS/ namespace")
    eq(_cw_error(cw, [_datum(Dimensions=[{"Name": "a", "Value": "x"}, {"Name": "a", "Value": "y"}])])[0],
       "InvalidParameterValue", "duplicate dimension names")
    eq(_cw_error(cw, [_datum(Dimensions=[{"Name": "a", "Value": "\u00e9"}])])[0], "InvalidParameterValue",
       "non-ASCII dimension value")
    eq(_cw_error(cw, [_datum(Unit="Furlongs")])[0], "InvalidParameterValue", "unit outside the enum")
    eq(_cw_error(cw, [{"MetricName": "m"}])[0], "InvalidParameterCombination", "datum without a value")
    stats = {"SampleCount": 3.0, "Sum": 6.0, "Minimum": 1.0, "Maximum": 3.0}
    code, _, msg = _cw_error(cw, [_datum(StatisticValues=stats)])
    eq(code, "InvalidParameterCombination", "Value+StatisticValues")
    check("Value" in msg and "StatisticValues" in msg, "the message names both parameters: %s" % msg)
    eq(_cw_error(cw, [_datum(Values=[1.0], StatisticValues=stats)])[0], "InvalidParameterCombination",
       "Value+Values+StatisticValues")
    eq(len(e.get("/_emulator/metrics")["metrics"]), 3, "only the valid datums are stored")


def test_values_counts_with_statistic_values():
    """What amazon-cloudwatch-agent sends for every statsd/collectd datum (buildMetricDatumDist)."""
    e = emutest.emu()
    cw = e.client("cloudwatch")
    stats = {"SampleCount": 6.0, "Sum": 14.0, "Minimum": 1.0, "Maximum": 3.0}
    _put(cw, [{"MetricName": "latency", "Values": [1.0, 2.0, 3.0], "Counts": [1.0, 2.0, 3.0],
               "StatisticValues": stats, "Unit": "Milliseconds", "Timestamp": NOW}])
    got = e.get("/_emulator/metrics")["metrics"]
    eq(len(got), 1, "one datum stored")
    eq((got[0]["values"], got[0]["counts"]), ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), "values and counts kept")
    eq(got[0]["statistic_values"], stats, "statistic set kept")


def test_query_encoding_strictness():
    e = emutest.emu()
    base = [("Namespace", "N"), ("MetricData.member.1.MetricName", "M"), ("MetricData.member.1.Value", "1")]
    cases = [
        ([("MetricData.member.1.Dimension.member.1.Name", "a")], "InvalidParameterValue", "misspelt member"),
        ([("MetricData.member.3.MetricName", "x"), ("MetricData.member.3.Value", "1")], "InvalidParameterValue",
         "index gap"),
        ([("MetricData.member.1.Timestamp", "yesterday")], "InvalidParameterValue", "bad timestamp"),
    ]
    for extra, code, what in cases:
        status, _, body = call_query(e, "monitoring", "PutMetricData", "2010-08-01", base + extra)
        eq((status, xml_code(body)), (400, code), what)
    status, _, body = call_query(e, "monitoring", "PutMetricData", "2010-08-01", [("Namespace", "N")])
    eq((status, xml_code(body)), (400, "MissingParameter"), "no MetricData")
    status, _, body = call_query(e, "monitoring", "PutMetricData", "2010-08-01", [("MetricData.member.1.MetricName", "M"), ("MetricData.member.1.Value", "1")])
    eq((status, xml_code(body)), (400, "MissingParameter"), "no Namespace")
    check(b'<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">' in body, "error namespace")
    check(b"<RequestId>" in body and b"<Type>Sender</Type>" in body, "error body shape: %r" % body[:300])


def test_body_size_limits():
    e = emutest.emu()
    # > 1 MB after decompression, though small on the wire: 413.
    params = [("Namespace", "N")]
    for i in range(1, 1001):
        params += [("MetricData.member.%d.MetricName" % i, "m" * 255), ("MetricData.member.%d.Value" % i, "1"),
                   ("MetricData.member.%d.Dimensions.member.1.Name" % i, "d"),
                   ("MetricData.member.%d.Dimensions.member.1.Value" % i, "v" * 1000)]
    status, _, body = call_query(e, "monitoring", "PutMetricData", "2010-08-01", params, gz=True)
    eq((status, xml_code(body)), (413, "RequestEntityTooLarge"), "decompressed body over 1 MB")
    big = b"Action=PutMetricData&Version=2010-08-01&Namespace=" + b"x" * (3 * 1024 * 1024)
    status, _, body = emutest.send(e, "POST", "/", dict(emutest.FORM), big)
    eq(status, 413, "3 MB body")


def test_alarms_and_dashboards():
    e = emutest.emu()
    cw = e.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="high-cpu", MetricName="cpu", Namespace="CWAgent", Statistic="Average",
                        Period=60, EvaluationPeriods=2, Threshold=90.0, ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": "host", "Value": "h"}])
    a = cw.describe_alarms(AlarmNames=["high-cpu"])["MetricAlarms"]
    eq((a[0]["Threshold"], a[0]["EvaluationPeriods"], a[0]["Dimensions"]),
       (90.0, 2, [{"Name": "host", "Value": "h"}]), "alarm stored as given")
    cw.put_dashboard(DashboardName="main", DashboardBody=json.dumps({"widgets": []}))
    eq(cw.get_dashboard(DashboardName="main")["DashboardBody"], '{"widgets": []}', "dashboard body")
    eq(api_error(cw.get_dashboard, DashboardName="nope")[:2], ("ResourceNotFound", 404), "missing dashboard")


def test_record_file():
    import tempfile
    d = tempfile.mkdtemp(prefix="cwemu-rec-")
    path = os.path.join(d, "rec.jsonl")
    try:
        with cwtest.Emulator("--record", path) as e:
            cw = e.client("cloudwatch")
            _put(cw, [_datum(Dimensions=[{"Name": "a", "Value": "b"}])])
            api_error(cw.put_metric_data, Namespace="N", MetricData=[_datum(StorageResolution=7)])
        with open(path) as f:
            lines = [json.loads(line) for line in f]
        eq(len(lines), 1, "only accepted requests are recorded")
        eq((lines[0]["operation"], lines[0]["params"]["MetricData"][0]["Dimensions"]),
           ("PutMetricData", [{"Name": "a", "Value": "b"}]), "recorded params")
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)


cwtest.main(globals())
