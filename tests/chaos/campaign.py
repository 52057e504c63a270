"""The fault campaign: faults drawn from a seeded random generator, one at a
time with short pauses between them, in bursts of one to three; after each
burst the pool must heal. What each fault does, and how it is undone:

  kill9       kill -9 of a server (the ACTIVE more often than not), then,
              after 0.5-3 s, it starts again
  sigstop     SIGSTOP of a server for 0.3-3 s (a stalled disk, swapping)
  sql_thread  STOP SLAVE SQL_THREAD on a standby; started again after
              1-3 s if mppstate has not done it
  mppstate    mppstate stopped (SIGTERM) or killed (SIGKILL), and started
              again after up to 1 s
  sighup      SIGHUP to mppstate: it reloads its configuration
  switchover  mppctl switchover to a standby
  check_query the check query's table (mpptest.hb) renamed away on one
              server, not in its binlog (sql_log_bin = 0), for 1-4 s
  max_connections
              clients of a login without CONNECTION ADMIN fill a server's
              max_connections until it answers 1040, for 1-4 s: the
              ACTIVE's while the burst goes on, a standby's before the
              next fault (see _max_connections)
  restart_ro  kill -9 or a clean shutdown of a server, which starts again
              after 0.5-3 s with read_only = ON (as my.cnf would say)

The seed fixes which faults come, on which role (ACTIVE or standby) and
for how long; the servers' timing does the rest. Every fault but
max_connections on the ACTIVE is undone before the next one starts, also
when it fails halfway; a burst ends with max_connections undone too, and
cleanup() undoes what an interrupted campaign may have left.
"""

import signal
import threading
import time

import pymysql

from daemonlib import read_state

FAULTS = {"kill9": 2, "sigstop": 3, "sql_thread": 1, "mppstate": 1, "sighup": 1, "switchover": 1,
          "check_query": 2, "max_connections": 1, "restart_ro": 1}

CHECK_TABLE = "mpptest.hb"
CHECK_QUERY = "SELECT i FROM %s" % CHECK_TABLE
AWAY_TABLE = "mpptest.hb_away"
ER_CON_COUNT_ERROR = 1040


class Campaign:
    """Runs faults on cluster c and mppstate m, with `watch` (a StateWatch)
    told when mppstate is down on purpose. counts[kind]: faults run, by
    kind; heal_seconds: how long each heal took; violations: what broke."""

    def __init__(self, c, m, watch, rng, log, filler_login=None):
        """filler_login: (user, password) of a login without CONNECTION
        ADMIN on localhost, for max_connections."""
        self.c = c
        self.filler_login = filler_login
        self.timeline = []  # (time, text): each line said
        self.fault_starts = []  # (time, kind)
        self._fillers = []  # the sessions that fill max_connections of node _filled
        self._filled = None
        self._fill_timer = None
        self._fill_lock = threading.RLock()
        self.m = m
        self.watch = watch
        self.rng = rng
        self.log = log
        self.counts = {kind: 0 for kind in FAULTS}
        self.heal_seconds = []
        self.violations = []
        self.switchovers_refused = 0
        self.t0 = time.monotonic()

    def say(self, text):
        now = time.monotonic()
        self.timeline.append((now, text))
        self.log("%7.2fs %s" % (now - self.t0, text))

    # ----- what the state file says -----

    def state(self):
        return read_state(self.m.state_path)

    def nodes_in(self, *states):
        s = self.state()
        if s is None:
            return []
        return [int(n[2:]) for n, v in sorted(s["nodes"].items()) if v["state"] in states]

    def pick_server(self):
        """The ACTIVE six times in ten, else any server: two draws from the
        generator whatever the state, so a seed replays the same choices."""
        on_active = self.rng.random() < 0.6
        anyone = self.rng.randrange(len(self.c.nodes)) + 1
        active = self.nodes_in("ACTIVE")
        return active[0] if on_active and active else anyone

    def pick_standby(self):
        k = self.rng.randrange(12)
        standbys = [i for i in self.nodes_in("STANDBY") if self.c.running(i)]
        return standbys[k % len(standbys)] if standbys else None

    # ----- the faults -----

    def run(self, kind):
        self.counts[kind] += 1
        self.fault_starts.append((time.monotonic(), kind))
        getattr(self, "_" + kind)()

    def _kill9(self):
        i = self.pick_server()
        pause = self.rng.uniform(0.5, 3)
        self.say("kill -9 db%d, restart after %.1fs" % (i, pause))
        self.c.kill9(i)
        time.sleep(pause)
        self.c.restart(i)
        self.say("db%d restarted" % i)

    def _sigstop(self):
        i = self.pick_server()
        pause = self.rng.uniform(0.3, 3)
        self.say("SIGSTOP db%d for %.1fs" % (i, pause))
        self.c.sigstop(i)
        time.sleep(pause)
        self.c.sigcont(i)

    def _sql_thread(self):
        i = self.pick_standby()
        pause = self.rng.uniform(1, 3)
        if i is None:
            self.say("no standby to stop the SQL thread of")
            return
        self.say("STOP SLAVE SQL_THREAD on db%d for %.1fs" % (i, pause))
        try:
            self.c.sql_repeatable(i, "STOP SLAVE SQL_THREAD")
        except Exception as e:  # a fence or a restart in between
            self.say("  not stopped: %s" % e)
            return
        time.sleep(pause)
        try:
            status = self.c.slave_status(i)
            if status and status.get("Slave_SQL_Running") != "Yes":
                self.c.sql_repeatable(i, "START SLAVE SQL_THREAD")
                self.say("  db%d SQL thread started again by the campaign" % i)
        except Exception as e:
            self.say("  not started again: %s" % e)

    def _mppstate(self):
        kill = self.rng.random() < 0.5
        pause = self.rng.uniform(0, 1)
        self.watch.expect_running = False
        if kill:
            self.say("kill -9 mppstate, start after %.1fs" % pause)
            self.m.proc.kill()
            self.m.proc.wait()
        else:
            self.say("stop mppstate (SIGTERM), start after %.1fs" % pause)
            code = self.m.stop()
            if code != 0:
                self.violations.append("mppstate exited %s on SIGTERM" % code)
        time.sleep(pause)
        self.m.start()
        self.watch.expect_running = True

    def _sighup(self):
        self.say("SIGHUP mppstate")
        self.m.proc.send_signal(signal.SIGHUP)

    def _switchover(self):
        i = self.pick_standby()
        if i is None:
            self.say("no standby to switch over to")
            return
        self.say("mppctl switchover main db%d" % i)
        r = self.m.mppctl("switchover", "main", "db%d" % i, check=False)
        if r.returncode != 0:
            self.switchovers_refused += 1
        self.say("  exit %d: %s" % (r.returncode, (r.stdout + r.stderr).strip()[-200:]))

    def hold(self):
        """How long a check query fails or a server stays full: mostly 1-4 s;
        one time in four 12-20 s, longer than the liveness bound, so that a
        deadlock that would last as long as its trigger is seen as one.
        The same draws either way: a seed replays the same faults."""
        long_hold = self.rng.random() < 0.25
        short, long_ = self.rng.uniform(1, 4), self.rng.uniform(12, 20)
        return long_ if long_hold else short

    def _check_query(self):
        i = self.pick_server()
        pause = self.hold()
        self.say("RENAME TABLE %s away on db%d (sql_log_bin=0) for %.1fs" % (CHECK_TABLE, i, pause))
        moved = False
        try:
            moved = self._move_check_table(i, away=True)
            if moved:
                time.sleep(pause)
        finally:
            # Also when moving it away failed: the RENAME may have been done.
            if self._move_check_table(i, away=False) and moved:
                self.say("  %s back on db%d" % (CHECK_TABLE, i))

    def _move_check_table(self, i, away):
        """Renames the check query's table away (or back) on node i alone;
        returns whether it is where it should be. A session killed under
        the RENAME (a fence) is retried on a new one, and what was done
        already is not done twice. Putting it back is retried for 15 s:
        max_connections may be full for a few seconds."""
        src, dst = (CHECK_TABLE, AWAY_TABLE) if away else (AWAY_TABLE, CHECK_TABLE)
        last = None
        deadline = time.monotonic() + (1 if away else 15)
        while True:
            try:
                have = {r[0] for r in self.c.sql_repeatable(
                    i, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mpptest' "
                       "AND TABLE_NAME IN ('hb', 'hb_away')")}
                if dst.split(".")[1] in have:
                    return True
                self.c.sql(i, "SET sql_log_bin = 0;\nRENAME TABLE %s TO %s" % (src, dst))
            except Exception as e:  # a fence, a restart, a full max_connections
                last = e
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        self.say("  db%d: %s not renamed to %s: %s" % (i, src, dst, last))
        return False

    def _max_connections(self):
        """Unlike the others, this fault on the ACTIVE lasts into the next
        ones of its burst (the sessions are closed by a timer): a writer
        swamped by clients while another server fails, or while it restarts
        read_only. A standby's is undone before the next fault: a semi-sync
        replica the monitor cannot poll when the writer fails may hold
        acknowledged commits nobody else has, the case the guarantee
        excludes (doc/replication.md, "Semi-synchronous replication")
        until positions are read through the admin login."""
        i = self.pick_server()
        on_active = i in self.nodes_in("ACTIVE")
        hold = self.hold()
        node = self.c.node(i)
        self._release_fillers()  # the previous fill, if still held
        self.say("fill max_connections of db%d for %.1fs" % (i, hold))
        sessions = []
        error = None
        try:
            while len(sessions) < 1000:
                try:
                    sessions.append(pymysql.connect(
                        unix_socket=node.socket, user=self.filler_login[0], password=self.filler_login[1],
                        connect_timeout=2, read_timeout=2, write_timeout=2))
                except pymysql.err.OperationalError as e:
                    error = e
                    break
        finally:
            with self._fill_lock:
                self._fillers = sessions
                self._filled = i
        self.say("  db%d: %d sessions opened, then %s" % (i, len(sessions), error))
        if error is None or error.args[0] != ER_CON_COUNT_ERROR:
            self._release_fillers()
            return
        if not on_active:
            time.sleep(hold)
            self._release_fillers()
            return
        self._fill_timer = threading.Timer(hold, self._release_fillers)
        self._fill_timer.daemon = True
        self._fill_timer.start()

    def _release_fillers(self):
        with self._fill_lock:
            if self._fill_timer is not None:
                self._fill_timer.cancel()
                self._fill_timer = None
            sessions, self._fillers = self._fillers, []
            for conn in sessions:
                try:
                    conn.close()
                except Exception:
                    pass
            if sessions:
                self.say("  db%d: sessions closed" % self._filled)

    def _restart_ro(self):
        i = self.pick_server()
        clean = self.rng.random() < 0.5
        pause = self.rng.uniform(0.5, 3)
        self.say("%s db%d, start with read_only = ON after %.1fs"
                 % ("shut down" if clean else "kill -9", i, pause))
        try:
            if clean:
                self.c.shutdown(i)
            else:
                self.c.kill9(i)
            time.sleep(pause)
        finally:
            self.c.restart(i, options=["--read-only=ON"])
            self.say("db%d restarted read_only" % i)

    # ----- undoing what an interrupted campaign left -----

    def cleanup(self):
        """Every server running and not stopped, the check query's table
        back in place, the filling sessions closed."""
        self._release_fillers()
        for i, node in enumerate(self.c.nodes, 1):
            try:
                if node.stopped:
                    self.c.sigcont(i)
                if not self.c.running(i):
                    self.c.restart(i)
                self._move_check_table(i, away=False)
            except Exception as e:
                self.say("cleanup of db%d: %s" % (i, e))

    # ----- healing -----

    def healed(self, writer, timeout=60, rounds=8):
        """Waits until every node is ACTIVE or STANDBY, the ACTIVE's
        standbys all acknowledge its commits (semi-sync), the client's
        commits go through, and so it stays for `rounds` rounds. Returns
        the ACTIVE's number, or None after a violation (recorded)."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        since = None
        s = None
        while time.monotonic() < deadline:
            s = self.state()
            ok = s is not None and sorted(v["state"] for v in s["nodes"].values()) == \
                ["ACTIVE"] + ["STANDBY"] * (len(self.c.nodes) - 1)
            active = None
            if ok:
                active = self.nodes_in("ACTIVE")[0]
                try:
                    clients = int(self.c.sql_dicts(active, "SHOW GLOBAL STATUS LIKE "
                                                           "'Rpl_semi_sync_master_clients'")[0]["Value"])
                    ok = clients == len(self.c.nodes) - 1
                except Exception:
                    ok = False
            if not ok or (since is not None and since[0] != active):
                since = None
            elif since is None:
                since = (active, s["seq"], len(writer.acked))
            elif s["seq"] >= since[1] + rounds and len(writer.acked) > since[2]:
                took = time.monotonic() - t0
                self.heal_seconds.append(took)
                self.say("healed in %.1fs: db%d ACTIVE, %d acknowledged" % (took, active, len(writer.acked)))
                return active
            time.sleep(0.05)
        nodes = s and {n: "%s %s %s" % (v["state"], v["status"], v["reason"]) for n, v in s["nodes"].items()}
        self.violations.append("not healed within %ds: %s" % (timeout, nodes))
        return None

    def go(self, writer, minutes):
        """Faults for `minutes`, healing after each burst; returns the final
        ACTIVE's number, or None once the pool did not heal."""
        end = time.monotonic() + minutes * 60
        kinds = list(FAULTS)
        weights = [FAULTS[k] for k in kinds]
        active = self.healed(writer)
        while active is not None and time.monotonic() < end and not self.violations:
            for _ in range(self.rng.randint(1, 3)):
                self.run(self.rng.choices(kinds, weights)[0])
                time.sleep(self.rng.uniform(0.2, 2))
            timer = self._fill_timer
            if timer is not None:  # its hold ends, whatever came after
                timer.join()
            active = self.healed(writer)
        return active
