"""An errant transaction, one written on a standby, is found in the whole
gtid_binlog_state (doc/replication.md, "Divergence"), on real MariaDB:
with gtid_strict_mode = OFF (MariaDB's default) it hides behind the
writer's later GTIDs in gtid_binlog_pos. The standby is FAIL "errant",
never promoted, never attached to a new writer."""

import pytest

from daemonlib import actives
from replication_lib import managed, source_of


@pytest.mark.timeout(120)
def test_an_errant_transaction_behind_later_gtids_makes_the_standby_fail_and_it_is_never_attached(
        cluster, mppstate):
    # Reproduced before the fix: after a failover to db2, db3 was attached
    # as STANDBY/OK with a row db2 does not have.
    c = cluster()
    m = mppstate(c, managed(c, rejoin="auto", interval="250ms", extra={"global": {"connect_timeout": "1s"}}))
    m.wait(lambda s: actives(s) == ["db1"] and s["nodes"]["db3"]["state"] == "STANDBY", what="db1 ACTIVE")
    c.sql(3, "SET GLOBAL gtid_strict_mode = OFF")
    c.sql(3, "INSERT INTO mpptest.t (id, v) VALUES (1000000, 'errant')")  # root bypasses read_only
    errant = c.value(3, "@@gtid_binlog_pos")
    assert errant.startswith("0-3-"), errant
    for i in range(3):
        c.write(1, "after-%d" % i)
    c.wait_replicated(primary=1)
    assert c.value(3, "@@gtid_binlog_pos").startswith("0-1-"), \
        "db3's gtid_binlog_pos %s hides the errant GTID; state %s; %r" % (
            c.value(3, "@@gtid_binlog_pos"), c.value(3, "@@gtid_binlog_state"), c.slave_status(3))
    s = m.wait(lambda s: s["nodes"]["db3"]["state"] == "FAIL", timeout=15, what="db3 FAIL")
    assert s["nodes"]["db3"]["reason"] == "errant: %s is not in db1's binlog" % errant, s["nodes"]["db3"]
    log = m.log()
    assert log.count("main/db3: gtid_strict_mode is OFF") == 1, log[-3000:]
    assert "gtid_strict_mode OFF" in m.mppctl("status").stdout

    c.kill9(1)
    m.wait(lambda s: actives(s) == ["db2"], timeout=20, what="db2 ACTIVE, not the errant db3")
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "FAIL" and "%s is not in db2's binlog" % errant
           in s["nodes"]["db3"]["reason"], timeout=20, what="db3 FAIL: diverged from db2")
    assert source_of(c, 3) != "db2", "db3 was attached to db2"
    assert "errant" not in {r[0] for r in c.sql(2, "SELECT v FROM mpptest.t")}
