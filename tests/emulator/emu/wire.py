"""Response encoding driven by the service models: awsQuery / EC2 XML, JSON 1.0/1.1, and errors."""
import base64
import datetime
import json
from xml.sax.saxutils import escape

NS = {
    "monitoring": "http://monitoring.amazonaws.com/doc/2010-08-01/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "ec2": "http://ec2.amazonaws.com/doc/2016-11-15/",
    "autoscaling": "http://autoscaling.amazonaws.com/doc/2011-01-01/",
}
JSON_CT = {"monitoring": "application/x-amz-json-1.0", "logs": "application/x-amz-json-1.1",
           "ssm": "application/x-amz-json-1.1"}


class Response:
    """What the server writes back: status, headers and body bytes."""

    def __init__(self, status, body=b"", headers=None, content_type=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.headers = dict(headers or {})
        if content_type:
            self.headers["Content-Type"] = content_type
        self.error_code = None
        self.drop = False


def iso(ts):
    """ISO-8601 UTC with milliseconds for epoch seconds or datetime."""
    if isinstance(ts, datetime.datetime):
        ts = ts.timestamp()
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def _scalar_text(value, shape):
    t = shape.type_name
    if t == "timestamp":
        return iso(value)
    if t == "boolean":
        return "true" if value else "false"
    if t == "blob":
        return base64.b64encode(value).decode()
    if t in ("double", "float"):
        return repr(float(value))
    return str(value)


def _xml_value(out, name, value, shape, ec2):
    t = shape.type_name
    if t == "structure":
        out.append("<%s>" % name)
        _xml_members(out, value, shape, ec2)
        out.append("</%s>" % name)
    elif t == "list":
        item = shape.member.serialization.get("name", "item" if ec2 else "member")
        if shape.serialization.get("flattened"):
            for v in value:
                _xml_value(out, name, v, shape.member, ec2)
            return
        out.append("<%s>" % name)
        for v in value:
            _xml_value(out, item, v, shape.member, ec2)
        out.append("</%s>" % name)
    elif t == "map":
        out.append("<%s>" % name)
        for k, v in value.items():
            out.append("<entry>")
            _xml_value(out, shape.key.serialization.get("name", "key"), k, shape.key, ec2)
            _xml_value(out, shape.value.serialization.get("name", "value"), v, shape.value, ec2)
            out.append("</entry>")
        out.append("</%s>" % name)
    else:
        out.append("<%s>%s</%s>" % (name, escape(_scalar_text(value, shape)), name))


def _xml_members(out, value, shape, ec2):
    for mname, mshape in shape.members.items():
        if value.get(mname) is None:
            continue
        _xml_value(out, mshape.serialization.get("name", mname), value[mname], mshape, ec2)


def query_success(service, op_model, result, rid):
    """awsQuery (or EC2) XML success body for an operation's result dict."""
    name = op_model.name
    shape = op_model.output_shape
    out = ['<%sResponse xmlns="%s">' % (name, NS[service])]
    if service == "ec2":
        out.append("<requestId>%s</requestId>" % rid)
        if shape is not None:
            _xml_members(out, result or {}, shape, True)
    else:
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", name + "Result")
            out.append("<%s>" % wrapper)
            _xml_members(out, result or {}, shape, False)
            out.append("</%s>" % wrapper)
        out.append("<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>" % rid)
    out.append("</%sResponse>" % name)
    return Response(200, "".join(out), {"x-amzn-RequestId": rid}, "text/xml")


def _json_value(value, shape):
    t = shape.type_name
    if t == "structure":
        return {k: _json_value(v, shape.members[k]) for k, v in value.items()
                if v is not None and k in shape.members}
    if t == "list":
        return [_json_value(v, shape.member) for v in value]
    if t == "map":
        return {k: _json_value(v, shape.value) for k, v in value.items()}
    if t == "timestamp":
        return value.timestamp() if isinstance(value, datetime.datetime) else value
    if t == "blob":
        return base64.b64encode(value).decode()
    return value


def json_success(service, op_model, result, rid):
    """JSON 1.0/1.1 success body."""
    shape = op_model.output_shape
    body = json.dumps(_json_value(result or {}, shape)) if shape is not None else "{}"
    return Response(200, body, {"x-amzn-RequestId": rid}, JSON_CT[service])


def error_response(err, service, protocol, rid):
    """Renders an ApiError in the shape the service's protocol uses."""
    headers = {"x-amzn-RequestId": rid}
    headers.update(err.headers)
    if protocol == "json":
        headers["x-amzn-ErrorType"] = err.json_type
        if service == "monitoring":
            headers["x-amzn-query-error"] = "%s;%s" % (err.code, err.fault)
        body = json.dumps({"__type": err.json_type, "message": err.message})
        resp = Response(err.status, body, headers, JSON_CT.get(service, "application/x-amz-json-1.1"))
    elif protocol == "ec2":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code>'
                "<Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>"
                % (escape(err.code), escape(err.message), rid))
        resp = Response(err.status, body, headers, "text/xml;charset=UTF-8")
    else:
        body = ('<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message>'
                "</Error><RequestId>%s</RequestId></ErrorResponse>"
                % (NS.get(service, NS["monitoring"]), err.fault, escape(err.code), escape(err.message), rid))
        resp = Response(err.status, body, headers, "text/xml")
    resp.error_code = err.code if protocol != "json" else err.json_type
    return resp
