"""The configuration's edges, through `mppstate --check-config`: names that
would become paths outside the track tree, durations beyond their bounds,
and passwords in files an option file includes. No server is needed: the
check reads files only."""

import os
import subprocess


def check_config(build, path):
    return subprocess.run([build.path("bin/mppstate"), "--check-config", "-c", path],
                          capture_output=True, text=True, timeout=30)


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def config(workdir, credentials, extra=""):
    return write(os.path.join(workdir, "mppstate.ini"),
                 "[global]\n"
                 "state_dir = %s\n"
                 "credentials = %s\n"
                 "%s"
                 "[pool main]\n"
                 "nodes = db1\n"
                 "[node db1]\n"
                 "address = 127.0.0.1:3306\n" % (os.path.join(workdir, "state"), credentials, extra))


def test_a_vs_named_dotdot_is_refused(build, workdir):
    # Its track file for [node state] would be STATE_DIR/track/../state: the
    # state file itself, overwritten with "1" or "0" every round.
    cnf = write(os.path.join(workdir, "client.cnf"), "[client]\nuser = mpp\n")
    path = write(os.path.join(workdir, "mppstate.ini"),
                 "[global]\n"
                 "state_dir = %s\n"
                 "credentials = %s\n"
                 "[pool main]\n"
                 "nodes = state\n"
                 "[node state]\n"
                 "address = 127.0.0.1:3306\n"
                 "[vs ..]\n"
                 "address = 192.0.2.10:3306\n"
                 "pool = main\n"
                 "role = rw\n" % (os.path.join(workdir, "state"), cnf))
    r = check_config(build, path)
    assert r.returncode == 2, "exit code: " + r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        path + ":8: [vs ..]: a vs name must not begin with '.' (names become file names in state_dir)",
    ]


def test_a_duration_beyond_its_bound_is_refused(build, workdir):
    cnf = write(os.path.join(workdir, "client.cnf"), "[client]\nuser = mpp\n")
    path = config(workdir, cnf, "interval = 40000m\nstale_after = 99999999999999999999s\n")
    r = check_config(build, path)
    assert r.returncode == 2, "exit code: " + r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        path + ":4: interval: must be at most 1h",
        path + ":5: stale_after: must be at most 24h",
    ]


def test_a_password_in_an_included_file_is_checked(build, workdir):
    secret = write(os.path.join(workdir, "secret.cnf"), "[client]\npassword = s3cret\n", 0o644)
    conf_d = os.path.join(workdir, "conf.d")
    os.mkdir(conf_d, 0o700)
    other = write(os.path.join(conf_d, "50-other.cnf"), "[client]\npasswd = t0p\n", 0o640)
    cnf = write(os.path.join(workdir, "client.cnf"),
                "[client]\nuser = mpp\n!include secret.cnf\n!includedir %s\n" % conf_d)
    path = config(workdir, cnf)
    r = check_config(build, path)
    assert r.returncode == 2, "exit code: " + r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        secret + ":2: password in a file readable by group or others (mode 0644): chmod 600 " + secret,
        other + ":2: passwd in a file readable by group or others (mode 0640): chmod 600 " + other,
    ]
    assert "s3cret" not in r.stderr and "t0p" not in r.stderr, "no secret printed"
    os.chmod(secret, 0o600)
    os.chmod(other, 0o600)
    r = check_config(build, path)
    assert r.returncode == 0, "exit code once 0600: " + r.stderr


def test_a_missing_include_is_reported(build, workdir):
    cnf = write(os.path.join(workdir, "client.cnf"), "[client]\n!include gone.cnf\n")
    path = config(workdir, cnf)
    r = check_config(build, path)
    assert r.returncode == 2, "exit code: " + r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        cnf + ":2: !include gone.cnf: cannot read: No such file or directory",
    ]
