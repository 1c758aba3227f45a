"""The EMF listener end to end: AWS's own client library (npm aws-embedded-metrics, environment
EC2) sends to the real cwagent over TCP and over UDP; raw sockets check routing, the default
stream, documents without a group or not JSON (counted, not sent), invalid EMF (sent and
counted), the split of a directive with more than 100 metrics, and EMF lines of a tailed file
(sent with x-amzn-logs-format: json/emf). The emulator extracts the metrics as CloudWatch does,
so ListMetrics is the judge."""
import json
import os
import socket
import subprocess
import time

import cwtest
from test_logs_basic import Agent, TmpDir, messages, wait_for

NODE_DIR = os.path.join(os.environ.get("CW_REPO", "."), "tests", "node", "emf")


def status(state):
    r = subprocess.run([cwtest.CWAGENT, "status", "--json", "--state-dir", state], capture_output=True,
                       text=True, timeout=30)
    cwtest.eq(r.returncode, 0, "status exit (%s)" % r.stderr)
    return json.loads(r.stdout)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def need_node():
    if not shutil_which("node") or not shutil_which("npm"):
        raise cwtest.Skip("node and npm are not installed (Debian packages nodejs, npm)")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "aws-embedded-metrics")):
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise cwtest.Skip("npm ci failed (no registry?): %s" % r.stderr[-300:])


def shutil_which(name):
    import shutil
    return shutil.which(name)


def emf_config(endpoint, address, files=None, stream=None):
    logs = {"endpoint_override": endpoint, "force_flush_interval": 1,
            "metrics_collected": {"emf": {"service_address": address}}}
    if stream:
        logs["log_stream_name"] = stream
    if files:
        logs["logs_collected"] = {"files": {"collect_list": files}}
    return {"agent": {"region": "us-east-1"}, "logs": logs}


def metrics(emu, ns):
    cw = emu.client("cloudwatch")
    return cw.list_metrics(Namespace=ns)["Metrics"]


def node_emit(address, n, tag, group):
    env = dict(os.environ, AWS_EMF_ENVIRONMENT="EC2", AWS_EMF_AGENT_ENDPOINT=address,
               AWS_EMF_LOG_GROUP_NAME=group, AWS_EMF_LOG_STREAM_NAME="node-" + tag,
               AWS_EMF_NAMESPACE="NodeApp", AWS_EMF_SERVICE_NAME="svc", AWS_EMF_SERVICE_TYPE="test")
    r = subprocess.run(["node", "emit.js", str(n), tag], cwd=NODE_DIR, env=env,
                       capture_output=True, text=True, timeout=60)
    cwtest.eq(r.returncode, 0, "node emit.js (%s)" % r.stderr[-500:])


def wait_agent_listening(ag, what):
    wait_for(lambda: "EMF listener on" in ag.output() or not ag.alive(), 15, 0.2, what)
    cwtest.check(ag.alive(), "agent running: %s" % ag.output()[-1000:])


def check_node_events(emu, group, tag, n):
    wait_for(lambda: len(messages(emu, group, "node-" + tag)) >= n, 30, 0.5, "%d %s events" % (n, tag))
    docs = [json.loads(m) for m in messages(emu, group, "node-" + tag)]
    cwtest.eq(sorted(d["RequestId"] for d in docs), sorted("%s-%d" % (tag, i) for i in range(n)),
              "properties of every event")
    streams = emu.get("/_emulator/logs")["groups"][group]["streams"]
    cwtest.check(streams["node-" + tag].get("emfHeader"), "x-amzn-logs-format: json/emf sent")
    got = [m for m in metrics(emu, "NodeApp")
           if {"Name": "Service", "Value": "checkout-" + tag} in m["Dimensions"]]
    cwtest.eq(sorted(set(m["MetricName"] for m in got)), ["Latency", "Orders"], "extracted metrics")


def test_emf_node_library_tcp_and_udp():
    """aws-embedded-metrics over TCP, then over UDP: every event arrives in the group and stream
    the library named, with its properties; the emulator extracts Latency and Orders."""
    need_node()
    for proto in ("tcp", "udp"):
        with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
            port = free_port(socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
            addr = "%s://127.0.0.1:%d" % (proto, port)
            with Agent(tmp, emf_config(emu.endpoint, addr), emu.endpoint) as ag:
                wait_agent_listening(ag, "listener")
                node_emit(addr, 5, proto, "emf-node")
                check_node_events(emu, "emf-node", proto, 5)


def send_tcp(port, data, pieces=1, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        step = max(1, len(data) // pieces)
        for i in range(0, len(data), step):
            s.sendall(data[i:i + step])
            time.sleep(0.01)


def doc(ns, group=None, stream=None, n_metrics=1, **extra):
    aws = {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
        "Namespace": ns, "Dimensions": [["Host"]],
        "Metrics": [{"Name": "m%d" % i, "Unit": "Count"} for i in range(n_metrics)]}]}
    if group:
        aws["LogGroupName"] = group
    if stream:
        aws["LogStreamName"] = stream
    d = {"_aws": aws, "Host": "h1"}
    d.update({"m%d" % i: i for i in range(n_metrics)})
    d.update(extra)
    return d


def test_emf_routing_split_invalid_and_status():
    """Raw TCP lines (split across writes, CRLF): routing by _aws.LogGroupName/LogStreamName,
    the default stream (logs.log_stream_name), the older log_group_name keys; a document with
    no group and one that is not JSON are not sent but counted in `cwagent status`; an invalid
    EMF document is sent and counted; 250 metrics in one directive become 3 documents and every
    metric is extracted."""
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        port = free_port()
        cfg = emf_config(emu.endpoint, "tcp://127.0.0.1:%d" % port, stream="dflt")
        state = os.path.join(tmp, "state")
        with Agent(tmp, cfg, emu.endpoint, state=state) as ag:
            wait_agent_listening(ag, "listener")
            lines = [doc("R", "g-emf", "named"), doc("R", "g-emf"),
                     {"log_group_name": "g-old", "log_stream_name": "old", "x": 1},
                     {"no": "group"}, "not json {", doc("Big", "g-emf", "big", n_metrics=250),
                     {"_aws": {"LogGroupName": "g-emf", "LogStreamName": "bad",
                               "CloudWatchMetrics": [{"Dimensions": [], "Metrics": []}],
                               "Timestamp": int(time.time() * 1000)}}]
            data = b"".join((l if isinstance(l, str) else json.dumps(l)).encode() + b"\r\n"
                            for l in lines)
            send_tcp(port, data, pieces=7)
            wait_for(lambda: len(messages(emu, "g-emf", "big")) >= 3 and messages(emu, "g-emf", "bad")
                     and messages(emu, "g-old", "old"), 20, 0.5, "events")
            time.sleep(1.5)
            st = status(state)["logs"]["emf"]
        cwtest.eq(len(messages(emu, "g-emf", "named")), 1, "routed by _aws names")
        cwtest.eq(len(messages(emu, "g-emf", "dflt")), 1, "default stream")
        cwtest.eq(json.loads(messages(emu, "g-old", "old")[0])["x"], 1, "older keys")
        big = [json.loads(m) for m in messages(emu, "g-emf", "big")]
        cwtest.eq([len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in big], [100, 100, 50],
                  "split 250 metrics")
        names = set(m["MetricName"] for m in metrics(emu, "Big"))
        cwtest.eq(len(names), 250, "every metric of the split document extracted")
        cwtest.eq(st["received"], 7, "documents received")
        cwtest.eq(st["dropped_no_group"], 1, "no group counted")
        cwtest.eq(st["dropped_not_json"], 1, "not JSON counted")
        cwtest.eq(st["invalid_emf"], 1, "invalid EMF counted")
        cwtest.eq(st["split"], 1, "split counted")
        out = ag.output()
        cwtest.check("no log group" in out and "not a JSON object" in out and "Namespace" in out,
                     "reasons logged: %s" % out[-1500:])


def test_emf_lines_in_tailed_file():
    """A tailed file with EMF lines: sent with x-amzn-logs-format: json/emf, metrics extracted."""
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        path = os.path.join(tmp, "app.log")
        with open(path, "w") as f:
            f.write(json.dumps(doc("FileNs", n_metrics=2)) + "\n")
        files = [{"file_path": path, "log_group_name": "g-file", "log_stream_name": "s"}]
        cfg = {"agent": {"region": "us-east-1"},
               "logs": {"endpoint_override": emu.endpoint, "force_flush_interval": 1,
                        "logs_collected": {"files": {"collect_list": files}}}}
        with Agent(tmp, cfg, emu.endpoint):
            wait_for(lambda: messages(emu, "g-file", "s"), 20, 0.5, "the file's event")
        cwtest.check(emu.get("/_emulator/logs")["groups"]["g-file"]["streams"]["s"].get("emfHeader"),
                     "header sent for EMF lines of a file")
        cwtest.eq(sorted(m["MetricName"] for m in metrics(emu, "FileNs")), ["m0", "m1"], "metrics")


def test_emf_outage_nothing_lost():
    """20,000 documents over TCP while CloudWatch Logs answers 503 for 10 s: the listener's
    queue fills, the socket stops being read (back-pressure), and after the outage every
    document arrives, in order, once."""
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        port = free_port()
        cfg = emf_config(emu.endpoint, "tcp://127.0.0.1:%d" % port)
        n = 20000
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_agent_listening(ag, "listener")
            emu.post("/_emulator/faults", {"operation": "PutLogEvents", "mode": "503", "seconds": 10})
            payload = "x" * 600
            data = b"".join(json.dumps(doc("Out", "g-out", "s", seq=i, pad=payload)).encode() + b"\n"
                            for i in range(n))
            t0 = time.monotonic()
            send_tcp(port, data, pieces=50, timeout=90)
            wait_for(lambda: len(messages(emu, "g-out", "s")) >= n, 120, 1, "every document")
            print("EMF outage: %d documents (%.1f MB) sent in %.1f s, delivered after the outage"
                  % (n, len(data) / 1e6, time.monotonic() - t0))
        got = [json.loads(m)["seq"] for m in messages(emu, "g-out", "s")]
        cwtest.eq(got, list(range(n)), "every document once, in order")


def test_emf_sighup_listens_again():
    """SIGHUP rebuilds the pipelines: the listener is closed and opened again on the same port,
    and documents sent after the reload arrive."""
    import signal
    with TmpDir() as tmp, cwtest.Emulator("-q") as emu:
        port = free_port()
        cfg = emf_config(emu.endpoint, "tcp://127.0.0.1:%d" % port)
        with Agent(tmp, cfg, emu.endpoint) as ag:
            wait_agent_listening(ag, "listener")
            send_tcp(port, json.dumps(doc("H", "g-hup", "s", seq=1)).encode() + b"\n")
            wait_for(lambda: messages(emu, "g-hup", "s"), 20, 0.5, "before the reload")
            ag.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "configuration reloaded" in ag.output(), 30, 0.5, "the reload")
            send_tcp(port, json.dumps(doc("H", "g-hup", "s", seq=2)).encode() + b"\n")
            wait_for(lambda: len(messages(emu, "g-hup", "s")) >= 2, 20, 0.5, "after the reload")
            cwtest.check(ag.alive(), "agent running")
        cwtest.eq([json.loads(m)["seq"] for m in messages(emu, "g-hup", "s")], [1, 2], "both documents")


if __name__ == "__main__":
    cwtest.main(globals())
