"""mppstate's command line: --check-config and --once."""

import os
import subprocess

from daemonlib import read_state


def test_check_config_reports_three_errors_with_their_lines(t):
    bad = os.path.join(t.dir, "bad.ini")
    with open(bad, "w") as f:
        f.write("[global]\n"
                "interval = 10 seconds\n"
                "[pool main]\n"
                "nodes = db1\n"
                "[node db1]\n"
                "address = 192.0.2.11\n"
                "[vs writer]\n"
                "address = 192.0.2.10:3306\n"
                "pool = nope\n"
                "role = rw\n")
    r = subprocess.run([t.path("bin/mppstate"), "--check-config", "-c", bad],
                       capture_output=True, text=True)
    t.check_eq(r.returncode, 2, "exit code")
    lines = r.stderr.splitlines()
    t.check_eq(lines, [
        bad + ":2: interval: bad duration '10 seconds' (a whole number with ms, s or m)",
        bad + ":6: address: bad address '192.0.2.11': expected IPv4:port, [IPv6]:port or fwmark:N",
        bad + ":9: pool: unknown pool 'nope'",
    ], "stderr")


def test_check_config_refuses_a_readable_password(t):
    c = t.cluster(1)
    config = t.write_config(c)
    os.chmod(c.credentials, 0o644)
    r = subprocess.run([t.path("bin/mppstate"), "--check-config", "-c", config],
                       capture_output=True, text=True)
    t.check_eq(r.returncode, 2, "exit code")
    t.check("password in a file readable by group or others (mode 0644)" in r.stderr, r.stderr)
    t.check("password = " not in r.stderr, "the password itself is not printed")
    os.chmod(c.credentials, 0o600)
    r = subprocess.run([t.path("bin/mppstate"), "--check-config", "-c", config],
                       capture_output=True, text=True)
    t.check_eq(r.returncode, 0, "exit code once 0600: " + r.stderr)


def test_once_polls_writes_and_exits(t):
    c = t.cluster()
    config = t.write_config(c)
    r = subprocess.run([t.path("bin/mppstate"), "--once", "-c", config],
                       capture_output=True, text=True, timeout=30)
    t.check_eq(r.returncode, 0, "exit code: " + r.stderr)
    s = read_state(os.path.join(t.dir, "state", "state"))
    t.check(s is not None, "state file written")
    t.check_eq(s["nodes"]["db1"]["state"], "ACTIVE", "db1")
    t.check_eq(s["nodes"]["db2"]["state"], "STANDBY", "db2")
    t.check(not os.path.exists(os.path.join(t.dir, "state", "mppstate.sock")), "no socket left")
    with open(c.credentials) as f:
        password = [l.split("=", 1)[1].strip() for l in f if l.startswith("password")][0]
    with open(os.path.join(t.dir, "state", "state")) as f:
        t.check(password not in f.read(), "no password in the state file")
    t.check(password not in r.stderr, "no password in the log")
