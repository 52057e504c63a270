"""Helpers for the tests where mppstate makes the databases follow its
decision (manage_replication, doc/replication.md): the logins it needs, a
config that turns it on, and two observers that run beside a test on their
own connections (pymysql, over each server's unix socket as root):

  ReadOnlySampler  samples @@read_only of every running server every 50 ms
                   and records each moment two were writable at once;
  Writer           inserts numbered rows through whichever node the state
                   file names ACTIVE (what a client behind the rw VIP sees),
                   retrying every 10 ms on error, and records each row
                   acknowledged.
"""

import os
import signal
import subprocess
import threading
import time

import pymysql

from daemonlib import add_admin_user
from mariadb_cluster import CLIENT, ClusterError, write_private


def close_quietly(conn):
    """Closes a pymysql connection that may be broken already."""
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass


def fill_connections(cluster, i, spawn, limit=8):
    """Every connection of node i (max_connections set to limit) held by
    sleeping clients of the monitoring login, which has no spare connection
    (no SUPER, no CONNECTION ADMIN): its polls get 1040. Returns the
    clients, for release_clients()."""
    cluster.sql(i, "SET GLOBAL max_connections = %d" % limit)
    clients = []

    def sleeper():
        p = spawn([CLIENT, "--defaults-file=" + cluster.credentials, "--protocol=tcp", "--host=127.0.0.1",
                   "--port=%d" % cluster.node(i).port, "--batch"],
                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p.stdin.write(b"SELECT SLEEP(300);\n")
        p.stdin.flush()
        return p

    def full():
        # Our root queries take the spare connection of SUPER for a moment.
        try:
            cluster.sql_as(i, cluster.credentials, "SELECT 1")
        except ClusterError as e:
            if "1040" in str(e):
                return True
            raise
        clients.append(sleeper())
        return False

    cluster.wait_for(full, timeout=30, interval=0.2, what="db%d full for the monitoring login" % i)
    return clients


def release_clients(clients):
    for p in clients:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def replication_credentials(cluster):
    """The replicas' login (the cluster's 'repl' user) in a 0600 file."""
    path = os.path.join(cluster.dir, "mpp-repl.cnf")
    write_private(path, "[client]\nuser = repl\npassword = %s\n" % cluster.repl_password)
    return path


def managed(cluster, rejoin="manual", interval="300ms", extra=None):
    """The extra config of cluster.config_text for a pool "main" whose
    replication mppstate manages."""
    cfg = {
        "global": {"interval": interval, "admin_credentials": add_admin_user(cluster),
                   "replication_credentials": replication_credentials(cluster)},
        "pool main": {"manage_replication": "yes", "rejoin": rejoin},
    }
    for header, keys in (extra or {}).items():
        cfg.setdefault(header, {}).update(keys)
    return cfg


def until(predicate, timeout, what):
    """Waits until predicate() is true, an exception counting as false (a
    server restarting its replication); returns its value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:
            last = e
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def global_status(cluster, i, name):
    """A numeric SHOW GLOBAL STATUS value of node i."""
    return int(cluster.sql_dicts(i, "SHOW GLOBAL STATUS LIKE '%s'" % name)[0]["Value"])


def connect(cluster, i, timeout=2):
    node = cluster.node(i)
    return pymysql.connect(unix_socket=node.socket, user="root", connect_timeout=timeout,
                           read_timeout=timeout, write_timeout=timeout, autocommit=True)


def source_of(cluster, i):
    """The node name node i replicates from with both threads running, or
    None."""
    s = cluster.slave_status(i)
    if not s or s.get("Slave_IO_Running") != "Yes" or s.get("Slave_SQL_Running") != "Yes":
        return None
    port = int(s["Master_Port"])
    for node in cluster.nodes:
        if node.port == port:
            return node.name
    return "port %d" % port


class Background:
    """Runs self._run(*args) on a daemon thread for each args in `runs`
    between __enter__ and stop() (or the end of a with block); _run loops
    until self._stop is set."""

    def __init__(self, runs=((),)):
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=args, daemon=True) for args in runs]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)


class ReadOnlySampler(Background):
    """Samples @@read_only of every running server every 50 ms on a thread.
    overlaps: (time, [names]) for each sample where more than one server
    was writable."""

    def __init__(self, cluster, period=0.05):
        super().__init__()
        self.cluster = cluster
        self.period = period
        self.overlaps = []
        self.samples = 0
        self._conns = {}

    def stop(self):
        super().stop()
        for c in self._conns.values():
            try:
                c.close()
            except Exception:
                pass

    def _read_only(self, i):
        try:
            c = self._conns.get(i) or connect(self.cluster, i, timeout=1)
            self._conns[i] = c
            with c.cursor() as cur:
                cur.execute("SELECT @@read_only")
                return cur.fetchone()[0]
        except Exception:
            self._conns.pop(i, None)
            return None  # stopped, killed or restarting: not writable to anyone

    def _run(self):
        while not self._stop.is_set():
            writable = [n.name for i, n in enumerate(self.cluster.nodes, 1)
                        if self.cluster.running(i) and self._read_only(i) == 0]
            self.samples += 1
            if len(writable) > 1:
                self.overlaps.append((time.monotonic(), writable))
            self._stop.wait(self.period)


class Writer(Background):
    """Inserts rows (v = 'w<N>') through the node the state file names
    ACTIVE, one at a time, reconnecting every 10 ms on any error. acked:
    the values the server acknowledged, in order."""

    def __init__(self, cluster, state_path, table="mpptest.t", primary=1):
        """primary: a writable node now, where the client's login is made."""
        super().__init__()
        # A client login without SUPER or READ_ONLY ADMIN: read_only stops it,
        # as it stops the applications behind the VIP.
        self.password = "app-" + os.urandom(6).hex()
        cluster.sql(primary, "CREATE USER IF NOT EXISTS 'app'@'localhost' IDENTIFIED BY '%s';\n"
                    "GRANT SELECT, INSERT ON mpptest.* TO 'app'@'localhost'" % self.password)
        cluster.wait_replicated(primary=primary)
        self.cluster = cluster
        self.state_path = state_path
        self.table = table
        self.acked = []
        self.errors = 0

    def _active(self):
        try:
            with open(self.state_path) as f:
                for line in f:
                    words = line.split()
                    # node POOL NAME TYPE STATE ...
                    if len(words) >= 5 and words[0] == "node" and words[4] == "ACTIVE":
                        return words[2]
        except OSError:
            pass
        return None

    def _run(self):
        n = 0
        conn, conn_node = None, None
        while not self._stop.is_set():
            name = self._active()
            index = next((i for i, node in enumerate(self.cluster.nodes, 1) if node.name == name), None)
            try:
                if index is None:
                    raise RuntimeError("no ACTIVE")
                if conn is None or conn_node != index:
                    if conn is not None:
                        conn.close()
                    node = self.cluster.node(index)
                    conn = pymysql.connect(unix_socket=node.socket, user="app", password=self.password,
                                           connect_timeout=1, read_timeout=2, write_timeout=2,
                                           autocommit=True)
                    conn_node = index
                value = "w%d" % (n + 1)
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO %s (v) VALUES (%%s)" % self.table, (value,))
                n += 1
                self.acked.append(value)
                self._stop.wait(0.005)
            except Exception:
                self.errors += 1
                close_quietly(conn)
                conn = None
                self._stop.wait(0.01)


class ReadOnlyHistory(ReadOnlySampler):
    """A ReadOnlySampler that also keeps, for each server, the values of
    @@read_only it went through: changes[name] is the list of values (1 or
    0, and None while it did not answer), each repeated value only once.
    writable_runs(name) counts the separate stretches in which it was
    writable."""

    def __init__(self, cluster, period=0.05):
        super().__init__(cluster, period)
        self.changes = {n.name: [] for n in cluster.nodes}

    def _read_only(self, i):
        value = super()._read_only(i)
        seen = self.changes[self.cluster.node(i).name]
        if not seen or seen[-1] != value:
            seen.append(value)
        return value

    def answered(self, name):
        """The values seen while name answered, each change once."""
        out = []
        for v in self.changes[name]:
            if v is not None and (not out or out[-1] != v):
                out.append(v)
        return out

    def writable_runs(self, name):
        return sum(1 for v in self.answered(name) if v == 0)


class ReadOnlyTimeline(ReadOnlySampler):
    """A ReadOnlySampler that also keeps every sample: history holds
    (time, {name: @@read_only as 0 or 1, or None when it did not answer}),
    so a test can tell when a node was fenced, and what came after."""

    def __init__(self, cluster, period=0.05):
        super().__init__(cluster, period)
        self.history = []

    def _run(self):
        while not self._stop.is_set():
            seen = {n.name: (self._read_only(i) if self.cluster.running(i) else None)
                    for i, n in enumerate(self.cluster.nodes, 1)}
            now = time.monotonic()
            writable = [name for name, v in seen.items() if v == 0]
            self.history.append((now, seen))
            self.samples += 1
            if len(writable) > 1:
                self.overlaps.append((now, writable))
            self._stop.wait(self.period)


class TableLock:
    """LOCK TABLES table WRITE held on node i by a client session of its
    own (started with spawn, as root): the node's SQL thread blocks on the
    next event for that table, and its replication threads keep running.
    release() ends the session on the server."""

    def __init__(self, spawn, cluster, i, table="mpptest.t"):
        self.cluster = cluster
        self.i = i
        self.marker = "table lock %s" % os.urandom(4).hex()
        node = cluster.node(i)
        self.proc = spawn([CLIENT, "--defaults-file=" + node.root_cnf, "--batch"],
                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, text=True)
        self.proc.stdin.write("LOCK TABLES %s WRITE;\nSELECT SLEEP(300), '%s';\n" % (table, self.marker))
        self.proc.stdin.flush()
        # The statements run in order: once the sleep runs, the lock is held.
        cluster.wait_for(lambda: self._session() is not None, timeout=10,
                         what="LOCK TABLES %s WRITE on %s" % (table, node.name))

    def _session(self):
        rows = self.cluster.sql(self.i, "SELECT ID FROM information_schema.PROCESSLIST "
                                        "WHERE ID <> CONNECTION_ID() AND INFO LIKE '%%%s%%'"
                                % self.marker)
        return rows[0][0] if rows else None

    def release(self):
        session = self._session()
        if session is not None:
            try:
                self.cluster.sql(self.i, "KILL %s" % session)
            except Exception:
                pass  # already gone
        self.proc.kill()
        self.proc.wait()
