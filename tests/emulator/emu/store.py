"""Everything the emulator remembers: config, credentials, stored data, the request log.

One Store per process; every access goes through its lock (the server is multi-threaded).
"""
import json
import secrets
import string
import threading
import time

STATIC_KEY = ("AKIDCWEMULATOR00001", "cwemu/secret/key/for/local/tests/only00")
ACCOUNT = "123456789012"
REQUEST_LOG_CAP = 200000


class Cred:
    """A credential the emulator accepts. expires None = never (static keys)."""

    def __init__(self, key_id, secret, token=None, expires=None, source="static", arn=None):
        self.key_id, self.secret, self.token = key_id, secret, token
        self.expires, self.source, self.arn = expires, source, arn

    def public(self):
        return {"AccessKeyId": self.key_id, "Expiration": self.expires, "source": self.source,
                "Arn": self.arn}


def _rand(alphabet, n):
    return "".join(secrets.choice(alphabet) for _ in range(n))


class Store:
    """Shared state. `now` is the clock function (real time plus the skew fault)."""

    def __init__(self, args, now):
        self.lock = threading.RLock()
        self.now = now
        self.any_region = args.region == "*"
        self.region = "us-east-1" if self.any_region else args.region
        self.creds = {STATIC_KEY[0]: Cred(*STATIC_KEY)}
        for pair in args.key or []:
            kid, _, secret = pair.partition(":")
            self.creds[kid] = Cred(kid, secret)
        self.config = {
            "imdsv1": bool(args.imdsv1), "imds_tags": False, "creds_lifetime": args.creds_lifetime,
            "asg_name": "cwemu-asg", "instance_tags": {"Name": "cwemu-instance"},
            "role_name": "cwemu-role", "ecs_token": args.ecs_token, "ecs_paths": ["/ecs/creds"],
            "ssm_parameters": {}, "max_skew": args.max_skew,
            "instance": {"instance_id": "i-0cwemu0000000001", "instance_type": "t3.micro",
                         "ami_id": "ami-0cwemu00000000001", "local_ipv4": "10.0.0.17",
                         "availability_zone": self.region + "a",
                         "local_hostname": "ip-10-0-0-17.ec2.internal",
                         "hostname": "ip-10-0-0-17.ec2.internal"},
        }
        self.imds_tokens = {}
        self.current = {}  # source (imds|ecs) -> Cred being handed out
        self.record_path = args.record
        self.reset()

    def reset(self):
        """Forgets stored data and the request log (config and credentials stay)."""
        with self.lock:
            self.metrics = []
            self.log_groups = {}  # name -> dict(group fields, streams={name: dict(..., events=[])})
            self.alarms = {}
            self.dashboards = {}
            self.dashboard_times = {}
            self.policies = {}  # (group, policy name) -> policy
            self.requests = []

    # ---- credentials ----

    def issue(self, source, lifetime=None, arn=None):
        """Creates and registers a temporary credential; returns the Cred."""
        life = lifetime if lifetime is not None else self.config["creds_lifetime"]
        kid = "ASIA" + _rand(string.ascii_uppercase + string.digits, 16)
        secret = _rand(string.ascii_letters + string.digits + "/+", 40)
        token = "IQoJcwemu" + _rand(string.ascii_letters + string.digits + "/+", 180)
        cred = Cred(kid, secret, token, self.now() + life, source, arn)
        with self.lock:
            self.creds[kid] = cred
        return cred

    def current_cred(self, source, arn=None):
        """The credential a metadata endpoint hands out: rotated once half its lifetime is gone."""
        with self.lock:
            cur = self.current.get(source)
            life = self.config["creds_lifetime"]
            if cur is None or cur.expires - self.now() <= life / 2.0:
                cur = self.issue(source, arn=arn)
                self.current[source] = cur
            return cur

    def expire_all(self):
        """Makes every issued credential expire now; returns how many."""
        with self.lock:
            n = 0
            for c in self.creds.values():
                if c.expires is not None:
                    c.expires = min(c.expires, self.now() - 1)
                    n += 1
            return n

    def lookup(self, key_id):
        with self.lock:
            return self.creds.get(key_id)

    # ---- request log / record ----

    def log_request(self, entry):
        with self.lock:
            if len(self.requests) < REQUEST_LOG_CAP:
                self.requests.append(entry)

    def record(self, service, operation, params):
        """Appends an accepted request to --record FILE as one JSON line."""
        if not self.record_path:
            return
        line = json.dumps({"time": time.time(), "service": service, "operation": operation,
                           "params": params}, default=_jsonable, sort_keys=True)
        with self.lock, open(self.record_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def _jsonable(value):
    if hasattr(value, "timestamp"):
        return value.timestamp()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)
