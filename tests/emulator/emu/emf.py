"""Embedded Metric Format extraction, as CloudWatch Logs does it for events it accepts
(CloudWatch_Embedded_Metric_Format_Specification.md): each directive of _aws.CloudWatchMetrics
becomes metric rows in the CloudWatch store (namespace, every dimension set, Unit,
StorageResolution, the value or array of values of the root member named like the metric,
timestamp _aws.Timestamp). A document that breaks the specification yields no metric and one
AWS/Logs EMFValidationErrors datum for its log group, as in CloudWatch."""
import json

MAX_METRICS = 100        # spec: metric definitions per directive
MAX_DIMS = 30            # spec: keys per dimension set
MAX_VALUES = 100         # spec: values in an array target
MAX_NAMESPACE = 1024     # spec: Namespace length
MAX_DIM_VALUE = 1024     # spec: dimension target length


class Invalid(ValueError):
    pass


def _directive(root, d):
    if not isinstance(d, dict):
        raise Invalid("directive is not an object")
    ns = d.get("Namespace")
    if not isinstance(ns, str) or not 1 <= len(ns) <= MAX_NAMESPACE:
        raise Invalid("Namespace")
    dims, mets = d.get("Dimensions"), d.get("Metrics")
    if not isinstance(dims, list) or not isinstance(mets, list):
        raise Invalid("Dimensions/Metrics not arrays")
    if len(mets) > MAX_METRICS:
        raise Invalid("more than %d metrics in a directive" % MAX_METRICS)
    sets = []
    for ds in dims:
        if not isinstance(ds, list) or len(ds) > MAX_DIMS:
            raise Invalid("dimension set")
        one = []
        for k in ds:
            v = root.get(k)
            if not isinstance(v, str) or not v or len(v) > MAX_DIM_VALUE:
                raise Invalid("dimension %r has no string value" % k)
            one.append({"Name": k, "Value": v})
        sets.append(one)
    out = []
    for m in mets:
        if not isinstance(m, dict) or not isinstance(m.get("Name"), str):
            raise Invalid("metric without Name")
        v = root.get(m["Name"])
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, list):
            if len(v) > MAX_VALUES or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
                raise Invalid("values of %s" % m["Name"])
        elif not isinstance(v, (int, float)):
            raise Invalid("value of %s is not a number" % m["Name"])
        res = m.get("StorageResolution", 60)
        if res not in (1, 60):
            raise Invalid("StorageResolution")
        out.append((m["Name"], m.get("Unit", "None"), res, v))
    return ns, sets or [[]], out


def rows(message, rid):
    """The metric rows of one log event, [] when it is not EMF. Raises Invalid."""
    if not message.startswith("{"):
        return []
    try:
        root = json.loads(message)
    except ValueError:
        return []
    aws = root.get("_aws") if isinstance(root, dict) else None
    if not isinstance(aws, dict):
        return []
    ts, dirs = aws.get("Timestamp"), aws.get("CloudWatchMetrics")
    if not isinstance(ts, int) or isinstance(ts, bool) or not isinstance(dirs, list):
        raise Invalid("_aws.Timestamp / _aws.CloudWatchMetrics")
    out = []
    for d in dirs:
        ns, sets, mets = _directive(root, d)
        for name, unit, res, v in mets:
            for dims in sets:
                row = {"namespace": ns, "name": name, "dimensions": dims, "unit": unit,
                       "storage_resolution": res, "timestamp": ts / 1000.0, "request_id": rid,
                       "source": "emf"}
                if isinstance(v, list):
                    row["values"], row["counts"] = list(v), [1.0] * len(v)
                else:
                    row["value"] = v
                out.append(row)
    return out


def extract(store, group, messages, now, rid):
    """Adds the metrics of accepted events to store.metrics (caller holds store.lock)."""
    errors = 0
    for m in messages:
        try:
            store.metrics.extend(rows(m, rid))
        except Invalid:
            errors += 1
    if errors:
        store.metrics.append({"namespace": "AWS/Logs", "name": "EMFValidationErrors",
                              "dimensions": [{"Name": "LogGroupName", "Value": group}],
                              "unit": "Count", "storage_resolution": 60, "timestamp": now,
                              "request_id": rid, "value": float(errors)})
