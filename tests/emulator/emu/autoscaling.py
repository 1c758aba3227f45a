"""Auto Scaling (signing name autoscaling, awsQuery 2011-01-01, model from botocore's bundled data):
PutScalingPolicy and DescribePolicies for the emulated instance's group (config `asg_name`, plus
`asg_names`)."""
from .errors import ApiError

ARN = "arn:aws:autoscaling:%s:%s:scalingPolicy:%s:autoScalingGroupName/%s:policyName/%s"


def error_for(kind, message, protocol):
    if kind == "missing":
        return ApiError("ValidationError", message, 400)
    return ApiError("ValidationError", message, 400)


def _groups(store):
    with store.lock:
        names = set(store.config.get("asg_names") or [])
        if store.config["asg_name"]:
            names.add(store.config["asg_name"])
    return names


def _check_policy(params):
    ptype = params.get("PolicyType", "SimpleScaling")
    steps = params.get("StepAdjustments") or []
    if ptype == "StepScaling":
        if not steps:
            raise ApiError("ValidationError", "StepAdjustments must be specified for step scaling policies", 400)
        if "ScalingAdjustment" in params:
            raise ApiError("ValidationError", "ScalingAdjustment is not supported for policy type StepScaling", 400)
        for i, s in enumerate(steps, 1):
            if "MetricIntervalLowerBound" not in s and "MetricIntervalUpperBound" not in s:
                raise ApiError("ValidationError", "StepAdjustments.member.%d: at least one of the bounds "
                               "must be specified" % i, 400)
    elif ptype == "SimpleScaling" and "ScalingAdjustment" not in params:
        raise ApiError("ValidationError", "ScalingAdjustment is required for simple scaling policies", 400)
    elif ptype == "TargetTrackingScaling" and "TargetTrackingConfiguration" not in params:
        raise ApiError("ValidationError", "TargetTrackingConfiguration is required", 400)


def put_scaling_policy(ctx, params):
    group = params["AutoScalingGroupName"]
    if group not in _groups(ctx.store):
        raise ApiError("ValidationError", "AutoScalingGroup name not found - null", 400)
    _check_policy(params)
    key = (group, params["PolicyName"])
    with ctx.store.lock:
        old = ctx.store.policies.get(key)
        arn = old["PolicyARN"] if old else ARN % (ctx.store.region, "123456789012", ctx.rid, group,
                                                  params["PolicyName"])
        policy = dict(params)
        policy.setdefault("PolicyType", "SimpleScaling")
        policy.update({"PolicyARN": arn, "Alarms": [], "Enabled": params.get("Enabled", True)})
        ctx.store.policies[key] = policy
    return {"PolicyARN": arn, "Alarms": []}


def describe_policies(ctx, params):
    group, names, types = params.get("AutoScalingGroupName"), params.get("PolicyNames"), params.get("PolicyTypes")
    with ctx.store.lock:
        out = [dict(p) for (g, n), p in sorted(ctx.store.policies.items())
               if (group is None or g == group) and (not names or n in names)
               and (not types or p["PolicyType"] in types)]
        for p in out:
            p["Alarms"] = [{"AlarmName": a["AlarmName"], "AlarmARN": a["AlarmArn"]}
                           for a in ctx.store.alarms.values() if p["PolicyARN"] in a.get("AlarmActions", [])]
    return {"ScalingPolicies": out}


OPS = {"PutScalingPolicy": put_scaling_policy, "DescribePolicies": describe_policies}
