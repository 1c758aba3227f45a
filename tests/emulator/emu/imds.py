"""EC2 instance metadata (IMDSv2, optional v1) and the ECS/EKS container credentials endpoint."""
import datetime
import json
import secrets

from .wire import Response

TOKEN_TTL_MAX = 21600  # IMDS: token TTL 1..21600 seconds
NOT_FOUND = ('<?xml version="1.0" encoding="iso-8859-1"?>\n<!DOCTYPE html>\n<html><head><title>404 - Not Found'
             '</title></head><body><h1>404 - Not Found</h1></body></html>\n')


def _text(status, body, ct="text/plain"):
    return Response(status, body, {}, ct)


def _iso(epoch):
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cred_json(cred, now, with_code=True, role_arn=None):
    doc = {"AccessKeyId": cred.key_id, "SecretAccessKey": cred.secret, "Token": cred.token,
           "Expiration": _iso(cred.expires)}
    if with_code:
        doc = dict({"Code": "Success", "LastUpdated": _iso(now), "Type": "AWS-HMAC"}, **doc)
    if role_arn:
        doc["RoleArn"] = role_arn
    return json.dumps(doc, indent=2)


def _put_token(req, store):
    ttl = req.header("x-aws-ec2-metadata-token-ttl-seconds")
    if ttl is None or not ttl.strip().isdigit() or not 1 <= int(ttl) <= TOKEN_TTL_MAX:
        return _text(400, "")
    if req.header("x-forwarded-for") is not None:
        return _text(403, "")
    token = "AQAEAcwemu" + secrets.token_urlsafe(40)
    with store.lock:
        store.imds_tokens[token] = store.now() + int(ttl)
    resp = _text(200, token)
    resp.headers["X-aws-ec2-metadata-token-ttl-seconds"] = str(int(ttl))
    return resp


def _token_ok(req, store):
    token = req.header("x-aws-ec2-metadata-token")
    if token is None:
        return bool(store.config["imdsv1"])
    with store.lock:
        exp = store.imds_tokens.get(token)
    return exp is not None and exp > store.now()


def _identity(store):
    i = store.config["instance"]
    return json.dumps({"accountId": "123456789012", "architecture": "x86_64",
                       "availabilityZone": i["availability_zone"], "billingProducts": None,
                       "devpayProductCodes": None, "marketplaceProductCodes": None, "imageId": i["ami_id"],
                       "instanceId": i["instance_id"], "instanceType": i["instance_type"], "kernelId": None,
                       "pendingTime": "2026-01-01T00:00:00Z", "privateIp": i["local_ipv4"], "ramdiskId": None,
                       "region": store.region, "version": "2017-09-30"}, indent=2)


def _metadata(path, store):
    """Body for a metadata path (without /latest/), or None for 404."""
    i, cfg = store.config["instance"], store.config
    role = cfg["role_name"]
    fixed = {"meta-data/instance-id": i["instance_id"], "meta-data/instance-type": i["instance_type"],
             "meta-data/ami-id": i["ami_id"], "meta-data/local-ipv4": i["local_ipv4"],
             "meta-data/local-hostname": i["local_hostname"], "meta-data/hostname": i["hostname"],
             "meta-data/placement/region": store.region,
             "meta-data/placement/availability-zone": i["availability_zone"],
             "meta-data/placement/": "availability-zone\nregion",
             "meta-data/": "ami-id\nhostname\niam/\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\n"
                           "placement/" + ("\ntags/" if cfg["imds_tags"] else ""),
             "meta-data/iam/": "info\nsecurity-credentials/",
             "meta-data/iam/security-credentials/": role,
             "meta-data/iam/info": json.dumps({"Code": "Success", "LastUpdated": _iso(store.now()),
                                               "InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/"
                                               + role, "InstanceProfileId": "AIPACWEMULATOR000001"}),
             "dynamic/instance-identity/document": _identity(store),
             "dynamic/instance-identity/": "document", "dynamic/": "instance-identity/"}
    if path in fixed:
        return fixed[path]
    if path + "/" in fixed:  # directories answer with or without the trailing slash
        return fixed[path + "/"]
    if path.rstrip("/") == "meta-data/iam/security-credentials/" + role:
        return _cred_json(store.current_cred("imds", arn="arn:aws:sts::123456789012:assumed-role/%s/%s"
                                             % (role, i["instance_id"])), store.now())
    if cfg["imds_tags"] and path.startswith("meta-data/tags/instance"):
        tags = dict(cfg["instance_tags"])
        key = path[len("meta-data/tags/instance"):].lstrip("/")
        if not key:
            return "\n".join(sorted(tags))
        return tags.get(key)
    if cfg["imds_tags"] and path == "meta-data/tags/":
        return "instance"
    return None


def imds_operation(req):
    if req.raw_path == "/latest/api/token":
        return "IMDS.Token"
    if "/iam/security-credentials/" in req.raw_path:
        return "IMDS.Credentials"
    return "IMDS.Metadata"


def handle_imds(req, store, faults):
    """Answers an IMDS request; a Response with .hang set means: hold the connection, then close."""
    op = imds_operation(req)
    if faults.take(("imds-disable",), None, op):
        return _text(403, "")
    if op == "IMDS.Token":
        if req.method != "PUT":
            return _text(405, "")
        hang = faults.take(("imds-token-timeout",), None, op)
        if hang:
            resp = Response(0)
            resp.hang = hang["hang_seconds"]
            return resp
        return _put_token(req, store)
    if req.method != "GET":
        return _text(405, "")
    if not _token_ok(req, store):
        return _text(401, "")
    body = _metadata(req.raw_path[len("/latest/"):], store)
    if body is None:
        return _text(404, NOT_FOUND, "text/html")
    return _text(200, body, "application/json" if body.startswith("{") else "text/plain")


def handle_ecs(req, store):
    """Container credentials: checks Authorization against the configured token (if any)."""
    want = store.config["ecs_token"]
    got = req.header("authorization")
    if want:
        if got is None:
            return Response(401, json.dumps({"code": "Unauthorized", "message": "Authorization header missing"}),
                            {}, "application/json")
        if got != want:
            return Response(403, json.dumps({"code": "AccessDenied", "message": "Authorization token invalid"}),
                            {}, "application/json")
    if req.method != "GET":
        return _text(405, "")
    arn = "arn:aws:iam::123456789012:role/%s" % store.config["role_name"]
    cred = store.current_cred("ecs", arn=arn)
    return Response(200, _cred_json(cred, store.now(), with_code=False, role_arn=arn), {}, "application/json")
