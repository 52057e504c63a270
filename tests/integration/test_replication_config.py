"""The configuration of manage_replication, through `mppstate --check-config`,
and `mppctl rejoin` on the wire, against a stand-in for the daemon's socket.
No server is needed: these read files and talk to a local socket only."""

import os
import socket
import subprocess
import threading


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def config(workdir, global_lines, pool_lines):
    """[global] is line 1; global_lines follow the state_dir and credentials
    lines (so they start at line 4), then [pool main]."""
    cnf = write(os.path.join(workdir, "client.cnf"), "[client]\nuser = mpp\n")
    return write(os.path.join(workdir, "mppstate.ini"),
                 "[global]\n"
                 "state_dir = %s\n"
                 "credentials = %s\n"
                 "%s"
                 "[pool main]\n"
                 "nodes = db1, db2\n"
                 "%s"
                 "[node db1]\n"
                 "address = 127.0.0.1:3306\n"
                 "[node db2]\n"
                 "address = 127.0.0.1:3307\n"
                 % (os.path.join(workdir, "state"), cnf, global_lines, pool_lines))


def check_config(build, path):
    return subprocess.run([build.path("bin/mppstate"), "--check-config", "-c", path],
                          capture_output=True, text=True, timeout=30)


def test_replication_keys_are_checked_with_their_lines(build, workdir):
    path = config(workdir, "", "manage_read_only = no\nmanage_replication = yes\nrejoin = auto\n")
    r = check_config(build, path)
    assert r.returncode == 2, "exit code: " + r.stderr
    assert r.stderr.splitlines() == [
        path + ":6: manage_read_only = no contradicts manage_replication = yes, which needs fencing",
        path + ":7: manage_replication = yes needs [global] replication_credentials (the login replicas use)",
    ]
    path = config(workdir, "", "rejoin = auto\n")
    r = check_config(build, path)
    assert r.returncode == 2, "exit code: " + r.stderr
    assert r.stderr.splitlines() == [path + ":6: rejoin = auto needs manage_replication = yes"]


def test_replication_credentials_follow_the_password_file_rule(build, workdir):
    secret = "Repl-Secret-7a1f"
    repl = write(os.path.join(workdir, "replication.cnf"),
                 "[client]\nuser = repl\npassword = %s\n" % secret, 0o644)
    path = config(workdir, "replication_credentials = %s\n" % repl,
                  "manage_replication = yes\nrejoin = auto\n")
    r = check_config(build, path)
    assert r.returncode == 2, "exit code: " + r.stderr
    assert r.stderr.splitlines() == [
        repl + ":3: password in a file readable by group or others (mode 0644): chmod 600 " + repl]
    assert secret not in r.stderr, "the password itself is not printed"
    os.chmod(repl, 0o600)
    r = check_config(build, path)
    assert r.returncode == 0, "exit code once 0600: " + r.stderr


class FakeDaemon:
    """Listens at the control socket, reads one request line per client and
    answers it with reply."""

    def __init__(self, path, reply):
        self.requests = []
        self.reply = reply
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(10)
        self.thread = threading.Thread(target=self.serve_one, daemon=True)
        self.thread.start()

    def serve_one(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(10)
            line = b""
            while not line.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                line += chunk
            self.requests.append(line.decode())
            conn.sendall(self.reply.encode())

    def close(self):
        self.thread.join(timeout=10)
        self.sock.close()


def test_mppctl_rejoin_sends_the_request_and_reports_the_answer(build, workdir):
    path = config(workdir, "", "")
    state_dir = os.path.join(workdir, "state")
    os.mkdir(state_dir)
    sock = os.path.join(state_dir, "mppstate.sock")
    mppctl = build.path("bin/mppctl")

    daemon = FakeDaemon(sock, "ok\ndb1 replicates from db2\n")
    r = subprocess.run([mppctl, "-c", path, "rejoin", "db1"], capture_output=True, text=True, timeout=30)
    daemon.close()
    assert daemon.requests == ["rejoin db1\n"]
    assert (r.returncode, r.stdout) == (0, "db1 replicates from db2\n"), r.stderr

    os.unlink(sock)
    daemon = FakeDaemon(sock, "error\ndb1 has diverged: 0-1-57 is not in db2's binlog\n")
    r = subprocess.run([mppctl, "-c", path, "rejoin", "db1"], capture_output=True, text=True, timeout=30)
    daemon.close()
    assert (r.returncode, r.stderr) == (1, "db1 has diverged: 0-1-57 is not in db2's binlog\n")

    # Refused before anything is sent: an unknown node, a missing one.
    r = subprocess.run([mppctl, "-c", path, "rejoin", "db9"], capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stderr) == (1, "mppctl: unknown node 'db9' (not in %s)\n" % path)
    r = subprocess.run([mppctl, "-c", path, "rejoin"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert "  rejoin NODE " in r.stderr, "the usage lists rejoin"
