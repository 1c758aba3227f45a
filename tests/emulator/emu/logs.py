"""CloudWatch Logs (JSON 1.1): groups, streams, retention, PutLogEvents with every batch rule of the
API, DescribeLogGroups/DescribeLogStreams/GetLogEvents for read-back."""

from . import emf
from .errors import ApiError

MAX_EVENTS = 10000             # API: events per PutLogEvents
MAX_BATCH_BYTES = 1048576      # API: sum of UTF-8 message bytes + 26 per event
EVENT_OVERHEAD = 26            # API: bytes added per event
MAX_EVENT_BYTES = 1048576      # API: one event (1 MB since 2025)
MAX_SPAN_MS = 24 * 3600 * 1000  # API: valid events in one batch span at most 24 h
TOO_NEW_MS = 2 * 3600 * 1000   # API: events more than 2 h ahead are rejected
TOO_OLD_MS = 14 * 86400 * 1000  # API: events older than 14 days are rejected
RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                  2557, 2922, 3288, 3653}
ACCOUNT = "123456789012"


def bad(message):
    return ApiError("InvalidParameterException", message, 400)


def error_for(kind, message, protocol):
    if kind == "type":
        return ApiError("SerializationException", message, 400)
    return bad(message)


def _not_found(what):
    return ApiError("ResourceNotFoundException", "The specified %s does not exist." % what, 400)


def _group(ctx, params):
    name = params.get("logGroupName") or (params.get("logGroupIdentifier") or "").split(":log-group:")[-1]
    g = ctx.store.log_groups.get(name)
    if g is None:
        raise _not_found("log group")
    return g


def _stream(ctx, params):
    g = _group(ctx, params)
    s = g["streams"].get(params["logStreamName"])
    if s is None:
        raise _not_found("log stream")
    return g, s


def _arn(ctx, name):
    return "arn:aws:logs:%s:%s:log-group:%s" % (ctx.store.region, ACCOUNT, name)


def create_log_group(ctx, params):
    name = params["logGroupName"]
    if name.startswith("aws/"):
        raise bad("Log group names can't start with 'aws/'.")
    with ctx.store.lock:
        if name in ctx.store.log_groups:
            raise ApiError("ResourceAlreadyExistsException", "The specified log group already exists", 400)
        ctx.store.log_groups[name] = {
            "logGroupName": name, "creationTime": int(ctx.now * 1000), "retentionInDays": None,
            "logGroupClass": params.get("logGroupClass", "STANDARD"), "tags": params.get("tags", {}),
            "kmsKeyId": params.get("kmsKeyId"), "streams": {}}
    return {}


def create_log_stream(ctx, params):
    with ctx.store.lock:
        g = _group(ctx, params)
        name = params["logStreamName"]
        if name in g["streams"]:
            raise ApiError("ResourceAlreadyExistsException", "The specified log stream already exists", 400)
        g["streams"][name] = {"logStreamName": name, "creationTime": int(ctx.now * 1000), "events": [],
                              "firstEventTimestamp": None, "lastEventTimestamp": None,
                              "lastIngestionTime": None}
    return {}


def put_retention_policy(ctx, params):
    days = params["retentionInDays"]
    if days not in RETENTION_DAYS:
        raise bad("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy "
                  "constraint: Member must satisfy enum value set: %s" % (days, sorted(RETENTION_DAYS)))
    with ctx.store.lock:
        _group(ctx, params)["retentionInDays"] = days
    return {}


def _check_batch(events, bad_utf8):
    if bad_utf8:
        raise bad("Log event message is not valid UTF-8 (%s)." % bad_utf8[0])
    if len(events) > MAX_EVENTS:
        raise bad("Too many log events in the batch: %d exceeds limit of %d" % (len(events), MAX_EVENTS))
    total = 0
    for i, e in enumerate(events):
        size = len(e["message"].encode("utf-8")) + EVENT_OVERHEAD
        if size > MAX_EVENT_BYTES:
            raise bad("Log event too large: %d bytes exceeds limit of %d (event %d)" % (size, MAX_EVENT_BYTES, i))
        total += size
        if i and e["timestamp"] < events[i - 1]["timestamp"]:
            raise bad("Log events in a single PutLogEvents request must be in chronological order.")
    if total > MAX_BATCH_BYTES:
        raise bad("Upload too large: %d bytes exceeds limit of %d" % (total, MAX_BATCH_BYTES))


def _classify(events, now_ms, retention):
    """(rejectedLogEventsInfo dict, indices of accepted events). Events are sorted by time."""
    info, keep = {}, []
    expire_before = now_ms - retention * 86400000 if retention else None
    for i, e in enumerate(events):
        t = e["timestamp"]
        if t > now_ms + TOO_NEW_MS:
            info.setdefault("tooNewLogEventStartIndex", i)
        elif t < now_ms - TOO_OLD_MS:
            info["tooOldLogEventEndIndex"] = i + 1
        elif expire_before is not None and t < expire_before:
            info["expiredLogEventEndIndex"] = i + 1
        else:
            keep.append(i)
    return info, keep


def put_log_events(ctx, params):
    events = params["logEvents"]
    _check_batch(events, ctx.bad_utf8)
    now_ms = int(ctx.now * 1000)
    with ctx.store.lock:
        g, s = _stream(ctx, params)
        info, keep = _classify(events, now_ms, g["retentionInDays"])
        if keep and events[keep[-1]]["timestamp"] - events[keep[0]]["timestamp"] > MAX_SPAN_MS:
            raise bad("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
        for i in keep:
            e = events[i]
            s["events"].append({"timestamp": e["timestamp"], "message": e["message"], "ingestionTime": now_ms})
        if keep:
            if ctx.req.header("x-amzn-logs-format") == "json/emf":
                s["emfHeader"] = True
            emf.extract(ctx.store, g["logGroupName"], [events[i]["message"] for i in keep],
                        ctx.now, ctx.rid)
            ts = [events[i]["timestamp"] for i in keep]
            first = s["firstEventTimestamp"]
            s["firstEventTimestamp"] = min(ts) if first is None else min(first, min(ts))
            s["lastEventTimestamp"] = max(ts + [s["lastEventTimestamp"] or 0])
            s["lastIngestionTime"] = now_ms
    out = {"nextSequenceToken": "%056d" % (len(s["events"]) + 1)}
    if info:
        out["rejectedLogEventsInfo"] = info
    return out


def _page(items, params, default_limit):
    start = int(params["nextToken"]) if str(params.get("nextToken", "")).isdigit() else 0
    limit = params.get("limit", default_limit)
    page = items[start:start + limit]
    out_token = str(start + limit) if start + limit < len(items) else None
    return page, out_token


def describe_log_groups(ctx, params):
    prefix = params.get("logGroupNamePrefix", "")
    with ctx.store.lock:
        groups = [g for n, g in sorted(ctx.store.log_groups.items()) if n.startswith(prefix)]
        page, token = _page(groups, params, 50)
        out = [{"logGroupName": g["logGroupName"], "creationTime": g["creationTime"],
                "retentionInDays": g["retentionInDays"], "metricFilterCount": 0, "storedBytes": 0,
                "arn": _arn(ctx, g["logGroupName"]) + ":*", "logGroupArn": _arn(ctx, g["logGroupName"]),
                "logGroupClass": g["logGroupClass"], "kmsKeyId": g["kmsKeyId"]} for g in page]
    return {"logGroups": out, "nextToken": token}


def describe_log_streams(ctx, params):
    if params.get("logGroupName") and params.get("logGroupIdentifier"):
        raise bad("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if params.get("orderBy") == "LastEventTime" and params.get("logStreamNamePrefix"):
        raise bad("Cannot order by LastEventTime with a logStreamNamePrefix.")
    prefix = params.get("logStreamNamePrefix", "")
    with ctx.store.lock:
        g = _group(ctx, params)
        streams = [s for n, s in sorted(g["streams"].items()) if n.startswith(prefix)]
        if params.get("orderBy") == "LastEventTime":
            streams.sort(key=lambda s: s["lastEventTimestamp"] or 0)
        if params.get("descending"):
            streams.reverse()
        page, token = _page(streams, params, 50)
        out = [{k: v for k, v in s.items() if k not in ("events", "emfHeader")} for s in page]
    for s in out:
        s["arn"] = "%s:log-stream:%s" % (_arn(ctx, g["logGroupName"]), s["logStreamName"])
        s["storedBytes"] = 0
    return {"logStreams": out, "nextToken": token}


def get_log_events(ctx, params):
    with ctx.store.lock:
        _, s = _stream(ctx, params)
        events = [e for e in s["events"]
                  if params.get("startTime", 0) <= e["timestamp"]
                  and ("endTime" not in params or e["timestamp"] < params["endTime"])]
    limit = params.get("limit", 10000)
    token = params.get("nextToken", "")
    if token.startswith("f/") and token[2:].isdigit():
        start = int(token[2:])
    elif token.startswith("b/") and token[2:].isdigit():
        start = max(0, int(token[2:]) - limit)
    elif params.get("startFromHead"):
        start = 0
    else:
        start = max(0, len(events) - limit)
    page = events[start:start + limit]
    return {"events": page, "nextForwardToken": "f/%d" % (start + len(page)), "nextBackwardToken": "b/%d" % start}


OPS = {"CreateLogGroup": create_log_group, "CreateLogStream": create_log_stream,
       "PutRetentionPolicy": put_retention_policy, "PutLogEvents": put_log_events,
       "DescribeLogGroups": describe_log_groups, "DescribeLogStreams": describe_log_streams,
       "GetLogEvents": get_log_events}

