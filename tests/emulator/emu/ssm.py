"""SSM GetParameter (JSON 1.1) over parameters set through the control API."""
import datetime

from .errors import ApiError


def error_for(kind, message, protocol):
    if kind == "type":
        return ApiError("SerializationException", message, 400)
    return ApiError("ValidationException", message, 400)


def get_parameter(ctx, params):
    name = params["Name"]
    with ctx.store.lock:
        p = ctx.store.config["ssm_parameters"].get(name)
    if p is None:
        raise ApiError("ParameterNotFound", "Parameter %s not found." % name, 400)
    if not isinstance(p, dict):
        p = {"Value": p}
    return {"Parameter": {"Name": name, "Type": p.get("Type", "String"), "Value": p["Value"], "Version": 1,
                          "DataType": "text",
                          "LastModifiedDate": datetime.datetime.now(datetime.timezone.utc),
                          "ARN": "arn:aws:ssm:%s:123456789012:parameter/%s" % (ctx.store.region,
                                                                              name.lstrip("/"))}}


OPS = {"GetParameter": get_parameter}
