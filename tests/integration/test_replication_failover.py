"""The databases follow the decision (manage_replication,
doc/replication.md), on real MariaDB: after a failover the new writer is
writable and replicates from nobody and every survivor replicates from it;
a node that comes back is fenced and, if it has not diverged, rejoins (by
itself with rejoin = auto, by `mppctl rejoin` with rejoin = manual); a node
that has diverged, by an extra transaction or by one with the same sequence
number from another server, is never attached.

Each test reads the databases themselves (SHOW SLAVE STATUS, @@read_only,
the rows) besides the state file.
"""

import os
import signal
import time

from daemonlib import actives
from mariadb_cluster import ClusterError
from replication_lib import ReadOnlyTimeline, managed, source_of

INTERVAL = "200ms"
# A short first election: some tests start mppstate while the writer is down.
POOL = {"global": {"connect_timeout": "1s"}, "pool main": {"election_timeout": "1s"}}


def config(c, rejoin="manual"):
    """A managed pool "main" of every server. Creates the fencing login on
    node 1, so it is called while node 1 runs."""
    return managed(c, rejoin=rejoin, interval=INTERVAL, extra=POOL)


def name(i):
    return "db%d" % i


def index(node):
    return int(node[2:])


def writer_of(m):
    """The one ACTIVE of the state file, or None."""
    s = m.state()
    a = actives(s) if s else []
    return a[0] if len(a) == 1 else None


def read_only(c, i):
    return c.value(i, "@@read_only")


def until(m, predicate, timeout, what):
    """Waits until predicate() (which may read the databases) is true;
    returns its value. A server that cannot be read yet counts as false.
    Fails with the last state and the end of mppstate's log."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except ClusterError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            s = m.state()
            raise AssertionError("timed out after %ss waiting for %s; state: %s\nlog:\n%s"
                                 % (timeout, what, s and s["nodes"], m.log()[-3000:]))
        time.sleep(0.05)


def over_rounds(m, rounds, check, timeout=30):
    """Calls check(state) until mppstate has written `rounds` more state
    files: a condition that must hold round after round."""
    first = m.wait(lambda s: True)["seq"]
    deadline = time.monotonic() + timeout
    while True:
        s = m.state()
        if s is not None:
            check(s)
            if s["seq"] >= first + rounds:
                return
        assert time.monotonic() < deadline, "mppstate wrote %d rounds in %ss" % (rounds, timeout)
        time.sleep(0.05)


def wait_repointed(c, m, survivors, timeout=30):
    """Waits until the state file names one ACTIVE among survivors and every
    other survivor replicates from it with both threads running; returns
    that ACTIVE's name."""
    def check():
        w = writer_of(m)
        if w is None or index(w) not in survivors:
            return None
        return w if all(source_of(c, i) == w for i in survivors if i != index(w)) else None
    return until(m, check, timeout, "every survivor of %s replicating from the new writer"
                 % [name(i) for i in survivors])


def assert_healed(c, m, writer, survivors, tag):
    """The pool around writer is what MPP wants: writer ACTIVE, writable and
    replicating from nobody; every other survivor STANDBY, read_only, a
    replica of writer; and a row written on writer reaches them all."""
    w = index(writer)
    others = [i for i in survivors if i != w]
    m.wait(lambda s: s["nodes"][writer]["state"] == "ACTIVE" and
           all(s["nodes"][name(i)]["state"] == "STANDBY" for i in others),
           timeout=20, what="%s ACTIVE, %s STANDBY" % (writer, [name(i) for i in others]))
    assert read_only(c, w) == "0", "%s, the new writer, is writable" % writer
    assert c.slave_status(w) == {}, "%s replicates from nobody: %r" % (writer, c.slave_status(w))
    for i in others:
        assert source_of(c, i) == writer, "%s replicates from %s" % (name(i), writer)
        assert read_only(c, i) == "1", "%s is read_only" % name(i)
    c.write(w, tag)
    c.wait_replicated(timeout=15, nodes=others, primary=w)
    for i in others:
        n = c.sql(i, "SELECT COUNT(*) FROM mpptest.t WHERE v = '%s'" % tag)[0][0]
        assert n == "1", "the row written on %s reached %s" % (writer, name(i))


def wait_managed_pool(c, m):
    """db1 ACTIVE and writable, every other node STANDBY, a replica of db1."""
    others = range(2, c.n + 1)
    m.wait(lambda s: s["nodes"]["db1"]["state"] == "ACTIVE" and
           all(s["nodes"][name(i)]["state"] == "STANDBY" for i in others),
           timeout=20, what="db1 ACTIVE, the others STANDBY")
    assert read_only(c, 1) == "0", "db1 is writable at the start"
    for i in others:
        assert source_of(c, i) == "db1", "%s replicates from db1 at the start" % name(i)


def gtid_pos(c, i):
    return c.value(i, "@@gtid_binlog_pos")


def overlaps_after(history, node, since):
    """From a ReadOnlyTimeline's history: (the first time after `since` that
    node answered read_only, the samples after `since` and before it where
    node and another were writable, the samples after it where node was
    writable)."""
    fenced_at = None
    before, after = [], []
    for t, seen in history:
        if t < since:
            continue
        writable = [n for n, v in seen.items() if v == 0]
        if fenced_at is None and seen.get(node) == 1:
            fenced_at = t
        if fenced_at is None:
            if node in writable and len(writable) > 1:
                before.append((t, writable))
        elif seen.get(node) == 0:
            after.append((t, writable))
    return fenced_at, before, after


# ----- failover -----

def failover_heals(cluster, mppstate, note, n):
    c = cluster(n)
    m = mppstate(c, config(c))
    wait_managed_pool(c, m)
    c.write(1, "before")
    c.wait_replicated()
    survivors = list(range(2, n + 1))
    t0 = time.monotonic()
    c.kill9(1)
    writer = wait_repointed(c, m, survivors)
    note("%d nodes: kill -9 to every survivor replicating from %s: %.2fs"
         % (n, writer, time.monotonic() - t0))
    assert writer == "db2", "the first standby in priority order, with as much data, wins"
    assert_healed(c, m, writer, survivors, "after")
    s = m.state()
    assert s["nodes"]["db1"]["state"] == "FAIL", "db1 is FAIL"
    for i in survivors:
        rows = c.sql(i, "SELECT COUNT(*) FROM mpptest.t WHERE v = 'before'")[0][0]
        assert rows == "1", "%s kept the row written on db1" % name(i)


def test_failover_with_3_nodes_repoints_every_survivor(cluster, mppstate, note):
    failover_heals(cluster, mppstate, note, 3)


def test_failover_with_4_nodes_repoints_every_survivor(cluster, mppstate, note):
    failover_heals(cluster, mppstate, note, 4)


# ----- failovers in a row -----

def test_three_failovers_in_a_row_each_repoint_every_survivor(cluster, mppstate, note):
    # Four nodes: after two failovers two are left; db1, killed first, is
    # restarted and rejoins (rejoin = auto), so that the third failover
    # still leaves a replica to re-point.
    c = cluster(4)
    m = mppstate(c, config(c, rejoin="auto"))
    wait_managed_pool(c, m)
    alive = [1, 2, 3, 4]
    writer = "db1"
    for step in (1, 2, 3):
        if step == 3:
            c.restart(1)
            alive.append(1)
            m.wait(lambda s: s["nodes"]["db1"]["state"] == "STANDBY", timeout=30,
                   what="db1 rejoined as STANDBY before the third failover")
            assert source_of(c, 1) == writer, "db1 rejoined as a replica of %s" % writer
        c.wait_replicated(primary=index(writer), nodes=[i for i in alive if name(i) != writer])
        t0 = time.monotonic()
        c.kill9(index(writer))
        alive.remove(index(writer))
        old = writer
        writer = wait_repointed(c, m, alive)
        note("failover %d (%s): %.2fs to every survivor replicating from %s"
             % (step, old, time.monotonic() - t0, writer))
        assert writer != old, "the writer moved"
        assert len(alive) >= 2, "each failover leaves a replica"
        assert_healed(c, m, writer, alive, "after-failover-%d" % step)
        assert m.state()["nodes"][old]["state"] == "FAIL", "%s is FAIL" % old


# ----- rejoin after a crash -----

def fail_over_from_db1(c, m):
    """Rows replicated everywhere, kill -9 of db1, failover to db2 and db3
    following it."""
    c.write(1, "before-crash")
    c.wait_replicated()
    c.kill9(1)
    writer = wait_repointed(c, m, [2, 3])
    assert writer == "db2", "failover to db2"
    assert_healed(c, m, "db2", [2, 3], "after-failover")


def test_rejoin_auto_fences_a_crashed_writer_and_attaches_it(cluster, mppstate, note):
    c = cluster()
    m = mppstate(c, config(c, rejoin="auto"))
    wait_managed_pool(c, m)
    with ReadOnlyTimeline(c) as sampler:
        fail_over_from_db1(c, m)
        assert sampler.overlaps == [], "never two writable servers during the failover"
        t_restart = time.monotonic()
        # The server's own configuration says read_only OFF, as an ex-writer's
        # does: MPP must fence it once it answers.
        c.restart(1)
        until(m, lambda: read_only(c, 1) == "1", 10, "db1 fenced after its restart")
        until(m, lambda: source_of(c, 1) == "db2", 20, "db1 replicating from db2")
        m.wait(lambda s: s["nodes"]["db1"]["state"] == "STANDBY", timeout=20,
               what="db1 STANDBY after it rejoined")
        c.write(2, "after-rejoin")
        c.wait_replicated(timeout=15, nodes=[1, 3], primary=2)
    fenced_at, before, after = overlaps_after(sampler.history, "db1", t_restart)
    assert fenced_at is not None, "the sampler saw db1 read_only after its restart"
    note("db1 writable beside db2 after its restart (its own config): %d samples over %.2fs, "
         "fenced %.2fs after the restart began"
         % (len(before), (before[-1][0] - before[0][0]) if before else 0.0, fenced_at - t_restart))
    assert all(sorted(w) == ["db1", "db2"] for _, w in before), before
    assert after == [], "db1 stayed read_only once fenced: %r" % after
    assert all(sorted(w) == ["db1", "db2"] for _, w in sampler.overlaps), sampler.overlaps
    assert source_of(c, 1) == "db2" and read_only(c, 1) == "1", "db1 is a read_only replica of db2"
    assert c.slave_status(2) == {} and read_only(c, 2) == "0", "db2 is still the writer"
    assert gtid_pos(c, 1) == gtid_pos(c, 2), "db1 wrote nothing of its own: it has exactly db2's binlog"
    n = c.sql(1, "SELECT COUNT(*) FROM mpptest.t WHERE v IN ('before-crash', 'after-failover', "
                 "'after-rejoin')")[0][0]
    assert n == "3", "db1 has the rows from before its crash and from db2"
    j = m.status_json()
    db1 = {x["name"]: x for x in j["pools"][0]["nodes"]}["db1"]
    assert db1["wanted"] == "read_only, replica of db2", db1
    assert db1["topology_error"] == "", db1


def test_rejoin_manual_waits_for_mppctl_rejoin(cluster, mppstate):
    c = cluster()
    m = mppstate(c, config(c, rejoin="manual"))
    wait_managed_pool(c, m)
    fail_over_from_db1(c, m)
    c.restart(1)
    until(m, lambda: read_only(c, 1) == "1", 10, "db1 fenced after its restart")

    def waits(s):
        assert s["nodes"]["db1"]["state"] == "FAIL", "db1 stays FAIL: %r" % s["nodes"]["db1"]
        assert read_only(c, 1) == "1", "db1 stays read_only"
        assert c.slave_status(1) == {}, "db1 is not attached without mppctl rejoin"
    over_rounds(m, 8, waits)
    j = m.status_json()
    db1 = {x["name"]: x for x in j["pools"][0]["nodes"]}["db1"]
    assert "mppctl rejoin" in db1["wanted"], db1

    r = m.mppctl("recover", "db1", check=False)
    assert r.returncode == 1, "recover refused where MPP attaches replicas: %r" % (r.stdout + r.stderr)
    assert "mppctl rejoin db1" in r.stderr, r.stderr
    assert m.state()["nodes"]["db1"]["state"] == "FAIL", "db1 still FAIL after the refused recover"

    r = m.mppctl("rejoin", "db1")
    assert "db1" in r.stdout and "db2" in r.stdout, "rejoin's answer: %r" % r.stdout
    assert source_of(c, 1) == "db2", "db1 replicates from db2 once rejoin answered"
    m.wait(lambda s: s["nodes"]["db1"]["state"] == "STANDBY", timeout=20, what="db1 STANDBY")
    assert read_only(c, 1) == "1", "db1 is read_only"
    c.write(2, "after-rejoin")
    c.wait_replicated(timeout=15, nodes=[1, 3], primary=2)
    assert gtid_pos(c, 1) == gtid_pos(c, 2), "db1 has exactly db2's binlog"


# ----- a replica down during the failover -----

def test_a_replica_down_during_the_failover_follows_the_new_writer(cluster, mppstate):
    c = cluster()
    m = mppstate(c, config(c))  # rejoin = manual: it holds ex-writers, not replicas
    wait_managed_pool(c, m)
    c.write(1, "before")
    c.wait_replicated()
    c.shutdown(3)
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "FAIL", what="db3 FAIL")
    c.kill9(1)
    m.wait_active("db2", timeout=20)
    until(m, lambda: read_only(c, 2) == "0" and c.slave_status(2) == {}, 20, "db2 promoted")
    c.write(2, "while-db3-was-down")
    # It comes back replicating from db1, which is gone.
    c.restart(3)
    until(m, lambda: source_of(c, 3) == "db2", 20, "db3 replicating from db2")
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY", timeout=20, what="db3 STANDBY")
    assert read_only(c, 3) == "1", "db3 is read_only"
    c.wait_replicated(timeout=15, nodes=[3], primary=2)
    n = c.sql(3, "SELECT COUNT(*) FROM mpptest.t WHERE v = 'while-db3-was-down'")[0][0]
    assert n == "1", "db3 got what db2 wrote while it was down"


# ----- divergence -----

def test_an_extra_transaction_on_the_old_writer_is_refused(cluster, mppstate):
    c = cluster()
    cfg = config(c, rejoin="manual")
    m = mppstate(c, cfg)
    wait_managed_pool(c, m)
    fail_over_from_db1(c, m)
    # db1 comes back and takes a write before mppstate sees it: mppstate is
    # stopped meanwhile, and db1's own config makes it writable.
    assert m.stop() == 0, "mppstate stopped cleanly"
    c.restart(1)
    c.write(1, "only-on-db1")
    extra = gtid_pos(c, 1)
    assert extra.startswith("0-1-"), "db1 logged its own transaction: %s" % extra
    m.start()
    until(m, lambda: read_only(c, 1) == "1", 10, "db1 fenced")

    r = m.mppctl("rejoin", "db1", check=False)
    assert r.returncode == 1, "rejoin of a diverged node refused: %r" % (r.stdout + r.stderr)
    assert "db1 has diverged: %s is not in db2's binlog" % extra in r.stderr, r.stderr
    s = m.wait(lambda s: s["nodes"]["db1"]["reason"].startswith("diverged: "), timeout=10,
               what="db1's reason says diverged")
    assert s["nodes"]["db1"]["state"] == "FAIL", "db1 FAIL"
    assert extra in s["nodes"]["db1"]["reason"], s["nodes"]["db1"]
    assert c.slave_status(1) == {}, "db1 was not attached"
    assert read_only(c, 1) == "1", "db1 read_only"

    # rejoin = auto, from a fresh start: mppstate finds the divergence
    # itself, and never attaches it.
    assert m.stop() == 0, "mppstate stopped cleanly"
    cfg["pool main"]["rejoin"] = "auto"
    c.write_config(m.config, cfg, state_dir=m.state_dir, data_dir=m.data_dir)
    m.start()
    s = m.wait(lambda s: s["nodes"]["db1"]["reason"].startswith("diverged: "), timeout=10,
               what="db1 found diverged by rejoin = auto")
    assert extra in s["nodes"]["db1"]["reason"], s["nodes"]["db1"]

    def never_attached(s):
        assert s["nodes"]["db1"]["state"] == "FAIL", "db1 never STANDBY: %r" % s["nodes"]["db1"]
        assert c.slave_status(1) == {}, "db1 never attached"
        assert read_only(c, 1) == "1", "db1 stays read_only"
    over_rounds(m, 10, never_attached)
    assert gtid_pos(c, 1) == extra, "db1 keeps its own last transaction"
    assert "db1 has diverged: %s is not in db2's binlog" % extra in m.log(), \
        "the refusal is logged"
    j = m.status_json()
    db1 = {x["name"]: x for x in j["pools"][0]["nodes"]}["db1"]
    assert db1["wanted"] == "read_only; never attached: diverged", db1
    assert "has diverged" in db1["topology_error"], db1
    for i in (2, 3):
        rows = c.sql(i, "SELECT COUNT(*) FROM mpptest.t WHERE v = 'only-on-db1'")[0][0]
        assert rows == "0", "db1's own row never reached %s" % name(i)


def test_the_same_sequence_number_from_another_server_is_refused(cluster, mppstate):
    c = cluster()
    m = mppstate(c, config(c, rejoin="manual"))
    wait_managed_pool(c, m)
    c.write(1, "shared")
    c.wait_replicated()
    # db1 writes 0-1-N, which neither replica receives, and dies; while
    # mppstate is stopped, so that it does not restart their replication.
    assert m.stop() == 0, "mppstate stopped cleanly"
    for i in (2, 3):
        c.sql(i, "STOP SLAVE")
    c.write(1, "lost-on-db1")
    lost = gtid_pos(c, 1)
    domain, server, seq = lost.split("-")
    assert (domain, server) == ("0", "1"), lost
    c.kill9(1)
    for i in (2, 3):
        c.sql(i, "START SLAVE")
    m.start()
    writer = wait_repointed(c, m, [2, 3])
    assert writer == "db2", "failover to db2"
    assert_healed(c, m, "db2", [2, 3], "on-db2")  # db2 writes 0-2-N: the same N
    assert gtid_pos(c, 2) == "0-2-%s" % seq, "db2's last GTID has db1's lost sequence number"

    c.restart(1)
    until(m, lambda: read_only(c, 1) == "1", 10, "db1 fenced")
    r = m.mppctl("rejoin", "db1", check=False)
    assert r.returncode == 1, "rejoin refused: %r" % (r.stdout + r.stderr)
    assert "db1 has diverged: %s is not in db2's binlog" % lost in r.stderr, r.stderr
    s = m.wait(lambda s: s["nodes"]["db1"]["reason"].startswith("diverged: "), timeout=10,
               what="db1 FAIL diverged")
    assert s["nodes"]["db1"]["state"] == "FAIL", "db1 FAIL"
    assert lost in s["nodes"]["db1"]["reason"], s["nodes"]["db1"]
    assert c.slave_status(1) == {}, "db1 was not attached"
    assert read_only(c, 1) == "1", "db1 read_only"
    assert gtid_pos(c, 1) == lost, "db1 keeps its own last transaction"


# ----- SIGSTOP of the old writer -----

def test_a_writer_stopped_during_the_failover_is_fenced_when_it_wakes(cluster, mppstate, note):
    c = cluster()
    m = mppstate(c, config(c, rejoin="manual"))
    wait_managed_pool(c, m)
    c.write(1, "before")
    c.wait_replicated()
    before = gtid_pos(c, 1)
    with ReadOnlyTimeline(c) as sampler:
        c.sigstop(1)
        writer = wait_repointed(c, m, [2, 3])
        assert writer == "db2", "failover to db2"
        until(m, lambda: read_only(c, 2) == "0", 20, "db2 writable")
        assert sampler.overlaps == [], "no overlap while db1 is stopped: %r" % sampler.overlaps
        s = m.state()
        assert s["nodes"]["db1"]["state"] == "FAIL", "db1 is FAIL before it wakes"
        t_cont = time.monotonic()
        c.sigcont(1)
        until(m, lambda: read_only(c, 1) == "1", 10, "db1 fenced after SIGCONT")

        def fenced(s):
            assert s["nodes"]["db1"]["state"] == "FAIL", "db1 stays FAIL: %r" % s["nodes"]["db1"]
            assert not s["dests"][("writer", "db1")]["up"], "no client is sent to db1"
            assert read_only(c, 1) == "1", "db1 stays read_only"
        over_rounds(m, 8, fenced)
    fenced_at, overlap, after = overlaps_after(sampler.history, "db1", t_cont)
    assert fenced_at is not None, "the sampler saw db1 read_only after SIGCONT"
    note("db1 writable beside db2 after SIGCONT: %d samples over %.2fs; fenced %.2fs after SIGCONT"
         % (len(overlap), (overlap[-1][0] - overlap[0][0]) if overlap else 0.0, fenced_at - t_cont))
    assert all(t >= t_cont for t, _ in sampler.overlaps), "overlaps only after SIGCONT"
    assert after == [], "db1 stayed read_only once fenced: %r" % after
    writable = [name(i) for i in (1, 2, 3) if read_only(c, i) == "0"]
    assert writable == ["db2"], "exactly one writable server at the end"
    assert gtid_pos(c, 1) == before, "db1 received and wrote nothing meanwhile"
    assert c.slave_status(1) == {}, "db1 (rejoin = manual) was not attached"


# ----- an elected replica is made writable -----

def test_an_elected_replica_is_promoted_and_followed(cluster, mppstate):
    # Reproduced: a replica that is elected is never made writable. The old
    # fencing acted only on failover and failback transitions, never on an
    # election, and left replication alone.
    c = cluster()
    cfg = config(c)  # the fencing login is created on db1: before it stops
    c.shutdown(1)
    for i in (2, 3):
        assert read_only(c, i) == "1", "%s starts read_only" % name(i)
    m = mppstate(c, cfg)
    writer = wait_repointed(c, m, [2, 3])
    other = 5 - index(writer)
    assert_healed(c, m, writer, [2, 3], "after-election")
    assert source_of(c, other) == writer, "%s follows %s" % (name(other), writer)
    s = m.state()
    assert s["nodes"]["db1"]["state"] == "FAIL", "db1, down, is FAIL"


def test_a_replica_stopped_with_a_lost_connection_error_is_started_again(cluster, mppstate):
    # Found by the fault campaign: the writer was killed and came back
    # before a failover ended; db3, whose IO thread the failover had
    # stopped, kept the error of its reconnects (2003) and was never
    # started again: it stayed FAIL "IO thread stopped" for good.
    c = cluster()
    m = mppstate(c, config(c))
    m.wait(lambda s: actives(s) == ["db1"] and s["nodes"]["db3"]["state"] == "STANDBY", what="db1 ACTIVE")
    os.kill(m.proc.pid, signal.SIGSTOP)
    try:
        c.kill9(1)
        c.wait_for(lambda: c.slave_status(3).get("Last_IO_Errno") not in (None, "0"), timeout=20,
                   what="db3's IO thread reconnecting")
        c.sql(3, "STOP SLAVE IO_THREAD")
        c.restart(1)
        assert c.slave_status(3)["Slave_IO_Running"] == "No"
        assert c.slave_status(3)["Last_IO_Errno"].startswith("20"), c.slave_status(3)
    finally:
        os.kill(m.proc.pid, signal.SIGCONT)
    c.wait_for(lambda: source_of(c, 3) == "db1", timeout=30, what="db3 replicating from db1 again")
    seq = m.state()["seq"]
    m.wait(lambda s: s["seq"] > seq + 3 and s["nodes"]["db3"]["state"] == "STANDBY" and actives(s) == ["db1"],
           timeout=30, what="db3 STANDBY of db1 again")
    assert "topology main: start replication db3" in m.log(), m.log()[-3000:]
