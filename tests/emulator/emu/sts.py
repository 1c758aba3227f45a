"""STS (awsQuery): AssumeRole (signed), AssumeRoleWithWebIdentity (unsigned), GetCallerIdentity.
Issued credentials are ASIA... keys the emulator then accepts until they expire."""
import datetime
import hashlib

from .errors import ApiError

ACCOUNT = "123456789012"


def error_for(kind, message, protocol):
    if kind == "missing":
        return ApiError("MissingParameter", message, 400)
    return ApiError("ValidationError", message, 400)


def _role_name(arn):
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn


def _role_id(arn):
    return "AROA" + hashlib.sha256(arn.encode()).hexdigest()[:17].upper()


def _credentials(ctx, params, arn):
    lifetime = params.get("DurationSeconds")
    cred = ctx.store.issue("sts", lifetime=lifetime, arn=arn)
    return {"AccessKeyId": cred.key_id, "SecretAccessKey": cred.secret, "SessionToken": cred.token,
            "Expiration": datetime.datetime.fromtimestamp(cred.expires, datetime.timezone.utc)}


def _assumed(params):
    role, sess = params["RoleArn"], params["RoleSessionName"]
    arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (ACCOUNT, _role_name(role), sess)
    return arn, {"AssumedRoleId": "%s:%s" % (_role_id(role), sess), "Arn": arn}


def assume_role(ctx, params):
    arn, user = _assumed(params)
    return {"Credentials": _credentials(ctx, params, arn), "AssumedRoleUser": user, "PackedPolicySize": 0}


def assume_role_with_web_identity(ctx, params):
    if not params.get("WebIdentityToken"):
        raise ApiError("InvalidIdentityToken", "The web identity token is empty.", 400)
    arn, user = _assumed(params)
    return {"Credentials": _credentials(ctx, params, arn), "AssumedRoleUser": user,
            "SubjectFromWebIdentityToken": "system:serviceaccount:cwemu:cwagent",
            "Provider": params.get("ProviderId", "cwemu.oidc.local"), "Audience": "sts.amazonaws.com"}


def get_caller_identity(ctx, params):
    cred = ctx.cred
    if cred.arn:
        return {"UserId": "%s:%s" % (_role_id(cred.arn), cred.arn.rsplit("/", 1)[-1]), "Account": ACCOUNT,
                "Arn": cred.arn}
    return {"UserId": "AIDACWEMULATOR000001", "Account": ACCOUNT, "Arn": "arn:aws:iam::%s:user/cwemu" % ACCOUNT}


OPS = {"AssumeRole": assume_role, "AssumeRoleWithWebIdentity": assume_role_with_web_identity,
       "GetCallerIdentity": get_caller_identity}
UNSIGNED = {"AssumeRoleWithWebIdentity"}
