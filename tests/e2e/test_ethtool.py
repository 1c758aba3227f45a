"""ethtool for real: a veth pair in a network namespace this test creates. cwagent (run inside
the namespace) reads the veth driver's statistics with SIOCETHTOOL; Debian's `ethtool -S`
(when installed) and `ip link` are the judges: same statistic names and values, and
peer_ifindex is the other end's interface index. Also `cwagent config validate` on the
ethtool / nvidia_gpu / system sections."""
import json
import os
import re
import shutil
import subprocess
import tempfile

import cwtest
import run_common as rc
from cwtest import check, eq

IP = shutil.which("ip") or "/usr/sbin/ip"
ETHTOOL = shutil.which("ethtool") or "/usr/sbin/ethtool"


def sh(*args, check_rc=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check_rc and r.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r


class Netns:
    """A namespace with veth pair cwa<->cwb, removed on exit."""

    def __init__(self):
        self.name = "cwt-eth-%d" % os.getpid()

    def __enter__(self):
        if os.geteuid() != 0:
            raise cwtest.Skip("creating a network namespace needs root")
        r = sh(IP, "netns", "add", self.name, check_rc=False)
        if r.returncode != 0:
            raise cwtest.Skip("network namespaces not permitted here: %s" % r.stderr.strip())
        try:
            sh(IP, "-n", self.name, "link", "add", "cwa", "type", "veth", "peer", "name", "cwb")
            sh(IP, "-n", self.name, "link", "set", "cwa", "up")
            sh(IP, "-n", self.name, "link", "set", "cwb", "up")
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        sh(IP, "netns", "del", self.name, check_rc=False)

    def run(self, *args):
        return sh(IP, "netns", "exec", self.name, *args)


def collect(ns, cfg_path):
    r = ns.run(cwtest.CWAGENT, "collect", "--once", "--interval", "0.2", "--json", "-c", cfg_path)
    return json.loads(r.stdout)


def test_veth_statistics_in_a_network_namespace():
    with tempfile.TemporaryDirectory() as tmp, Netns() as ns:
        cfg = rc.write_json(os.path.join(tmp, "c.json"), {"metrics": {"metrics_collected": {
            "ethtool": {"interface_include": ["cw*"], "interface_exclude": ["cwb"]}}}})
        rows = collect(ns, cfg)
        check(rows, "no ethtool datum")
        for row in rows:
            eq(row["unit"], "None", "unit of %s" % row["name"])
            eq(row["dimensions"], {"driver": "veth", "interface": "cwa"}, "dimensions")
            check(row["name"].startswith("ethtool_"), "name %s" % row["name"])
        got = {row["name"][len("ethtool_"):]: row["value"] for row in rows}
        link = ns.run(IP, "-o", "link", "show", "cwb").stdout
        peer = int(link.split(":", 1)[0])
        eq(got.get("peer_ifindex"), peer, "peer_ifindex of cwa = ifindex of cwb")
        if os.path.exists(ETHTOOL):  # Debian's ethtool lists the same statistics
            out = ns.run(ETHTOOL, "-S", "cwa").stdout
            theirs = dict((m.group(1), int(m.group(2))) for m in
                          re.finditer(r"^\s+(\S+): (\d+)$", out, re.M))
            eq(sorted(got), sorted(theirs), "statistic names (ethtool -S)")
            eq(got["peer_ifindex"], theirs["peer_ifindex"], "peer_ifindex (ethtool -S)")
        # metrics_include picks one statistic
        cfg2 = rc.write_json(os.path.join(tmp, "c2.json"), {"metrics": {"metrics_collected": {
            "ethtool": {"metrics_include": ["peer_ifindex"]}}}})
        rows = collect(ns, cfg2)
        eq(sorted((r["name"], r["dimensions"]["interface"]) for r in rows),
           [("ethtool_peer_ifindex", "cwa"), ("ethtool_peer_ifindex", "cwb")],
           "metrics_include, every veth (lo has no ethtool support)")


def test_config_validate_accepts_the_new_sections():
    with tempfile.TemporaryDirectory() as tmp:
        cfg = rc.write_json(os.path.join(tmp, "c.json"), {
            "agent": {"cwagent": {"prometheus": {"listen": "127.0.0.1:9100"}}},
            "metrics": {"metrics_collected": {
                "system": {"measurement": ["load1", "load5", "load15", "n_cpus", "n_users",
                                           "uptime"]},
                "ethtool": {"interface_include": ["eth0"], "metrics_include": [
                    "bw_in_allowance_exceeded", "bw_out_allowance_exceeded",
                    "pps_allowance_exceeded", "conntrack_allowance_exceeded",
                    "linklocal_allowance_exceeded"]},
                "diskio": {"measurement": ["reads", "ebs_total_read_ops", "ebs_volume_queue_length",
                                           "instance_store_total_write_bytes"]},
                "nvidia_gpu": {"measurement": ["utilization_gpu", "memory_used"],
                               "bin_path": "/usr/bin/nvidia-smi"}}}})
        r = cwtest.run_agent("config", "validate", "-c", cfg)
        eq(r.returncode, 0, "validate exit (%s)" % r.stderr)
        eq(r.stderr.strip(), "", "no warning")


if __name__ == "__main__":
    cwtest.main(globals())
