"""A fenced ex-writer whose binlog ends in commits no survivor has is rewound
and rejoins by itself with rewind = yes, when semi-sync proves that no
client was told of them (doc/replication.md, "Rewind"); a tail it cannot
prove unacknowledged, or cannot invert, is refused with the reason, and the
node stays FAIL "diverged" with nothing changed. On real MariaDB: the tail
is made by db1 while its replicas receive nothing and mppstate is stopped,
then db1 hangs, mppstate fails over to db2, and db1 resumes."""

import copy
import glob
import os
import signal
import stat
import subprocess
import threading
import time

import pytest

from mariadb_cluster import CLIENT, ClusterError
from daemonlib import actives
from replication_lib import Writer, global_status as status, managed, until

REWIND = {"global": {"connect_timeout": "1s"},
          "pool main": {"semi_sync": "yes", "rewind": "yes", "election_timeout": "1s"}}


def config(c, rewind="yes"):
    extra = copy.deepcopy(REWIND)
    extra["pool main"]["rewind"] = rewind
    cfg = managed(c, rejoin="auto", interval="250ms", extra=extra)
    # What a rewind needs beyond fencing and re-pointing (mppstate/node_rewind.h).
    c.sql(1, "GRANT BINLOG MONITOR, REPLICATION SLAVE, BINLOG REPLAY, BINLOG ADMIN ON *.* "
             "TO 'mppadmin'@'127.0.0.1'")
    c.wait_replicated()
    return cfg


def rows(c, i):
    return {r["v"] for r in c.sql_dicts(i, "SELECT v FROM mpptest.t")}


def start(cluster, mppstate, rewind="yes"):
    c = cluster()
    m = mppstate(c, config(c, rewind))
    m.wait(lambda s: [n["state"] for n in s["nodes"].values()] == ["ACTIVE", "STANDBY", "STANDBY"],
           what="db1 ACTIVE, db2 and db3 STANDBY")
    until(lambda: status(c, 1, "Rpl_semi_sync_master_clients") == 2, 20, "db2 and db3 acknowledging")
    c.write(1, "before")
    c.wait_replicated()
    # A rewind needs mppstate to have seen db1's semi-sync on: three rounds,
    # each with a poll of db1.
    seq = m.state()["seq"]
    m.wait(lambda s: s["seq"] >= seq + 3, what="three rounds with semi-sync on")
    return c, m


class Waiting:
    """A statement run on node i (db1) in a thread whose commit waits for an
    acknowledgement no replica sends (its replicas receive nothing)."""

    def __init__(self, c, statement, i=1):
        self.got = {}
        self.thread = threading.Thread(target=self._run, args=(c, statement, i))
        self.thread.start()
        until(lambda: c.sql(i, "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE LIKE "
                               "'Waiting for semi-sync ACK%'"), 10, "the commit waiting for an acknowledgement")

    def _run(self, c, statement, i):
        try:
            self.got["rows"] = c.sql(i, statement)
        except ClusterError as e:
            self.got["error"] = str(e)

    def client_told(self):
        self.thread.join(timeout=30)
        return self.got


def commit_unacknowledged(c, statement):
    """Leaves statement's commit waiting on db1 for an acknowledgement: the
    fence kills its session there, once db1 resumes after the failover. It
    is committed on db1 alone, and its client is told the connection was
    lost, not OK."""
    return Waiting(c, statement)


def commit_after_fallback(c, statement):
    """Runs statement on db1 with a semi-sync timeout of 0.3 s: no replica
    acknowledges, semi-sync falls back to asynchronous, and the client is
    told the commit succeeded."""
    c.sql(1, "SET GLOBAL rpl_semi_sync_master_timeout = 300")
    c.sql(1, statement)
    assert status(c, 1, "Rpl_semi_sync_master_no_times") >= 1


def diverge_db1(c, m, make_tail):
    """db1, the writer, gets a tail its replicas never received (make_tail),
    then hangs; mppstate fails over to db2, and fences db1 as it resumes.
    Returns what make_tail returned."""
    os.kill(m.proc.pid, signal.SIGSTOP)
    try:
        for i in (2, 3):
            c.sql(i, "STOP SLAVE IO_THREAD")
        tail = make_tail(c)
        c.sigstop(1)
    finally:
        os.kill(m.proc.pid, signal.SIGCONT)
    try:
        m.wait_active("db2", timeout=30)
    finally:
        c.sigcont(1)
    return tail


def diverged_with_a_tail(c, m):
    """db1 diverged with a tail no client was told of (rewind = no keeps it
    there); returns what its client was told."""
    waiting = diverge_db1(c, m, lambda c: commit_unacknowledged(c, "INSERT INTO mpptest.t (v) VALUES ('tail')"))
    m.wait(lambda s: s["nodes"]["db1"]["reason"].startswith("diverged: "), timeout=30, what="db1 diverged")
    return waiting.client_told()


def back_without_the_tail(c, m):
    """db1 rewound, STANDBY, and replicating db2's writes, without 'tail'."""
    m.wait(lambda s: s["nodes"]["db1"]["state"] == "STANDBY", timeout=30, what="db1 rewound, STANDBY")
    c.write(2, "after")
    c.wait_replicated(primary=2)
    assert rows(c, 1) == rows(c, 2) == {"before", "after"}


def saved_tails(m):
    return [p for p in glob.glob(os.path.join(m.data_dir, "rewind-db1-*.sql")) if not p.endswith("-undo.sql")]


def refused(m, words):
    s = m.wait(lambda s: "rewind refused" in s["nodes"]["db1"]["reason"], timeout=30, what="the refusal")
    reason = s["nodes"]["db1"]["reason"]
    assert s["nodes"]["db1"]["state"] == "FAIL" and reason.startswith("diverged: "), reason
    assert words in reason, reason
    assert saved_tails(m) == [], "a refused rewind saved a tail"
    return reason


@pytest.mark.timeout(180)
def test_an_unacknowledged_tail_is_rewound_and_the_ex_writer_rejoins(cluster, mppstate, log):
    c, m = start(cluster, mppstate)
    waiting = diverge_db1(c, m, lambda c: commit_unacknowledged(c, "INSERT INTO mpptest.t (v) VALUES ('tail')"))
    assert "error" in waiting.client_told(), "the client was told its commit succeeded"
    s = m.wait(lambda s: s["nodes"]["db1"]["state"] == "STANDBY", timeout=30, what="db1 rewound, STANDBY")
    log("db1: %s" % s["nodes"]["db1"])
    c.write(2, "after")
    c.wait_replicated(primary=2)
    assert rows(c, 1) == rows(c, 2) == {"before", "after"}
    text = m.log()
    assert "topology main: rewind db1: db1: rewound 1 transaction db2 lacks" in text, text[-3000:]
    [saved] = saved_tails(m)
    assert saved in text
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    with open(saved, errors="replace") as f:
        assert "VALUES ('tail')" in f.read(), "the saved tail lacks the undone insert"


@pytest.mark.timeout(180)
def test_a_rewind_is_refused_for_ddl(cluster, mppstate):
    c, m = start(cluster, mppstate)
    diverge_db1(c, m, lambda c: commit_unacknowledged(c, "CREATE TABLE mpptest.extra (id INT PRIMARY KEY)"))
    refused(m, "is DDL")
    assert c.sql(1, "SHOW TABLES FROM mpptest LIKE 'extra'") == [["extra"]], "the refused rewind changed db1"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("parent", ["parent", "p.q"])
def test_a_rewind_is_refused_for_a_change_a_foreign_key_cascades(cluster, mppstate, parent):
    # Found in review: InnoDB's cascaded deletes are not in the binlog, so
    # the undo restored the parent row only, and db1 rejoined with fewer
    # child rows than the writer. Then again with a dot in the parent's
    # name, which InnoDB encodes (p@002eq).
    c, m = start(cluster, mppstate)
    c.sql(1, "CREATE TABLE mpptest.`%s` (id INT PRIMARY KEY) ENGINE=InnoDB;\n"
             "CREATE TABLE mpptest.child (id INT PRIMARY KEY, pid INT, CONSTRAINT child_parent "
             "FOREIGN KEY (pid) REFERENCES mpptest.`%s`(id) ON DELETE CASCADE) ENGINE=InnoDB;\n"
             "INSERT INTO mpptest.`%s` VALUES (1), (2);\n"
             "INSERT INTO mpptest.child VALUES (10, 1), (11, 1), (20, 2)" % (parent, parent, parent))
    c.wait_replicated()
    rounds_pass(m)
    diverge_db1(c, m, lambda c: commit_unacknowledged(c, "DELETE FROM mpptest.`%s` WHERE id = 1" % parent))
    refused(m, "foreign key mpptest.child_parent of mpptest.child ON DELETE CASCADE changes rows of "
               "mpptest.child when mpptest.%s changes" % parent)
    assert c.value(1, "(SELECT COUNT(*) FROM mpptest.child)") == "1", "the refused rewind changed db1"


@pytest.mark.timeout(180)
def test_a_rewind_is_refused_for_statement_format(cluster, mppstate):
    c, m = start(cluster, mppstate)
    diverge_db1(c, m, lambda c: commit_unacknowledged(
        c, "SET SESSION binlog_format = STATEMENT;\nINSERT INTO mpptest.t (v) VALUES ('statement')"))
    refused(m, "statement format")
    assert "statement" in rows(c, 1)


@pytest.mark.timeout(180)
def test_a_rewind_is_refused_after_semi_sync_fell_back_to_asynchronous(cluster, mppstate):
    # The client was told this commit succeeded: undoing it would lose it.
    c, m = start(cluster, mppstate)
    diverge_db1(c, m, lambda c: commit_after_fallback(c, "INSERT INTO mpptest.t (v) VALUES ('acked')"))
    refused(m, "fell back to asynchronous")
    assert "acked" in rows(c, 1)


@pytest.mark.timeout(120)
def test_mppctl_rewind_of_a_node_that_has_not_diverged_changes_nothing(cluster, mppstate):
    c, m = start(cluster, mppstate)
    before = c.value(3, "@@gtid_binlog_state"), c.value(3, "@@gtid_slave_pos")
    r = m.mppctl("rewind", "db3")
    assert "db3: holds nothing db1 lacks: nothing to rewind" in r.stdout, r.stdout
    time.sleep(0.5)
    assert (c.value(3, "@@gtid_binlog_state"), c.value(3, "@@gtid_slave_pos")) == before
    assert m.state()["nodes"]["db3"]["state"] == "STANDBY"
    assert saved_tails(m) == []
    r = m.mppctl("rewind", "db1", check=False)
    assert r.returncode == 1 and "db1 is the ACTIVE: nothing to rewind" in r.stderr, r


@pytest.mark.timeout(180)
@pytest.mark.parametrize("cut_after", ["RESET MASTER", "SET GLOBAL gtid_binlog_state"])
def test_a_rewind_cut_off_after_its_binlog_reset_is_finished_before_the_node_is_attached(cluster, mppstate,
                                                                                        cut_after):
    # Found by the hang campaign: a RESET MASTER that outlasted the query
    # timeout left the node's binlog empty and its replication position
    # stale; the next round attached it from there, and it replayed what it
    # had (duplicate key). A rewind under way is recorded in data_dir, and a
    # node with such a record is finished first, never attached as it is.
    # Found by the fault campaign: mppstate killed after it set the binlog
    # state, which restarts the binlog at file 1, was not recognised.
    c, m = start(cluster, mppstate)
    os.kill(m.proc.pid, signal.SIGSTOP)
    try:
        c.sql(3, "STOP SLAVE;\nRESET SLAVE ALL")
        state, pos = c.value(3, "@@gtid_binlog_state"), c.value(3, "@@gtid_slave_pos")
        saved = os.path.join(m.data_dir, "rewind-db3-20261207T000000Z.sql")
        pending = os.path.join(m.data_dir, "rewind-db3.pending")
        with open(pending, "w") as f:
            f.write("saved %s\nstate %s\npos %s\nbefore \nreset 7\n" % (saved, state, pos))
        # Cut off here: the binlog reset (and its state set), the position
        # the one before.
        c.sql(3, "RESET MASTER TO 7;\nSET GLOBAL gtid_slave_pos = ''")
        if cut_after == "SET GLOBAL gtid_binlog_state":
            c.sql(3, "SET GLOBAL gtid_binlog_state = '%s'" % state)
            assert [r[0] for r in c.sql(3, "SHOW BINARY LOGS")] == ["binlog.000001"]
    finally:
        os.kill(m.proc.pid, signal.SIGCONT)
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY" and not os.path.exists(pending), timeout=30,
           what="db3 finished, attached, STANDBY")
    c.write(1, "after")
    c.wait_replicated()
    assert rows(c, 3) == {"before", "after"}
    assert c.slave_status(3)["Last_SQL_Errno"] == "0"
    text = m.log()
    assert "db3: the rewind cut off after %s is finished" % saved in text, text[-3000:]



@pytest.mark.timeout(180)
@pytest.mark.parametrize("rebuilt_at", ["the writer's position", "no position"])
def test_a_stale_rewind_record_is_never_finished_on_a_node_rebuilt_since(cluster, mppstate, rebuilt_at):
    # Found in review, twice: a node rebuilt while the record of a rewind
    # cut off long ago was still in data_dir (RESET MASTER, no replication,
    # the writer's position, or none, as the ex-writer had before) looked
    # like one cut off after its RESET MASTER: its position was set back to
    # the record's fork, and the attachment replayed what it had.
    c, m = start(cluster, mppstate)
    state, pos = c.value(3, "@@gtid_binlog_state"), c.value(3, "@@gtid_slave_pos")
    before = "" if rebuilt_at == "no position" else pos
    saved = os.path.join(m.data_dir, "rewind-db3-20261207T000000Z.sql")
    pending = os.path.join(m.data_dir, "rewind-db3.pending")
    os.kill(m.proc.pid, signal.SIGSTOP)
    try:
        with open(pending, "w") as f:
            f.write("saved %s\nstate %s\npos %s\nbefore %s\nreset 7\n" % (saved, state, pos, before))
        for i in range(5):
            c.write(1, "later-%d" % i)
        c.wait_replicated()
        now = c.value(1, "@@gtid_binlog_pos") if before else ""
        c.sql(3, "STOP SLAVE;\nRESET SLAVE ALL;\nRESET MASTER;\nSET GLOBAL gtid_slave_pos = '%s'" % now)
    finally:
        os.kill(m.proc.pid, signal.SIGCONT)
    until(lambda: "db3: a rewind of it was cut off after it saved %s" % saved in m.log(), 30, "db3 refused")
    rounds_pass(m, 8)
    assert m.state()["nodes"]["db3"]["state"] == "FAIL", m.state()["nodes"]["db3"]
    assert "is finished" not in m.log(), m.log()[-3000:]
    assert c.value(3, "@@gtid_slave_pos") == now
    assert os.path.exists(pending)


@pytest.mark.timeout(240)
def test_two_ex_writers_each_with_its_own_tail_are_both_rewound(cluster, mppstate):
    # Found by the fault campaign: db2 hung with a tail, db3 took over and
    # hung with a tail of its own, db1 took over. Each rewind was refused
    # because the other ex-writer "holds what db1 lacks too": the pool was
    # left with one node. Neither holds the other's tail, so neither can
    # have acknowledged it.
    c, m = start(cluster, mppstate)

    def hang_with_a_tail(writer, replicas, value, successor):
        os.kill(m.proc.pid, signal.SIGSTOP)
        try:
            for i in replicas:
                c.sql(i, "STOP SLAVE IO_THREAD")
            waiting = Waiting(c, "INSERT INTO mpptest.t (v) VALUES ('%s')" % value, writer)
            c.sigstop(writer)
        finally:
            os.kill(m.proc.pid, signal.SIGCONT)
        m.wait_active("db%d" % successor, timeout=30)
        return waiting

    first = hang_with_a_tail(1, (2, 3), "tail-of-db1", 2)
    # db1 stays hung: nothing can rewind it yet.
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY", timeout=30, what="db3 STANDBY of db2")
    until(lambda: status(c, 2, "Rpl_semi_sync_master_clients") == 1, 20, "db3 acknowledging db2's commits")
    # The failover's plans are all done: one made from polls taken before
    # its steps would otherwise attach db3 to db2 again once mppstate
    # resumes, and db3 would receive (and acknowledge) db2's tail.
    no_steps_for(m)
    second = hang_with_a_tail(2, (3,), "tail-of-db2", 3)
    c.sigcont(1)
    c.sigcont(2)
    m.wait(lambda s: [n["state"] for n in s["nodes"].values()] == ["STANDBY", "STANDBY", "ACTIVE"], timeout=60,
           what="db1 and db2 rewound, STANDBY of db3")
    assert "error" in first.client_told() and "error" in second.client_told()
    text = m.log()
    assert "db1: rewound 1 transaction db3 lacks" in text and "db2: rewound 1 transaction db3 lacks" in text, \
        text[-3000:]
    c.write(3, "after")
    c.wait_replicated(primary=3)
    for i in (1, 2, 3):
        assert rows(c, i) == {"before", "after"}, "db%d: %s" % (i, rows(c, i))

def rewound_or_refused(m):
    return m.wait(lambda s: ": rewound " in m.log() or "rewind refused" in s["nodes"]["db1"]["reason"], timeout=40,
                  what="db1 rewound or refused")


@pytest.mark.timeout(240)
def test_no_rewind_while_a_replica_that_may_have_acknowledged_the_tail_is_unreachable(cluster, mppstate):
    # Found in review: db3 alone received and acknowledged a commit; db3 and
    # db1 hung, the failover went to db2 without db3 ("unreachable"), and
    # db1 was rewound: the acknowledged commit was then on db3 alone, which
    # still replicated from db1. Every other node must answer and hold
    # nothing the new writer lacks.
    c, m = start(cluster, mppstate)
    os.kill(m.proc.pid, signal.SIGSTOP)
    try:
        c.sql(2, "STOP SLAVE IO_THREAD")
        c.write(1, "acked-by-db3")  # db3 acknowledges it: the client gets its OK
        until(lambda: "acked-by-db3" in rows(c, 3), 10, "db3 applying it")
        c.sigstop(3)
        c.sigstop(1)
    finally:
        os.kill(m.proc.pid, signal.SIGCONT)
    try:
        m.wait_active("db2", timeout=60)
    finally:
        c.sigcont(1)
    try:
        m.wait(lambda s: "rewind refused: db3 cannot be checked" in s["nodes"]["db1"]["reason"], timeout=40,
               what="the rewind refused while db3 does not answer")
    finally:
        c.sigcont(3)
    m.wait(lambda s: "rewind refused: db3 holds 0-1-11 of it too, which db2 lacks" in s["nodes"]["db1"]["reason"],
           timeout=40, what="the rewind refused while db3 holds the commit")
    assert ": rewound " not in m.log()
    assert "acked-by-db3" in rows(c, 1) and "acked-by-db3" in rows(c, 3)


@pytest.mark.timeout(180)
def test_an_ex_writer_that_crashes_after_its_fence_is_still_rewound(cluster, mppstate, log):
    # Found by the fault campaign: db1, fenced with a tail no client was
    # told of, crashed before its rewind; once restarted, its semi-sync
    # counters were gone, and the rewind was refused for ever ("it
    # restarted since it was the writer"). The fence now seals the proof
    # while the counters still hold it. rewind = no keeps the rewind for
    # after the crash: `mppctl rewind` asks for it then.
    c, m = start(cluster, mppstate, rewind="no")
    assert "error" in diverged_with_a_tail(c, m), "the client was told its commit succeeded"
    c.kill9(1)
    c.restart(1)
    until(lambda: c.value(1, "@@read_only") == "1", 30, "db1 fenced again after its restart")
    log("db1 restarted: %s" % m.state()["nodes"]["db1"])
    assert "tail" in rows(c, 1)
    r = m.mppctl("rewind", "db1", check=False)
    assert r.returncode == 0 and "db1: rewound 1 transaction db2 lacks" in r.stdout, r
    assert "sealed: none of its commits was acknowledged without a replica" in m.log()
    back_without_the_tail(c, m)


@pytest.mark.timeout(180)
def test_a_rewind_cut_off_by_a_crash_after_its_undo_is_finished(cluster, mppstate, log):
    # Found by the fault campaign: db1 was killed after its undo was
    # applied, before its binlog was reset; the next rewind could not tell
    # whether the undo had been applied, and left db1 to the operator. The
    # undo is now one transaction, logged in a domain of its own: the
    # binlog tells. Here the reset fails (no RELOAD on db1) until db1 has
    # crashed and restarted.
    c, m = start(cluster, mppstate)
    c.sql(1, "SET sql_log_bin = 0;\nREVOKE RELOAD ON *.* FROM 'mppadmin'@'127.0.0.1'")
    diverge_db1(c, m, lambda c: commit_unacknowledged(c, "INSERT INTO mpptest.t (v) VALUES ('tail')"))
    until(lambda: "undone, but its binlog was not restarted" in m.log(), 30, "the undo applied, the reset refused")
    assert "tail" not in rows(c, 1)
    c.kill9(1)
    c.restart(1, options=["--read-only=ON"])
    c.sql(1, "SET sql_log_bin = 0;\nGRANT RELOAD ON *.* TO 'mppadmin'@'127.0.0.1'")
    s = m.wait(lambda s: s["nodes"]["db1"]["state"] == "STANDBY", timeout=30, what="db1 rewound, STANDBY")
    log("db1: %s" % s["nodes"]["db1"])
    text = m.log()
    assert "is finished; its binlog restarts at" in text, text[-3000:]
    assert "whether its undo was applied is unknown" not in text, text[-3000:]
    c.write(2, "after")
    c.wait_replicated(primary=2)
    assert rows(c, 1) == rows(c, 2) == {"before", "after"}
    assert not os.path.exists(os.path.join(m.data_dir, "rewind-db1.pending"))


@pytest.mark.timeout(180)
def test_a_rewind_cut_off_by_a_crash_before_its_undo_committed_is_done_again(cluster, mppstate, spawn):
    # The other side of the same crash: the undo never committed (here a
    # row lock of another session makes it time out), then db1 crashed.
    # The binlog shows no undo: it is applied again.
    c, m = start(cluster, mppstate, rewind="no")
    diverged_with_a_tail(c, m)
    c.sql(1, "SET GLOBAL innodb_lock_wait_timeout = 1")
    node = c.node(1)
    spawn([CLIENT, "--defaults-file=" + node.root_cnf, "--batch", "-e",
           "BEGIN; SELECT * FROM mpptest.t WHERE v = 'tail' FOR UPDATE; SELECT SLEEP(100)"],
          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    until(lambda: c.sql(1, "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE = 'User sleep'"), 10,
          "the row lock held")
    r = m.mppctl("rewind", "db1", check=False)
    assert r.returncode == 1 and "applying the inverse" in r.stderr, r
    assert "tail" in rows(c, 1)
    c.kill9(1)
    c.restart(1, options=["--read-only=ON"])
    r = m.mppctl("rewind", "db1", check=False)
    assert r.returncode == 0 and "(its undo had not committed: applied again)" in r.stdout, r
    back_without_the_tail(c, m)


@pytest.mark.timeout(180)
def test_a_rewind_cut_off_by_the_end_of_mppstate_is_done_again_once(cluster, mppstate, spawn):
    # Found by the fault campaign: mppstate was killed while its undo ran in
    # a client program of its own, which went on without it; the next
    # mppstate could not tell what the undo had done. The undo now runs on
    # mppstate's own connection, and ends with it. Here it waits on a row
    # lock when mppstate is killed.
    c, m = start(cluster, mppstate, rewind="no")
    diverged_with_a_tail(c, m)
    node = c.node(1)
    locker = spawn([CLIENT, "--defaults-file=" + node.root_cnf, "--batch", "-e",
                    "BEGIN; SELECT * FROM mpptest.t WHERE v = 'tail' FOR UPDATE; SELECT SLEEP(100)"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    until(lambda: c.sql(1, "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE = 'User sleep'"), 10,
          "the row lock held")
    spawn([m.mppctl_bin, "-c", m.config, "rewind", "db1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    until(lambda: c.sql(1, "SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'"), 20,
          "the undo waiting for the row lock")
    m.proc.kill()
    m.proc.wait()
    m.start()
    os.killpg(locker.pid, signal.SIGKILL)
    for (session,) in c.sql(1, "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE = 'User sleep'"):
        c.sql(1, "KILL %s" % session)
    deadline = time.monotonic() + 30
    while True:
        r = m.mppctl("rewind", "db1", check=False)
        if r.returncode == 0 or time.monotonic() > deadline:
            break
        assert "whether its undo was applied is unknown" not in r.stderr, r
        time.sleep(0.5)
    assert r.returncode == 0 and "is finished" in r.stdout, r
    back_without_the_tail(c, m)


@pytest.mark.timeout(180)
def test_a_non_transactional_tail_is_refused_and_left_as_it_is(cluster, mppstate):
    # Found in review: MyISAM's statements are logged, and stay, one by one:
    # an undo cut off half way could not be told from a whole one.
    c, m = start(cluster, mppstate)
    c.sql(1, "CREATE TABLE mpptest.m (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64)) ENGINE=MyISAM")
    c.wait_replicated()
    rounds_pass(m)
    diverge_db1(c, m, lambda c: commit_unacknowledged(c, "INSERT INTO mpptest.m (v) VALUES ('mtail')"))
    refused(m, "changes a non-transactional table (it ends with COMMIT, not Xid)")
    assert {r["v"] for r in c.sql_dicts(1, "SELECT v FROM mpptest.m")} == {"mtail"}
    assert not os.path.exists(os.path.join(m.data_dir, "rewind-db1.pending"))


@pytest.mark.timeout(180)
def test_a_commit_still_waiting_at_the_rewind_is_never_undone(cluster, mppstate, log):
    # Found in review: after the fence, a login read_only does not stop
    # (root) committed 'acked' on db1, whose semi-sync primary side was
    # still on: it waited for an acknowledgement, so the counters did not
    # show it yet. The rewind took it into the tail, and switching
    # semi-sync off for the undo told its client OK: an acknowledged
    # commit undone. The rewind now waits for every commit under way.
    c, m = start(cluster, mppstate)

    def tail(c):
        w = commit_unacknowledged(c, "INSERT INTO mpptest.t (v) VALUES ('tail')")
        # Holds the rewind back until 'acked' waits (the tail's events are FULL).
        c.sql(1, "SET GLOBAL binlog_row_image = MINIMAL")
        return w

    first = diverge_db1(c, m, tail)
    assert "error" in first.client_told()
    m.wait(lambda s: "binlog_row_image is MINIMAL" in s["nodes"]["db1"]["reason"], timeout=30,
           what="the rewind held back")
    late = Waiting(c, "SET SESSION binlog_row_image = FULL; INSERT INTO mpptest.t (v) VALUES ('acked')")
    c.sql(1, "SET GLOBAL binlog_row_image = FULL")
    told = late.client_told()
    s = m.wait(lambda s: s["nodes"]["db1"]["state"] == "STANDBY" or (
        "rewind refused" in s["nodes"]["db1"]["reason"] and "MINIMAL" not in s["nodes"]["db1"]["reason"]),
        timeout=30, what="db1 rewound or refused")
    log("the late commit's client was told %s; db1: %s" % (told, s["nodes"]["db1"]))
    assert "error" not in told, told  # the wait ended by a fallback: OK
    assert "acked" in rows(c, 1), "a commit whose client was told OK was undone by the rewind"
    assert s["nodes"]["db1"]["state"] == "FAIL" and "fell back to asynchronous" in s["nodes"]["db1"]["reason"]


@pytest.mark.timeout(180)
def test_a_seal_proves_nothing_the_ex_writer_committed_after_it(cluster, mppstate):
    # The seal covers what the binlog held at the fence: a commit made
    # after it (by a login read_only does not stop) is compared with the
    # counters of the server's new run, which cannot prove it.
    c, m = start(cluster, mppstate, rewind="no")
    diverged_with_a_tail(c, m)
    assert "sealed: none of its commits was acknowledged without a replica" in m.log()
    c.kill9(1)
    c.restart(1, options=["--read-only=ON"])
    c.sql(1, "INSERT INTO mpptest.t (v) VALUES ('late')")  # root has READ_ONLY ADMIN
    r = m.mppctl("rewind", "db1", check=False)
    # A restart within seconds of the server's start keeps its start time:
    # its new binlog file tells it.
    assert r.returncode == 1 and "whether its semi-sync fell back to asynchronous then is unknown" in r.stderr, r
    assert {"tail", "late"} <= rows(c, 1)


@pytest.mark.timeout(180)
def test_a_rewind_is_refused_after_a_kill_query_ended_a_commit_s_wait(cluster, mppstate):
    # Found in review: KILL QUERY of a session waiting for its
    # acknowledgement tells the client OK, and semi-sync stays on; only
    # Rpl_semi_sync_master_no_tx counts it. A fence's KILL CONNECTION counts
    # there too, but its client is told the connection was lost: the fences
    # count the waits they cut off, and only those may be undone.
    c, m = start(cluster, mppstate)
    got = {}

    def tail(c):
        t = threading.Thread(target=lambda: got.update(rows=c.sql(1, "INSERT INTO mpptest.t (v) VALUES ('ok')")))
        t.start()
        waiting = "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync ACK%'"
        until(lambda: c.sql(1, waiting), 10, "the commit waiting for an acknowledgement")
        for (session,) in c.sql(1, waiting):
            c.sql(1, "KILL QUERY %s" % session)
        t.join(timeout=30)

    diverge_db1(c, m, tail)
    assert got == {"rows": []}, "the client was not told OK: %r" % got
    refused(m, "ended their wait for an acknowledgement without one, 0 of them cut off by a fence")
    assert "ok" in rows(c, 1)


def test_a_long_select_the_fence_kills_makes_no_room_for_a_kill_query_ended_commit(cluster, mppstate, spawn):
    # Found in review: the fences counted every killed session that ran a
    # statement as a cut-off commit; a long SELECT killed beside a commit
    # whose wait a KILL QUERY ended (its client told OK, as a driver's
    # statement timeout does) let the rewind undo that commit.
    c, m = start(cluster, mppstate)
    got = {}

    def tail(c):
        node = c.node(1)
        spawn([CLIENT, "--defaults-file=" + node.root_cnf, "--batch", "-e", "SELECT SLEEP(100)"],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until(lambda: c.sql(1, "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE = 'User sleep'"), 10,
              "the long SELECT running")
        t = threading.Thread(target=lambda: got.update(rows=c.sql(1, "INSERT INTO mpptest.t (v) VALUES ('ok')")))
        t.start()
        waiting = "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync ACK%'"
        until(lambda: c.sql(1, waiting), 10, "the commit waiting for an acknowledgement")
        for (session,) in c.sql(1, waiting):
            c.sql(1, "KILL QUERY %s" % session)
        t.join(timeout=30)

    diverge_db1(c, m, tail)
    assert got == {"rows": []}, "the client was not told OK: %r" % got
    refused(m, "ended their wait for an acknowledgement without one, 0 of them cut off by a fence")
    assert "ok" in rows(c, 1)


@pytest.mark.timeout(180)
def test_a_rewind_is_refused_after_flush_status_hid_a_fallback(cluster, mppstate):
    # Found in review: FLUSH LOCAL STATUS (mysqladmin flush-status) sets
    # Rpl_semi_sync_master_no_times back to 0 after a fallback.
    c, m = start(cluster, mppstate)

    def tail(c):
        commit_after_fallback(c, "INSERT INTO mpptest.t (v) VALUES ('acked')")
        c.sql(1, "FLUSH LOCAL STATUS")
        assert status(c, 1, "Rpl_semi_sync_master_no_times") == 0

    diverge_db1(c, m, tail)
    refused(m, "its status counters were flushed")
    assert "acked" in rows(c, 1)


@pytest.mark.timeout(180)
def test_a_stale_rewind_record_never_resets_a_running_replica(cluster, mppstate):
    # Found in review: a record of a rewind cut off long ago made `mppctl
    # rewind` reset the binlog of db3, a running replica, to the record's
    # state.
    c, m = start(cluster, mppstate)
    state, pos = c.value(3, "@@gtid_binlog_state"), c.value(3, "@@gtid_slave_pos")
    c.write(1, "later")
    c.wait_replicated()
    pending = os.path.join(m.data_dir, "rewind-db3.pending")
    with open(pending, "w") as f:
        f.write("saved %s\nstate %s\npos %s\n" % (os.path.join(m.data_dir, "rewind-db3-old.sql"), state, pos))
    before = c.value(3, "@@gtid_binlog_state"), c.sql(3, "SHOW BINARY LOGS")
    r = m.mppctl("rewind", "db3", check=False)
    assert r.returncode == 1 and "whether its undo was applied is unknown" in r.stderr, r
    assert (c.value(3, "@@gtid_binlog_state"), c.sql(3, "SHOW BINARY LOGS")) == before
    assert os.path.exists(pending)


@pytest.mark.timeout(180)
def test_a_failing_rewind_leaves_nothing_behind_in_data_dir(cluster, mppstate):
    # Found in review: every round's retry of a rewind whose mariadb-binlog
    # failed left an empty saved file and an error file.
    c, m = start(cluster, mppstate)
    c.sql(1, "REVOKE REPLICATION SLAVE ON *.* FROM 'mppadmin'@'127.0.0.1'")
    c.wait_replicated()
    diverge_db1(c, m, lambda c: commit_unacknowledged(c, "INSERT INTO mpptest.t (v) VALUES ('tail')"))
    m.wait(lambda s: "saving the tail" in m.log(), timeout=30, what="a failed save")
    rounds_pass(m, 8)
    # Stopped first: a retry in progress has files of its own for a moment.
    assert m.stop() == 0
    assert [f for f in os.listdir(m.data_dir) if f.startswith("rewind-")] == []
    assert "tail" in rows(c, 1)


def rounds_pass(m, n=3):
    seq = m.state()["seq"]
    m.wait(lambda s: s["seq"] >= seq + n, what="%d rounds" % n)


def no_steps_for(m, rounds=6, timeout=30):
    """Waits until mppstate has taken no topology step for `rounds` rounds."""
    deadline = time.monotonic() + timeout
    while True:
        steps = m.log().count("topology main:")
        rounds_pass(m, rounds)
        if m.log().count("topology main:") == steps:
            return
        assert time.monotonic() < deadline, "topology steps still taken after %ss:\n%s" % (timeout, m.log()[-2000:])


def everyone_back(s):
    return sorted(n["state"] for n in s["nodes"].values()) == ["ACTIVE", "STANDBY", "STANDBY"]


def settled(c, m, what, timeout=30, rounds=8):
    """Waits until every node is ACTIVE or STANDBY, the ACTIVE's two standbys
    acknowledge its commits, and so it stays for `rounds` rounds: a hang's
    failover can come a moment after the writer resumed. Returns the
    ACTIVE's number."""
    deadline = time.monotonic() + timeout
    start = None
    while time.monotonic() < deadline:
        s = m.state()
        ok = s is not None and everyone_back(s)
        writer = int(actives(s)[0][2:]) if ok else None
        if ok:
            try:
                ok = status(c, writer, "Rpl_semi_sync_master_clients") == 2
            except Exception:
                ok = False
        if not ok or (start is not None and start[0] != writer):
            start = None
        elif start is None:
            start = (writer, s["seq"])
        elif s["seq"] >= start[1] + rounds:
            return writer
        time.sleep(0.05)
    raise AssertionError("timed out after %ss waiting for %s; last state: %s\nlog:\n%s"
                         % (timeout, what, s and s["nodes"], m.log()[-3000:]))


@pytest.mark.timeout(900)
def test_a_writer_that_hangs_and_resumes_costs_no_acknowledged_commit_and_no_standby(cluster, mppstate, log,
                                                                                     note):
    # The campaign: the writer hangs for 0.5, 1.5 and 3 s, five times
    # each, under a client writing through the ACTIVE with a login without
    # SUPER. Every acknowledged commit is on the final writer, and after each
    # hang every node is ACTIVE or STANDBY again within 30 s: an ex-writer
    # with a tail is rewound and rejoins.
    c, m = start(cluster, mppstate)
    with Writer(c, m.state_path) as w:
        writer = settled(c, m, "the pool before the first hang")
        for k, seconds in enumerate([0.5, 1.5, 3.0] * 5):
            acked = len(w.acked)
            until(lambda: len(w.acked) >= acked + 10, 30, "writes through db%d" % writer)
            c.sigstop(writer)
            time.sleep(seconds)
            c.sigcont(writer)
            hung = writer
            writer = settled(c, m, "every node ACTIVE or STANDBY after a %.1f s hang of db%d" % (seconds, hung))
            log("hang %d of db%d for %.1f s: ACTIVE db%d, %d acknowledged" % (k, hung, seconds, writer,
                                                                           len(w.acked)))
        acked = len(w.acked)
        until(lambda: len(w.acked) >= acked + 10, 30, "writes after the last hang")
    writer = int(actives(m.state())[0][2:])
    have = rows(c, writer)
    lost = [v for v in w.acked if v not in have]
    assert lost == [], "acknowledged commits missing on db%d: %r\n%s" % (writer, lost[:10], m.log()[-4000:])
    saved = [p for p in glob.glob(os.path.join(m.data_dir, "rewind-*.sql")) if not p.endswith("-undo.sql")]
    note("15 hangs of the writer (0.5, 1.5, 3 s): %d acknowledged commits, 0 lost; %d ex-writers rewound (%d saved "
         "tails), every node back within 30 s" % (len(w.acked), m.log().count(": rewound "), len(saved)))
