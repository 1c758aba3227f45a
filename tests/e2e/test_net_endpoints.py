"""FIPS and dual-stack endpoints, judged by botocore (Debian's python3-botocore).

For monitoring, logs, sts, ec2 and ssm, in regions of the aws, aws-cn, aws-us-gov, aws-iso and
aws-iso-b partitions, with AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT on and off, the URL
`cwagent config endpoints` prints equals the URL botocore actually sends a request to (captured
in its before-send hook, so botocore's own endpoint rule sets decide; STS with regional
endpoints, as cwagent uses). Where botocore's rules refuse (dual-stack in the ISO partitions)
cwagent refuses too. endpoint_override, AWS_ENDPOINT_URL_<SERVICE> and
agent.use_dualstack_endpoint are checked on top.
"""
import itertools
import json
import os
import tempfile

import cwtest
from cwtest import check, eq

SERVICES = [("monitoring", "cloudwatch", "list_metrics"), ("logs", "logs", "describe_log_groups"),
            ("sts", "sts", "get_caller_identity"), ("ec2", "ec2", "describe_regions"),
            ("ssm", "ssm", "describe_parameters")]
REGIONS = ["us-east-1", "eu-west-3", "ap-southeast-2", "ca-central-1", "cn-north-1",
           "cn-northwest-1", "us-gov-west-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1"]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_ENDPOINT_URL") and not k.startswith("AWS_USE_")
           and k not in ("AWS_REGION", "AWS_DEFAULT_REGION", "CW_CONFIG_CONTENT")}
    env.update(extra)
    return env


class _Sent(Exception):
    pass


def _botocore():
    try:
        import botocore.config
        import botocore.session
    except ImportError:
        raise cwtest.Skip("python3-botocore not installed")
    return botocore


def botocore_urls(fips, dualstack):
    """{(prefix, region): URL or None when botocore's rules refuse}."""
    bc = _botocore()
    os.environ["AWS_STS_REGIONAL_ENDPOINTS"] = "regional"
    session = bc.session.get_session()
    cfg = bc.config.Config(use_fips_endpoint=fips, use_dualstack_endpoint=dualstack,
                           retries={"max_attempts": 0})
    out = {}

    def hook(request, **_):
        raise _Sent(request.url)

    for (prefix, name, op), region in itertools.product(SERVICES, REGIONS):
        client = session.create_client(name, region_name=region, config=cfg,
                                       aws_access_key_id="AKIDEXAMPLE",
                                       aws_secret_access_key="secret")
        client.meta.events.register("before-send", hook)
        try:
            getattr(client, op)()
            raise AssertionError("botocore sent nothing for %s %s" % (name, region))
        except _Sent as sent:
            out[(prefix, region)] = str(sent).split("?")[0].rstrip("/")
        except bc.exceptions.EndpointResolutionError:
            out[(prefix, region)] = None
    return out


def cwagent_urls(region, env, *args):
    r = cwtest.run_agent("config", "endpoints", "--region", region, *args, env=env, timeout=20)
    urls = dict(line.split() for line in r.stdout.splitlines())
    return r, urls


def test_fips_and_dualstack_endpoints_equal_botocores_for_every_partition():
    compared = refused = 0
    for fips, ds in itertools.product((False, True), (False, True)):
        want = botocore_urls(fips, ds)
        env = clean_env(AWS_USE_FIPS_ENDPOINT="true" if fips else "false",
                        AWS_USE_DUALSTACK_ENDPOINT="true" if ds else "false")
        for region in REGIONS:
            r, got = cwagent_urls(region, env)
            for prefix, _, _ in SERVICES:
                w = want[(prefix, region)]
                what = "%s in %s (fips=%s, dualstack=%s)" % (prefix, region, fips, ds)
                if w is None:
                    check(prefix not in got, "%s: botocore refuses, cwagent printed %s"
                          % (what, got.get(prefix)))
                    check("not available in partition" in r.stderr, "%s: no reason given: %r"
                          % (what, r.stderr))
                    eq(r.returncode, 2, "exit status for " + what)
                    refused += 1
                else:
                    eq(got.get(prefix), w, what)
                    compared += 1
    check(compared >= 180 and refused >= 10, "compared %d, refused %d" % (compared, refused))


def test_overrides_win_and_the_config_asks_for_dualstack():
    tmp = tempfile.mkdtemp(prefix="cwep-")
    cfg = os.path.join(tmp, "c.json")
    with open(cfg, "w") as f:
        json.dump({"agent": {"region": "us-gov-east-1", "use_dualstack_endpoint": True},
                   "metrics": {"endpoint_override": "https://vpce-1.monitoring.example/",
                               "metrics_collected": {"mem": {"measurement": ["mem_used_percent"]}}}},
                  f)
    env = clean_env(AWS_USE_FIPS_ENDPOINT="TRUE",
                    AWS_ENDPOINT_URL_STS="https://sts.vpce.example")
    r, got = cwagent_urls("us-gov-east-1", env, "-c", cfg)
    eq(r.returncode, 0, "exit status (%s)" % r.stderr)
    eq(got, {"monitoring": "https://vpce-1.monitoring.example",
             "logs": "https://logs-fips.us-gov-east-1.api.aws",
             "sts": "https://sts.vpce.example",
             "ec2": "https://ec2-fips.us-gov-east-1.api.aws",
             "ssm": "https://ssm-fips.us-gov-east-1.api.aws"}, "endpoints")
    r = cwtest.run_agent("config", "validate", "-c", cfg, env=env)
    check("use_dualstack_endpoint" not in r.stdout + r.stderr,
          "agent.use_dualstack_endpoint is still reported as unsupported: %s" % r.stdout)
    r, _ = cwagent_urls("us-east-1/../evil", clean_env())
    eq(r.returncode, 2, "exit status for a bad region")
    check("is not a region name" in r.stderr, r.stderr)


if __name__ == "__main__":
    cwtest.main(globals())
