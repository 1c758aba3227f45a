"""EC2 DescribeTags (EC2 query protocol, 2016-11-15) for the one emulated instance."""
from .errors import ApiError


def error_for(kind, message, protocol):
    if kind == "missing":
        return ApiError("MissingParameter", message, 400)
    if kind == "unknown":
        return ApiError("UnknownParameter", message, 400)
    return ApiError("InvalidParameterValue", message, 400)


def _tags(store):
    with store.lock:
        tags = dict(store.config["instance_tags"])
        if store.config["asg_name"]:
            tags["aws:autoscaling:groupName"] = store.config["asg_name"]
        iid = store.config["instance"]["instance_id"]
    return [{"Key": k, "Value": v, "ResourceId": iid, "ResourceType": "instance"} for k, v in sorted(tags.items())]


_FILTER_FIELDS = {"resource-id": "ResourceId", "key": "Key", "value": "Value", "resource-type": "ResourceType"}


def describe_tags(ctx, params):
    tags = _tags(ctx.store)
    for f in params.get("Filters", []):
        field = _FILTER_FIELDS.get(f.get("Name"))
        if field is None:
            raise ApiError("InvalidParameterValue", "The filter '%s' is invalid" % f.get("Name"), 400)
        values = f.get("Values", [])
        tags = [t for t in tags if t[field] in values]
    return {"Tags": tags}


OPS = {"DescribeTags": describe_tags}
