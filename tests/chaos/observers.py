"""What the campaign watches beside the faults, each on threads of its own:

  ReadOnlyWatch  @@read_only of every server, sampled every 50 ms on one
                 thread per server (a hung server must not blind the others);
                 overlaps() gives each stretch of time in which two or more
                 were writable;
  StateWatch     the state file every 20 ms: each moment more than one rw
                 dest was up, each change of ACTIVE, and each time mppstate
                 exited when the campaign had not stopped it.
"""

import time

import pymysql

from daemonlib import read_state
from replication_lib import Background


class ReadOnlyWatch(Background):
    """changes[name]: (time, value) each time node name's @@read_only, as 0
    or 1, or None while it does not answer (stopped, hung, restarting),
    changed. A hung server answers nobody, so None counts as not writable."""

    def __init__(self, cluster, period=0.05, timeout=0.5):
        super().__init__([(i,) for i in range(1, len(cluster.nodes) + 1)])
        self.cluster = cluster
        self.period = period
        self.timeout = timeout
        self.changes = {n.name: [] for n in cluster.nodes}
        self.samples = 0

    def stop(self):
        super().stop()
        self.stopped_at = time.monotonic()

    def _connect(self, i):
        node = self.cluster.node(i)
        return pymysql.connect(unix_socket=node.socket, user="root", connect_timeout=self.timeout,
                               read_timeout=self.timeout, write_timeout=self.timeout, autocommit=True)

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
                    if conn is not None:
                        try:
                            conn.close()
                        except Exception:
                            pass
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
