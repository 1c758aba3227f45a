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


ACTION_SERVICES = ("sns", "autoscaling", "automate", "ssm", "ssm-incidents", "lambda", "swf")
ALARM_MAX_PERIODS_SECONDS = 86400  # API: EvaluationPeriods x Period at most one day
VALID_PERIODS_BELOW_60 = (10, 20, 30)


def _validation(message):
    return ApiError("ValidationError", message, 400, "ValidationException")


def _check_action(arn, region, what):
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[1].startswith("aws"):
        raise _validation("Invalid arn syntax: %s" % arn)
    service, arn_region = parts[2], parts[3]
    if service not in ACTION_SERVICES:
        raise _validation("Invalid %s action: %s is not a supported action target (%s)."
                          % (what, arn, ", ".join(ACTION_SERVICES)))
    if arn_region != region:
        raise _validation("Invalid region %s specified. Only %s is supported." % (arn_region, region))
    if service == "sns" and (len(parts[4]) != 12 or not parts[4].isdigit() or not parts[5]):
        raise _validation("Invalid SNS topic ARN: %s" % arn)


def _check_alarm(params, region):
    metric_keys = [k for k in ("MetricName", "Namespace", "Dimensions", "Statistic", "ExtendedStatistic",
                               "Period", "Unit") if k in params]
    if "Metrics" in params and metric_keys:
        raise invalid("Metrics cannot be combined with %s." % ", ".join(metric_keys))
    if "Metrics" not in params:
        for k in ("MetricName", "Namespace", "Period"):
            if k not in params:
                raise _validation("%s must be specified unless Metrics is." % k)
        if ("Statistic" in params) == ("ExtendedStatistic" in params):
            raise _validation("Exactly one of Statistic and ExtendedStatistic must be specified.")
        _check_dimensions(params.get("Dimensions", []), "PutMetricAlarm")
        period = params["Period"]
        if period < 60 and period not in VALID_PERIODS_BELOW_60 or period >= 60 and period % 60:
            raise _validation("Period must be 10, 20, 30 or a multiple of 60 (got %d)." % period)
        if period * params.get("EvaluationPeriods", 1) > ALARM_MAX_PERIODS_SECONDS:
            raise _validation("The product of EvaluationPeriods and Period must not exceed 86400.")
    if "ComparisonOperator" not in params or "EvaluationPeriods" not in params:
        raise _validation("ComparisonOperator and EvaluationPeriods must be specified.")
    if "Threshold" not in params and "ThresholdMetricId" not in params:
        raise _validation("Threshold must be specified.")
    if "Threshold" in params:
        _check_number(params["Threshold"], "Threshold")
    if params.get("DatapointsToAlarm", 1) > params["EvaluationPeriods"]:
        raise _validation("DatapointsToAlarm must be less than or equal to EvaluationPeriods.")
    for what in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        for arn in params.get(what, []):
            _check_action(arn, region, what)


def put_metric_alarm(ctx, params):
    _check_alarm(params, ctx.store.region)
    alarm = {k: v for k, v in params.items() if k != "Tags"}
    now = datetime.datetime.fromtimestamp(ctx.now, datetime.timezone.utc)
    alarm.update({"AlarmArn": "arn:aws:cloudwatch:%s:%s:alarm:%s" % (ctx.store.region, "123456789012",
                                                                       params["AlarmName"]),
                  "StateValue": "INSUFFICIENT_DATA", "StateReason": "Unchecked: Initial alarm creation",
                  "StateUpdatedTimestamp": now, "AlarmConfigurationUpdatedTimestamp": now})
    alarm.setdefault("ActionsEnabled", True)
    for k in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        alarm.setdefault(k, [])
    alarm.setdefault("Dimensions", [])
    with ctx.store.lock:
        old = ctx.store.alarms.get(params["AlarmName"])
        if old is not None:  # an update keeps the state
            for k in ("StateValue", "StateReason", "StateUpdatedTimestamp"):
                alarm[k] = old[k]
        ctx.store.alarms[params["AlarmName"]] = alarm
    return {}


# ---- alarm evaluation (emulator semantics, documented in README) ---------------------------------

def evaluate(store, alarm, now):
    """Evaluates a metric alarm over the last EvaluationPeriods periods ending now and updates its
    state in place: ALARM when at least DatapointsToAlarm periods breach; OK when enough periods have
    data and fewer breach; missing periods follow TreatMissingData (missing/ignore: not counted,
    breaching/notBreaching: counted as such)."""
    if "MetricName" not in alarm:
        return alarm
    period, n = alarm["Period"], alarm["EvaluationPeriods"]
    m_of_n = alarm.get("DatapointsToAlarm", n)
    rows = _series(store, alarm["Namespace"], alarm["MetricName"], alarm.get("Dimensions"))
    start = now - n * period
    buckets = _buckets(rows, start, start + n * period, period)
    op, thr = alarm["ComparisonOperator"], alarm["Threshold"]
    cmp = {"GreaterThanThreshold": lambda v: v > thr, "GreaterThanOrEqualToThreshold": lambda v: v >= thr,
           "LessThanThreshold": lambda v: v < thr, "LessThanOrEqualToThreshold": lambda v: v <= thr}.get(op)
    if cmp is None:
        return alarm
    missing = alarm.get("TreatMissingData", "missing")
    breaching = present = 0
    for k in range(n):
        b = start + k * period
        if b in buckets:
            present += 1
            breaching += cmp(_stat(buckets[b], alarm["Statistic"]))
        elif missing == "breaching" or alarm["Statistic"] == "SampleCount" and cmp(0.0):
            present += 1
            breaching += 1
        elif missing == "notBreaching":
            present += 1
    if breaching >= m_of_n:
        state, reason = "ALARM", "Threshold Crossed: %d out of the last %d datapoints were breaching" % (breaching, n)
    elif present >= m_of_n or present > 0 and missing in ("ignore", "missing") and present == n:
        state, reason = "OK", "Threshold Crossed: %d out of the last %d datapoints were breaching" % (breaching, n)
    elif present > 0 and missing == "ignore":
        state, reason = alarm["StateValue"], "Ignoring missing datapoints"
    else:
        state, reason = "INSUFFICIENT_DATA", "Insufficient Data: %d datapoints were unknown" % (n - present)
    if state != alarm["StateValue"]:
        alarm["StateValue"], alarm["StateReason"] = state, reason
        alarm["StateUpdatedTimestamp"] = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return alarm


def evaluate_all(store, now):
    with store.lock:
        for a in store.alarms.values():
            evaluate(store, a, now)


def describe_alarms(ctx, params):
    names, prefix = params.get("AlarmNames"), params.get("AlarmNamePrefix")
    if names and prefix:
        raise invalid("AlarmNames and AlarmNamePrefix cannot be combined.")
    evaluate_all(ctx.store, ctx.now)
    state = params.get("StateValue")
    with ctx.store.lock:
        alarms = [dict(a) for n, a in sorted(ctx.store.alarms.items())
                  if (names is None or n in names) and (prefix is None or n.startswith(prefix))
                  and (state is None or a["StateValue"] == state)]
    return {"MetricAlarms": alarms[:params.get("MaxRecords", 50) if names is None else None],
            "CompositeAlarms": []}


def delete_alarms(ctx, params):
    names = params["AlarmNames"]
    if len(names) > 100:
        raise invalid("The collection AlarmNames must not have a size greater than 100.")
    with ctx.store.lock:
        missing = [n for n in names if n not in ctx.store.alarms]
        if missing:
            raise ApiError("ResourceNotFound", "Alarm(s) not found: %s" % ", ".join(missing), 404,
                           "ResourceNotFoundException")
        for n in names:
            del ctx.store.alarms[n]
    return {}


# ---- dashboards ------------------------------------------------------------------------------------

def _dashboard_error(message):
    return ApiError("InvalidParameterInput", message, 400, "InvalidParameterInputException")


def _check_body(text):
    import json
    try:
        body = json.loads(text)
    except ValueError as e:
        raise _dashboard_error("The field DashboardBody must be a valid JSON object: %s" % e) from None
    if not isinstance(body, dict) or not isinstance(body.get("widgets", []), list):
        raise _dashboard_error("The field DashboardBody must be an object with a widgets array.")
    widgets = body.get("widgets", [])
    if len(widgets) > 500:
        raise _dashboard_error("The dashboard can have at most 500 widgets.")
    messages = []
    for i, w in enumerate(widgets):
        path = "/widgets/%d" % i
        if not isinstance(w, dict) or w.get("type") not in ("metric", "text", "log", "alarm", "explorer",
                                                            "custom"):
            raise _dashboard_error("%s: should have a type among metric, text, log, alarm, explorer, "
                                   "custom" % path)
        props = w.get("properties")
        if not isinstance(props, dict):
            raise _dashboard_error("%s/properties: should be an object" % path)
        for k in ("x", "y", "width", "height"):
            if k in w and (not isinstance(w[k], int) or w[k] < 0 or k in ("x", "width") and w[k] > 24):
                raise _dashboard_error("%s/%s: should be an integer within the 24-column grid" % (path, k))
        if w["type"] == "metric":
            if "region" not in props:
                raise _dashboard_error("%s/properties: should have required property 'region'" % path)
            for j, m in enumerate(props.get("metrics", [])):
                if not isinstance(m, list) or not m:
                    raise _dashboard_error("%s/properties/metrics/%d: should be an array" % (path, j))
        if w["type"] == "alarm" and not isinstance(props.get("alarms"), list):
            raise _dashboard_error("%s/properties: should have required property 'alarms'" % path)
        if w["type"] == "log" and "query" not in props:
            raise _dashboard_error("%s/properties: should have required property 'query'" % path)
    return messages


def put_dashboard(ctx, params):
    messages = _check_body(params["DashboardBody"])
    import re
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", params["DashboardName"]):
        raise _dashboard_error("The value for field DashboardName contains invalid characters. It can "
                               "only contain alphanumerics, dash (-) and underscore (_).")
    with ctx.store.lock:
        ctx.store.dashboards[params["DashboardName"]] = params["DashboardBody"]
        ctx.store.dashboard_times[params["DashboardName"]] = ctx.now
    return {"DashboardValidationMessages": messages}


def get_dashboard(ctx, params):
    name = params.get("DashboardName")
    with ctx.store.lock:
        body = ctx.store.dashboards.get(name)
    if body is None:
        raise ApiError("ResourceNotFound", "Dashboard %s does not exist" % name, 404, "DashboardNotFoundError")
    return {"DashboardName": name, "DashboardBody": body,
            "DashboardArn": "arn:aws:cloudwatch::123456789012:dashboard/%s" % name}


def list_dashboards(ctx, params):
    prefix = params.get("DashboardNamePrefix", "")
    with ctx.store.lock:
        out = [{"DashboardName": n, "DashboardArn": "arn:aws:cloudwatch::123456789012:dashboard/%s" % n,
                "LastModified": datetime.datetime.fromtimestamp(ctx.store.dashboard_times.get(n, ctx.now),
                                                                datetime.timezone.utc),
                "Size": len(b)} for n, b in sorted(ctx.store.dashboards.items()) if n.startswith(prefix)]
    return {"DashboardEntries": out}


def delete_dashboards(ctx, params):
    names = params["DashboardNames"]
    with ctx.store.lock:
        missing = [n for n in names if n not in ctx.store.dashboards]
        if missing:
            raise ApiError("ResourceNotFound", "Dashboard(s) %s do not exist" % ", ".join(missing), 404,
                           "DashboardNotFoundError")
        for n in names:
            del ctx.store.dashboards[n]
    return {}


OPS = {"PutMetricData": put_metric_data, "ListMetrics": list_metrics,
       "GetMetricStatistics": get_metric_statistics, "GetMetricData": get_metric_data,
       "PutMetricAlarm": put_metric_alarm, "DescribeAlarms": describe_alarms, "DeleteAlarms": delete_alarms,
       "PutDashboard": put_dashboard, "GetDashboard": get_dashboard, "ListDashboards": list_dashboards,
       "DeleteDashboards": delete_dashboards}
