"""Faults on demand, deterministic and counted.

A fault is {"operation": "PutMetricData"|"*"|glob, "service": optional signing name, "mode": ...,
"count": N (fires N times), "seconds": S (active for S seconds)}; without count and seconds it stays
until DELETE. "*" matches every AWS API operation but not IMDS/ECS requests (name those "IMDS.*",
"ECS.*"). The first active matching fault fires for a request.
"""
import fnmatch
import threading
import time

REQUEST_MODES = ("throttle", "500", "503", "delay", "drop")
IMDS_MODES = ("imds-token-timeout", "imds-disable")
MODES = REQUEST_MODES + IMDS_MODES + ("expire-credentials", "skew")


class FaultError(ValueError):
    pass


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []
        self.next_id = 1

    def _active(self, f, now):
        if f["count"] is not None and f["fired"] >= f["count"]:
            return False
        return f["until"] is None or now < f["until"]

    def add(self, spec, on_expire):
        """Adds one fault from its JSON spec; returns the stored entry. on_expire() -> count."""
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object")
        mode = str(spec.get("mode", ""))
        if mode not in MODES:
            raise FaultError("unknown mode %r; one of %s" % (mode, ", ".join(MODES)))
        count, seconds = spec.get("count"), spec.get("seconds")
        for name, v in (("count", count), ("seconds", seconds)):
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0):
                raise FaultError("%s must be a non-negative number" % name)
        now = time.time()
        f = {"id": self.next_id, "mode": mode, "operation": str(spec.get("operation", "*")),
             "service": spec.get("service"), "count": count, "seconds": seconds,
             "until": now + seconds if seconds is not None else None, "created": now, "fired": 0,
             "delay_ms": max(0.0, min(float(spec.get("delay_ms", 1000)), 60000.0)), "skew_seconds": float(spec.get("skew_seconds", 0)),
             "hang_seconds": max(0.0, min(float(spec.get("hang_seconds", 5)), 60.0))}
        if mode == "expire-credentials":
            f["fired"] = 1
            f["expired"] = on_expire()
            f["count"] = 1
        with self.lock:
            self.next_id += 1
            self.items.append(f)
        return dict(f)

    def take(self, modes, service, operation):
        """Fires (and counts) the first active fault of one of `modes` matching the request."""
        now = time.time()
        is_api = not operation.startswith(("IMDS.", "ECS.")) or all(m in IMDS_MODES for m in modes)
        with self.lock:
            for f in self.items:
                if f["mode"] not in modes or not self._active(f, now):
                    continue
                if f["service"] and f["service"] != service:
                    continue
                pat = f["operation"]
                if (pat == "*" and is_api) or (pat != "*" and fnmatch.fnmatchcase(operation, pat)):
                    f["fired"] += 1
                    return dict(f)
        return None

    def skew(self, count=False):
        """Seconds the emulator's clock is offset by (first active skew fault), 0 when none."""
        now = time.time()
        with self.lock:
            for f in self.items:
                if f["mode"] == "skew" and f["until"] is None or (
                        f["mode"] == "skew" and now < f["until"]):
                    if count:
                        f["fired"] += 1
                    return f["skew_seconds"]
        return 0.0

    def snapshot(self):
        now = time.time()
        with self.lock:
            out = []
            for f in self.items:
                g = dict(f)
                g["remaining"] = None if f["count"] is None else max(0, f["count"] - f["fired"])
                g["active"] = self._active(f, now) if f["mode"] != "skew" else (
                    f["until"] is None or now < f["until"])
                out.append(g)
            return out

    def clear(self):
        with self.lock:
            self.items = []
