"""What the campaign watches beside the faults, each on threads of its own:

  ReadOnlyWatch  @@read_only of every server, sampled every 50 ms on one
                 thread per server (a hung server must not blind the others);
                 overlaps() gives each stretch of time in which two or more
                 were writable;
  StateWatch     the state file every 20 ms: each moment more than one rw
                 dest was up, each change of ACTIVE, and each time mppstate
                 exited when the campaign had not stopped it;
  LivenessWatch  every 100 ms, whether the pool has a writable ACTIVE (the
                 state file's ACTIVE answers @@read_only = 0) and which
                 servers are healthy and eligible by ground truth; gaps
                 holds each stretch without a writable ACTIVE, violations
                 each one in which some server stayed eligible for more
                 than 10 s.

The server-side observers log in on each server's extra_port (a login of
their own, `watch`), so that a server whose max_connections clients have
filled still answers them, and they never take the one connection beyond
max_connections that mppstate's admin login (CONNECTION ADMIN) needs then.
"""

import time

import pymysql

from daemonlib import read_state
from replication_lib import Background, close_quietly

ER_NO_SUCH_TABLE = 1146
# The replica's I/O thread was refused its source's binlog (1236): the
# histories diverged, or the source lost what the replica asks for.
ER_MASTER_FATAL_ERROR_READING_BINLOG = 1236


def connect_watch(cluster, i, login, timeout):
    """A session on node i's extra_port with login (user, password)."""
    node = cluster.node(i)
    return pymysql.connect(host="127.0.0.1", port=node.extra_port, user=login[0], password=login[1],
                           connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout,
                           autocommit=True)


class ReadOnlyWatch(Background):
    """changes[name]: (time, value) each time node name's @@read_only, as 0
    or 1, or None while it does not answer (stopped, hung, restarting),
    changed. A hung server answers nobody, so None counts as not writable."""

    def __init__(self, cluster, watch_login, period=0.05, timeout=0.5):
        super().__init__([(i,) for i in range(1, len(cluster.nodes) + 1)])
        self.cluster = cluster
        self.login = watch_login
        self.period = period
        self.timeout = timeout
        self.changes = {n.name: [] for n in cluster.nodes}
        self.samples = 0

    def stop(self):
        super().stop()
        self.stopped_at = time.monotonic()

    def _connect(self, i):
        return connect_watch(self.cluster, i, self.login, self.timeout)

    def _run(self, i):
        name = self.cluster.node(i).name
        conn = None
        while not self._stop.is_set():
            value = None
            node = self.cluster.node(i)
            if self.cluster.running(i) and not node.stopped:
                try:
                    conn = conn or self._connect(i)
                    with conn.cursor() as cur:
                        cur.execute("SELECT @@read_only")
                        value = int(cur.fetchone()[0])
                except Exception:
                    close_quietly(conn)
                    conn = None
            # Stamped when the answer came: the value held then.
            seen = self.changes[name]
            if not seen or seen[-1][1] != value:
                seen.append((time.monotonic(), value))
            self.samples += 1
            self._stop.wait(self.period)
        if conn is not None:
            conn.close()

    def overlaps(self):
        """[(start, seconds, [names])]: each stretch in which more than one
        server was writable."""
        events = sorted((t, name, v) for name, seen in self.changes.items() for t, v in seen)
        now = {name: None for name in self.changes}
        out = []
        start = None
        for t, name, v in events:
            now[name] = v
            writable = sorted(n for n, x in now.items() if x == 0)
            if len(writable) > 1 and start is None:
                start = (t, writable)
            elif len(writable) <= 1 and start is not None:
                out.append((start[0], t - start[0], start[1]))
                start = None
        if start is not None:
            out.append((start[0], self.stopped_at - start[0], start[1]))
        return out


class StateWatch(Background):
    """Reads m's state file every 20 ms. two_writers: (time, [dests]) each
    time more than one dest of the rw virtual server `vs` was up; actives:
    (time, [ACTIVE nodes]) at each change; deaths: (time, exit code) each
    time mppstate had exited while expect_running was set."""

    def __init__(self, m, vs="writer", period=0.02):
        super().__init__()
        self.m = m
        self.vs = vs
        self.period = period
        self.two_writers = []
        self.actives = []
        self.deaths = []
        self.expect_running = True

    def _run(self):
        dead = None
        while not self._stop.is_set():
            proc = self.m.proc
            if self.expect_running and proc is not None and proc.poll() is not None:
                if dead is not proc:  # once per process
                    self.deaths.append((time.monotonic(), proc.returncode))
                    dead = proc
            s = read_state(self.m.state_path)
            if s is not None:
                up = sorted(d for (vs, d), v in s["dests"].items() if vs == self.vs and v["up"])
                if len(up) > 1:
                    self.two_writers.append((time.monotonic(), up))
                active = sorted(n for n, v in s["nodes"].items() if v["state"] == "ACTIVE")
                if not self.actives or self.actives[-1][1] != active:
                    self.actives.append((time.monotonic(), active))
            self._stop.wait(self.period)


def parse_gtids(text):
    """{(domain, server_id): seq_no} of a GTID list ("0-1-10,0-2-12")."""
    out = {}
    for g in (text or "").split(","):
        parts = g.strip().split("-")
        if len(parts) == 3:
            d, s, n = (int(x) for x in parts)
            out[(d, s)] = max(n, out.get((d, s), 0))
    return out


def has_all(state, pos):
    """Whether a server whose gtid_binlog_state is `state` holds every
    transaction up to each GTID of `pos` (another's gtid_binlog_pos): with
    gtid_strict_mode, sequence numbers grow along one history."""
    return all(state.get(k, -1) >= n for k, n in pos.items())


class LivenessWatch(Background):
    """The liveness invariant: "whenever some node is healthy and eligible,
    the pool has a writable ACTIVE within `bound` seconds".

    One thread per server reads, on its extra_port, @@read_only, the GTIDs,
    SHOW SLAVE STATUS and the check query's table (`check_query`); a judge
    thread, every `period`, reads the state file's ACTIVE of `pool` and
    decides from those readings (ground truth, not mppstate's word):

      writable ACTIVE  the state file names one ACTIVE, and that server
                       answered @@read_only = 0 within the last second;
      eligible         a server that runs, is not SIGSTOPped, answered
                       within the last second, whose check query succeeds
                       and whose data did not diverge, and that is either
                       a replica whose SQL thread runs without error, whose
                       I/O thread was not refused its source's binlog
                       (1236), and which has applied all it received, or
                       not a replica at all and holds every transaction any
                       server was last seen with (the writer), while its
                       own last one is on some other server too (no tail
                       of its own: a demoted ex-writer awaiting its rewind
                       has one); never one of `never_promoted` (promote =
                       no).

    gaps: [(start, end, eligible_seen)] each stretch without a writable
    ACTIVE (end None while open). violations: one dict per stretch in which
    some server stayed eligible (not necessarily the same one) while no
    writable ACTIVE existed for more than `bound` seconds, with what was
    seen when the bound passed."""

    def __init__(self, cluster, state_path, watch_login, check_query, pool="main",
                 period=0.1, timeout=0.5, bound=10.0, never_promoted=()):
        n = len(cluster.nodes)
        super().__init__([(i,) for i in range(1, n + 1)] + [(0,)])
        self.cluster = cluster
        self.state_path = state_path
        self.login = watch_login
        self.check_query = check_query
        self.pool = pool
        self.period = period
        self.timeout = timeout
        self.bound = bound
        self.never_promoted = set(never_promoted)
        self.fresh = max(1.0, 2 * timeout)
        self.views = {i: (0.0, None) for i in range(1, n + 1)}  # (when, reading or None)
        self.last = {}  # i: its last reading, kept while i does not answer
        self.gaps = []
        self.violations = []
        self.samples = 0
        self.stopped_at = None

    def stop(self):
        super().stop()
        self.stopped_at = time.monotonic()

    # ----- one thread per server -----

    def _read(self, conn):
        with conn.cursor() as cur:
            cur.execute("SELECT @@read_only, @@gtid_binlog_state, @@gtid_binlog_pos")
            read_only, state, pos = cur.fetchone()
            try:
                cur.execute(self.check_query)
                cur.fetchall()
                check = True
            except pymysql.err.ProgrammingError as e:
                if e.args[0] != ER_NO_SUCH_TABLE:
                    raise
                check = False
            cur.execute("SHOW SLAVE STATUS")
            row = cur.fetchone()
            slave = dict(zip([d[0] for d in cur.description], row)) if row else {}
        return {"read_only": int(read_only), "state": parse_gtids(state), "pos": parse_gtids(pos),
                "check": check, "slave": slave}

    def _run(self, i):
        if i == 0:
            return self._judge()
        conn = None
        while not self._stop.is_set():
            reading = None
            node = self.cluster.node(i)
            for _ in range(2):  # once more on a new session: a fence kills sessions
                if not self.cluster.running(i) or node.stopped:
                    break
                try:
                    conn = conn or connect_watch(self.cluster, i, self.login, self.timeout)
                    reading = self._read(conn)
                    break
                except Exception:
                    close_quietly(conn)
                    conn = None
            if reading is not None:
                self.last[i] = reading
            self.views[i] = (time.monotonic(), reading)
            self._stop.wait(self.period)
        if conn is not None:
            conn.close()

    # ----- the judge -----

    def _replica_ok(self, slave):
        def errno(key):
            try:
                return int(slave.get(key) or 0)
            except ValueError:
                return -1
        return (slave.get("Slave_SQL_Running") == "Yes" and errno("Last_SQL_Errno") == 0
                and errno("Last_IO_Errno") != ER_MASTER_FATAL_ERROR_READING_BINLOG
                and slave.get("Master_Log_File") == slave.get("Relay_Master_Log_File")
                and slave.get("Read_Master_Log_Pos") == slave.get("Exec_Master_Log_Pos"))

    def _not_replica(self, slave):
        return not slave or (slave.get("Slave_IO_Running") == "No" and slave.get("Slave_SQL_Running") == "No"
                             and str(slave.get("Last_SQL_Errno")) == "0" and str(slave.get("Last_IO_Errno")) == "0")

    def eligible(self, readings):
        """The names of the servers eligible by ground truth, given
        {i: reading} of those that answered lately."""
        out = []
        for i, r in sorted(readings.items()):
            if not r["check"]:
                continue
            others = [o for j, o in list(self.last.items()) if j != i]
            holds_all = all(has_all(r["state"], o["pos"]) for o in others)
            shared = any(has_all(o["state"], r["pos"]) for o in others)
            if self._not_replica(r["slave"]):
                ok = holds_all and shared
            else:
                # Diverged unless it holds everything, or another server
                # holds its last transaction.
                ok = self._replica_ok(r["slave"]) and (holds_all or shared)
            if ok and self.cluster.node(i).name not in self.never_promoted:
                out.append(self.cluster.node(i).name)
        return out

    def _judge(self):
        clock = None  # when the current stretch "no writable ACTIVE, some server eligible" began
        reported = False
        while not self._stop.is_set():
            now = time.monotonic()
            readings = {i: r for i, (t, r) in self.views.items() if r is not None and now - t <= self.fresh}
            s = read_state(self.state_path)
            active = [] if s is None else sorted(
                n for n, v in s["nodes"].items() if v["pool"] == self.pool and v["state"] == "ACTIVE")
            index = {n.name: k for k, n in enumerate(self.cluster.nodes, 1)}
            writable = (len(active) == 1 and index[active[0]] in readings
                        and readings[index[active[0]]]["read_only"] == 0)
            eligible = [] if writable else self.eligible(readings)
            self.samples += 1
            if writable:
                if self.gaps and self.gaps[-1][1] is None:
                    start, _, seen = self.gaps[-1]
                    self.gaps[-1] = (start, now, seen)
                clock, reported = None, False
            else:
                if not self.gaps or self.gaps[-1][1] is not None:
                    self.gaps.append((now, None, set()))
                self.gaps[-1][2].update(eligible)
                if not eligible:
                    clock, reported = None, False
                elif clock is None:
                    clock = now
                elif now - clock > self.bound and not reported:
                    reported = True
                    self.violations.append({
                        "since": clock, "at": now, "gap_start": self.gaps[-1][0], "active": active,
                        "eligible": eligible,
                        "servers": {self.cluster.node(i).name: describe(r) for i, r in sorted(readings.items())},
                        "state": s and {n: "%s %s %s" % (v["state"], v["status"], v["reason"])
                                        for n, v in sorted(s["nodes"].items())}})
            self._stop.wait(self.period)


def describe(r):
    slave = r["slave"]
    repl = "not a replica" if not slave else "IO %s SQL %s errno %s/%s read %s:%s exec %s:%s" % (
        slave.get("Slave_IO_Running"), slave.get("Slave_SQL_Running"), slave.get("Last_IO_Errno"),
        slave.get("Last_SQL_Errno"), slave.get("Master_Log_File"), slave.get("Read_Master_Log_Pos"),
        slave.get("Relay_Master_Log_File"), slave.get("Exec_Master_Log_Pos"))
    return "read_only=%d check=%s pos=%s; %s" % (
        r["read_only"], "ok" if r["check"] else "no table",
        ",".join("%d-%d-%d" % (d, s, n) for (d, s), n in sorted(r["pos"].items())), repl)
