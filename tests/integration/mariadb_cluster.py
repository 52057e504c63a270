"""Real MariaDB servers for the integration tests (python3 standard library).

MariaDBCluster starts N servers (default 3) from Debian's mariadbd in a
temporary directory, each on a free port of 127.0.0.1 only: node 1 is the
primary, nodes 2..N replicate from it with GTID (MASTER_USE_GTID=slave_pos)
and run read_only. Nodes are numbered from 1, like the names db1..dbN that
config_text() gives them.

Users: root (unix socket, for the tests' own SQL), "repl" (REPLICATION SLAVE)
and the monitoring user "mpp", which holds only what mppstate needs:

    GRANT SLAVE MONITOR ON *.* TO 'mpp'@'127.0.0.1'    -- MariaDB >= 10.5
    (REPLICATION CLIENT on older MariaDB and on MySQL)

Its login is in a 0600 client option file (cluster.credentials) that
mppstate reads through `credentials =`. Passwords never appear in argv: SQL
goes to the `mariadb` client on its standard input, logins through
--defaults-file.

Servers run in their own process groups and die with the test process
(PR_SET_PDEATHSIG, atexit, SIGTERM/SIGINT handlers), also when a test fails.

    with MariaDBCluster() as c:
        c.sql(1, "INSERT INTO mpptest.t (v) VALUES ('x')")
        c.wait_replicated()
        c.sigstop(1); ...; c.sigcont(1)
"""

import atexit
import ctypes
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
CLIENT = "/usr/bin/mariadb"
# The client errors of a session that was killed under a statement.
SESSION_KILLED = ("ERROR 2006", "ERROR 2013")
# Sessions of a server's extra_port (MariaDBCluster(extra_port=True)).
EXTRA_MAX_CONNECTIONS = 8

_PR_SET_PDEATHSIG = 1
_live_clusters = []


def die_with_parent():
    # Runs in the child between fork and exec: a server must not outlive the
    # test process, even if that one is killed with SIGKILL.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


def _cleanup_all():
    for c in list(_live_clusters):
        c.stop()


def _on_signal(signum, _frame):
    _cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_handlers_installed = False


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_cleanup_all)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(s) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(s, _on_signal)


def _ephemeral_low():
    """The first port the kernel gives outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A TCP port of 127.0.0.1 that nothing uses right now, below the
    ephemeral range: the kernel hands ports of that range to every outgoing
    connection (and the tests make thousands), so a port taken from it may
    be some connection's local port again before the server binds it."""
    low = _ephemeral_low()
    first = min(10000, low // 2)
    for _ in range(1000):
        port = random.randrange(first, low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port of 127.0.0.1 below %d" % low)


def write_private(path, text):
    """Writes text into a new file only its owner can read (mode 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


class ClusterError(Exception):
    pass


class Node:
    """One server: its number, port, files and process."""

    def __init__(self, cluster, index):
        self.index = index
        self.name = "db%d" % index
        self.dir = os.path.join(cluster.dir, self.name)
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "sock")
        self.pidfile = os.path.join(self.dir, "pid")
        self.errlog = os.path.join(self.dir, "error.log")
        self.cnf = os.path.join(self.dir, "server.cnf")
        self.root_cnf = os.path.join(self.dir, "root.cnf")
        self.tmpdir = os.path.join(self.dir, "tmp")
        self.port = 0
        self.extra_port = 0  # MariaDBCluster(extra_port=True): see there
        self.proc = None
        self.stopped = False  # SIGSTOPped

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port


def data_dir_beside(state_dir):
    """The data_dir (pool memory) that goes with state_dir: a directory next
    to it, so that each mppstate keeps its memory to itself and two configs
    on one state_dir (the same daemon) share one. DIR/state -> DIR/data,
    DIR/state-x -> DIR/data-x, DIR/other -> DIR/other-data."""
    parent, name = os.path.split(os.path.normpath(state_dir))
    name = "data" + name[len("state"):] if name.startswith("state") else name + "-data"
    return os.path.join(parent, name)


class MariaDBCluster:
    def __init__(self, n=3, server_options=None, keep=False, tls=None, extra_port=False):
        """n servers; server_options: extra "key=value" lines for every
        server's [mariadbd] section; keep: leave the directory for
        inspection; tls: dict(ca=, cert=, key=) of PEM files that every
        server offers TLS with (ssl-ca, ssl-cert, ssl-key); None: no TLS;
        extra_port: each server also listens on node.extra_port of
        127.0.0.1 (MariaDB's extra_port, EXTRA_MAX_CONNECTIONS sessions of
        its own), where an observer still gets in when max_connections is
        full."""
        if n < 1:
            raise ValueError("a cluster needs at least one server")
        self.n = n
        self.server_options = list(server_options or [])
        self.tls = dict(tls) if tls else None
        self.use_extra_port = extra_port
        self.keep = keep
        self.dir = None
        self.nodes = []
        self.repl_password = secrets.token_hex(12)
        self.mpp_user = "mpp"
        self.mpp_password = secrets.token_hex(12)
        self.credentials = None
        self.startup_seconds = None

    # ----- life cycle -----

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        """Creates the datadirs, starts every server, sets up users and
        replication, and waits until the replicas have caught up."""
        if not os.path.exists(MARIADBD):
            raise ClusterError("%s is missing (Debian package mariadb-server)" % MARIADBD)
        _install_handlers()
        t0 = time.monotonic()
        self.dir = tempfile.mkdtemp(prefix="mpp-mariadb-")
        os.chmod(self.dir, 0o700)
        _live_clusters.append(self)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0

    def _start(self):
        self.nodes = [Node(self, i) for i in range(1, self.n + 1)]
        template = os.path.join(self.dir, "template")
        self._install_db(template)
        for node in self.nodes:
            os.makedirs(node.tmpdir)  # creates node.dir too
            self._pick_ports(node)
            shutil.copytree(template, node.datadir, symlinks=True)
            self._write_server_cnf(node)
            write_private(node.root_cnf, "[client]\nuser = root\nsocket = %s\n" % node.socket)
        shutil.rmtree(template)
        shutil.rmtree(os.path.join(self.dir, "tmp-install"), ignore_errors=True)
        for node in self.nodes:
            self._spawn(node)
        for node in self.nodes:
            self._wait_ready_new_port(node)

        self.credentials = os.path.join(self.dir, "mpp-client.cnf")
        write_private(self.credentials, "[client]\nuser = %s\npassword = %s\n"
                      % (self.mpp_user, self.mpp_password))
        # On the primary only: the binlog carries users and schema to the
        # replicas, which start from the same empty history.
        self.sql(1, ";\n".join([
            "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '%s'" % self.repl_password,
            "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'",
            "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'" % (self.mpp_user, self.mpp_password),
            "GRANT SLAVE MONITOR ON *.* TO '%s'@'127.0.0.1'" % self.mpp_user,
            "CREATE DATABASE mpptest",
            "CREATE TABLE mpptest.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))",
        ]))
        for i in range(2, self.n + 1):
            self.sql(i, self._change_master_sql(1) + ";\nSTART SLAVE")
        self.wait_replicated()

    def _pick_ports(self, node):
        node.port = free_port()
        while self.use_extra_port and node.extra_port in (0, node.port):
            node.extra_port = free_port()

    def _install_db(self, datadir):
        # One install, copied for every server: much faster than N installs.
        # A private tmpdir: a server starting elsewhere on the machine removes
        # every "#sql*" file of its tmpdir, which would be this bootstrap's
        # temporary tables if both used /tmp.
        tmpdir = os.path.join(self.dir, "tmp-install")
        os.makedirs(tmpdir, exist_ok=True)
        args = [INSTALL_DB, "--no-defaults", "--datadir=" + datadir,
                "--auth-root-authentication-method=normal", "--skip-test-db",
                "--skip-name-resolve", "--innodb-log-file-size=8M",
                "--innodb-buffer-pool-size=16M", "--tmpdir=" + tmpdir]
        if os.geteuid() == 0:
            args.append("--user=root")
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           preexec_fn=die_with_parent, timeout=120)
        if r.returncode != 0:
            raise ClusterError("mariadb-install-db failed:\n" + r.stdout.decode(errors="replace"))

    def _write_server_cnf(self, node):
        lines = [
            "[mariadbd]",
            "datadir = " + node.datadir,
            "socket = " + node.socket,
            "pid-file = " + node.pidfile,
            "log-error = " + node.errlog,
            "tmpdir = " + node.tmpdir,  # not /tmp: see _install_db
            "port = %d" % node.port,
            "bind-address = 127.0.0.1",
            "skip-name-resolve",
            "server-id = %d" % node.index,
            "log-bin = binlog",
            "relay-log = relay",
            "log-slave-updates",
            "binlog-format = ROW",
            "gtid-strict-mode = ON",
            "read-only = %s" % ("OFF" if node.index == 1 else "ON"),
            # Small and fast: these servers hold a few rows.
            "innodb-buffer-pool-size = 16M",
            "innodb-log-file-size = 8M",
            "innodb-flush-log-at-trx-commit = 2",
            "sync-binlog = 0",
            "performance-schema = OFF",
            "loose-innodb-fast-shutdown = 1",
        ]
        if os.geteuid() == 0:
            lines.append("user = root")
        if node.extra_port:
            lines += ["extra-port = %d" % node.extra_port,
                      "extra-max-connections = %d" % EXTRA_MAX_CONNECTIONS]
        if self.tls:
            lines += ["ssl-ca = " + self.tls["ca"], "ssl-cert = " + self.tls["cert"],
                      "ssl-key = " + self.tls["key"]]
        lines += self.server_options
        with open(node.cnf, "w") as f:
            f.write("\n".join(l for l in lines if l) + "\n")

    def _change_master_sql(self, source=1):
        return ("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, "
                "MASTER_USER='repl', MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos, "
                "MASTER_CONNECT_RETRY=1" % (self.node(source).port, self.repl_password))

    def _spawn(self, node, options=()):
        log = open(os.path.join(node.dir, "stdout.log"), "ab")
        try:
            node.proc = subprocess.Popen(
                [MARIADBD, "--defaults-file=" + node.cnf] + list(options),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent)
        finally:
            log.close()
        node.stopped = False

    def _wait_ready_new_port(self, node, tries=3):
        # free_port() can race with another program taking the port before
        # the server binds it: then the server exits, and gets another port.
        for attempt in range(tries):
            try:
                return self._wait_ready(node)
            except ClusterError:
                if attempt + 1 == tries or node.proc.poll() is None or \
                        "Address already in use" not in self.error_log(node.index):
                    raise
            self._pick_ports(node)
            self._write_server_cnf(node)
            self._spawn(node)

    def _wait_ready(self, node, timeout=60):
        """Waits until the server sends its greeting on its own Unix socket.
        Not on its TCP port: when another program took that port first, the
        server exits, and a greeting there may come from someone else's
        server. The socket path is this node's alone, and the server opens
        it only after it has bound its TCP port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.proc.poll() is not None:
                raise ClusterError("%s exited with %s:\n%s"
                                   % (node.name, node.proc.returncode, self.error_log(node.index)))
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(1)
                    s.connect(node.socket)
                    if len(s.recv(64)) > 4:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise ClusterError("%s not ready after %ds:\n%s"
                           % (node.name, timeout, self.error_log(node.index)))

    def stop(self):
        """Kills every server and removes the directory. Idempotent."""
        for node in self.nodes:
            self._kill_group(node, signal.SIGKILL)
        if self in _live_clusters:
            _live_clusters.remove(self)
        if self.dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _kill_group(self, node, sig):
        if node.proc is None or node.proc.poll() is not None:
            return
        try:
            os.killpg(node.proc.pid, sig)
        except ProcessLookupError:
            return
        if sig == signal.SIGKILL:
            node.proc.wait()
            node.stopped = False

    # ----- faults -----

    def node(self, i):
        if not 1 <= i <= len(self.nodes):
            raise IndexError("no node %d (nodes are 1..%d)" % (i, len(self.nodes)))
        return self.nodes[i - 1]

    def kill9(self, i):
        """SIGKILL: a crash."""
        self._kill_group(self.node(i), signal.SIGKILL)

    def sigstop(self, i):
        """SIGSTOP: the server hangs with its port open (the kernel still
        completes TCP connects)."""
        node = self.node(i)
        os.killpg(node.proc.pid, signal.SIGSTOP)
        node.stopped = True

    def sigcont(self, i):
        node = self.node(i)
        os.killpg(node.proc.pid, signal.SIGCONT)
        node.stopped = False

    def shutdown(self, i, timeout=30):
        """A clean shutdown (SIGTERM)."""
        node = self.node(i)
        if node.proc is None or node.proc.poll() is not None:
            return
        if node.stopped:
            self.sigcont(i)
        os.killpg(node.proc.pid, signal.SIGTERM)
        try:
            node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_group(node, signal.SIGKILL)

    def restart(self, i, options=()):
        """Starts node i again on the same port and datadir (after kill9 or
        shutdown; a running server is shut down first). A replica resumes
        replicating by itself. options: server options for this start only,
        on the command line, where they override server.cnf (e.g.
        "--read-only=ON": as if my.cnf said so)."""
        node = self.node(i)
        self.shutdown(i)
        self._spawn(node, options)
        self._wait_ready(node)

    def running(self, i):
        node = self.node(i)
        return node.proc is not None and node.proc.poll() is None

    # ----- SQL -----

    def _client(self, i, statement, columns, timeout, defaults_file=None):
        node = self.node(i)
        args = [CLIENT, "--defaults-file=" + (defaults_file or node.root_cnf), "--batch"]
        if defaults_file:
            args += ["--protocol=tcp", "--host=127.0.0.1", "--port=%d" % node.port]
        if not columns:
            args.append("--skip-column-names")
        r = subprocess.run(args, input=(statement + "\n").encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        if r.returncode != 0:
            raise ClusterError("%s: %s" % (node.name, r.stderr.decode(errors="replace").strip()))
        out = r.stdout.decode(errors="replace")
        return [line.split("\t") for line in out.splitlines()]

    def sql(self, i, statement, timeout=30):
        """Runs statement(s) on node i as root; returns the rows of the last
        result as lists of strings (NULL reads "NULL")."""
        return self._client(i, statement, False, timeout)

    def sql_dicts(self, i, statement, timeout=30):
        """Like sql, but rows are dicts keyed by column name."""
        rows = self._client(i, statement, True, timeout)
        if not rows:
            return []
        header = rows[0]
        return [dict(zip(header, r)) for r in rows[1:]]

    def sql_as(self, i, defaults_file, statement, timeout=30):
        """Runs statement on node i over TCP with the login in defaults_file."""
        return self._client(i, statement, False, timeout, defaults_file=defaults_file)

    def sql_repeatable(self, i, statement):
        """Like sql, for statements that do the same when run twice (reads,
        SET GLOBAL, re-pointing a replica): a session killed under them (a
        fence kills every client session, a test's own included) runs them
        again on a new one."""
        return self._repeatable(i, statement, False)

    def _repeatable(self, i, statement, columns):
        for attempt in range(3):
            try:
                return self._client(i, statement, columns, 30)
            except ClusterError as e:
                if attempt == 2 or not any(code in str(e) for code in SESSION_KILLED):
                    raise

    def value(self, i, expression):
        rows = self._repeatable(i, "SELECT " + expression, False)
        return rows[0][0]

    def slave_status(self, i):
        """SHOW SLAVE STATUS of node i as a dict ({} when not a replica)."""
        rows = self._repeatable(i, "SHOW SLAVE STATUS", True)
        if not rows:
            return {}
        return dict(zip(rows[0], rows[1])) if len(rows) > 1 else {}

    def write(self, i=1, value="x"):
        """Inserts a row into mpptest.t on node i."""
        self.sql(i, "INSERT INTO mpptest.t (v) VALUES ('%s')" % value)

    def replicate_from(self, i, source):
        """Points replica i at node source (GTID) and starts replication;
        source = None: node i stops replicating."""
        if source is None:
            self.sql_repeatable(i, "STOP SLAVE;\nRESET SLAVE ALL")
        else:
            self.sql_repeatable(i, "STOP SLAVE;\n" + self._change_master_sql(source) + ";\nSTART SLAVE")

    def wait_replicated(self, timeout=30, nodes=None, primary=1):
        """Waits until every other running node (or those in nodes) has
        applied the whole binlog of primary (node 1 unless told)."""
        pos = self.value(primary, "@@gtid_binlog_pos")
        for i in nodes or range(1, self.n + 1):
            if i == primary or not self.running(i):
                continue
            r = self.sql(i, "SELECT MASTER_GTID_WAIT('%s', %d)" % (pos, timeout), timeout + 10)
            if r[0][0] != "0":
                raise ClusterError("%s did not reach %s: %s"
                                   % (self.node(i).name, pos, self.slave_status(i)))

    def wait_for(self, predicate, timeout=30, what="condition", interval=0.1):
        deadline = time.monotonic() + timeout
        while True:
            last = predicate()
            if last:
                return last
            if time.monotonic() > deadline:
                raise ClusterError("timed out after %ss waiting for %s" % (timeout, what))
            time.sleep(interval)

    def error_log(self, i, lines=30):
        node = self.node(i)
        try:
            with open(node.errlog, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no error log)"

    # ----- mppstate configuration -----

    def config_text(self, extra=None, state_dir=None, credentials=None, data_dir=None):
        """An mppstate.ini for these servers: one pool "main" of db1..dbN in
        order, a rw and a ro virtual server. extra maps a section header
        ("global", "pool main", "node db2", "vs reader", or a new one) to
        keys that are added or replace the defaults. data_dir defaults to
        data_dir_beside(state_dir): never the system's /var/lib/mpp."""
        state_dir = state_dir or os.path.join(self.dir, "state")
        sections = {
            "global": {
                "interval": "1s",
                "connect_timeout": "1s",
                "stale_after": "30s",
                "state_dir": state_dir,
                "data_dir": data_dir or data_dir_beside(state_dir),
                "credentials": credentials or self.credentials,
            },
            "pool main": {"nodes": ", ".join(n.name for n in self.nodes)},
        }
        for n in self.nodes:
            sections["node " + n.name] = {"address": n.address}
        sections["vs writer"] = {"address": "192.0.2.10:3306", "pool": "main", "role": "rw"}
        sections["vs reader"] = {"address": "192.0.2.10:3307", "pool": "main", "role": "ro"}
        for header, keys in (extra or {}).items():
            sections.setdefault(header, {}).update(keys)
        out = []
        for header, keys in sections.items():
            out.append("[%s]" % header)
            out += ["%s = %s" % (k, v) for k, v in keys.items() if v is not None]
            out.append("")
        return "\n".join(out)

    def write_config(self, path, extra=None, **kw):
        with open(path, "w") as f:
            f.write(self.config_text(extra, **kw))
        return path


if __name__ == "__main__":
    # Manual check: start a cluster, print its state and the start-up time.
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with MariaDBCluster(n) as c:
        print("started %d servers in %.1fs in %s" % (n, c.startup_seconds, c.dir))
        for i in range(2, n + 1):
            s = c.slave_status(i)
            print(c.node(i).name, s.get("Slave_IO_Running"), s.get("Slave_SQL_Running"),
                  s.get("Gtid_IO_Pos"))
