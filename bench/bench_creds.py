"""Credentials chain timings against the emulator (printed, never asserted).

For each provider: the time from starting `cwagent run` to the emulator answering the request
that yields the credentials (IMDS role GET, ECS GET, STS call), and to the first accepted
PutMetricData. Environment/file providers make no request: their first figure is "-".
Then the recovery after the emulator expires every credential: the time from the first
ExpiredToken rejection to the next accepted PutMetricData (a refresh plus the sender's wait).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))

import cwtest  # noqa: E402
import test_creds_e2e as e2e  # noqa: E402
from cwtest import ACCESS_KEY, SECRET_KEY  # noqa: E402

CASES = [
    ("environment", [], {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}, None),
    ("imds (IMDSv2)", [], {}, "IMDS.Credentials"),
    ("ecs", ["--ecs-token", e2e.ECS_TOKEN],
     {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "@ECS@", "AWS_CONTAINER_AUTHORIZATION_TOKEN": e2e.ECS_TOKEN},
     "ECS.Credentials"),
    ("env + role_arn (AssumeRole)", [], {"AWS_ACCESS_KEY_ID": ACCESS_KEY,
                                         "AWS_SECRET_ACCESS_KEY": SECRET_KEY}, "AssumeRole"),
    ("imds, token timeout -> v1", ["--imdsv1"], {}, "IMDS.Credentials"),
]


def one(name, flags, env, op):
    with cwtest.Emulator("-q", *flags) as emu:
        if "timeout" in name:
            e2e.token_timeout(emu)
        extra = {"credentials": {"role_arn": e2e.ROLE_ARN}} if op == "AssumeRole" else None
        a = e2e.Agent(emu, env={k: v.replace("@ECS@", emu.info["ecs"]) for k, v in env.items()},
                      agent_extra=extra)
        try:
            a.start()
            e2e.wait_for(lambda: e2e.accepted_pmd(emu), 30, "a PutMetricData")
            a.stop()
        finally:
            a.cleanup()
        creds = [r for r in e2e.requests(emu, op) if r["status"] == 200] if op else []
        t_creds = "%6.0f ms" % ((creds[-1]["time"] - a.started) * 1000) if creds else "%9s" % "-"
        t_pmd = (e2e.accepted_pmd(emu)[0]["time"] - a.started) * 1000
        print("  %-30s credentials %s   first PutMetricData %6.0f ms" % (name, t_creds, t_pmd))


def recovery():
    with cwtest.Emulator("-q") as emu:
        a = e2e.Agent(emu)
        try:
            a.start()
            e2e.wait_for(lambda: len(e2e.accepted_pmd(emu)) >= 2, 30, "2 PutMetricData")
            emu.post("/_emulator/faults", {"operation": "*", "mode": "expire-credentials", "count": 1})
            e2e.wait_for(lambda: any(r["status"] != 200 for r in e2e.requests(emu, "PutMetricData"))
                         and e2e.requests(emu, "PutMetricData")[-1]["status"] == 200, 30, "recovery")
            a.stop()
        finally:
            a.cleanup()
        pmd = e2e.requests(emu, "PutMetricData")
        i = next(i for i, r in enumerate(pmd) if r["status"] != 200)
        ok = next(r for r in pmd[i:] if r["status"] == 200)
        print("  expire-credentials: %d rejected, accepted again after %.0f ms"
              % (sum(r["status"] != 200 for r in pmd), (ok["time"] - pmd[i]["time"]) * 1000))


def main():
    print("credentials chain, time from process start (1 s collection; identity fetch included)")
    for case in CASES:
        one(*case)
    recovery()


if __name__ == "__main__":
    main()
