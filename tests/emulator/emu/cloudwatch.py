"""CloudWatch (signing name monitoring): PutMetricData with the documented limits, read-back
(ListMetrics, GetMetricStatistics, GetMetricData), alarms and dashboards stored as given."""
import datetime
import math

from .errors import ApiError

MAX_DATUMS = 1000            # API: MetricData (plus EntityMetricData) per request
MAX_BODY_BYTES = 1048576     # API: 1 MB per POST (counted after decompression here)
MAX_VALUES = 150             # API: Values/Counts per datum
MAX_DIMENSIONS = 30          # API: dimensions per datum
VALUE_LIMIT = 2.0 ** 360     # API: values within -2^360 .. 2^360
PAST_WINDOW = 14 * 86400     # API: timestamps up to two weeks back
FUTURE_WINDOW = 2 * 3600     # API: ... and two hours ahead


def invalid(message):
    return ApiError("InvalidParameterValue", message, 400, "InvalidParameterValueException")


def combination(message):
    return ApiError("InvalidParameterCombination", message, 400, "InvalidParameterCombinationException")


def error_for(kind, message, protocol):
    """Maps a model validation failure to CloudWatch's error."""
    if kind == "missing":
        return ApiError("MissingParameter", message, 400, "MissingRequiredParameterException")
    if kind == "type" and protocol == "json":
        return ApiError("SerializationException", message, 400)
    return invalid(message)


def _ascii_text(text, what, allow_colon=True):
    if any(ord(c) > 126 or ord(c) < 32 for c in text):
        raise invalid("The value for %s must contain only printable ASCII characters." % what)
    if not text.strip():
        raise invalid("The value for %s must contain at least one non-whitespace character." % what)
    if not allow_colon and text.startswith(":"):
        raise invalid("The value %s for parameter %s is invalid." % (text, what))


def _check_number(v, what):
    if math.isnan(v) or math.isinf(v):
        raise invalid("The value %s for parameter %s is invalid." % (v, what))
    if abs(v) > VALUE_LIMIT:
        raise invalid("The value %s for parameter %s is out of range (must be within -2^360..2^360)."
                      % (v, what))


def _check_dimensions(dims, p):
    if len(dims) > MAX_DIMENSIONS:
        raise invalid("The collection %s.Dimensions must not have a size greater than %d." % (p, MAX_DIMENSIONS))
    seen = set()
    for j, d in enumerate(dims, 1):
        _ascii_text(d["Name"], "%s.Dimensions.member.%d.Name" % (p, j), allow_colon=False)
        _ascii_text(d["Value"], "%s.Dimensions.member.%d.Value" % (p, j))
        if d["Name"] in seen:
            raise invalid("No metric may have duplicate dimension names: %s in %s." % (d["Name"], p))
        seen.add(d["Name"])


def _check_values(m, p):
    values, counts = m.get("Values"), m.get("Counts")
    if counts is not None and values is None:
        raise combination("The parameter %s.Counts may only be specified with %s.Values." % (p, p))
    if values is None:
        return
    if len(values) > MAX_VALUES:
        raise invalid("The collection %s.Values must not have a size greater than %d." % (p, MAX_VALUES))
    if counts is not None and len(counts) != len(values):
        raise invalid("The parameters %s.Values and %s.Counts must be of the same size." % (p, p))
    for i, v in enumerate(values, 1):
        _check_number(v, "%s.Values.member.%d" % (p, i))
    for i, c in enumerate(counts or [], 1):
        _check_number(c, "%s.Counts.member.%d" % (p, i))
        if c < 0:
            raise invalid("The value %s for parameter %s.Counts.member.%d is invalid." % (c, p, i))


def _check_datum(m, p, now):
    _check_dimensions(m.get("Dimensions", []), p)
    present = [k for k in ("Value", "Values", "StatisticValues") if k in m]
    # Value excludes both others (AWS's message for Value+StatisticValues; Value+Values inferred).
    # Values+Counts together with StatisticValues is accepted: amazon-cloudwatch-agent sends exactly
    # that for every statsd/collectd datum (buildMetricDatumDist).
    if "Value" in m and len(present) > 1:
        other = present[1]
        raise combination("The parameters %s.Value and %s.%s are mutually exclusive and you have "
                          "specified both." % (p, p, other))
    if not present:
        raise combination("One of the parameters %s.Value, %s.Values or %s.StatisticValues must be "
                          "specified." % (p, p, p))
    if "Value" in m:
        _check_number(m["Value"], p + ".Value")
    for k, v in (m.get("StatisticValues") or {}).items():
        _check_number(v, "%s.StatisticValues.%s" % (p, k))
    _check_values(m, p)
    if m.get("StorageResolution", 60) not in (1, 60):
        raise invalid("The value %.40s for parameter %s.StorageResolution is invalid (1 or 60)."
                      % (m["StorageResolution"], p))
    ts = m.get("Timestamp")
    if ts is not None:
        t = ts.timestamp()
        if t < now - PAST_WINDOW:
            raise invalid("The parameter %s.Timestamp must specify a time no more than two weeks in the past."
                          % p)
        if t > now + FUTURE_WINDOW:
            raise invalid("The parameter %s.Timestamp must specify a time no more than two hours in the "
                          "future." % p)


def _all_datums(params):
    out = [(m, "MetricData.member.%d" % i, None) for i, m in enumerate(params.get("MetricData", []), 1)]
    for e, em in enumerate(params.get("EntityMetricData", []), 1):
        for i, m in enumerate(em.get("MetricData", []), 1):
            out.append((m, "EntityMetricData.member.%d.MetricData.member.%d" % (e, i), em.get("Entity")))
    return out


def _row(ns, m, entity, now, rid):
    row = {"namespace": ns, "name": m["MetricName"], "dimensions": [
        {"Name": d["Name"], "Value": d["Value"]} for d in m.get("Dimensions", [])],
        "unit": m.get("Unit", "None"), "storage_resolution": m.get("StorageResolution", 60),
        "timestamp": m["Timestamp"].timestamp() if "Timestamp" in m else now, "request_id": rid}
    if "Value" in m:
        row["value"] = m["Value"]
    if "Values" in m:
        row["values"] = list(m["Values"])
        row["counts"] = list(m["Counts"]) if "Counts" in m else [1.0] * len(m["Values"])
    if "StatisticValues" in m:
        row["statistic_values"] = dict(m["StatisticValues"])
    if entity is not None:
        row["entity"] = entity
    return row


def put_metric_data(ctx, params):
    if len(ctx.req.data) > MAX_BODY_BYTES:
        raise ApiError("RequestEntityTooLarge", "Request size %d exceeded %d bytes"
                       % (len(ctx.req.data), MAX_BODY_BYTES), 413, "RequestEntityTooLargeException")
    ns = params["Namespace"]
    _ascii_text(ns, "Namespace", allow_colon=False)
    if ns.startswith("AWS/"):
        raise invalid("The value %s for parameter Namespace is invalid." % ns)
    datums = _all_datums(params)
    if not datums:
        raise ApiError("MissingParameter", "The parameter MetricData is required.", 400,
                       "MissingRequiredParameterException")
    if len(datums) > MAX_DATUMS:
        raise invalid("The collection MetricData must not have a size greater than %d." % MAX_DATUMS)
    if params.get("EntityMetricData") and "StrictEntityValidation" not in params:
        raise ApiError("MissingParameter", "The parameter StrictEntityValidation is required.", 400,
                       "MissingRequiredParameterException")
    for m, p, _ in datums:
        _check_datum(m, p, ctx.now)
    rows = [_row(ns, m, ent, ctx.now, ctx.rid) for m, _, ent in datums]
    with ctx.store.lock:
        ctx.store.metrics.extend(rows)
    return {}


# ---- read-back ------------------------------------------------------------------------------------

def _dims_key(dims):
    return tuple(sorted((d["Name"], d["Value"]) for d in dims))


def _series(store, ns, name, dims, unit=None):
    key = _dims_key(dims or [])
    with store.lock:
        return [r for r in store.metrics if r["namespace"] == ns and r["name"] == name
                and _dims_key(r["dimensions"]) == key and (unit is None or r["unit"] == unit)]


def _contribution(r):
    """(sample count, sum, min, max) of one stored datum."""
    if "value" in r:
        v = r["value"]
        return 1.0, v, v, v
    if "values" in r:
        n = sum(r["counts"])
        return n, sum(v * c for v, c in zip(r["values"], r["counts"])), min(r["values"]), max(r["values"])
    s = r["statistic_values"]
    return s["SampleCount"], s["Sum"], s["Minimum"], s["Maximum"]


def _buckets(rows, start, end, period):
    out = {}
    for r in rows:
        t = r["timestamp"]
        if start <= t < end:
            b = start + ((t - start) // period) * period
            n, s, lo, hi = _contribution(r)
            cur = out.get(b)
            out[b] = (n, s, lo, hi, r["unit"]) if cur is None else (
                cur[0] + n, cur[1] + s, min(cur[2], lo), max(cur[3], hi), cur[4])
    return out


def _stat(agg, name):
    n, s, lo, hi, _ = agg
    return {"SampleCount": n, "Sum": s, "Minimum": lo, "Maximum": hi,
            "Average": s / n if n else 0.0}[name]


def get_metric_statistics(ctx, params):
    rows = _series(ctx.store, params["Namespace"], params["MetricName"], params.get("Dimensions"),
                   params.get("Unit"))
    start, end = params["StartTime"].timestamp(), params["EndTime"].timestamp()
    points = []
    for b, agg in sorted(_buckets(rows, start, end, params["Period"]).items()):
        p = {"Timestamp": datetime.datetime.fromtimestamp(b, datetime.timezone.utc), "Unit": agg[4]}
        for st in params.get("Statistics", []):
            p[st] = _stat(agg, st)
        points.append(p)
    return {"Label": params["MetricName"], "Datapoints": points}


def get_metric_data(ctx, params):
    start, end = params["StartTime"].timestamp(), params["EndTime"].timestamp()
    results = []
    for q in params["MetricDataQueries"]:
        ms = q.get("MetricStat")
        if ms is None:
            raise invalid("The emulator supports only MetricStat queries (query %s)." % q["Id"])
        m = ms["Metric"]
        rows = _series(ctx.store, m.get("Namespace"), m.get("MetricName"), m.get("Dimensions"), ms.get("Unit"))
        stamps = sorted(_buckets(rows, start, end, ms["Period"]).items(), reverse=True)
        results.append({"Id": q["Id"], "Label": q.get("Label", m.get("MetricName")), "StatusCode": "Complete",
                        "Timestamps": [datetime.datetime.fromtimestamp(b, datetime.timezone.utc)
                                       for b, _ in stamps],
                        "Values": [_stat(a, ms["Stat"]) for _, a in stamps]})
    return {"MetricDataResults": results, "Messages": []}


def _dim_filter_ok(dims, filters):
    have = {d["Name"]: d["Value"] for d in dims}
    return all(f["Name"] in have and ("Value" not in f or have[f["Name"]] == f["Value"]) for f in filters)


def list_metrics(ctx, params):
    seen, out = set(), []
    with ctx.store.lock:
        rows = list(ctx.store.metrics)
    for r in rows:
        if params.get("Namespace") not in (None, r["namespace"]) or params.get("MetricName") not in (
                None, r["name"]) or not _dim_filter_ok(r["dimensions"], params.get("Dimensions", [])):
            continue
        key = (r["namespace"], r["name"], _dims_key(r["dimensions"]))
        if key not in seen:
            seen.add(key)
            out.append({"Namespace": r["namespace"], "MetricName": r["name"], "Dimensions": r["dimensions"]})
    return {"Metrics": out}


def put_metric_alarm(ctx, params):
    alarm = dict(params)
    alarm.update({"AlarmArn": "arn:aws:cloudwatch:%s:%s:alarm:%s" % (ctx.store.region, "123456789012",
                                                                       params["AlarmName"]),
                  "StateValue": "INSUFFICIENT_DATA", "StateReason": "Unchecked: Initial alarm creation",
                  "AlarmConfigurationUpdatedTimestamp": datetime.datetime.now(datetime.timezone.utc)})
    with ctx.store.lock:
        ctx.store.alarms[params["AlarmName"]] = alarm
    return {}


def describe_alarms(ctx, params):
    names, prefix = params.get("AlarmNames"), params.get("AlarmNamePrefix")
    with ctx.store.lock:
        alarms = [a for n, a in sorted(ctx.store.alarms.items())
                  if (names is None or n in names) and (prefix is None or n.startswith(prefix))]
    return {"MetricAlarms": alarms, "CompositeAlarms": []}


def put_dashboard(ctx, params):
    with ctx.store.lock:
        ctx.store.dashboards[params["DashboardName"]] = params["DashboardBody"]
    return {"DashboardValidationMessages": []}


def get_dashboard(ctx, params):
    name = params.get("DashboardName")
    with ctx.store.lock:
        body = ctx.store.dashboards.get(name)
    if body is None:
        raise ApiError("ResourceNotFound", "Dashboard %s does not exist" % name, 404, "DashboardNotFoundError")
    return {"DashboardName": name, "DashboardBody": body,
            "DashboardArn": "arn:aws:cloudwatch::123456789012:dashboard/%s" % name}


OPS = {"PutMetricData": put_metric_data, "ListMetrics": list_metrics,
       "GetMetricStatistics": get_metric_statistics, "GetMetricData": get_metric_data,
       "PutMetricAlarm": put_metric_alarm, "DescribeAlarms": describe_alarms,
       "PutDashboard": put_dashboard, "GetDashboard": get_dashboard}
