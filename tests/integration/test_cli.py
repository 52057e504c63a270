"""mppstate's command line: --check-config and --once."""

import os
import subprocess

from daemonlib import read_state


def test_check_config_reports_three_errors_with_their_lines(build, workdir):
    bad = os.path.join(workdir, "bad.ini")
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
    r = subprocess.run([build.path("bin/mppstate"), "--check-config", "-c", bad],
                       capture_output=True, text=True)
    assert r.returncode == 2, "exit code"
    lines = r.stderr.splitlines()
    assert lines == [
        bad + ":2: interval: bad duration '10 seconds' (a whole number with ms, s, m or h)",
        bad + ":6: address: bad address '192.0.2.11': expected IPv4:port, [IPv6]:port or fwmark:N",
        bad + ":9: pool: unknown pool 'nope'",
    ], "stderr"


def test_check_config_refuses_a_readable_password(build, cluster, write_config):
    c = cluster(1)
    config = write_config(c)
    os.chmod(c.credentials, 0o644)
    r = subprocess.run([build.path("bin/mppstate"), "--check-config", "-c", config],
                       capture_output=True, text=True)
    assert r.returncode == 2, "exit code"
    assert "password in a file readable by group or others (mode 0644)" in r.stderr, r.stderr
    assert "password = " not in r.stderr, "the password itself is not printed"
    os.chmod(c.credentials, 0o600)
    r = subprocess.run([build.path("bin/mppstate"), "--check-config", "-c", config],
                       capture_output=True, text=True)
    assert r.returncode == 0, "exit code once 0600: " + r.stderr


def test_once_polls_writes_and_exits(build, cluster, write_config, workdir):
    c = cluster()
    config = write_config(c)
    r = subprocess.run([build.path("bin/mppstate"), "--once", "-c", config],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, "exit code: " + r.stderr
    state_dir = os.path.join(workdir, "state")
    s = read_state(os.path.join(state_dir, "state"))
    assert s is not None, "state file written"
    assert s["nodes"]["db1"]["state"] == "ACTIVE", "db1"
    assert s["nodes"]["db2"]["state"] == "STANDBY", "db2"
    assert not os.path.exists(os.path.join(state_dir, "mppstate.sock")), "no socket left"
    with open(c.credentials) as f:
        password = [line.split("=", 1)[1].strip() for line in f if line.startswith("password")][0]
    with open(os.path.join(state_dir, "state")) as f:
        assert password not in f.read(), "no password in the state file"
    assert password not in r.stderr, "no password in the log"
