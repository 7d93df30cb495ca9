#!/usr/bin/env python3
"""Plays systemd's side of Type=notify for tests/ops/service.test.sh.

    notify_manager.py PORT COMMAND [ARGS...]

Binds an AF_UNIX datagram socket, starts COMMAND with NOTIFY_SOCKET naming
it (and without any HERALD_* variable), and checks what herald's
service_notify module tells it: READY=1 only once GET /health on PORT
answers 200, then, after SIGTERM, STOPPING=1 before herald exits 0. Prints
one line per step; exits 0 when all held, 1 otherwise. Python standard
library only.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def fail(proc, why):
    print(f"notify_manager: {why}")
    if proc.poll() is None:
        proc.kill()
    out = proc.communicate(timeout=10)[0]
    sys.stdout.write(out.decode(errors="replace")[-3000:])
    sys.exit(1)


def receive(sock, proc, want, timeout):
    """The first datagram holding the line want, within timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            continue
        print(f"notify_manager: got {msg!r}")
        if want in msg.split("\n"):
            return msg
    fail(proc, f"no {want} within {timeout} s")


def main():
    port, cmd = sys.argv[1], sys.argv[2:]
    tmp = tempfile.mkdtemp(prefix="herald-notify.")
    path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["NOTIFY_SOCKET"] = path
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        receive(sock, proc, "READY=1", 10)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health",
                                        timeout=5) as res:
                status = res.status
        except OSError as e:
            fail(proc, f"READY=1 came before herald answered /health: {e}")
        if status != 200:
            fail(proc, f"/health answered {status} after READY=1")
        print("notify_manager: /health 200 once READY=1 came")
        proc.send_signal(signal.SIGTERM)
        receive(sock, proc, "STOPPING=1", 5)
        rc = proc.wait(timeout=10)
        if rc != 0:
            fail(proc, f"exit status {rc} after SIGTERM")
        print("notify_manager: exit status 0")
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
        os.unlink(path)
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
