"""Turns request bodies into an operation's input structure and judges it against the service model.

Models: cloudwatch, logs, sts from the official files vendored in tests/fixtures/reference/aws-models
(Debian's botocore 1.29 is too old for the logs model); every other service (ec2, ssm, autoscaling)
from botocore's bundled data. Checks: botocore.validate.ParamValidator (required, unknown, types,
minimums), then the model constraints botocore leaves to the server (max lengths and sizes, maximum
values, enums, patterns).
"""
import base64
import datetime
import json
import os
import re
import threading

_LOCK = threading.Lock()
_MODELS = {}
MODEL_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "reference",
                                         "aws-models"))
# Signing name -> botocore service name, where they differ.
_BOTOCORE_NAMES = {"monitoring": "cloudwatch"}


class Invalid(Exception):
    """A request that does not fit the model. kind: missing|invalid|unknown|type."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


def service_model(service):
    """Returns the botocore ServiceModel for a signing name (cached, thread-safe)."""
    with _LOCK:
        if service in _MODELS:
            return _MODELS[service]
        import botocore.model
        import botocore.session
        name = _BOTOCORE_NAMES.get(service, service)
        path = os.path.join(MODEL_DIR, name, "service-2.json")
        if os.path.exists(path):  # vendored first
            with open(path, encoding="utf-8") as f:
                model = botocore.model.ServiceModel(json.load(f), name)
        else:  # then botocore's bundled data (raises UnknownServiceError when it has none)
            model = botocore.session.get_session().get_service_model(name)
        _MODELS[service] = model
        return model


def operation(service, name):
    """Returns the OperationModel, or None when the model has no such operation."""
    model = service_model(service)
    return model.operation_model(name) if name in model.operation_names else None


# ---- awsQuery / EC2 form parameters -> structure -------------------------------------------------

def _tree(pairs):
    root = {}
    for key, value in pairs:
        node = root
        for part in key.split("."):
            node = node.setdefault(part, {})
        if "\0" in node:
            raise Invalid("invalid", "The parameter %s is specified more than once." % key)
        node["\0"] = value
    return root


def _query_name(mshape, mname, ec2):
    s = mshape.serialization
    if ec2:
        if "queryName" in s:
            return s["queryName"]
        if "name" in s:
            return s["name"][0].upper() + s["name"][1:]
        return mname
    return s.get("name", mname)


def _indexed(node, path):
    """Children of a list/map node as a list ordered by their 1-based, gap-free indices."""
    items = {k: v for k, v in node.items() if k != "\0"}
    if not all(k.isdigit() and not k.startswith("0") for k in items):
        bad = next(k for k in items if not (k.isdigit() and not k.startswith("0")))
        raise Invalid("unknown", "The parameter %s.%s is not recognized." % (path, bad))
    idx = sorted(int(k) for k in items)
    if idx != list(range(1, len(idx) + 1)):
        raise Invalid("invalid", "The list %s has non-contiguous indices %s (must be 1..N)." % (path, idx))
    return [(str(i), items[str(i)]) for i in idx]


def _children(node):
    return {k: v for k, v in node.items() if k != "\0"}


def _q_structure(node, shape, path, ec2):
    names = {_query_name(ms, mn, ec2): mn for mn, ms in shape.members.items()}
    out = {}
    kids = _children(node)
    if not kids and node.get("\0") not in (None, ""):
        raise Invalid("invalid", "The parameter %s must be a structure." % path)
    for cname, cnode in kids.items():
        cpath = "%s.%s" % (path, cname) if path else cname
        if cname not in names:
            raise Invalid("unknown", "The parameter %s is not recognized." % cpath)
        out[names[cname]] = _q_node(cnode, shape.members[names[cname]], cpath, ec2)
    return out


def _q_list(node, shape, path, ec2):
    kids = _children(node)
    if not kids:
        if node.get("\0") == "":
            return []
        raise Invalid("invalid", "The parameter %s must be a list." % path)
    if not ec2 and not shape.serialization.get("flattened"):
        mname = shape.member.serialization.get("name", "member")
        if set(kids) != {mname}:
            bad = next(k for k in kids if k != mname)
            raise Invalid("unknown", "The parameter %s.%s is not recognized." % (path, bad))
        path = "%s.%s" % (path, mname)
        node = kids[mname]
    return [_q_node(n, shape.member, "%s.%s" % (path, i), ec2) for i, n in _indexed(node, path)]


def _q_map(node, shape, path, ec2):
    kids = _children(node)
    if set(kids) - {"entry"}:
        raise Invalid("unknown", "The parameter %s.%s is not recognized." % (path, sorted(kids)[0]))
    out = {}
    if not kids:
        return out
    kname = shape.key.serialization.get("name", "key")
    vname = shape.value.serialization.get("name", "value")
    for i, entry in _indexed(kids["entry"], path + ".entry"):
        epath = "%s.entry.%s" % (path, i)
        if set(_children(entry)) - {kname, vname} or kname not in entry:
            raise Invalid("invalid", "The map entry %s is malformed." % epath)
        key = _q_node(entry[kname], shape.key, epath + "." + kname, ec2)
        out[key] = _q_node(entry.get(vname, {"\0": ""}), shape.value, epath + "." + vname, ec2)
    return out


def _int_in_range(value, type_name):
    bits = 31 if type_name == "integer" else 63
    return -(2 ** bits) <= value < 2 ** bits


_INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(NaN|Infinity|inf|nan)$")
_ISO_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)$")


def parse_iso8601(text):
    """Parses an ISO-8601 timestamp with a zone into an aware UTC datetime, or raises ValueError."""
    m = _ISO_RE.match(text)
    if not m:
        raise ValueError(text)
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    us = int((m.group(7) or ".0")[1:].ljust(6, "0")[:6])
    dt = datetime.datetime(y, mo, d, h, mi, s, us, tzinfo=datetime.timezone.utc)
    zone = m.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        dt -= sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return dt


def _q_scalar(value, shape, path):
    t = shape.type_name
    bad = Invalid("invalid", "The value %s for parameter %s is invalid." % (value[:100], path))
    if t in ("integer", "long"):
        if not _INT_RE.match(value) or not _int_in_range(int(value), t):
            raise bad
        return int(value)
    if t in ("double", "float"):
        if not _FLOAT_RE.match(value):
            raise bad
        return float(value)
    if t == "boolean":
        if value not in ("true", "false"):
            raise bad
        return value == "true"
    if t == "timestamp":
        try:
            return parse_iso8601(value)
        except (ValueError, OverflowError):
            raise bad from None
    if t == "blob":
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise bad from None
    return value


def _q_node(node, shape, path, ec2):
    t = shape.type_name
    if "\0" in node and _children(node):
        raise Invalid("invalid", "The parameter %s is given both a value and members." % path)
    if t == "structure":
        return _q_structure(node, shape, path, ec2)
    if t == "list":
        return _q_list(node, shape, path, ec2)
    if t == "map":
        return _q_map(node, shape, path, ec2)
    if _children(node):
        raise Invalid("unknown", "The parameter %s.%s is not recognized." % (path, sorted(_children(node))[0]))
    return _q_scalar(node["\0"], shape, path)


def parse_query(pairs, shape, ec2=False):
    """Form pairs (Action and Version removed) -> input dict for `shape`; raises Invalid."""
    tree = _tree(pairs)
    if "\0" in tree:
        raise Invalid("unknown", "A parameter with an empty name is not recognized.")
    if shape is None:
        if tree:
            raise Invalid("unknown", "The parameter %s is not recognized." % sorted(tree)[0])
        return {}
    return _q_structure(tree, shape, "", ec2)


# ---- JSON -> structure ----------------------------------------------------------------------------

def _has_surrogate(text):
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def _j_node(value, shape, path, bad_utf8):
    t = shape.type_name
    where = path or "<root>"
    if t == "structure":
        if not isinstance(value, dict):
            raise Invalid("type", "Expected a structure at %s" % where)
        out = {}
        for k, v in value.items():
            if v is None:
                continue
            ms = shape.members.get(k)
            out[k] = _j_node(v, ms, "%s.%s" % (path, k) if path else k, bad_utf8) if ms is not None else v
        return out
    if t == "list":
        if not isinstance(value, list):
            raise Invalid("type", "Expected a list at %s" % where)
        return [_j_node(v, shape.member, "%s[%d]" % (path, i), bad_utf8) for i, v in enumerate(value)]
    if t == "map":
        if not isinstance(value, dict):
            raise Invalid("type", "Expected a map at %s" % where)
        return {k: _j_node(v, shape.value, "%s.%s" % (path, k), bad_utf8) for k, v in value.items()}
    return _j_scalar(value, shape, where, bad_utf8)


def _j_scalar(value, shape, where, bad_utf8):
    t = shape.type_name
    ok = {"string": lambda v: isinstance(v, str),
          "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "boolean": lambda v: isinstance(v, bool),
          "timestamp": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "blob": lambda v: isinstance(v, str)}.get(t, lambda v: True)
    if not ok(value) or t in ("integer", "long") and not _int_in_range(value, t):
        raise Invalid("type", "Invalid value %s for %s: expected %s" % (json.dumps(value)[:60], where, t))
    if t == "string" and _has_surrogate(value):
        bad_utf8.append(where)
    if t == "timestamp":
        try:
            return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise Invalid("type", "Invalid timestamp %s at %s" % (json.dumps(value)[:40], where)) from None
    if t == "blob":
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise Invalid("type", "Invalid base64 at %s" % where) from None
    return value


def parse_json(obj, shape):
    """Decoded JSON -> (input dict, [paths of strings that are not valid UTF-8]); raises Invalid."""
    bad = []
    if shape is None:
        return {}, bad
    return _j_node(obj, shape, "", bad), bad


# ---- judging ------------------------------------------------------------------------------------

def _botocore_check(params, shape):
    import botocore.validate
    report = botocore.validate.ParamValidator().validate(params, shape)
    if report.has_errors():
        errors = report._errors  # noqa: SLF001 - (reason, name, details) tuples
        kind = "missing" if errors[0][0] == "missing required field" else "invalid"
        first = report.generate_report().splitlines()[0]
        raise Invalid(kind, "%d validation error%s detected: %s" % (
            len(errors), "" if len(errors) == 1 else "s", first))


_PATTERNS = {}


def _pattern(text):
    if text not in _PATTERNS:
        try:
            _PATTERNS[text] = re.compile(text)
        except re.error:
            _PATTERNS[text] = None  # Java-only syntax (\p{..}): not checked here
    return _PATTERNS[text]


def _constraint(value, path, what):
    shown = value if isinstance(value, (int, float)) else str(value)[:100]
    raise Invalid("invalid", "1 validation error detected: Value '%s' at '%s' failed to satisfy "
                  "constraint: Member must %s" % (shown, path, what))


def _strict(value, shape, path):
    t, md = shape.type_name, shape.metadata
    if t == "structure":
        for k, v in value.items():
            if k in shape.members:
                _strict(v, shape.members[k], "%s.%s" % (path, k) if path else k)
    elif t in ("list", "map"):
        if "max" in md and len(value) > md["max"]:
            _constraint("[...]", path, "have length less than or equal to %d" % md["max"])
        items = value if t == "list" else value.values()
        for i, v in enumerate(items):
            _strict(v, shape.member if t == "list" else shape.value, "%s[%d]" % (path, i))
    elif t == "string":
        if "max" in md and len(value) > md["max"]:
            _constraint(value, path, "have length less than or equal to %d" % md["max"])
        if shape.enum and value not in shape.enum:
            _constraint(value, path, "satisfy enum value set: [%s]" % ", ".join(shape.enum))
        pat = _pattern(md["pattern"]) if "pattern" in md else None
        if pat is not None and not pat.fullmatch(value):
            _constraint(value, path, "satisfy regular expression pattern: %s" % md["pattern"])
    elif t in ("integer", "long", "double", "float"):
        if "max" in md and value > md["max"]:
            _constraint(value, path, "have value less than or equal to %s" % md["max"])


def check(params, shape):
    """Raises Invalid unless params satisfy the model shape."""
    if shape is None:
        return
    _botocore_check(params, shape)
    _strict(params, shape, "")
