"""Credentials per destination and from common-config.toml, judged by the emulator's request log
(which key signed each call) and its record of the credentials it issued.

- metrics.credentials.role_arn and logs.credentials.role_arn: PutMetricData is signed with a key
  of the metrics role, PutLogEvents with a key of the logs role, both assumed with the agent's
  own credentials;
- common-config.toml [credentials] shared_credential_file / shared_credential_profile: with no
  key in the environment, the agent signs with the profile's key from that file (and the
  environment's keys are not used when the file is set, as the reference does).
"""
import json
import os
import shutil
import tempfile

import cwtest
import run_common as rc
from cwtest import ACCESS_KEY, SECRET_KEY, check, eq

ROLE_M = "arn:aws:iam::123456789012:role/e2e-metrics-role"
ROLE_L = "arn:aws:iam::123456789012:role/e2e-logs-role"


def requests(emu, op):
    return [r for r in emu.get("/_emulator/requests")["requests"] if r["operation"] == op]


def issued(emu):
    return {c["AccessKeyId"]: c for c in emu.get("/_emulator/state")["credentials"]}


def base_env(emu, tmp):
    env = rc.agent_env(emu, static_keys=False)
    env["HOME"] = tmp
    env.pop("AWS_ENDPOINT_URL", None)
    env["AWS_ENDPOINT_URL_STS"] = emu.endpoint
    return env


def config(emu, log, metrics_role=None, logs_role=None):
    m = {"endpoint_override": emu.endpoint, "force_flush_interval": 1,
         "metrics_collected": {"mem": {"measurement": ["mem_used_percent"]}}}
    lg = {"endpoint_override": emu.endpoint, "force_flush_interval": 1,
          "logs_collected": {"files": {"collect_list": [
              {"file_path": log, "log_group_name": "creds-g", "log_stream_name": "s"}]}}}
    if metrics_role:
        m["credentials"] = {"role_arn": metrics_role}
    if logs_role:
        lg["credentials"] = {"role_arn": logs_role}
    return {"agent": {"region": "us-east-1", "metrics_collection_interval": 1},
            "metrics": m, "logs": lg}


def run(emu, tmp, cfg, env, cc=None):
    path = rc.write_json(os.path.join(tmp, "c.json"), cfg)
    args = ["--common-config", cc or os.path.join(tmp, "none.toml")]
    a = rc.Agent([path], os.path.join(tmp, "state"), env, args=args).start()
    try:
        rc.wait_for(lambda: [r for r in requests(emu, "PutMetricData") if r["status"] == 200]
                    and [r for r in requests(emu, "PutLogEvents") if r["status"] == 200]
                    or a.proc.poll() is not None, 30, what="metrics and logs accepted")
        code, _ = a.stop()
        eq(code, 0, "exit status (%s)" % a.err()[-1500:])
        return a.err()
    finally:
        a.close()


def signing_keys(emu, op):
    rs = requests(emu, op)
    # the first PutLogEvents of a new group is answered ResourceNotFound (then it is created)
    eq([r["error"] for r in rs if r["status"] != 200 and r["error"] != "ResourceNotFoundException"],
       [], "refused %s" % op)
    return sorted({r["access_key"] for r in rs})


def test_metrics_and_logs_each_assume_their_own_role():
    tmp = tempfile.mkdtemp(prefix="cwnetcreds-")
    try:
        with cwtest.Emulator("-q") as emu:
            log = os.path.join(tmp, "app.log")
            with open(log, "w") as f:
                f.write("one\ntwo\n")
            env = base_env(emu, tmp)
            env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY})
            run(emu, tmp, config(emu, log, ROLE_M, ROLE_L), env)
            keys = issued(emu)
            pmd, ple = signing_keys(emu, "PutMetricData"), signing_keys(emu, "PutLogEvents")
            eq(len(pmd), 1, "keys signing PutMetricData %r" % pmd)
            eq(len(ple), 1, "keys signing PutLogEvents %r" % ple)
            check("e2e-metrics-role" in keys.get(pmd[0], {}).get("Arn", ""),
                  "PutMetricData key %s is not of the metrics role: %r" % (pmd[0], keys.get(pmd[0])))
            check("e2e-logs-role" in keys.get(ple[0], {}).get("Arn", ""),
                  "PutLogEvents key %s is not of the logs role: %r" % (ple[0], keys.get(ple[0])))
            ar = requests(emu, "AssumeRole")
            eq(sorted({r["access_key"] for r in ar}), [ACCESS_KEY], "AssumeRole signed with")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_common_config_shared_credentials_file_and_profile():
    tmp = tempfile.mkdtemp(prefix="cwnetcreds-")
    try:
        with cwtest.Emulator("-q") as emu:
            log = os.path.join(tmp, "app.log")
            with open(log, "w") as f:
                f.write("one\n")
            creds = os.path.join(tmp, "credentials")
            with open(creds, "w") as f:
                f.write("[default]\naws_access_key_id = AKIDWRONGWRONG000000\n"
                        "aws_secret_access_key = wrong\n\n[AmazonCloudWatchAgent]\n"
                        "aws_access_key_id = %s\naws_secret_access_key = %s\n"
                        % (ACCESS_KEY, SECRET_KEY))
            os.chmod(creds, 0o600)
            cc = os.path.join(tmp, "common-config.toml")
            with open(cc, "w") as f:
                f.write('[credentials]\n   shared_credential_profile = "AmazonCloudWatchAgent"\n'
                        '   shared_credential_file = "%s"\n' % creds)
            env = base_env(emu, tmp)
            # keys in the environment lose to the file, as in the reference
            env.update({"AWS_ACCESS_KEY_ID": "AKIDENVIRONMENT00000",
                        "AWS_SECRET_ACCESS_KEY": "not-this-one"})
            err = run(emu, tmp, config(emu, log), env, cc)
            eq(signing_keys(emu, "PutMetricData"), [ACCESS_KEY], "PutMetricData signed with")
            eq(signing_keys(emu, "PutLogEvents"), [ACCESS_KEY], "PutLogEvents signed with")
            check(SECRET_KEY not in err, "the secret key is in the agent's output")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    cwtest.main(globals())
