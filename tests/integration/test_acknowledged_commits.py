"""A writer that hangs and comes back (SIGSTOP, then SIGCONT) never costs an
acknowledged commit or a standby (doc/replication.md, "The guarantee, exactly"), on
real MariaDB with semi_sync: the failover first stops every replica of the
hung writer from receiving more of it, so none acknowledges the late
commits it makes when it resumes, and the new writer is chosen from what
they hold then."""

import threading
import time

import pymysql
import pytest

from daemonlib import actives
from replication_lib import Writer, connect, global_status as status, managed, until

HUNG = {"global": {"connect_timeout": "1s"},
        "pool main": {"semi_sync": "yes", "promote_wait": "2s", "election_timeout": "1s"}}


def config(c):
    return managed(c, rejoin="auto", interval="250ms", extra=HUNG)


def semi_sync_settled(c, writer, replicas):
    return status(c, writer, "Rpl_semi_sync_master_clients") == len(replicas)


def rows(c, i):
    return {r["v"] for r in c.sql_dicts(i, "SELECT v FROM mpptest.t")}


class AppliedLate:
    """Node i applies late what it receives: a root session holds a write
    lock on mpptest.t for `seconds`, so its SQL thread waits while its IO
    thread receives, and acknowledges, at once. (MASTER_DELAY would do the
    same, but a delayed replica may never be promoted.)"""

    def __init__(self, c, i, seconds):
        self.conn = connect(c, i)
        with self.conn.cursor() as cur:
            cur.execute("LOCK TABLES mpptest.t WRITE")
        self.timer = threading.Timer(seconds, self.release)
        self.timer.start()

    def release(self):
        try:
            with self.conn.cursor() as cur:
                cur.execute("UNLOCK TABLES")
        finally:
            self.conn.close()


def stall_the_writer(c, m, seconds):
    """db1 hangs for `seconds` under a writing client and resumes; returns
    (the new writer, the client)."""
    with Writer(c, m.state_path) as w:
        until(lambda: len(w.acked) >= 30, 20, "30 acknowledged rows")
        c.sigstop(1)
        time.sleep(seconds)
        c.sigcont(1)
        s = m.wait(lambda s: actives(s) in (["db2"], ["db3"]), timeout=20, what="a new writer")
        writer = int(actives(s)[0][2:])
        acked = len(w.acked)
        until(lambda: len(w.acked) >= acked + 20, 30, "writes acknowledged by the new writer")
    return writer, w


@pytest.mark.timeout(180)
def test_a_writer_that_resumes_after_a_failover_began_loses_no_acknowledged_commit(cluster, mppstate, log):
    # Reproduced before the fix: db1 resumed and committed the client's
    # pending insert; db3, still its replica, acknowledged it; db2 was
    # promoted without it, and db1 and db3 ended FAIL "diverged".
    c = cluster()
    m = mppstate(c, config(c))
    m.wait(lambda s: actives(s) == ["db1"], what="db1 ACTIVE")
    until(lambda: semi_sync_settled(c, 1, [2, 3]), 20, "db2 and db3 acknowledging db1's commits")
    writer, w = stall_the_writer(c, m, 1.5)
    other = 5 - writer
    have = rows(c, writer)
    lost = [v for v in w.acked if v not in have]
    assert lost == [], "acknowledged commits missing on db%d: %r\n%s" % (writer, lost[:10], m.log()[-4000:])
    # The other replica follows the new writer: it never received what the
    # new writer lacks.
    s = m.wait(lambda s: s["nodes"]["db%d" % other]["state"] == "STANDBY", timeout=30,
               what="db%d STANDBY of db%d" % (other, writer))
    log("db1 after the failover: %s %s" % (s["nodes"]["db1"]["state"], s["nodes"]["db1"]["reason"]))
    text = m.log()
    assert "failover: first stopping" in text, text[-4000:]
    assert "topology main: sever db" in text, text[-4000:]


@pytest.mark.timeout(180)
def test_a_commit_received_but_not_applied_by_the_only_replica_that_acknowledged_it_is_kept(
        cluster, mppstate, log):
    # Reproduced before the fix: db2 (not receiving) was promoted after
    # promote_wait; db3 was re-pointed with STOP SLAVE and CHANGE MASTER,
    # which deleted the relay log holding the commit; nothing was logged.
    c = cluster()
    m = mppstate(c, config(c))
    m.wait(lambda s: actives(s) == ["db1"] and s["nodes"]["db3"]["state"] == "STANDBY", what="db1 ACTIVE")
    until(lambda: semi_sync_settled(c, 1, [2, 3]), 20, "db2 and db3 acknowledging db1's commits")
    yes = status(c, 1, "Rpl_semi_sync_master_yes_tx")
    c.sql(2, "STOP SLAVE IO_THREAD")
    # db3 applies what it receives 4 s late; it still acknowledges at once.
    AppliedLate(c, 3, 4)
    c.write(1, "acked-by-db3-only")
    assert status(c, 1, "Rpl_semi_sync_master_yes_tx") == yes + 1, "db3 did not acknowledge the commit"
    c.kill9(1)
    # Only db3 received it (unless a round restarted db2's IO thread in
    # these few milliseconds: then the test proves less, and says so).
    log("db2 received the row before db1 died: %s" % (c.slave_status(2).get("Gtid_IO_Pos") ==
                                                     c.slave_status(3).get("Gtid_IO_Pos")))
    s = m.wait(lambda s: actives(s) in (["db2"], ["db3"]), timeout=30, what="a new writer")
    writer = int(actives(s)[0][2:])
    until(lambda: "acked-by-db3-only" in rows(c, writer) or None, 30, "the acknowledged row on db%d" % writer)
    other = 5 - writer
    s = m.wait(lambda s: s["nodes"]["db%d" % other]["state"] == "STANDBY", timeout=30,
               what="db%d STANDBY of db%d" % (other, writer))
    until(lambda: "acked-by-db3-only" in rows(c, other) or None, 30, "the row on db%d too" % other)


@pytest.mark.timeout(180)
def test_an_election_after_a_restart_waits_for_the_replica_that_acknowledged_a_commit_alone(
        cluster, mppstate, log):
    # Reproduced before the fix: mppstate, restarted after db1 died, elected
    # db2 in place of db1 without the commit only db3 had received (and
    # acknowledged); db3 ended FAIL "diverged".
    c = cluster()
    m = mppstate(c, config(c))
    m.wait(lambda s: actives(s) == ["db1"] and s["nodes"]["db3"]["state"] == "STANDBY", what="db1 ACTIVE")
    until(lambda: semi_sync_settled(c, 1, [2, 3]), 20, "db2 and db3 acknowledging db1's commits")
    assert m.stop() == 0  # an upgrade, a reboot of the director
    c.sql(2, "STOP SLAVE IO_THREAD")
    yes = status(c, 1, "Rpl_semi_sync_master_yes_tx")
    AppliedLate(c, 3, 4)
    c.write(1, "acked-by-db3-only")
    assert status(c, 1, "Rpl_semi_sync_master_yes_tx") == yes + 1, "db3 did not acknowledge the commit"
    c.kill9(1)
    m.start()
    s = m.wait(lambda s: actives(s) in (["db2"], ["db3"]), timeout=30, what="a new writer")
    writer = int(actives(s)[0][2:])
    log("elected db%d: %s" % (writer, s["pools"]["main"]))
    assert writer == 3, m.log()[-3000:]
    until(lambda: "acked-by-db3-only" in rows(c, 3) or None, 30, "the acknowledged row on db3")
    s = m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY", timeout=30, what="db2 STANDBY of db3")
    assert "waiting for db3 to apply what it received before the election" in m.log(), m.log()[-3000:]


@pytest.mark.timeout(180)
def test_an_election_after_a_restart_severs_the_replicas_of_a_hung_writer(cluster, mppstate, log):
    # Reproduced before the fix: mppstate restarted while db1 hung with a
    # client's insert pending; it elected db2 in place of db1 without
    # stopping db3 from receiving; db1 resumed, db3 acknowledged the insert
    # (the client was told OK), and db2 never got it.
    c = cluster()
    m = mppstate(c, config(c))
    m.wait(lambda s: actives(s) == ["db1"] and s["nodes"]["db3"]["state"] == "STANDBY", what="db1 ACTIVE")
    until(lambda: semi_sync_settled(c, 1, [2, 3]), 20, "db2 and db3 acknowledging db1's commits")
    w = Writer(c, m.state_path)  # for its login without SUPER
    conn = pymysql.connect(unix_socket=c.node(1).socket, user="app", password=w.password, autocommit=True,
                           read_timeout=60)
    got = {}

    def insert():
        try:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO mpptest.t (v) VALUES ('late')")
            got["insert"] = "OK"
        except Exception as e:
            got["insert"] = "error: %s" % e

    assert m.stop() == 0
    c.sigstop(1)
    t = threading.Thread(target=insert, daemon=True)
    t.start()  # pending on the hung db1
    m.start()
    try:
        s = m.wait(lambda s: actives(s) in (["db2"], ["db3"]), timeout=60, what="a new writer")
    finally:
        c.sigcont(1)
    writer = int(actives(s)[0][2:])
    t.join(60)
    log("the client was told: %s; new writer db%d" % (got.get("insert"), writer))
    text = m.log()
    assert "failover: first stopping db2, db3 from receiving from db1" in text, text[-3000:]
    m.wait(lambda s: s["nodes"]["db1"]["state"] in ("FAIL", "STANDBY"), timeout=30, what="db1 fenced")
    if got.get("insert") == "OK":
        assert "late" in rows(c, writer), "an acknowledged commit is missing on db%d" % writer
    else:
        assert "late" not in rows(c, 5 - writer), "a replica of db1 took its late commit"
