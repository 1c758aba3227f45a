"""`cwagent alarms plan --format prometheus`: the alert set as Prometheus alerting rules over the
node_exporter-style /metrics names, checked by Debian's promtool (`check rules`, then `test rules`
with series that must and must not fire: a host above and one below each threshold, a target
that is down, a group above the scale-out and below the scale-in threshold)."""
import os
import shutil
import subprocess
import tempfile

import cwtest
import run_common as rc

PROMTOOL = shutil.which("promtool")
CFG = {"agent": {"metrics_collection_interval": 10, "region": "us-east-1"},
       "metrics": {"append_dimensions": {"InstanceId": "${aws:InstanceId}",
                                         "AutoScalingGroupName": "${aws:AutoScalingGroupName}"},
                   "aggregation_dimensions": [["AutoScalingGroupName"]],
                   "metrics_collected": {"mem": {"measurement": ["mem_used_percent"]},
                                         "swap": {"measurement": ["swap_used_percent"]},
                                         "disk": {"measurement": ["used_percent"], "resources": ["/"]}}}}

GiB = 1073741824
TESTS = """
rule_files:
  - rules.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'node_memory_MemTotal_bytes{instance="busy",job="node"}'
        values: '%(g8)d+0x30'
      - series: 'node_memory_MemAvailable_bytes{instance="busy",job="node"}'
        values: '%(g08)d+0x30'
      - series: 'node_memory_MemTotal_bytes{instance="idle",job="node"}'
        values: '%(g8)d+0x30'
      - series: 'node_memory_MemAvailable_bytes{instance="idle",job="node"}'
        values: '%(g7)d+0x30'
      - series: 'node_filesystem_size_bytes{instance="busy",job="node",mountpoint="/",fstype="ext4"}'
        values: '%(g100)d+0x30'
      - series: 'node_filesystem_free_bytes{instance="busy",job="node",mountpoint="/",fstype="ext4"}'
        values: '%(g5)d+0x30'
      - series: 'node_filesystem_avail_bytes{instance="busy",job="node",mountpoint="/",fstype="ext4"}'
        values: '0+0x30'
      - series: 'node_filesystem_size_bytes{instance="idle",job="node",mountpoint="/",fstype="ext4"}'
        values: '%(g100)d+0x30'
      - series: 'node_filesystem_free_bytes{instance="idle",job="node",mountpoint="/",fstype="ext4"}'
        values: '%(g90)d+0x30'
      - series: 'node_filesystem_avail_bytes{instance="idle",job="node",mountpoint="/",fstype="ext4"}'
        values: '%(g85)d+0x30'
      - series: 'node_memory_SwapTotal_bytes{instance="busy",job="node"}'
        values: '%(g1)d+0x30'
      - series: 'node_memory_SwapFree_bytes{instance="busy",job="node"}'
        values: '0+0x30'
      - series: 'node_memory_SwapTotal_bytes{instance="idle",job="node"}'
        values: '0+0x30'
      - series: 'node_memory_SwapFree_bytes{instance="idle",job="node"}'
        values: '0+0x30'
      - series: 'up{instance="down",job="cwagent"}'
        values: '0+0x30'
      - series: 'up{instance="alive",job="cwagent"}'
        values: '1+0x30'
    alert_rule_test:
      - eval_time: 5m
        alertname: MemHigh
        exp_alerts: []
      - eval_time: 20m
        alertname: MemHigh
        exp_alerts:
          - exp_labels: {severity: warning, instance: busy, job: node}
            exp_annotations: {summary: "memory used above 80%% on busy"}
      - eval_time: 20m
        alertname: DiskHigh
        exp_alerts:
          - exp_labels: {severity: warning, mountpoint: "/", instance: busy, job: node, fstype: ext4}
            exp_annotations: {summary: "disk / used above 80%% on busy"}
      - eval_time: 20m
        alertname: SwapHigh
        exp_alerts:
          - exp_labels: {severity: warning, instance: busy, job: node}
            exp_annotations: {summary: "swap used above 50%% on busy"}
      - eval_time: 20m
        alertname: AgentHeartbeat
        exp_alerts:
          - exp_labels: {severity: critical, instance: down, job: cwagent}
            exp_annotations: {summary: "the agent stopped reporting"}
      - eval_time: 20m
        alertname: ScaleOut
        exp_alerts: []
      - eval_time: 20m
        alertname: ScaleIn
        exp_alerts: []
  - interval: 1m
    input_series:
      - series: 'node_memory_MemTotal_bytes{instance="a",job="node"}'
        values: '%(g8)d+0x10'
      - series: 'node_memory_MemAvailable_bytes{instance="a",job="node"}'
        values: '%(g1)d+0x10'
      - series: 'node_memory_MemTotal_bytes{instance="b",job="node"}'
        values: '%(g8)d+0x10'
      - series: 'node_memory_MemAvailable_bytes{instance="b",job="node"}'
        values: '%(g2)d+0x10'
    alert_rule_test:
      - eval_time: 2m
        alertname: ScaleOut
        exp_alerts: []
      - eval_time: 5m
        alertname: ScaleOut
        exp_alerts:
          - exp_labels: {severity: warning}
            exp_annotations: {summary: "group memory >= 70%%: scale out"}
      - eval_time: 5m
        alertname: ScaleIn
        exp_alerts: []
  - interval: 1m
    input_series:
      - series: 'node_memory_MemTotal_bytes{instance="a",job="node"}'
        values: '%(g8)d+0x20'
      - series: 'node_memory_MemAvailable_bytes{instance="a",job="node"}'
        values: '%(g7)d+0x20'
    alert_rule_test:
      - eval_time: 5m
        alertname: ScaleIn
        exp_alerts:
          - exp_labels: {severity: warning}
            exp_annotations: {summary: "group memory <= 30%%: scale in"}
      - eval_time: 15m
        alertname: AgentHeartbeat
        exp_alerts:
          - exp_labels: {severity: critical, job: cwagent}
            exp_annotations: {summary: "the agent stopped reporting"}
"""


def test_promtool_check_and_test_rules():
    if not PROMTOOL:
        raise cwtest.Skip("promtool not installed (Debian package prometheus)")
    tmp = tempfile.mkdtemp(prefix="cwprom-")
    try:
        cfg = rc.write_json(os.path.join(tmp, "cfg.json"), CFG)
        r = subprocess.run([cwtest.CWAGENT, "alarms", "plan", "-c", cfg, "--no-imds", "--instance-id", "i-1",
                            "--asg", "web", "--format", "prometheus"], capture_output=True, text=True, timeout=60)
        cwtest.eq(r.returncode, 0, "plan (stderr %s)" % r.stderr)
        with open(os.path.join(tmp, "rules.yml"), "w") as f:
            f.write(r.stdout)
        for alert in ("MemHigh", "DiskHigh", "SwapHigh", "AgentHeartbeat", "ScaleOut", "ScaleIn"):
            cwtest.check("alert: %s" % alert in r.stdout, "rule %s missing: %s" % (alert, r.stdout))
        chk = subprocess.run([PROMTOOL, "check", "rules", "rules.yml"], cwd=tmp, capture_output=True,
                             text=True, timeout=60)
        cwtest.eq(chk.returncode, 0, "promtool check rules: %s %s" % (chk.stdout, chk.stderr))
        cwtest.check("SUCCESS: 6 rules found" in chk.stdout, chk.stdout)
        g = {"g%d" % n: n * GiB for n in (1, 2, 5, 7, 8, 85, 90, 100)}
        g["g08"] = int(0.8 * GiB)
        with open(os.path.join(tmp, "tests.yml"), "w") as f:
            f.write(TESTS % g)
        t = subprocess.run([PROMTOOL, "test", "rules", "tests.yml"], cwd=tmp, capture_output=True,
                           text=True, timeout=60)
        cwtest.eq(t.returncode, 0, "promtool test rules: %s %s" % (t.stdout[-3000:], t.stderr[-3000:]))
        # the test can fail: a rule file with the threshold moved makes promtool report it
        with open(os.path.join(tmp, "rules.yml"), "w") as f:
            f.write(r.stdout.replace("> 80\n", "> 95\n", 1))
        t = subprocess.run([PROMTOOL, "test", "rules", "tests.yml"], cwd=tmp, capture_output=True,
                           text=True, timeout=60)
        cwtest.check(t.returncode != 0 and "MemHigh" in t.stdout + t.stderr, "a 95% MemHigh passed the tests")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    cwtest.main(globals())
