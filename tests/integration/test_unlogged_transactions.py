"""Divergence means data, not configuration (doc/replication.md,
"Divergence"), on real MariaDB: a replica that applies a transaction
without writing it to its binlog (a replication filter skipped it, or
log_slave_updates = OFF) has a gtid_slave_pos past its gtid_binlog_pos.
After a failover, a standby at the same position as the new writer holds
nothing it lacks: it is attached, not called diverged, and the node's
reason says why its positions differ. A transaction written on a standby
alone is still divergence."""

import pytest

from daemonlib import actives
from replication_lib import managed, source_of, until

FAST = {"global": {"connect_timeout": "1s"}}


def start(cluster, mppstate, server_options):
    c = cluster(server_options=server_options)
    m = mppstate(c, managed(c, interval="250ms", extra=FAST))
    m.wait(lambda s: actives(s) == ["db1"] and s["nodes"]["db2"]["state"] == "STANDBY"
           and s["nodes"]["db3"]["state"] == "STANDBY", what="db1 ACTIVE, db2 and db3 STANDBY")
    return c, m


def unlogged_on_replicas(c):
    """The replicas applied db1's whole binlog, and their own binlogs lack
    its last transactions."""
    c.wait_replicated()
    for i in (2, 3):
        assert c.value(i, "@@gtid_slave_pos") == c.value(1, "@@gtid_binlog_pos")
        assert c.value(i, "@@gtid_binlog_pos") != c.value(i, "@@gtid_slave_pos"), \
            "db%d logged all it applied: %s" % (i, c.value(i, "@@gtid_binlog_state"))


def fails_over_and_db3_follows_db2(c, m, note):
    """kill -9 of db1: db2 is the writer, db3 is attached to it and
    STANDBY, and receives what db2 writes."""
    c.kill9(1)
    m.wait(lambda s: actives(s) == ["db2"], timeout=20, what="db2 ACTIVE")
    s = m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY" and source_of(c, 3) == "db2", timeout=30,
               what="db3 attached to db2 and STANDBY")
    assert "diverged" not in s["nodes"]["db3"]["reason"], s["nodes"]["db3"]
    assert "diverged" not in m.log(), m.log()[-3000:]
    c.write(2, "after-failover")
    c.wait_replicated(primary=2, nodes=[3])
    rows = {r[0] for r in c.sql(3, "SELECT v FROM mpptest.t")}
    assert {"before-failover", "after-failover"} <= rows, rows
    assert c.slave_status(3)["Last_IO_Errno"] == "0"
    assert not c.sql(2, "SELECT 1 FROM mpptest.t GROUP BY v HAVING COUNT(*) > 1"), "duplicated on db2"
    assert not c.sql(3, "SELECT 1 FROM mpptest.t GROUP BY v HAVING COUNT(*) > 1"), "duplicated on db3"
    note("db3 at %s, db2 at %s" % (c.value(3, "@@gtid_slave_pos"), c.value(2, "@@gtid_binlog_pos")))


@pytest.mark.timeout(150)
def test_a_replica_whose_last_transactions_a_filter_skipped_is_attached_after_a_failover_not_diverged(
        cluster, mppstate, note):
    # Reproduced before the fix: db3 was FAIL "diverged: 0-1-N is not in
    # db2's binlog" and kept replicating from the dead db1.
    c, m = start(cluster, mppstate, ["replicate-ignore-db = scratch"])
    # The replicas skip the statements too: they run in the ignored database.
    c.sql(1, "CREATE DATABASE scratch;\nUSE scratch;\nCREATE TABLE s (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))")
    c.write(1, "before-failover")
    for i in range(3):
        c.sql(1, "INSERT INTO scratch.s (v) VALUES ('skipped-%d')" % i)
    unlogged_on_replicas(c)
    fails_over_and_db3_follows_db2(c, m, note)
    note_text = "replication filters (replicate-ignore-db=scratch): positions compared on gtid_slave_pos"
    m.wait(lambda s: s["nodes"]["db3"]["reason"] == note_text, timeout=10, what="db3's filter noted")
    status = m.mppctl("status").stdout
    assert note_text in status and "filters replicate-ignore-db=scratch" in status, status


@pytest.mark.timeout(150)
def test_a_replica_with_log_slave_updates_off_is_attached_after_a_failover_not_diverged(
        cluster, mppstate, note):
    # Reproduced before the fix: as with a filter, db3's gtid_slave_pos is
    # not in db2's binlog, and db3 was called diverged.
    c, m = start(cluster, mppstate, ["log-slave-updates = OFF"])
    c.write(1, "before-failover")
    unlogged_on_replicas(c)
    fails_over_and_db3_follows_db2(c, m, note)
    note_text = "log_slave_updates is OFF: positions compared on gtid_slave_pos"
    m.wait(lambda s: s["nodes"]["db3"]["reason"] == note_text, timeout=10, what="db3's setting noted")
    status = m.mppctl("status").stdout
    assert note_text in status and "log_slave_updates OFF" in status, status


@pytest.mark.timeout(150)
def test_a_transaction_written_on_a_replica_with_log_slave_updates_off_is_still_divergence(cluster, mppstate):
    c, m = start(cluster, mppstate, ["log-slave-updates = OFF"])
    c.write(1, "before-failover")
    c.wait_replicated()
    c.sql(3, "INSERT INTO mpptest.t (v) VALUES ('only-on-db3')")  # root bypasses read_only
    own = until(lambda: [g for g in c.value(3, "@@gtid_binlog_state").split(",") if g.startswith("0-3-")],
                5, "db3's own GTID")[0]
    c.kill9(1)
    m.wait(lambda s: actives(s) == ["db2"], timeout=20, what="db2 ACTIVE")
    s = m.wait(lambda s: s["nodes"]["db3"]["state"] == "FAIL" and "%s is not in db2's binlog" % own
               in s["nodes"]["db3"]["reason"], timeout=20, what="db3 FAIL: diverged from db2")
    reason = s["nodes"]["db3"]["reason"]
    assert reason.startswith("diverged: "), reason
    assert "db2: log_slave_updates is OFF" in reason, reason
    assert source_of(c, 3) != "db2", "db3 was attached to db2"
    assert "only-on-db3" not in {r[0] for r in c.sql(2, "SELECT v FROM mpptest.t")}
