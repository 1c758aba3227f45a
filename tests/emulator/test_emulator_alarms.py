"""CloudWatch alarms and dashboards, Auto Scaling policies: PutMetricAlarm judged (actions, periods,
combinations), DescribeAlarms evaluating states from stored datums, DeleteAlarms, Put/Get/List/
DeleteDashboards with body checks, PutScalingPolicy/DescribePolicies against botocore's model."""
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emutest  # noqa: E402
from emutest import api_error, cwtest  # noqa: E402

check, eq = cwtest.check, cwtest.eq
NOW = datetime.datetime.now(datetime.timezone.utc)
ALARM = {"AlarmName": "mem", "Namespace": "CWAgent", "MetricName": "mem_used_percent",
         "Dimensions": [{"Name": "InstanceId", "Value": "i-1"}], "Statistic": "Average", "Period": 60,
         "EvaluationPeriods": 2, "DatapointsToAlarm": 1, "Threshold": 80.0,
         "ComparisonOperator": "GreaterThanThreshold"}


def _alarm(**kw):
    a = dict(ALARM)
    a.update(kw)
    return a


def test_alarm_states_from_datums():
    e = emutest.emu()
    cw = e.client("cloudwatch")
    cw.put_metric_alarm(**_alarm(AlarmName="states-mem"))
    eq(cw.describe_alarms(AlarmNames=["states-mem"])["MetricAlarms"][0]["StateValue"], "INSUFFICIENT_DATA",
       "no data")
    cw.put_metric_data(Namespace="CWAgent", MetricData=[
        {"MetricName": "mem_used_percent", "Dimensions": ALARM["Dimensions"], "Value": 50.0, "Timestamp": NOW}])
    eq(cw.describe_alarms(AlarmNames=["states-mem"])["MetricAlarms"][0]["StateValue"], "OK", "below")
    cw.put_metric_data(Namespace="CWAgent", MetricData=[
        {"MetricName": "mem_used_percent", "Dimensions": ALARM["Dimensions"], "Value": 99.0, "Timestamp": NOW}])
    got = cw.describe_alarms(AlarmNames=["states-mem"])["MetricAlarms"][0]
    eq(got["StateValue"], "OK", "the period's average of 50 and 99 is 74.5")
    cw.put_metric_data(Namespace="CWAgent", MetricData=[
        {"MetricName": "mem_used_percent", "Dimensions": ALARM["Dimensions"], "Value": 99.0, "Timestamp": NOW}] * 3)
    eq(cw.describe_alarms(AlarmNames=["states-mem"])["MetricAlarms"][0]["StateValue"], "ALARM", "above")
    eq([a["AlarmName"] for a in cw.describe_alarms(StateValue="ALARM")["MetricAlarms"]], ["states-mem"],
       "StateValue filter")
    # a different dimension set never matches (the INSUFFICIENT_DATA trap)
    cw.put_metric_alarm(**_alarm(AlarmName="states-subset", Dimensions=[]))
    eq(cw.describe_alarms(AlarmNames=["states-subset"])["MetricAlarms"][0]["StateValue"], "INSUFFICIENT_DATA",
       "alarm without the series' dimensions")


def test_put_metric_alarm_is_judged():
    e = emutest.emu()
    cw = e.client("cloudwatch", parameter_validation=False)
    bad = [
        (_alarm(AlarmActions=["arn:aws:sns:eu-west-1:123456789012:t"]), "ValidationError", "Invalid region"),
        (_alarm(AlarmActions=["arn:aws:sqs:us-east-1:123456789012:q"]), "ValidationError", "not a supported"),
        (_alarm(OKActions=["not-an-arn"]), "ValidationError", "Invalid arn"),
        (_alarm(Period=45), "ValidationError", "Period must be"),
        (_alarm(DatapointsToAlarm=3), "ValidationError", "DatapointsToAlarm"),
        (_alarm(ExtendedStatistic="p99"), "ValidationError", "Exactly one of Statistic"),
        (_alarm(AlarmActions=["a"] * 6), "InvalidParameterValue", ""),
        (_alarm(ComparisonOperator="Bigger"), "InvalidParameterValue", ""),
    ]
    for params, code, text in bad:
        err = api_error(lambda: cw.put_metric_alarm(**params))
        eq(err[0], code, "code for %s" % {k: params[k] for k in params if k not in ALARM
                                                                  or params[k] != ALARM[k]})
        check(text in err[2], err[2])
    cw.put_metric_alarm(**_alarm(AlarmName="judged-ok", AlarmActions=["arn:aws:sns:us-east-1:123456789012:t"]))


def test_delete_alarms():
    e = emutest.emu()
    cw = e.client("cloudwatch")
    cw.put_metric_alarm(**_alarm(AlarmName="del-a"))
    cw.put_metric_alarm(**_alarm(AlarmName="del-b"))
    cw.delete_alarms(AlarmNames=["del-a"])
    eq([a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix="del-")["MetricAlarms"]], ["del-b"], "left")
    err = api_error(lambda: cw.delete_alarms(AlarmNames=["del-zzz"]))
    eq(err[0], "ResourceNotFound", "unknown alarm")


def test_dashboards():
    e = emutest.emu()
    cw = e.client("cloudwatch")
    body = '{"widgets":[{"type":"metric","x":0,"y":0,"width":12,"height":6,"properties":' \
           '{"region":"us-east-1","metrics":[["CWAgent","mem_used_percent"]]}}]}'
    cw.put_dashboard(DashboardName="dash-1", DashboardBody=body)
    cw.put_dashboard(DashboardName="dash-2", DashboardBody='{"widgets":[]}')
    eq(cw.get_dashboard(DashboardName="dash-1")["DashboardBody"], body, "body")
    eq([d["DashboardName"] for d in cw.list_dashboards(DashboardNamePrefix="dash-")["DashboardEntries"]],
       ["dash-1", "dash-2"], "list")
    cw.delete_dashboards(DashboardNames=["dash-2"])
    eq([d["DashboardName"] for d in cw.list_dashboards(DashboardNamePrefix="dash-")["DashboardEntries"]],
       ["dash-1"], "after delete")
    for bad, text in (("{", "valid JSON"), ('{"widgets":[{"type":"metric","properties":{}}]}', "region"),
                      ('{"widgets":[{"type":"pie","properties":{}}]}', "type")):
        err = api_error(lambda: cw.put_dashboard(DashboardName="dash-bad", DashboardBody=bad))
        eq(err[0], "InvalidParameterInput", "bad body %s" % bad)
        check(text in err[2], err[2])
    err = api_error(lambda: cw.delete_dashboards(DashboardNames=["nope"]))
    eq(err[0], "ResourceNotFound", "unknown dashboard")


def test_scaling_policies():
    e = emutest.emu()
    asc = e.client("autoscaling")
    p = dict(AutoScalingGroupName="cwemu-asg", PolicyName="out", PolicyType="StepScaling",
             AdjustmentType="ChangeInCapacity", StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}])
    arn = asc.put_scaling_policy(**p)["PolicyARN"]
    eq(asc.put_scaling_policy(**p)["PolicyARN"], arn, "same ARN when put again")
    got = asc.describe_policies(AutoScalingGroupName="cwemu-asg", PolicyNames=["out"])["ScalingPolicies"]
    eq([(g["PolicyName"], g["PolicyType"], g["StepAdjustments"][0]["ScalingAdjustment"]) for g in got],
       [("out", "StepScaling", 1)], "DescribePolicies")
    for bad, text in ((dict(p, AutoScalingGroupName="other"), "not found"),
                      (dict(p, StepAdjustments=[]), "StepAdjustments"),
                      (dict(p, StepAdjustments=[{"ScalingAdjustment": 1}]), "bounds")):
        err = api_error(lambda: e.client("autoscaling", parameter_validation=False).put_scaling_policy(**bad))
        eq(err[0], "ValidationError", "error code")
        check(text in err[2], err[2])


if __name__ == "__main__":
    cwtest.main(globals())
