"""Running the built programs against a test's servers, and reading what
they write: poll_probe's JSON, the state file (doc/state-file.md) and
`mppctl status --json`. Plain helpers, usable outside pytest too (the
fixtures in conftest.py build on them)."""

import json
import os
import signal
import subprocess
import time

from mariadb_cluster import CLIENT, write_private


def _ignore(_line):
    pass


def poll_probe(program, config, nodes=(), deadline_ms=None, direct=False, timeout=60,
               log=_ignore, rounds=None):
    """Runs the test program poll_probe once on config; returns {node name:
    result dict} plus the key "_elapsed_ms". With rounds: runs that many
    rounds and returns poll_probe's summary (outcomes, fds, RSS)."""
    args = [program, "-c", config]
    for n in nodes:
        args += ["--node", n]
    if deadline_ms is not None:
        args += ["--deadline-ms", str(deadline_ms)]
    if direct:
        args.append("--direct")
    if rounds is not None:
        args += ["--rounds", str(rounds)]
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("poll_probe exited %d: %s" % (r.returncode, r.stderr.strip()))
    doc = json.loads(r.stdout)
    if rounds is not None:
        log("poll_probe: " + r.stdout.strip())
        return doc
    out = {n["name"]: n for n in doc["nodes"]}
    out["_elapsed_ms"] = doc["elapsed_ms"]
    log("poll_probe: " + r.stdout.strip())
    return out


def read_state(path):
    """Parses a state file; returns None if it is missing or incomplete."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    if not text.endswith("\nend\n"):
        return None
    state = {"nodes": {}, "dests": {}, "pools": {}}
    for line in text.splitlines():
        f = line.split(" ")
        if f[0] in ("pid", "seq", "time_ms", "interval_ms", "stale_after_ms"):
            state[f[0]] = int(f[1])
        elif f[0] == "pool":
            state["pools"][f[1]] = {"flag": f[2], "note": " ".join(f[3:])}
        elif f[0] == "node":
            state["nodes"][f[2]] = {"pool": f[1], "type": f[3], "state": f[4], "status": f[5],
                                    "address": f[6], "lag": f[7], "reason": " ".join(f[9:])}
        elif f[0] == "dest":
            state["dests"][(f[1], f[2])] = {"up": f[4] == "up", "weight": int(f[5])}
    return state


class Mppstate:
    """One mppstate process watching a cluster, with its own config, state
    directory, data directory (the pool memory) and log in dir (created).
    bindir holds mppstate and mppctl; spawn starts the process
    (subprocess.Popen unless told); log receives a line per mppctl call."""

    def __init__(self, cluster, dir, bindir, extra=None, spawn=None, log=_ignore):
        self.cluster = cluster
        self.dir = dir
        os.makedirs(self.dir, exist_ok=True)
        self.mppstate_bin = os.path.join(bindir, "mppstate")
        self.mppctl_bin = os.path.join(bindir, "mppctl")
        self._spawn = spawn or subprocess.Popen
        self._log = log
        self.state_dir = os.path.join(self.dir, "state")
        self.data_dir = os.path.join(self.dir, "data")
        self.config = cluster.write_config(os.path.join(self.dir, "mppstate.ini"), extra,
                                           state_dir=self.state_dir, data_dir=self.data_dir)
        self.state_path = os.path.join(self.state_dir, "state")
        self.log_path = os.path.join(self.dir, "mppstate.log")
        self.proc = None
        self.log_file = None

    def start(self):
        """Starts mppstate (again); its output goes to log_path."""
        if self.log_file is None:
            self.log_file = open(self.log_path, "a")
        self.proc = self._spawn([self.mppstate_bin, "-c", self.config],
                                stdout=self.log_file, stderr=subprocess.STDOUT)
        return self

    def close(self):
        """Kills the process if it still runs; closes the log."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None

    def stop(self):
        """SIGTERM, then waits; returns the exit code."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        return self.proc.returncode

    def log(self):
        """Everything mppstate has logged so far."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def state(self):
        return read_state(self.state_path)

    def wait(self, predicate, timeout=30, what="state"):
        """Waits until predicate(state) is true; returns that state."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError("mppstate exited with %s:\n%s" % (self.proc.returncode,
                                                                     self.log()[-2000:]))
            last = self.state()
            if last is not None and predicate(last):
                return last
            time.sleep(0.02)
        raise AssertionError("timed out after %ss waiting for %s; last state: %s\nlog:\n%s"
                             % (timeout, what, last and last["nodes"], self.log()[-2000:]))

    def wait_active(self, node, timeout=30):
        return self.wait(lambda s: s["nodes"][node]["state"] == "ACTIVE", timeout,
                         "%s ACTIVE" % node)

    def mppctl(self, *args, check=True):
        """Runs mppctl with this config; fails unless it exits 0 (check=False:
        returns the result whatever the exit code)."""
        r = subprocess.run([self.mppctl_bin, "-c", self.config] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        self._log("mppctl %s -> %d: %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        if check and r.returncode != 0:
            raise AssertionError("mppctl %s exited %d: %s" % (" ".join(args), r.returncode,
                                                              r.stderr.strip()))
        return r

    def status_json(self):
        return json.loads(self.mppctl("status", "--json").stdout)


def actives(state):
    return sorted(n for n, v in state["nodes"].items() if v["state"] == "ACTIVE")


def add_admin_user(cluster):
    """A login that may fence (read_only, KILL) and re-point replicas (STOP,
    CHANGE MASTER, START, RESET SLAVE ALL), in a 0600 option file. MariaDB
    10.11 needs no SUPER for either: READ_ONLY ADMIN, CONNECTION ADMIN,
    PROCESS, SLAVE MONITOR, REPLICATION SLAVE ADMIN and RELOAD (RESET SLAVE)
    are enough."""
    password = "fence-" + os.urandom(6).hex()
    for stmt in ("CREATE USER 'mppadmin'@'127.0.0.1' IDENTIFIED BY '%s'" % password,
                 "GRANT SUPER, READ_ONLY ADMIN, CONNECTION ADMIN, PROCESS, SLAVE MONITOR, "
                 "REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, RELOAD ON *.* TO 'mppadmin'@'127.0.0.1'"):
        cluster.sql(1, stmt)
    cluster.wait_replicated()
    path = os.path.join(cluster.dir, "mpp-admin.cnf")
    write_private(path, "[client]\nuser = mppadmin\npassword = %s\n" % password)
    return path


def hold_global_read_lock(spawn, cluster, i):
    """Blocks node i's SQL thread (it keeps running) until the program that
    spawn starts is killed (with the fixture spawn: when the test ends)."""
    node = cluster.node(i)
    p = spawn([CLIENT, "--defaults-file=" + node.root_cnf, "--batch"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                text=True)
    p.stdin.write("FLUSH TABLES WITH READ LOCK;\nSELECT SLEEP(300);\n")
    p.stdin.flush()
    time.sleep(0.5)  # the lock is taken at once; the test checks its effect
    return p
