"""`cwagent alarms plan|apply` end to end: the real agent runs against the emulator, then the
alarms are applied to the same emulator with signed calls and read back with botocore. Every
alarm's (metric, dimension set) must be a series the agent actually published (ListMetrics), for
configurations with and without append_dimensions, aggregation_dimensions, drop_device,
drop_original_metrics and several mounts; a second apply changes nothing; bad thresholds and ARNs
are refused with clear messages; the emulator evaluates the alarms from the datums it holds."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import cwtest
import run_common as rc

EC2_DIMS = {"ImageId": "${aws:ImageId}", "InstanceId": "${aws:InstanceId}",
            "InstanceType": "${aws:InstanceType}", "AutoScalingGroupName": "${aws:AutoScalingGroupName}"}
INSTANCE = "i-0cwemu0000000001"  # the emulator's instance (tests/emulator/emu/store.py)
ASG = "cwemu-asg"


def collected(disk_resources=("/",), drop_device=False, ignore_fs=None):
    disk = {"measurement": ["used_percent"], "resources": list(disk_resources)}
    if drop_device:
        disk["drop_device"] = True
    if ignore_fs is not None:
        disk["ignore_file_system_types"] = ignore_fs
    return {"mem": {"measurement": ["mem_used_percent"]}, "swap": {"measurement": ["swap_used_percent"]},
            "disk": disk, "cpu": {"measurement": ["usage_active"], "totalcpu": True}}


class Case:
    """A temporary directory with the config, the agent's run and the alarm commands."""

    def __init__(self, emu, cfg):
        self.emu = emu
        self.tmp = tempfile.mkdtemp(prefix="cwalarms-")
        self.cfg = rc.write_json(os.path.join(self.tmp, "cfg.json"), cfg)
        self.env = rc.agent_env(emu)

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_agent(self, seconds=3.5):
        ag = rc.Agent([self.cfg], os.path.join(self.tmp, "state"), self.env).start()
        try:
            time.sleep(seconds)
            code, _ = ag.stop()
            cwtest.eq(code, 0, "agent exit status (stderr: %s)" % ag.err()[-600:])
        finally:
            ag.close()

    def alarms(self, *args, timeout=60):
        return subprocess.run([cwtest.CWAGENT, "alarms"] + list(args) + ["-c", self.cfg],
                              capture_output=True, text=True, timeout=timeout, env=self.env,
                              stdin=subprocess.DEVNULL)


def published(emu):
    cw = emu.client("cloudwatch")
    out = set()
    for m in cw.list_metrics(Namespace="CWAgent")["Metrics"]:
        out.add((m["MetricName"], frozenset((d["Name"], d["Value"]) for d in m["Dimensions"])))
    return out


def applied(emu):
    return emu.client("cloudwatch").describe_alarms(AlarmNamePrefix="cwagent-")["MetricAlarms"]


def check_bound(emu, alarms):
    pub = published(emu)
    cwtest.check(alarms, "no alarms were applied")
    for a in alarms:
        key = (a["MetricName"], frozenset((d["Name"], d["Value"]) for d in a["Dimensions"]))
        cwtest.check(key in pub, "alarm %s is bound to %s %s, which the agent did not publish; published: %s"
                     % (a["AlarmName"], key[0], sorted(key[1]), sorted((n, sorted(d)) for n, d in pub
                                                                         if n == key[0])))


def apply_and_check(cfg, want_names, extra=(), mounts=None):
    with cwtest.Emulator("-q") as emu:
        case = Case(emu, cfg)
        try:
            case.run_agent()
            r = case.alarms("apply", *extra)
            cwtest.eq(r.returncode, 0, "apply exit status (stderr: %s)" % r.stderr[-800:])
            alarms = applied(emu)
            names = sorted(a["AlarmName"] for a in alarms)
            for w in want_names:
                cwtest.check(w in names, "alarm %s missing; applied: %s" % (w, names))
            if mounts is not None:
                disks = [a for a in alarms if a["MetricName"] == "disk_used_percent"]
                cwtest.eq(sorted(dict((d["Name"], d["Value"]) for d in a["Dimensions"])["path"] for a in disks),
                          sorted(mounts), "disk alarms per mount")
            check_bound(emu, alarms)
            again = case.alarms("apply", *extra)
            cwtest.eq(again.returncode, 0, "second apply (stderr: %s)" % again.stderr[-500:])
            cwtest.check("0 created, 0 updated, %d unchanged, 0 deleted" % len(alarms) in again.stdout,
                         "second apply changed something: %s" % again.stdout)
            cwtest.eq(sorted(a["AlarmName"] for a in applied(emu)), names, "alarms after the second apply")
            return emu, case, alarms
        finally:
            case.close()


def test_host_dimension_only():
    cfg = rc.metrics_config(None, collected(), interval=1, flush=1)
    del cfg["metrics"]["endpoint_override"]
    _, _, alarms = apply_and_check(cfg, ["cwagent-%s-mem-high" % INSTANCE, "cwagent-%s-disk-root" % INSTANCE,
                                         "cwagent-%s-swap-high" % INSTANCE, "cwagent-%s-heartbeat" % INSTANCE])
    mem = [a for a in alarms if a["AlarmName"].endswith("mem-high")][0]
    cwtest.eq([d["Name"] for d in mem["Dimensions"]], ["host"], "mem alarm dimensions")


def test_append_and_aggregation_dimensions_with_scaling():
    cfg = rc.metrics_config(None, collected(), append_dimensions=EC2_DIMS,
                            aggregation_dimensions=[["AutoScalingGroupName"], ["InstanceId"], []])
    del cfg["metrics"]["endpoint_override"]
    with cwtest.Emulator("-q") as emu:
        case = Case(emu, cfg)
        try:
            case.run_agent()
            r = case.alarms("apply", "--scaling-policies", "--sns", "arn:aws:sns:us-east-1:123456789012:ops")
            cwtest.eq(r.returncode, 0, "apply (stderr: %s)" % r.stderr[-800:])
            alarms = {a["AlarmName"]: a for a in applied(emu)}
            check_bound(emu, list(alarms.values()))
            mem = alarms["cwagent-%s-mem-high" % INSTANCE]
            cwtest.eq(sorted(d["Name"] for d in mem["Dimensions"]),
                      ["AutoScalingGroupName", "ImageId", "InstanceId", "InstanceType"], "mem alarm dimensions")
            out, inn = alarms["cwagent-%s-scale-out" % ASG], alarms["cwagent-%s-scale-in" % ASG]
            cwtest.eq(out["Dimensions"], [{"Name": "AutoScalingGroupName", "Value": ASG}], "scale-out dims")
            policies = {p["PolicyName"]: p for p in
                        emu.client("autoscaling").describe_policies(AutoScalingGroupName=ASG)["ScalingPolicies"]}
            cwtest.eq(sorted(policies), ["cwagent-%s-scale-in" % ASG, "cwagent-%s-scale-out" % ASG], "policies")
            cwtest.eq(out["AlarmActions"][0], policies["cwagent-%s-scale-out" % ASG]["PolicyARN"], "scale-out action")
            cwtest.eq(inn["AlarmActions"][0], policies["cwagent-%s-scale-in" % ASG]["PolicyARN"], "scale-in action")
            cwtest.eq(mem["AlarmActions"], ["arn:aws:sns:us-east-1:123456789012:ops"], "mem alarm actions")
            again = case.alarms("apply", "--scaling-policies", "--sns", "arn:aws:sns:us-east-1:123456789012:ops")
            cwtest.check("0 created, 0 updated, %d unchanged" % len(alarms) in again.stdout,
                         "second apply changed something: %s %s" % (again.stdout, again.stderr[-300:]))
            for d in ("out", "in"):
                cwtest.check("unchanged scaling policy cwagent-%s-scale-%s" % (ASG, d) in again.stdout,
                             "scaling policy put again: %s" % again.stdout)
            cwtest.eq(len(emu.client("autoscaling").describe_policies()["ScalingPolicies"]), 2, "policies after twice")
            # without --sns the notification actions go away again
            third = case.alarms("apply", "--scaling-policies")
            cwtest.check("updated cwagent-%s-mem-high" % INSTANCE in third.stdout, third.stdout)
            mem = emu.client("cloudwatch").describe_alarms(AlarmNames=["cwagent-%s-mem-high" % INSTANCE])
            cwtest.eq(mem["MetricAlarms"][0]["AlarmActions"], [], "actions after an apply without --sns")
        finally:
            case.close()


def test_drop_device_several_mounts():
    if not os.path.isdir("/dev/shm") or not os.path.ismount("/dev/shm"):
        raise cwtest.Skip("/dev/shm is not a mount point here: a second mount is needed")
    cfg = rc.metrics_config(None, collected(("/", "/dev/shm"), drop_device=True, ignore_fs=["sysfs"]),
                            append_dimensions={"InstanceId": "${aws:InstanceId}"})
    del cfg["metrics"]["endpoint_override"]
    _, _, alarms = apply_and_check(cfg, ["cwagent-%s-disk-root" % INSTANCE, "cwagent-%s-disk-dev-shm" % INSTANCE],
                                   mounts=["/", "/dev/shm"])
    for a in alarms:
        cwtest.check("device" not in [d["Name"] for d in a["Dimensions"]], "drop_device: %s has device" % a["AlarmName"])


def test_drop_original_uses_the_instance_rollup():
    coll = collected()
    coll["mem"] = {"measurement": ["mem_used_percent"]}
    cfg = rc.metrics_config(None, coll, append_dimensions=EC2_DIMS, aggregation_dimensions=[["InstanceId"]])
    del cfg["metrics"]["endpoint_override"]
    cfg["metrics"]["metrics_collected"]["mem"]["drop_original_metrics"] = ["mem_used_percent"]
    _, _, alarms = apply_and_check(cfg, ["cwagent-%s-mem-high" % INSTANCE])
    mem = [a for a in alarms if a["AlarmName"].endswith("mem-high")][0]
    cwtest.eq(mem["Dimensions"], [{"Name": "InstanceId", "Value": INSTANCE}], "mem alarm on the roll-up")


def test_alarm_states_follow_the_datums():
    cfg = rc.metrics_config(None, collected())
    del cfg["metrics"]["endpoint_override"]
    with cwtest.Emulator("-q") as emu:
        case = Case(emu, cfg)
        try:
            case.run_agent()
            r = case.alarms("apply", "--disk", "0")
            cwtest.eq(r.returncode, 0, "apply (stderr: %s)" % r.stderr[-500:])
            disk = emu.client("cloudwatch").describe_alarms(AlarmNames=["cwagent-%s-disk-root" % INSTANCE])
            cwtest.eq(disk["MetricAlarms"][0]["StateValue"], "ALARM", "disk alarm at threshold 0")
            r = case.alarms("apply", "--disk", "100")
            cwtest.check("updated cwagent-%s-disk-root" % INSTANCE in r.stdout, "threshold change: %s" % r.stdout)
            disk = emu.client("cloudwatch").describe_alarms(AlarmNames=["cwagent-%s-disk-root" % INSTANCE])
            cwtest.eq(disk["MetricAlarms"][0]["StateValue"], "OK", "disk alarm at threshold 100")
            hb = emu.client("cloudwatch").describe_alarms(AlarmNames=["cwagent-%s-heartbeat" % INSTANCE])
            cwtest.eq(hb["MetricAlarms"][0]["StateValue"], "OK", "heartbeat while the agent reported")
        finally:
            case.close()


def test_prune_removes_alarms_no_longer_planned():
    cfg = rc.metrics_config(None, collected())
    del cfg["metrics"]["endpoint_override"]
    with cwtest.Emulator("-q") as emu:
        case = Case(emu, cfg)
        try:
            case.run_agent(2.5)
            cw = emu.client("cloudwatch")
            cw.put_metric_alarm(AlarmName="cwagent-%s-disk-gone" % INSTANCE, Namespace="CWAgent",
                                MetricName="disk_used_percent", Statistic="Average", Period=300,
                                EvaluationPeriods=1, Threshold=80, ComparisonOperator="GreaterThanThreshold")
            cw.put_metric_alarm(AlarmName="someone-elses", Namespace="CWAgent", MetricName="x",
                                Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
            r = case.alarms("apply", "--prune")
            cwtest.eq(r.returncode, 0, "apply --prune (stderr: %s)" % r.stderr[-500:])
            cwtest.check("deleted cwagent-%s-disk-gone" % INSTANCE in r.stdout, r.stdout)
            names = [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]]
            cwtest.check("someone-elses" in names and "cwagent-%s-disk-gone" % INSTANCE not in names, names)
        finally:
            case.close()


def test_bad_thresholds_and_arns_are_clear_errors():
    cfg = rc.metrics_config(None, collected())
    del cfg["metrics"]["endpoint_override"]
    with cwtest.Emulator("-q") as emu:
        case = Case(emu, cfg)
        try:
            cases = [
                (["--mem", "120"], "--mem: expected a percentage between 0 and 100, got '120'"),
                (["--disk", "eighty"], "--disk: expected a percentage between 0 and 100, got 'eighty'"),
                (["--scale-in", "80", "--scale-out", "70"], "--scale-in 80 must be below --scale-out 70"),
                (["--sns", "arn:aws:sns:us-east-1:1234:ops"], "is not an SNS topic ARN"),
                (["--sns", "arn:aws:sqs:us-east-1:123456789012:q"], "is not an SNS topic ARN"),
                (["--sns", "arn:aws:sns:eu-west-1:123456789012:ops"], "is not in region us-east-1"),
                (["--format", "yaml"], "--format: expected text, json, cloudformation or prometheus"),
            ]
            for args, want in cases:
                r = case.alarms("plan", *args)
                cwtest.eq(r.returncode, 2, "exit status for %s (stderr %s)" % (args, r.stderr))
                cwtest.check(want in r.stderr, "message for %s: want %r, got %r" % (args, want, r.stderr))
            cwtest.eq(applied(emu), [], "nothing applied")
        finally:
            case.close()


def test_plan_formats():
    cfg = rc.metrics_config(None, collected(), append_dimensions=EC2_DIMS,
                            aggregation_dimensions=[["AutoScalingGroupName"]])
    del cfg["metrics"]["endpoint_override"]
    with cwtest.Emulator("-q") as emu:
        case = Case(emu, cfg)
        try:
            text = case.alarms("plan")
            cwtest.eq(text.returncode, 0, "plan: %s" % text.stderr)
            cwtest.check("cwagent-%s-mem-high" % INSTANCE in text.stdout, text.stdout)
            js = json.loads(case.alarms("plan", "--format", "json").stdout)
            cwtest.eq(js["namespace"], "CWAgent", "namespace")
            # every entry is a valid PutMetricAlarm input for botocore's own validator
            import botocore.session
            from botocore.validate import ParamValidator
            model = botocore.session.get_session().get_service_model("cloudwatch")
            shape = model.operation_model("PutMetricAlarm").input_shape
            for a in js["alarms"]:
                report = ParamValidator().validate(a, shape)
                cwtest.check(not report.has_errors(), "%s: %s" % (a["AlarmName"], report.generate_report()))
            cfn = json.loads(case.alarms("plan", "--format", "cloudformation", "--scaling-policies").stdout)
            types = sorted({r["Type"] for r in cfn["Resources"].values()})
            cwtest.eq(types, ["AWS::AutoScaling::ScalingPolicy", "AWS::CloudWatch::Alarm"], "resource types")
            cwtest.eq(len(cfn["Resources"]), len(js["alarms"]) + 2, "resources")
        finally:
            case.close()



def test_throttling_is_retried_and_refusals_are_reported():
    cfg = rc.metrics_config(None, collected())
    del cfg["metrics"]["endpoint_override"]
    with cwtest.Emulator("-q") as emu:
        case = Case(emu, cfg)
        try:
            emu.post("/_emulator/faults", {"operation": "PutMetricAlarm", "mode": "throttle", "count": 2})
            r = case.alarms("apply")
            cwtest.eq(r.returncode, 0, "apply through throttling (stderr %s)" % r.stderr[-500:])
            cwtest.check("4 created" in r.stdout, r.stdout)
            cwtest.eq(len(applied(emu)), 4, "alarms after throttling")
            r = case.alarms("apply", "--mem", "70", "--sns", "arn:aws:sns:us-east-1:123456789012:ops")
            cwtest.eq(r.returncode, 0, "apply with a topic: %s" % r.stderr[-300:])
            emu.post("/_emulator/faults", {"operation": "PutMetricAlarm", "mode": "500", "seconds": 120})
            start = time.time()
            r = case.alarms("apply", "--mem", "60", timeout=60)
            cwtest.check(time.time() - start < 30, "gave up after %.1f s" % (time.time() - start))
            cwtest.eq(r.returncode, 1, "apply while CloudWatch fails (stdout %s)" % r.stdout)
            cwtest.check("PutMetricAlarm cwagent-%s-mem-high: InternalServiceError" % INSTANCE in r.stderr,
                         "message: %s" % r.stderr[-500:])
        finally:
            case.close()


if __name__ == "__main__":
    cwtest.main(globals())
