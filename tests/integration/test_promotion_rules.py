"""Promotion rules on real MariaDB (doc/pool-logic.md, "Eligible to replace
the writer"): a node with `promote = no` and a delayed replica
(MASTER_DELAY) serve reads but never become the writer, even when they
received the most of a writer that died; `failover_zones = same` keeps a
failover in the failed writer's zone.
"""

import signal
import time

from replication_lib import managed, source_of, until

DELAY = 3600


def name(i):
    return "db%d" % i


def gtid_io_pos(c, i):
    return c.slave_status(i).get("Gtid_IO_Pos", "")


def rows(c, i, tag):
    return int(c.sql(i, "SELECT COUNT(*) FROM mpptest.t WHERE v = '%s'" % tag)[0][0])


def delay_replica(c, i):
    c.sql(i, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = %d; START SLAVE" % DELAY)


def test_a_delayed_replica_and_a_promote_no_node_that_received_the_most_are_passed_over(cluster, mppstate, note):
    # db1 writer; db2 has promote = no and comes first in priority order;
    # db3 may be promoted; db4 is an hour behind on purpose. db4 alone
    # receives the last rows: the failover still chooses db3, and
    # re-points both others to it.
    c = cluster(4)
    c.write(1, "before")
    # A long interval: nothing restarts db2's IO thread between our stop
    # and the crash; the crash itself is seen at once, by the watch.
    cfg = managed(c, interval="2s", extra={"node db2": {"promote": "no"}, "pool main": {"election_timeout": "1s"}})
    c.wait_replicated()
    delay_replica(c, 4)
    m = mppstate(c, cfg)
    m.wait(lambda s: s["nodes"]["db1"]["state"] == "ACTIVE" and
           all(s["nodes"][name(i)]["state"] == "STANDBY" for i in (2, 3, 4)),
           timeout=30, what="db1 ACTIVE, the others STANDBY")
    s = m.state()
    assert s["nodes"]["db4"]["lag"] == "0", "db4's lag is counted beyond its delay: %r" % s["nodes"]["db4"]
    status = m.mppctl("status").stdout
    assert "never promoted: promote = no" in status, status
    assert "never promoted: delayed replica (SQL_Delay %ds)" % DELAY in status, status
    reads = m.status_json()["vs"][1]
    assert {d["node"]: d["up"] for d in reads["dests"]}["db4"], "db4 serves reads: %r" % reads

    # Right after a round: the next one is 2 s away.
    seq = m.state()["seq"]
    m.wait(lambda s: s["seq"] > seq, timeout=10, what="a new round")
    c.sql(2, "STOP SLAVE IO_THREAD")
    c.sql(3, "STOP SLAVE IO_THREAD")
    for k in range(3):
        c.write(1, "late-%d" % k)
    last = c.value(1, "@@gtid_binlog_pos")
    until(lambda: gtid_io_pos(c, 4) == last, 5, "db4 received " + last)
    assert gtid_io_pos(c, 2) != last and gtid_io_pos(c, 3) != last, "db2 and db3 did not receive the late rows"
    t0 = time.monotonic()
    c.kill9(1)

    m.wait(lambda s: s["nodes"]["db3"]["state"] == "ACTIVE", timeout=20, what="db3 ACTIVE")
    elapsed = time.monotonic() - t0
    until(lambda: source_of(c, 2) == "db3" and source_of(c, 4) == "db3", 30, "db2 and db4 replicating from db3")
    note("kill -9 of db1 to db3 ACTIVE, passing over db2 (promote = no, first in priority order) and db4 "
         "(delayed, received more): %.2fs" % elapsed)
    s = m.state()
    assert s["nodes"]["db2"]["state"] != "ACTIVE" and s["nodes"]["db4"]["state"] != "ACTIVE"
    until(lambda: c.value(3, "@@read_only") == "0", 10, "db3 writable")
    assert rows(c, 3, "late-0") == 0, "db3 is the writer without the rows only db4 received"
    assert "relay log, not applied, held what db3 lacks, now deleted" in m.log(), \
        "the attachment of db4 says what its relay log lost"
    # The delayed replica keeps its delay under its new source.
    assert c.slave_status(4).get("SQL_Delay") == str(DELAY), c.slave_status(4)
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY" and s["nodes"]["db4"]["state"] == "STANDBY",
           timeout=30, what="db2 and db4 STANDBY under db3")
    # A row written on db3 reaches db2 (db4 applies it an hour later).
    c.write(3, "after")
    c.wait_replicated(timeout=15, nodes=[2], primary=3)
    # A switchover to either is refused, with the reason.
    for target, why in (("db2", "promote = no"), ("db4", "delayed replica")):
        r = m.mppctl("switchover", "main", target, check=False)
        assert r.returncode == 1, "switchover to %s: %r" % (target, r)
        assert why in r.stderr, r.stderr
    assert m.state()["nodes"]["db3"]["state"] == "ACTIVE"


def status(c, i, variable):
    return int(c.sql_dicts(i, "SHOW GLOBAL STATUS LIKE '%s'" % variable)[0]["Value"])


def test_with_semi_sync_a_delayed_replica_holding_an_acknowledged_commit_is_not_repointed(cluster, mppstate):
    # With semi_sync a delayed replica acknowledges like any replica: its
    # relay log may hold the only copy of an acknowledged commit. Here it
    # does, and it hangs at the failover: when it answers again it is
    # FAIL, diverged, its relay log kept, never re-pointed.
    c = cluster(3)
    c.write(1, "before")
    cfg = managed(c, interval="300ms", extra={"pool main": {"semi_sync": "yes", "election_timeout": "1s"}})
    c.wait_replicated()
    delay_replica(c, 3)
    m = mppstate(c, cfg)
    m.wait(lambda s: s["nodes"]["db1"]["state"] == "ACTIVE" and s["nodes"]["db2"]["state"] == "STANDBY" and
           s["nodes"]["db3"]["state"] == "STANDBY", timeout=30, what="db1 ACTIVE, db2 and db3 STANDBY")
    until(lambda: status(c, 1, "Rpl_semi_sync_master_clients") == 2, 30, "two semi-sync replicas of db1")
    # mppstate stopped while db2 stops receiving: db3 alone acknowledges
    # the next commit.
    m.proc.send_signal(signal.SIGSTOP)
    try:
        c.sql(2, "STOP SLAVE IO_THREAD")
        yes = status(c, 1, "Rpl_semi_sync_master_yes_tx")
        c.write(1, "acked")
        assert status(c, 1, "Rpl_semi_sync_master_yes_tx") == yes + 1, "the commit was acknowledged"
        last = c.value(1, "@@gtid_binlog_pos")
        until(lambda: gtid_io_pos(c, 3) == last, 5, "db3 received " + last)
        assert gtid_io_pos(c, 2) != last, "db2 did not receive it"
        c.sigstop(3)
        c.kill9(1)
    finally:
        m.proc.send_signal(signal.SIGCONT)
    try:
        m.wait_active("db2", timeout=40)
    finally:
        c.sigcont(3)
    m.wait(lambda s: s["nodes"]["db3"]["reason"].startswith("diverged"), timeout=40, what="db3 diverged")
    time.sleep(1)  # rounds in which an attachment would re-point it
    assert source_of(c, 3) != "db2", "db3 is not re-pointed"
    assert gtid_io_pos(c, 3) == last, "db3 still holds the acknowledged commit " + last
    assert c.slave_status(3).get("SQL_Delay") == str(DELAY)


def zones_pool(cluster, mppstate, failover_zones):
    """db1 and db3 in zone east, db2 in zone west; db1 ACTIVE; db3 is down
    when db1 is killed."""
    c = cluster(3)
    extra = {"node db1": {"zone": "east"}, "node db2": {"zone": "west"}, "node db3": {"zone": "east"},
             "pool main": {"failover_zones": failover_zones, "election_timeout": "1s"}}
    m = mppstate(c, managed(c, interval="300ms", extra=extra))
    m.wait(lambda s: s["nodes"]["db1"]["state"] == "ACTIVE" and s["nodes"]["db2"]["state"] == "STANDBY" and
           s["nodes"]["db3"]["state"] == "STANDBY", timeout=30, what="db1 ACTIVE, db2 and db3 STANDBY")
    c.write(1, "before")
    c.wait_replicated()
    c.kill9(3)
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "FAIL", timeout=20, what="db3 FAIL")
    c.kill9(1)
    return c, m


def test_failover_zones_same_waits_rather_than_cross_zones(cluster, mppstate, note):
    c, m = zones_pool(cluster, mppstate, "same")
    m.wait(lambda s: "no eligible standby in zone east (db2 in zone west is not considered)"
           in s["pools"]["main"]["note"], timeout=20, what="the note on the zone")
    time.sleep(2)  # many rounds: still no failover across zones
    s = m.state()
    assert s["nodes"]["db2"]["state"] != "ACTIVE", s["nodes"]
    assert c.value(2, "@@read_only") == "1", "db2, in the other zone, stays read_only"
    # db3, in the zone, comes back: it is promoted.
    t0 = time.monotonic()
    c.restart(3)
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "ACTIVE", timeout=30, what="db3 ACTIVE")
    until(lambda: source_of(c, 2) == "db3", 30, "db2 replicating from db3")
    note("failover_zones = same: db3 (zone east) ACTIVE %.2fs after its restart" % (time.monotonic() - t0))
    assert rows(c, 3, "before") == 1


def test_failover_zones_any_crosses_zones(cluster, mppstate):
    c, m = zones_pool(cluster, mppstate, "any")
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "ACTIVE", timeout=20, what="db2 ACTIVE")
    until(lambda: c.value(2, "@@read_only") == "0", 10, "db2 writable")
    assert rows(c, 2, "before") == 1
