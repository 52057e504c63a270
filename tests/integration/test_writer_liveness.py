"""A pool always gets a writer (doc/pool-logic.md, "Eligible to replace the
writer" and "Evidence"), on real MariaDB with manage_replication: the
deadlocks between the decision and the databases that a failing check
query, a full server or a lagging standby used to cause.

  - a writer whose check query fails (a table lost on that server alone),
    or whose polls time out (a table lock), is failed over; its admin login
    still answers, shows it writable, and it is fenced, so the new writer
    is made writable;
  - a standby whose last poll before the crash was 1040 is promoted once
    it answers again: a lag never seen is no refusal;
  - a read_only ACTIVE whose connections are full is made writable through
    the admin login's spare connection;
  - every standby lagging: the note names each with its lag, and the first
    to apply what it received is promoted, without a restart.

Each test prints the time from the trigger to a writable ACTIVE.
"""

import time

from daemonlib import actives
from replication_lib import TableLock, fill_connections, managed, release_clients, source_of, until

HB = "SELECT i FROM mpptest.hb"
POOL = {"global": {"connect_timeout": "1s", "query_timeout": "1s"},
        "pool main": {"election_timeout": "1s"}}


def config(c, extra=None):
    cfg = dict(POOL)
    for header, keys in (extra or {}).items():
        cfg[header] = dict(cfg.get(header, {}), **keys)
    return managed(c, interval="200ms", extra=cfg)


def heartbeat_table(c):
    """mpptest.hb on every server, readable by the monitoring login."""
    c.sql(1, "CREATE TABLE mpptest.hb (i INT PRIMARY KEY)")
    c.sql(1, "INSERT INTO mpptest.hb VALUES (1)")
    c.sql(1, "GRANT SELECT ON mpptest.* TO '%s'@'127.0.0.1'" % c.mpp_user)
    c.wait_replicated()


def writer(m):
    s = m.state()
    a = actives(s) if s else []
    return a[0] if len(a) == 1 else None


def writable_active(c, m, node):
    """node is the one ACTIVE of the state file and is writable."""
    return writer(m) == node and c.value(int(node[2:]), "@@read_only") == "0"


def wait_started(c, m, n):
    m.wait(lambda s: s["nodes"]["db1"]["state"] == "ACTIVE" and
           all(s["nodes"]["db%d" % i]["state"] == "STANDBY" for i in range(2, n + 1)),
           timeout=30, what="db1 ACTIVE, the others STANDBY")
    assert c.value(1, "@@read_only") == "0"


def fenced_and_promoted(c, m, note, what, t0):
    until(lambda: writable_active(c, m, "db2"), 30, "db2 ACTIVE and writable")
    note("%s: trigger to a writable ACTIVE: %.2fs" % (what, time.monotonic() - t0))
    assert c.value(1, "@@read_only") == "1", "db1 was fenced"
    until(lambda: source_of(c, 3) == "db2", 30, "db3 replicating from db2")
    log = m.log()
    assert "the admin login sees it writable" in log, log[-3000:]
    c.write(2, "after")
    c.wait_replicated(timeout=15, nodes=[3], primary=2)


def test_a_writer_whose_check_query_fails_is_fenced_and_replaced(cluster, mppstate, note):
    c = cluster()
    heartbeat_table(c)
    m = mppstate(c, config(c, {"global": {"check_query": HB}}))
    wait_started(c, m, 3)
    t0 = time.monotonic()
    # A table lost on db1 alone: its polls fail, its admin login answers.
    c.sql(1, "SET SESSION sql_log_bin = 0; DROP TABLE mpptest.hb")
    fenced_and_promoted(c, m, note, "check query failing on the writer", t0)


def test_an_overloaded_writer_whose_polls_time_out_is_fenced_and_replaced(cluster, mppstate, spawn, note):
    c = cluster()
    heartbeat_table(c)
    m = mppstate(c, config(c, {"global": {"check_query": HB}}))
    wait_started(c, m, 3)
    t0 = time.monotonic()
    # The check query waits for a table lock: every poll of db1 times out,
    # while the server itself answers.
    lock = TableLock(spawn, c, 1, table="mpptest.hb")
    try:
        fenced_and_promoted(c, m, note, "writer polls timing out", t0)
    finally:
        lock.release()


def test_a_standby_full_at_the_crash_is_promoted_once_it_answers(cluster, mppstate, spawn, note):
    c = cluster(n=2)
    m = mppstate(c, config(c))
    wait_started(c, m, 2)
    clients = fill_connections(c, 2, spawn)
    m.wait(lambda s: "too many connections" in s["nodes"]["db2"]["reason"], timeout=20,
           what="db2's polls answered 1040")
    c.kill9(1)
    time.sleep(2)
    t0 = time.monotonic()
    release_clients(clients)
    until(lambda: writable_active(c, m, "db2"), 30, "db2 ACTIVE and writable")
    note("standby full at the crash: its release to a writable ACTIVE: %.2fs" % (time.monotonic() - t0))
    assert m.state()["nodes"]["db1"]["state"] == "FAIL"


def test_a_read_only_active_is_made_writable_while_its_connections_are_full(cluster, mppstate, spawn, note):
    c = cluster()
    m = mppstate(c, config(c))
    wait_started(c, m, 3)
    clients = fill_connections(c, 1, spawn)
    try:
        m.wait(lambda s: "too many connections" in s["nodes"]["db1"]["reason"], timeout=20,
               what="db1's polls answered 1040")
        # As after a restart with read_only in its configuration.
        c.sql(1, "SET GLOBAL read_only = ON")
        t0 = time.monotonic()
        until(lambda: c.value(1, "@@read_only") == "0", 30, "db1 writable again")
        note("read_only ACTIVE with full connections to writable: %.2fs" % (time.monotonic() - t0))
        assert writer(m) == "db1", "db1 stayed the ACTIVE"
        log = m.log()
        assert "the admin login sees it read_only" in log, log[-3000:]
    finally:
        release_clients(clients)


def test_every_standby_lagging_is_named_and_the_first_caught_up_promoted(cluster, mppstate, spawn, note):
    c = cluster()
    m = mppstate(c, config(c, {"pool main": {"max_promote_lag": "1s", "max_lag": "1h"}}))
    wait_started(c, m, 3)
    locks = {i: TableLock(spawn, c, i) for i in (2, 3)}
    try:
        for k in range(6):
            c.write(1, "lagging-%d" % k)
            time.sleep(0.5)
        until(lambda: all(int(c.slave_status(i).get("Seconds_Behind_Master") or 0) >= 2 for i in (2, 3)),
              20, "both standbys 2s behind")
        time.sleep(0.5)  # a round sees it
        c.kill9(1)

        def named():
            note_text = m.state()["pools"]["main"]["note"]
            return all("db%d: relay log not applied yet (lag" % i in note_text for i in (2, 3)) and note_text
        text = until(named, 20, "the note naming each lagging standby")
        assert "> max_promote_lag 1s" in text, text
        assert writer(m) == "db1", "nobody promoted while both still apply"
        t0 = time.monotonic()
        locks.pop(3).release()
        until(lambda: writable_active(c, m, "db3"), 30, "db3 ACTIVE and writable")
        note("lagging standby caught up to a writable ACTIVE: %.2fs" % (time.monotonic() - t0))
        rows = c.sql(3, "SELECT COUNT(*) FROM mpptest.t WHERE v LIKE 'lagging-%'")[0][0]
        assert rows == "6", "db3 applied everything it received before it was made writable"
    finally:
        for lock in locks.values():
            lock.release()


def test_a_standby_cut_off_before_the_crash_is_not_chosen_over_one_that_received_more(cluster, mppstate, spawn,
                                                                                      note):
    c = cluster()
    m = mppstate(c, config(c))
    wait_started(c, m, 3)
    # db2's replication login is refused from now on: it receives nothing
    # more, and has applied all it has.
    c.sql(2, "STOP SLAVE; CHANGE MASTER TO MASTER_PASSWORD='wrong'; START SLAVE")
    for k in range(20):
        c.write(1, "only-db3-%d" % k)
    c.wait_replicated(nodes=[3])
    lock = TableLock(spawn, c, 3)  # db3 receives the last rows, applies them later
    try:
        for k in range(3):
            c.write(1, "late-%d" % k)
        until(lambda: c.slave_status(3)["Gtid_IO_Pos"] == c.value(1, "@@gtid_binlog_pos"), 10, "db3 received all")
        c.kill9(1)

        def refused():
            text = m.state()["pools"]["main"]["note"]
            return "db2: IO thread error 1045, and db3 received more" in text and text
        until(refused, 20, "db2 refused while db3 applies")
        assert writer(m) == "db1", "nobody chosen while db3 applies what it received"
        t0 = time.monotonic()
    finally:
        lock.release()
    until(lambda: writable_active(c, m, "db3"), 30, "db3 ACTIVE and writable")
    note("cut-off standby passed over: db3 applied to writable ACTIVE: %.2fs" % (time.monotonic() - t0))
    rows = c.sql(3, "SELECT COUNT(*) FROM mpptest.t WHERE v LIKE 'only-db3-%' OR v LIKE 'late-%'")[0][0]
    assert rows == "23", "the new writer has every commit db1 acknowledged"


def test_a_hung_writer_is_replaced_within_the_liveness_bound_with_long_login_timeouts(cluster, mppstate, note):
    # A look through the admin login at a server that hangs must not hold
    # the failover up for a login timeout of its own each time.
    c = cluster()
    m = mppstate(c, config(c, {"global": {"connect_timeout": "5s", "query_timeout": "5s"}}))
    wait_started(c, m, 3)
    c.sigstop(1)
    t0 = time.monotonic()
    try:
        until(lambda: writable_active(c, m, "db2"), 10, "db2 ACTIVE and writable within 10 s")
        note("SIGSTOP of the writer, 5 s login timeouts: to a writable ACTIVE: %.2fs" % (time.monotonic() - t0))
        until(lambda: source_of(c, 3) == "db2", 20, "db3 replicating from db2")
    finally:
        c.sigcont(1)
    until(lambda: c.value(1, "@@read_only") == "1", 20, "db1 fenced once it resumes")


def test_semi_sync_waits_for_the_replica_with_the_acknowledged_commits_while_its_check_query_fails(
        cluster, mppstate, note):
    from replication_lib import global_status
    c = cluster()
    heartbeat_table(c)
    m = mppstate(c, config(c, {"global": {"check_query": HB}, "pool main": {"semi_sync": "yes"}}))
    wait_started(c, m, 3)
    until(lambda: global_status(c, 1, "Rpl_semi_sync_master_clients") == 2, 20, "semi-sync on")
    # Only db3 acknowledges from now on.
    c.sql(2, "STOP SLAVE; CHANGE MASTER TO MASTER_PASSWORD='wrong'; START SLAVE")
    until(lambda: global_status(c, 1, "Rpl_semi_sync_master_clients") == 1, 20, "db3 alone acknowledging")
    yes = global_status(c, 1, "Rpl_semi_sync_master_yes_tx")
    for k in range(5):
        c.write(1, "acked-%d" % k)
    assert global_status(c, 1, "Rpl_semi_sync_master_yes_tx") == yes + 5, "db3 acknowledged the 5 commits"
    # db3 answers, but its check query fails.
    c.sql(3, "SET SESSION sql_log_bin = 0; DROP TABLE mpptest.hb")
    m.wait(lambda s: "check query" in s["nodes"]["db3"]["reason"], timeout=10, what="db3's poll failing")
    c.kill9(1)

    def blocked():
        text = m.state()["pools"]["main"]["note"]
        return "db3 received the most and with semi_sync" in text and text
    text = until(blocked, 20, "the failover waiting for db3")
    assert writer(m) == "db1", "db2, which lacks the acknowledged commits, is not promoted: %s" % text
    time.sleep(1)
    assert writer(m) == "db1", m.state()["pools"]["main"]["note"]
    t0 = time.monotonic()
    c.sql(3, "SET SESSION sql_log_bin = 0; CREATE TABLE mpptest.hb (i INT PRIMARY KEY); "
             "INSERT INTO mpptest.hb VALUES (1)")
    until(lambda: writable_active(c, m, "db3"), 30, "db3 ACTIVE and writable")
    note("semi_sync, the acknowledging replica's check query back: to a writable ACTIVE: %.2fs"
         % (time.monotonic() - t0))
    have = {r[0] for r in c.sql(3, "SELECT v FROM mpptest.t")}
    assert all("acked-%d" % k in have for k in range(5)), "every acknowledged commit is on the new writer"


def test_a_check_query_failing_everywhere_heals_once_the_table_is_back_on_the_writer(cluster, mppstate, note):
    # Every replica is stopped from receiving by a failover that finds
    # nobody to promote; they must receive again, or the table created
    # again on the writer never reaches them.
    c = cluster()
    heartbeat_table(c)
    m = mppstate(c, config(c, {"global": {"check_query": HB}}))
    wait_started(c, m, 3)
    c.sql(1, "DROP TABLE mpptest.hb")  # replicated: it fails everywhere

    def nobody():
        text = m.state()["pools"]["main"]["note"]
        return "no standby is eligible" in text and text
    until(nobody, 20, "the failover finding nobody to promote")
    t0 = time.monotonic()
    c.sql(1, "CREATE TABLE mpptest.hb (i INT PRIMARY KEY); INSERT INTO mpptest.hb VALUES (1)")

    def healed():
        # db1 stays the writer, or, if a replica was healthy before db1's
        # own recovery, a failover made that one the writer: either way a
        # writable ACTIVE with a STANDBY that receives from it.
        w = writer(m)
        if w is None or not writable_active(c, m, w):
            return None
        s = m.state()
        standbys = [n for n in ("db1", "db2", "db3") if n != w and s["nodes"][n]["state"] == "STANDBY"]
        return w if standbys and all(source_of(c, int(n[2:])) == w for n in standbys) else None
    w = until(healed, 30, "a writable ACTIVE with its STANDBYs receiving from it")
    note("check query failing everywhere, table back on the writer to a healthy pool: %.2fs (writer %s)"
         % (time.monotonic() - t0, w))
