"""Type=notify readiness: `cwagent run` sends READY=1 to $NOTIFY_SOCKET (as systemd passes it) once
it runs, and still stops cleanly on SIGTERM. Skipped until agent/cmd_run.c calls cw_sd_notify
(the one-line hook the packaging asks for)."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import cwtest
from cwtest import CWAGENT, REPO, check, eq

CONFIG = '{"metrics": {"metrics_collected": {"mem": {"measurement": ["mem_used_percent"]}}}}'


def test_run_sends_ready_to_notify_socket():
    with open(os.path.join(REPO, "agent", "cmd_run.c")) as f:
        if "cw_sd_notify" not in f.read():
            raise cwtest.Skip("agent/cmd_run.c does not call cw_sd_notify(\"READY=1\") yet")
    d = tempfile.mkdtemp(prefix="cwt-notify-")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    proc = None
    try:
        path = os.path.join(d, "notify")
        sock.bind(path)
        sock.settimeout(30)
        conf = os.path.join(d, "cwagent.d")
        os.makedirs(conf)
        with open(os.path.join(conf, "default"), "w") as f:
            f.write(CONFIG)
        with cwtest.Emulator() as emu:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update({"HOME": d, "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
                        "AWS_ACCESS_KEY_ID": cwtest.ACCESS_KEY,
                        "AWS_SECRET_ACCESS_KEY": cwtest.SECRET_KEY,
                        "AWS_ENDPOINT_URL": emu.endpoint, "NOTIFY_SOCKET": path})
            proc = subprocess.Popen([CWAGENT, "run", "-c", conf, "--state-dir",
                                     os.path.join(d, "state")], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            msgs = []
            deadline = time.time() + 30
            while time.time() < deadline and "READY=1" not in "\n".join(msgs):
                try:
                    msgs.append(sock.recv(4096).decode())
                except socket.timeout:
                    break
            check(any("READY=1" in m.split("\n") for m in msgs), "no READY=1, got %r" % msgs)
            check(proc.poll() is None, "the agent exited after READY=1")
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=30)
            eq(rc, 0, "exit status after SIGTERM (stderr %r)" % proc.stderr.read()[-2000:])
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc and proc.stderr:
            proc.stderr.close()
        sock.close()
        shutil.rmtree(d, ignore_errors=True)


cwtest.main(globals())
