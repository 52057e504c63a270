"""Planned switchovers where mppstate manages replication
(doc/replication.md): `mppctl switchover` runs on the topology worker, the
old writer is fenced before the target catches up, the plans promote the
target and re-point everyone else at it, and a failure before the promotion
gives the old writer back exactly once. Real MariaDB servers throughout;
ReadOnlySampler proves there are never two writable servers.
"""

import signal
import statistics
import subprocess
import threading
import time

import pytest

from daemonlib import actives, add_admin_user, read_state
from replication_lib import (ReadOnlyHistory, ReadOnlySampler, TableLock, Writer, managed,
                             source_of)

INTERVAL_S = 0.3  # managed()'s default interval
SWITCHOVERS = 2 * 10  # there and back, ten times


def index_of(c, name):
    return next(i for i, node in enumerate(c.nodes, 1) if node.name == name)


def read_only(c, i):
    return c.value(i, "@@read_only")


def writable_servers(c):
    return [n.name for i, n in enumerate(c.nodes, 1) if c.running(i) and read_only(c, i) == "0"]


def not_converged(c, state):
    """Why the pool does not match one decision yet, "" when it does: one
    ACTIVE in the state file, writable and replicating from nobody; every
    other server read_only and replicating from it."""
    if state is None:
        return "no state file"
    names = actives(state)
    if len(names) != 1:
        return "ACTIVE nodes in the state file: %s" % names
    writer = names[0]
    w = index_of(c, writer)
    if read_only(c, w) != "0":
        return "the ACTIVE %s is read_only" % writer
    if c.slave_status(w):
        return "the ACTIVE %s still replicates from port %s" % (writer, c.slave_status(w).get("Master_Port"))
    for i, node in enumerate(c.nodes, 1):
        if node.name == writer:
            continue
        if read_only(c, i) != "1":
            return "%s is writable beside the ACTIVE %s" % (node.name, writer)
        source = source_of(c, i)
        if source != writer:
            return "%s replicates from %s, not from the ACTIVE %s" % (node.name, source, writer)
    return ""


def wait_converged(m, c, timeout=10):
    """Waits until not_converged() is ""; returns the writer."""
    deadline = time.monotonic() + timeout
    while True:
        state = m.state()
        why = not_converged(c, state)
        if not why:
            return actives(state)[0]
        if time.monotonic() > deadline:
            raise AssertionError("the pool did not converge within %ss: %s\nlog:\n%s"
                                 % (timeout, why, m.log()[-4000:]))
        time.sleep(0.1)


def wait_standbys(m, names, timeout=30):
    m.wait(lambda s: all(s["nodes"][n]["state"] == "STANDBY" for n in names), timeout,
           "%s STANDBY" % ", ".join(names))


def mppctl_in_background(m, spawn, *args):
    return spawn([m.mppctl_bin, "-c", m.config] + list(args), stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, text=True)


def wait_log(m, text, timeout=15):
    """Waits until mppstate's log has a line containing text, checking every
    few milliseconds (a test cuts in right after it)."""
    deadline = time.monotonic() + timeout
    while text not in m.log():
        if time.monotonic() > deadline:
            raise AssertionError("no log line with %r within %ss:\n%s" % (text, timeout, m.log()[-3000:]))
        time.sleep(0.003)


def does_not_apply(c, i, primary=1, wait_s=0.5):
    """Node i does not apply the primary's last transaction within wait_s."""
    pos = c.value(primary, "@@gtid_binlog_pos")
    return c.value(i, "MASTER_GTID_WAIT('%s', %s)" % (pos, wait_s)) == "-1"


class SeqWatcher:
    """Reads the state file every 10 ms on a thread and records when its seq
    changed: changes is a list of (monotonic time, seq)."""

    def __init__(self, path):
        self.path = path
        self.changes = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        self.end = time.monotonic()
        return False

    def _run(self):
        last = None
        while not self._stop.is_set():
            s = read_state(self.path)
            if s is not None and s["seq"] != last:
                last = s["seq"]
                self.changes.append((time.monotonic(), last))
            self._stop.wait(0.01)

    def longest_gap(self):
        """The longest time without a new seq, from start to end."""
        times = [self.start] + [t for t, _ in self.changes] + [self.end]
        return max(b - a for a, b in zip(times, times[1:]))

    def advanced(self):
        seqs = [s for _, s in self.changes]
        return seqs[-1] - seqs[0] if seqs else 0


@pytest.mark.timeout(170)
def test_switchover_there_and_back_ten_times_under_a_writer(cluster, mppstate, log, note):
    c = cluster()
    m = mppstate(c, managed(c))
    wait_standbys(m, ["db2", "db3"])
    durations = []
    with ReadOnlySampler(c) as sampler, Writer(c, m.state_path) as writer:
        old, new = "db1", "db2"
        for k in range(SWITCHOVERS):
            wait_standbys(m, [new], timeout=20)
            t0 = time.monotonic()
            r = m.mppctl("switchover", "main", new)
            durations.append(time.monotonic() - t0)
            assert new in r.stdout, "switchover %d names its target %s: %r" % (k + 1, new, r.stdout)
            n, o = index_of(c, new), index_of(c, old)
            assert read_only(c, n) == "0", "switchover %d: %s is writable once mppctl answers" % (k + 1, new)
            assert c.slave_status(n) == {}, "switchover %d: %s replicates from nobody" % (k + 1, new)
            c.wait_for(lambda: source_of(c, o) == new, timeout=10,
                       what="switchover %d: %s replicating from %s" % (k + 1, old, new))
            log("switchover %d: %s -> %s in %.2fs, %d rows acknowledged"
                % (k + 1, old, new, durations[-1], len(writer.acked)))
            old, new = new, old
        acked_before_end = len(writer.acked)
        c.wait_for(lambda: len(writer.acked) > acked_before_end, timeout=10,
                   what="a write through the last writer")
    final = old
    assert wait_converged(m, c) == final, "the state file names the last target ACTIVE"
    f = index_of(c, final)
    c.wait_replicated(primary=f)
    counts = [c.value(i, "COUNT(*) FROM mpptest.t") for i in range(1, c.n + 1)]
    assert len(set(counts)) == 1, "row counts of mpptest.t on db1..db3: %s" % counts
    present = {row[0] for row in c.sql(f, "SELECT v FROM mpptest.t")}
    missing = [v for v in writer.acked if v not in present]
    assert writer.acked, "the writer got acknowledgements"
    assert missing == [], "acknowledged rows missing on %s" % final
    assert sampler.samples > 0
    assert sampler.overlaps == [], "moments with two writable servers"
    note("%d switchovers: median %.2fs, max %.2fs (mppctl wall time); %d rows acknowledged, %d errors"
         % (len(durations), statistics.median(durations), max(durations), len(writer.acked),
            writer.errors))


def test_a_target_blocked_by_lock_tables_leaves_the_state_file_on_time(cluster, mppstate, spawn, note):
    # The defect: a target blocked by LOCK TABLES froze the state file for
    # 9 s, and every checker answered down. The catch-up used to run on the
    # poll thread (HandleRequest -> Switchover -> WaitForCatchUp), so no
    # round ran for switchover_timeout.
    c = cluster()
    m = mppstate(c, managed(c, extra={"global": {"switchover_timeout": "3s"}}))
    wait_standbys(m, ["db2", "db3"])
    lock = TableLock(spawn, c, 2)
    c.write(1, "behind the lock")
    assert does_not_apply(c, 2), "db2's SQL thread is blocked by the lock"
    with ReadOnlyHistory(c) as history:
        c.wait_for(lambda: 0 in history.changes["db1"], timeout=10, what="db1 sampled writable")
        with SeqWatcher(m.state_path) as seqs:
            p = mppctl_in_background(m, spawn, "switchover", "main", "db2")
            out, err = p.communicate(timeout=60)
        elapsed = seqs.end - seqs.start
        c.wait_for(lambda: read_only(c, 1) == "0", timeout=5, what="db1 writable again")
        time.sleep(4 * INTERVAL_S)  # rounds after the abort change nothing
    lock.release()
    assert p.returncode == 1, "the switchover fails: %r %r" % (out, err)
    assert "aborted" in err, err
    gap = seqs.longest_gap()
    note("switchover blocked %.1fs; longest time without a new state file %.2fs; seq +%d"
         % (elapsed, gap, seqs.advanced()))
    assert gap <= 2 * INTERVAL_S + 0.5, "longest gap between state files while it waited (s)"
    assert seqs.advanced() >= (elapsed / INTERVAL_S) / 2, "rounds while the switchover waited"
    assert history.answered("db1") == [0, 1, 0], "db1: writable, fenced, writable again once"
    assert history.overlaps == [], "moments with two writable servers"
    assert writable_servers(c) == ["db1"]
    assert actives(m.state()) == ["db1"]


@pytest.mark.timeout(90)
def test_two_switchovers_in_one_interval_leave_one_writer(cluster, mppstate, spawn, log):
    # The defect: the rollback of the failed one made the demoted writer
    # writable again.
    c = cluster()
    m = mppstate(c, managed(c, interval="2s"))
    wait_standbys(m, ["db2", "db3"])
    with ReadOnlySampler(c) as sampler:
        procs = {name: mppctl_in_background(m, spawn, "switchover", "main", name) for name in ("db2", "db3")}
        answers = {}
        for name, p in procs.items():
            out, err = p.communicate(timeout=60)
            answers[name] = (p.returncode, out, err)
            log("mppctl switchover main %s -> %d: %s%s" % (name, p.returncode, out, err))
        winners = [name for name, a in answers.items() if a[0] == 0]
        assert len(winners) == 1, "exactly one switchover succeeds: %s" % answers
        winner = winners[0]
        loser = "db3" if winner == "db2" else "db2"
        assert winner in answers[winner][1], answers[winner]
        time.sleep(2 * 2 + 0.5)  # two more rounds: nothing undoes the move
        assert writable_servers(c) == [winner], "the one writable server"
        assert actives(m.state()) == [winner]
        assert sampler.overlaps == [], "moments with two writable servers"
        assert answers[loser][0] == 1 and "already running" in answers[loser][2], answers[loser]
        assert wait_converged(m, c, timeout=15) == winner
    assert sampler.overlaps == [], "moments with two writable servers"


# Where a switchover from db1 to db2 is cut by SIGTERM.
CUTS = [
    "fence",      # right after the request: the worker is fencing db1
    "catch_up",   # db1 fenced, db2 held back by a lock: the catch-up waits
    "caught_up",  # the catch-up reported, the decision not moved yet
    "decision",   # the state file names db2 ACTIVE: the promotion is due
    "promoted",   # db2 writable, db1 not re-pointed yet
]


@pytest.mark.parametrize("cut", CUTS)
def test_sigterm_during_a_switchover_then_a_restart_converges(cut, cluster, mppstate, spawn, log, note):
    # "caught_up" is the defect: SIGTERM between catch-up and promotion left
    # the ACTIVE at read_only=1, even after a restart.
    c = cluster()
    m = mppstate(c, managed(c, extra={"global": {"switchover_timeout": "5s"}}))
    wait_standbys(m, ["db2", "db3"])
    with ReadOnlySampler(c) as sampler:
        lock = None
        if cut == "catch_up":
            lock = TableLock(spawn, c, 2)
            c.write(1, "behind the lock")
            assert does_not_apply(c, 2), "db2's SQL thread is blocked by the lock"
        p = mppctl_in_background(m, spawn, "switchover", "main", "db2")
        if cut == "fence":
            wait_log(m, "switchover main: db1 -> db2 requested")
        elif cut == "catch_up":
            c.wait_for(lambda: read_only(c, 1) == "1", timeout=10, interval=0.02, what="db1 fenced")
        elif cut == "caught_up":
            wait_log(m, "applied db1's position")
        elif cut == "decision":
            # Read every 2 ms: the plan that promotes db2 starts as soon as
            # the state file is written.
            deadline = time.monotonic() + 15
            while "db2" not in actives(read_state(m.state_path) or {"nodes": {}}):
                assert time.monotonic() < deadline, "the state file never named db2 ACTIVE"
                time.sleep(0.002)
        elif cut == "promoted":
            c.wait_for(lambda: read_only(c, 2) == "0", timeout=15, interval=0.02, what="db2 writable")
        m.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        code = m.proc.wait(timeout=20)
        stopped = time.monotonic() - t0
        if lock is not None:
            lock.release()
        out, err = p.communicate(timeout=30)
        log("cut %s: mppstate exited %d in %.1fs; mppctl %d: %s%s"
            % (cut, code, stopped, p.returncode, out, err))
        before = {n.name: read_only(c, i) for i, n in enumerate(c.nodes, 1)}
        log("cut %s: read_only before the restart: %s; state file ACTIVE %s"
            % (cut, before, actives(m.state())))
        assert code == 0, "mppstate stops cleanly on SIGTERM"
        m.start()
        t1 = time.monotonic()
        writer = wait_converged(m, c, timeout=10)
        note("cut %s: converged on %s %.1fs after the restart (read_only before: %s)"
             % (cut, writer, time.monotonic() - t1, before))
    assert sampler.overlaps == [], "moments with two writable servers"
    assert writable_servers(c) == [writer]


def test_switchover_with_manage_read_only_only_leaves_replication_alone(cluster, mppstate):
    c = cluster()
    admin = add_admin_user(c)
    m = mppstate(c, {"global": {"interval": "300ms", "admin_credentials": admin},
                     "pool main": {"manage_read_only": "yes"}})
    wait_standbys(m, ["db2", "db3"])
    with ReadOnlySampler(c) as sampler:
        r = m.mppctl("switchover", "main", "db2")
        assert "db2" in r.stdout, r.stdout
        assert read_only(c, 2) == "0", "db2 writable once mppctl answers"
        time.sleep(4 * INTERVAL_S)
        assert writable_servers(c) == ["db2"]
    assert sampler.overlaps == [], "moments with two writable servers"
    # Without manage_replication nobody is re-pointed: that stays the
    # operator's job.
    assert source_of(c, 2) == "db1", "db2 still a replica of db1"
    assert source_of(c, 3) == "db1", "db3 still a replica of db1"
    assert c.slave_status(1) == {}, "db1 attached to nobody"
    assert actives(m.state()) == ["db2"]
