"""`cwagent dashboard plan|apply` and the emulator's web page, end to end: the agent runs against
the emulator (metrics and a log file), alarms and a dashboard are applied with signed calls, every
metric line of the stored dashboard names a series the agent published (ListMetrics), the alarm
widget lists the applied alarms, a second apply changes nothing; then headless Chromium opens the
dashboard page: every widget rendered with data, no script error, alarm states as the emulator
evaluates them, and a screenshot whose pixels show the graph lines."""
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import zlib

import cwtest
import run_common as rc

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTANCE = "i-0cwemu0000000001"
LINE_RGB = (0x1f, 0x77, 0xb4)  # the first palette color (tests/emulator/emu/web.py)


def config(log_path):
    return {"agent": {"metrics_collection_interval": 1, "region": "us-east-1"},
            "metrics": {"force_flush_interval": 1,
                        "append_dimensions": {"InstanceId": "${aws:InstanceId}",
                                              "AutoScalingGroupName": "${aws:AutoScalingGroupName}"},
                        "aggregation_dimensions": [["AutoScalingGroupName"]],
                        "metrics_collected": {
                            "cpu": {"measurement": ["usage_active"], "totalcpu": True},
                            "mem": {"measurement": ["mem_used_percent"]},
                            "swap": {"measurement": ["swap_used_percent"]},
                            "disk": {"measurement": ["used_percent"], "resources": ["/"]},
                            "net": {"measurement": ["bytes_sent", "bytes_recv"]},
                            "diskio": {"measurement": ["io_time"]}}},
            "logs": {"force_flush_interval": 1, "logs_collected": {"files": {"collect_list": [
                {"file_path": log_path, "log_group_name": "cwdash-demo", "log_stream_name": "s"}]}}}}


def cli(env, *args):
    return subprocess.run([cwtest.CWAGENT] + list(args), capture_output=True, text=True, timeout=60,
                          env=env, stdin=subprocess.DEVNULL)


def chromium(*args, timeout=90):
    prof = tempfile.mkdtemp(prefix="cwchrome-")
    try:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--user-data-dir=" + prof] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(prof, ignore_errors=True)


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB/RGBA non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    cwtest.eq(data[:8], b"\x89PNG\r\n\x1a\n", "PNG signature")
    pos, idat, w, h, bpp = 8, b"", 0, 0, 3
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            cwtest.check(depth == 8 and ctype in (2, 6) and interlace == 0, "PNG format %r" % ((depth, ctype),))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        ft, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def count_color(path, rgb, tol=12):
    w, h, bpp, rows = png_pixels(path)
    n = 0
    for line in rows:
        for i in range(0, w * bpp, bpp):
            if abs(line[i] - rgb[0]) <= tol and abs(line[i + 1] - rgb[1]) <= tol and abs(line[i + 2] - rgb[2]) <= tol:
                n += 1
    return n


def test_dashboard_apply_and_page():
    tmp = tempfile.mkdtemp(prefix="cwdash-")
    try:
        with cwtest.Emulator("-q") as emu:
            log = os.path.join(tmp, "app.log")
            with open(log, "w") as f:
                f.write("".join("line %d\n" % i for i in range(5)))
            cfg = rc.write_json(os.path.join(tmp, "cfg.json"), config(log))
            env = rc.agent_env(emu)
            ag = rc.Agent([cfg], os.path.join(tmp, "state"), env).start()
            try:
                # graphs get lines once every series has datums in two 10 s periods
                def two_periods():
                    got = rc.metrics(emu)
                    per = {}
                    for m in got:
                        per.setdefault((m["name"], tuple(sorted(d["Value"] for d in m["dimensions"]))),
                                       set()).add(int(m["timestamp"]) // 10)
                    return len(per) > 0 and all(len(b) >= 2 for b in per.values())
                time.sleep(10)
                rc.wait_for(two_periods, 45, step=1, what="datums in two 10 s periods")
                code, _ = ag.stop()
            finally:
                ag.close()
            cwtest.eq(code, 0, "agent exit (stderr %s)" % ag.err()[-500:])
            r = cli(env, "alarms", "apply", "-c", cfg, "--disk", "0")
            cwtest.eq(r.returncode, 0, "alarms apply: %s" % r.stderr[-500:])
            plan = cli(env, "dashboard", "plan", "-c", cfg)
            cwtest.eq(plan.returncode, 0, "dashboard plan: %s" % plan.stderr[-500:])
            cwtest.eq(json.loads(plan.stdout)["DashboardName"], "cwagent-" + INSTANCE, "planned name")
            r = cli(env, "dashboard", "apply", "-c", cfg, "--period", "10")
            cwtest.eq(r.returncode, 0, "dashboard apply: %s" % r.stderr[-500:])
            name = "cwagent-" + INSTANCE
            cwtest.check("created dashboard %s" % name in r.stdout, r.stdout)
            again = cli(env, "dashboard", "apply", "-c", cfg, "--period", "10")
            cwtest.check("unchanged dashboard %s" % name in again.stdout, "second apply: %s" % again.stdout)
            cw = emu.client("cloudwatch")
            body = json.loads(cw.get_dashboard(DashboardName=name)["DashboardBody"])
            published = {(m["MetricName"], frozenset((d["Name"], d["Value"]) for d in m["Dimensions"]))
                         for m in cw.list_metrics(Namespace="CWAgent")["Metrics"]}
            kinds = [w["type"] for w in body["widgets"]]
            for w in body["widgets"]:
                for line in w["properties"].get("metrics", []):
                    parts = [p for p in line if not isinstance(p, dict)]
                    key = (parts[1], frozenset(zip(parts[2::2], parts[3::2])))
                    cwtest.check(key in published, "widget %s line %s is not a published series"
                                 % (w["properties"]["title"], parts))
            arns = sorted(a["AlarmArn"] for a in cw.describe_alarms()["MetricAlarms"])
            alarm_w = [w for w in body["widgets"] if w["type"] == "alarm"]
            cwtest.eq(sorted(alarm_w[0]["properties"]["alarms"]), arns, "alarm widget")
            cwtest.check("log" in kinds and "text" in kinds, "widget kinds %s" % kinds)
            page(emu, name, body, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def page(emu, name, body, tmp):
    if not CHROMIUM:
        raise cwtest.Skip("chromium is not installed (Debian package chromium)")
    url = "%s/dashboards/%s" % (emu.endpoint, name)
    r = chromium("--dump-dom", url)
    cwtest.eq(r.returncode, 0, "chromium --dump-dom: %s" % r.stderr[-800:])
    dom = r.stdout
    cwtest.check('data-rendered="1"' in dom, "the page script did not run: %s" % dom[-500:])
    cwtest.check('data-errors=""' in dom, "script errors: %s" % dom[dom.find("data-errors"):][:300])
    n = len(body["widgets"])
    cwtest.check('data-widgets="%d"' % n in dom, "widgets rendered (want %d)" % n)
    cwtest.check('data-widgets-with-data="%d"' % n in dom,
                 "every widget shows data: %s" % dom[dom.find("data-widgets-with-data"):][:60])
    cwtest.check("class=\"line\"" in dom or "<polyline" in dom, "no graph line in the page")
    cwtest.check("data-state=\"ALARM\"" in dom, "the disk alarm (threshold 0) is not shown in ALARM")
    cwtest.check("line 4" in dom, "log widget without the shipped events")
    index = chromium("--dump-dom", emu.endpoint + "/").stdout
    cwtest.check("/dashboards/%s" % name in index, "index page does not link the dashboard")
    shot = os.path.join(tmp, "dashboard.png")
    r = chromium("--screenshot=" + shot, "--window-size=1400,1200", "--hide-scrollbars", url)
    cwtest.eq(r.returncode, 0, "chromium --screenshot: %s" % r.stderr[-800:])
    pixels = count_color(shot, LINE_RGB)
    keep = os.path.join(os.environ.get("CW_BUILD", tmp), "test-logs", "dashboard.png")
    if os.path.isdir(os.path.dirname(keep)):
        shutil.copy(shot, keep)
    print("  screenshot %s: %d pixels of the first line color" % (keep, pixels))
    cwtest.check(pixels > 200, "the screenshot shows no graph lines (%d pixels of %r)" % (pixels, LINE_RGB))


if __name__ == "__main__":
    cwtest.main(globals())
