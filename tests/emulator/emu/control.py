"""Control and read-back endpoints under /_emulator/ (plain JSON, never authenticated)."""
import json

from .faults import FaultError
from .wire import Response

CONFIG_KEYS = {"imdsv1": bool, "imds_tags": bool, "creds_lifetime": (int, float), "asg_name": (str, type(None)),
               "instance_tags": dict, "role_name": str, "ecs_token": (str, type(None)), "ecs_paths": list,
               "ssm_parameters": dict, "max_skew": (int, float), "asg_names": list}


def _json(status, obj):
    return Response(status, json.dumps(obj, default=str, indent=1), {}, "application/json")


def _logs_view(store):
    with store.lock:
        groups = {}
        for name, g in store.log_groups.items():
            view = {k: v for k, v in g.items() if k != "streams"}
            view["streams"] = {sn: dict(s, events=list(s["events"])) for sn, s in g["streams"].items()}
            groups[name] = view
    return {"groups": groups}


def _state(store, faults):
    with store.lock:
        creds = [c.public() for c in store.creds.values()]
        return {"config": store.config, "region": store.region, "credentials": creds,
                "counts": {"metrics": len(store.metrics), "requests": len(store.requests),
                           "log_groups": len(store.log_groups)},
                "alarms": store.alarms, "dashboards": store.dashboards,
                "scaling_policies": list(store.policies.values()), "faults": faults.snapshot(),
                "now": store.now()}


def _set_config(store, obj):
    if not isinstance(obj, dict):
        return _json(400, {"error": "expected a JSON object"})
    for k, v in obj.items():
        kind = CONFIG_KEYS.get(k)
        if kind is None or not isinstance(v, kind) or isinstance(v, bool) and kind == (int, float):
            return _json(400, {"error": "bad config key or type: %s" % k, "keys": sorted(CONFIG_KEYS)})
    with store.lock:
        store.config.update(obj)
        if "creds_lifetime" in obj:
            store.current.clear()  # hand out credentials with the new lifetime from now on
    return _json(200, store.config)


def _body(req):
    try:
        obj = json.loads(req.body.decode("utf-8") or "{}")
    except ValueError as e:
        return None, _json(400, {"error": "invalid JSON: %s" % e})
    if not isinstance(obj, (dict, list)):
        return None, _json(400, {"error": "expected a JSON object"})
    return obj, None


def _faults(req, store, faults):
    if req.method == "GET":
        return _json(200, {"faults": faults.snapshot()})
    if req.method == "DELETE":
        faults.clear()
        return _json(200, {"faults": []})
    obj, err = _body(req)
    if err:
        return err
    try:
        added = [faults.add(f, store.expire_all) for f in (obj if isinstance(obj, list) else [obj])]
    except (FaultError, ValueError, TypeError) as e:
        return _json(400, {"error": str(e)})
    return _json(200, {"added": added})


def handle(req, store, faults):
    path, m = req.raw_path[len("/_emulator/"):].rstrip("/"), req.method
    if path == "faults":
        return _faults(req, store, faults)
    if m == "GET" and path == "metrics":
        with store.lock:
            return _json(200, {"metrics": list(store.metrics)})
    if m == "GET" and path == "logs":
        return _json(200, _logs_view(store))
    if m == "GET" and path == "requests":
        with store.lock:
            return _json(200, {"requests": list(store.requests)})
    if m == "GET" and path == "state":
        return _json(200, _state(store, faults))
    if m == "GET" and path == "config":
        return _json(200, store.config)
    if m == "POST" and path == "config":
        obj, err = _body(req)
        return err or _set_config(store, obj)
    if m == "POST" and path == "reset":
        store.reset()
        faults.clear()
        return _json(200, {"reset": True})
    return _json(404, {"error": "no such control endpoint: %s %s" % (m, req.raw_path)})
