"""One AWS API call: find the protocol, service and operation, authenticate, inject faults, parse and
judge the input against the model, run the operation, encode the answer."""
import gzip
import json
import sys
import time
import traceback
import zlib
from urllib.parse import parse_qsl

from . import autoscaling, cloudwatch, ec2, logs, sigcheck, ssm, sts, validate, wire
from .errors import ApiError, common, fault

SERVICES = {"monitoring": cloudwatch, "logs": logs, "sts": sts, "ec2": ec2, "ssm": ssm,
            "autoscaling": autoscaling}
TARGETS = {"GraniteServiceVersion20100801": "monitoring", "Logs_20140328": "logs", "AmazonSSM": "ssm"}
VERSIONS = {"2010-08-01": "monitoring", "2011-06-15": "sts", "2016-11-15": "ec2",
            "2011-01-01": "autoscaling"}
MAX_DECODED = 8 * 1024 * 1024  # cap on a decompressed body


class Ctx:
    """What an operation sees."""

    def __init__(self, store, req, cred, service, op, rid, now):
        self.store, self.req, self.cred, self.service, self.op, self.rid, self.now = (
            store, req, cred, service, op, rid, now)
        self.bad_utf8 = []


class Call:
    def __init__(self, req, store, faults):
        self.req, self.store, self.faults = req, store, faults
        self.service, self.protocol, self.op = "monitoring", "query", None
        self.pairs, self.obj, self.cred = [], None, None

    def _scope_service(self):
        auth = self.req.header("authorization") or ""
        parts = auth.split("Credential=", 1)[-1].split(",")[0].split("/")
        return parts[3] if len(parts) == 5 and parts[3] in SERVICES else None

    def identify(self):
        target = self.req.header("x-amz-target")
        if target is not None:
            prefix, _, self.op = target.partition(".")
            self.protocol = "json"
            self.service = TARGETS.get(prefix) or self._scope_service() or "logs"
            if prefix not in TARGETS or not self.op:
                raise ApiError("UnknownOperationException", "Unknown target %s" % target[:100], 400)
        else:
            self.service = self._scope_service() or "monitoring"
            self.protocol = "ec2" if self.service == "ec2" else "query"

    def decode_body(self):
        req = self.req
        enc = (req.header("content-encoding") or "identity").strip().lower()
        if enc == "gzip":
            try:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                data = d.decompress(req.body, MAX_DECODED + 1)
                if len(data) > MAX_DECODED:
                    raise common("too_large", self.protocol, "Decompressed body exceeds %d bytes" % MAX_DECODED)
                if not d.eof or d.unused_data:
                    raise zlib.error("truncated or trailing data")
            except (zlib.error, gzip.BadGzipFile) as e:
                raise common("malformed", self.protocol, "We can't decompress the body according to the "
                             "decompression algorithm specified by the content-encoding (%s)." % e) from None
            req.data, req.gzip = data, True
        elif enc == "identity":
            req.data = req.body
        else:
            raise common("malformed", self.protocol, "Unsupported Content-Encoding: %s" % enc[:40])

    def _content_type(self):
        return (self.req.header("content-type") or "").split(";")[0].strip().lower()

    def parse_json_body(self):
        want = wire.JSON_CT[self.service]
        if self._content_type() != want:
            raise ApiError("SerializationException", "Content-Type must be %s, got '%s'"
                           % (want, self._content_type()[:60]), 400)
        try:
            self.obj = json.loads(self.req.data.decode("utf-8", "surrogateescape") or "{}")
        except (ValueError, RecursionError) as e:
            raise ApiError("SerializationException", "Invalid JSON body: %s" % str(e)[:200], 400) from None
        if not isinstance(self.obj, dict):
            raise ApiError("SerializationException", "The request body must be a JSON object", 400)

    def parse_query_body(self):
        pairs = parse_qsl(self.req.raw_query, keep_blank_values=True)
        if self._content_type() == "application/x-www-form-urlencoded" and self.req.data:
            try:
                text = self.req.data.decode("utf-8")
                pairs += parse_qsl(text, keep_blank_values=True, errors="strict")
            except UnicodeDecodeError:
                raise common("malformed", self.protocol, "The request body is not valid UTF-8") from None
        action = [v for k, v in pairs if k in ("Action", "Operation")]
        version = [v for k, v in pairs if k == "Version"]
        self.pairs = [(k, v) for k, v in pairs if k not in ("Action", "Operation", "Version")]
        if len(action) != 1 or not action[0]:
            raise ApiError("MissingAction", "Missing Action" if not action else "Action given more than once", 400)
        self.op = action[0]
        if len(version) != 1:
            raise ApiError("MissingParameter", "The request must contain the parameter Version", 400)
        if version[0] not in VERSIONS:
            raise ApiError("InvalidAction", "Could not find operation %s for version %s" % (self.op, version[0]), 400)
        self.service = VERSIONS[version[0]]
        self.protocol = "ec2" if self.service == "ec2" else "query"

    def op_model(self):
        module = SERVICES[self.service]
        model = validate.operation(self.service, self.op) if self.op in module.OPS else None
        if model is None:
            if self.protocol == "json":
                raise ApiError("UnknownOperationException", "Unknown operation %s" % self.op[:100], 400)
            raise ApiError("InvalidAction", "Could not find operation %s for version %s" % (
                self.op[:100], validate.service_model(self.service).api_version), 400)
        return module, model

    def apply_faults(self):
        f = self.faults.take(("throttle", "500", "503", "delay", "drop"), self.service, self.op)
        if f is None:
            return
        if f["mode"] == "delay":
            time.sleep(f["delay_ms"] / 1000.0)
        elif f["mode"] == "drop":
            raise DropConnection()
        else:
            raise fault(self.service, f["mode"])

    def params(self, module, model, ctx):
        try:
            if self.protocol == "json":
                params, ctx.bad_utf8 = validate.parse_json(self.obj, model.input_shape)
            else:
                params = validate.parse_query(self.pairs, model.input_shape, ec2=self.service == "ec2")
            validate.check(params, model.input_shape)
        except validate.Invalid as e:
            raise module.error_for(e.kind, e.message, self.protocol) from None
        if ctx.bad_utf8 and self.op != "PutLogEvents":
            raise ApiError("SerializationException", "Invalid UTF-8 in %s" % ctx.bad_utf8[0], 400)
        return params

    def guess_op(self):
        """Fills self.op for the request log when an error came before parsing; never raises."""
        if self.op is not None or self.req.too_large:
            return
        try:
            self.decode_body()
            self.parse_query_body()
        except ApiError:
            pass

    def run(self):
        self.identify()
        if self.req.too_large:
            raise common("too_large", self.protocol, "Request body exceeds %d bytes" % self.req.max_body)
        scope_service = None
        if self.req.header("authorization"):  # signature first: it covers the (compressed) body
            self.cred, scope_service = sigcheck.verify(self.req, self.store, self.protocol)
        self.decode_body()
        if self.protocol == "json":
            self.parse_json_body()
        else:
            self.parse_query_body()
        module = SERVICES[self.service]
        if self.op not in getattr(module, "UNSIGNED", ()):
            if self.cred is None:
                raise common("missing_auth", self.protocol)
            sigcheck.check_service(scope_service, self.service, self.protocol)
        module, model = self.op_model()
        self.faults.skew(count=True)
        self.apply_faults()
        ctx = Ctx(self.store, self.req, self.cred, self.service, self.op, self.req.rid, self.store.now())
        params = self.params(module, model, ctx)
        result = module.OPS[self.op](ctx, params)
        self.store.record(self.service, self.op, params)
        if self.protocol == "json":
            return wire.json_success(self.service, model, result, self.req.rid)
        return wire.query_success(self.service, model, result, self.req.rid)


class DropConnection(Exception):
    """Close the connection without answering."""


def handle(req, store, faults):
    """Returns (Response, Call) for an AWS API request; Response.drop asks to close silently."""
    call = Call(req, store, faults)
    try:
        resp = call.run()
    except DropConnection:
        resp = wire.Response(0)
        resp.drop = True
    except ApiError as e:
        resp = wire.error_response(e, call.service, call.protocol, req.rid)
        call.guess_op()
    except Exception:  # noqa: BLE001 - an emulator bug: answer 500 like AWS, log the trace once
        traceback.print_exc(file=sys.stderr)
        err = ApiError("InternalFailure", "The emulator failed to process the request", 500,
                       "InternalFailure")
        resp = wire.error_response(err, call.service, call.protocol, req.rid)
    return resp, call
