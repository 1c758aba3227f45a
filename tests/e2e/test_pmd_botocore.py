"""Cross-checks agent/pmd's PutMetricData bodies against botocore (code nobody here wrote).

build/tests/test_pmd --dump DIR writes, per case, the encoded bodies (caseN.bK) and a JSON
description of the datums in each body (caseN.json). For every body this test
  1. builds the same request with botocore's query serializer (Debian's python3-botocore and its
     bundled CloudWatch model) and botocore's AWSRequest.prepare() (which urlencodes the body),
     and requires the two bodies to be byte-for-byte identical;
  2. decodes our body independently (form decoding driven by the official model in
     shared/reference/aws-models/cloudwatch/service-2.json) and validates the result with
     botocore's ParamValidator against that model;
  3. checks the API limits: <= 1000 datums and <= 1,000,000 bytes per body.
"""
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse

import cwtest

BUILD = os.environ.get("CW_BUILD", os.path.join(cwtest.REPO, "build"))
TEST_PMD = os.path.join(BUILD, "tests", "test_pmd")
REF_MODEL = os.path.join(cwtest.REFERENCE, "aws-models", "cloudwatch", "service-2.json")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


_CASES = []


def _dump():
    """Runs test_pmd --dump once and returns [(name, case)]."""
    if not _CASES:
        _CASES.extend(_run_dump())
    return _CASES


def _run_dump():
    if not os.path.exists(TEST_PMD):
        raise cwtest.Skip("%s not built" % TEST_PMD)
    d = tempfile.mkdtemp(prefix="pmd-dump-")
    try:
        subprocess.run([TEST_PMD, "--dump", d], check=True, timeout=60, capture_output=True)
        cases = []
        for name in sorted(os.listdir(d)):
            if name.endswith(".json"):
                with open(os.path.join(d, name)) as f:
                    case = json.load(f)
                for b in case["batches"]:
                    with open(os.path.join(d, b["body"]), "rb") as f:
                        b["raw"] = f.read()
                cases.append((name, case))
        return cases
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _params(namespace, datums):
    """The PutMetricData parameters, keys in the order the encoder writes them."""
    md = []
    for d in datums:
        m = {"MetricName": d["name"]}
        if d["dims"]:
            m["Dimensions"] = [{"Name": n, "Value": v} for n, v in d["dims"]]
        if d["ts_ms"] is not None:
            m["Timestamp"] = EPOCH + datetime.timedelta(milliseconds=d["ts_ms"])
        if "value" in d:
            m["Value"] = float(d["value"])
        else:
            m["Values"] = [float(x) for x in d["values"]]
            if d["counts"] is not None:
                m["Counts"] = [float(x) for x in d["counts"]]
            if "stats" in d:
                sc, su, mn, mx = (float(x) for x in d["stats"])
                m["StatisticValues"] = {"SampleCount": sc, "Sum": su, "Minimum": mn, "Maximum": mx}
        if d["unit"] is not None:
            m["Unit"] = d["unit"]
        if d["sr"] is not None:
            m["StorageResolution"] = d["sr"]
        md.append(m)
    return {"Namespace": namespace, "MetricData": md}


def _botocore_body(op_model, params):
    from botocore.awsrequest import create_request_object, prepare_request_dict
    from botocore.serialize import create_serializer

    req = create_serializer("query", include_validation=False).serialize_to_request(params, op_model)
    prepare_request_dict(req, endpoint_url="https://monitoring.us-east-1.amazonaws.com")
    body = create_request_object(req).prepare().body
    return body.encode() if isinstance(body, str) else body


def _first_diff(a, b):
    i = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return "at byte %d: ours %r / botocore %r" % (i, a[max(0, i - 60):i + 60], b[max(0, i - 60):i + 60])


def test_bodies_identical_to_botocore():
    import botocore.session

    op = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricData")
    n = 0
    for name, case in _dump():
        for b in case["batches"]:
            want = _botocore_body(op, _params(case["namespace"], b["datums"]))
            if b["raw"] != want:
                raise AssertionError("%s %s differs %s" % (name, b["body"], _first_diff(b["raw"], want)))
            n += 1
    cwtest.check(n >= 8, "expected at least 8 bodies, compared %d" % n)


# ---- model-driven decoding of our body ----

def _prefixes(flat):
    """Every dotted prefix of every key ("a.b.c" gives a, a.b, a.b.c)."""
    out = set()
    for k in flat:
        parts = k.split(".")
        for i in range(1, len(parts) + 1):
            out.add(".".join(parts[:i]))
    return out


def _decode(shape, flat, prefix, present):
    """Rebuilds the value of `shape` at `prefix` from the flat form dict (consumed keys removed);
    `present` holds the key prefixes of the body."""
    t = shape.type_name
    if t == "structure":
        out = {}
        for mname, mshape in shape.members.items():
            key = prefix + "." + mname if prefix else mname
            if key in present:
                out[mname] = _decode(mshape, flat, key, present)
        return out
    if t == "list":
        out, i = [], 1
        while "%s.member.%d" % (prefix, i) in present:
            out.append(_decode(shape.member, flat, "%s.member.%d" % (prefix, i), present))
            i += 1
        return out
    raw = flat.pop(prefix)
    if t == "double":
        return float(raw)
    if t == "integer":
        return int(raw)
    if t == "boolean":
        return raw == "true"
    if t == "timestamp":
        fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in raw else "%Y-%m-%dT%H:%M:%SZ"
        return datetime.datetime.strptime(raw, fmt).replace(tzinfo=datetime.timezone.utc)
    return raw


def test_decoded_bodies_validate_against_reference_model():
    from botocore.model import ServiceModel
    from botocore.validate import ParamValidator

    if not os.path.exists(REF_MODEL):
        raise cwtest.Skip("reference model not found at %s (tests/fixtures/reference)" % REF_MODEL)
    with open(REF_MODEL) as f:
        op = ServiceModel(json.load(f), "cloudwatch").operation_model("PutMetricData")
    for name, case in _dump():
        for b in case["batches"]:
            pairs = urllib.parse.parse_qsl(b["raw"].decode(), keep_blank_values=True, strict_parsing=True)
            flat = dict(pairs)
            cwtest.eq(len(flat), len(pairs), "%s: duplicate keys" % b["body"])
            cwtest.eq(flat.pop("Action"), "PutMetricData", "Action")
            cwtest.eq(flat.pop("Version"), "2010-08-01", "Version")
            params = _decode(op.input_shape, flat, "", _prefixes(flat))
            cwtest.eq(flat, {}, "%s: keys not in the model" % b["body"])
            report = ParamValidator().validate(params, op.input_shape)
            if report.has_errors():
                raise AssertionError("%s: %s" % (b["body"], report.generate_report()))
            cwtest.eq(len(params["MetricData"]), len(b["datums"]), "%s datum count" % b["body"])
            for d in params["MetricData"]:
                cwtest.check(1 <= len(d["MetricName"]) <= 255, "MetricName length")
                cwtest.check(len(d.get("Dimensions", [])) <= 30, "at most 30 dimensions")
                cwtest.check(len(d.get("Values", [])) <= 150, "at most 150 values")
                cwtest.check(d.get("StorageResolution", 60) in (1, 60), "StorageResolution")


def test_bodies_within_api_limits():
    sizes = []
    for name, case in _dump():
        for b in case["batches"]:
            cwtest.check(len(b["datums"]) <= 1000, "%s: %d datums" % (b["body"], len(b["datums"])))
            cwtest.check(len(b["raw"]) <= 1000000, "%s: %d bytes" % (b["body"], len(b["raw"])))
            sizes.append(len(b["raw"]))
    # case4 (30 dims of 100 bytes each) must have been cut by size, close to the cap
    cwtest.check(max(sizes) > 900000, "largest body %d bytes: byte cap not exercised" % max(sizes))


cwtest.main(globals())
