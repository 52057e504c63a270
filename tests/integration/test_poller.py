"""The poller (mppstate/poller.cc, concurrent_poller.cc) against real
MariaDB servers, through the test program poll_probe."""

import os
import subprocess

from mariadb_cluster import CLIENT, free_port, write_private


def primary_seq(c):
    """The primary's last GTID sequence number in domain 0."""
    return int(c.value(1, "@@gtid_binlog_pos").split("-")[2])


def test_healthy_primary_and_replicas(t):
    c = t.cluster()
    r = t.probe(c)
    p = r["db1"]
    t.check_eq(p["outcome"], "ok", "db1 outcome")
    t.check_eq(p["read_only"], False, "primary read_only")
    t.check_eq(p["server_id"], 1, "primary server_id")
    t.check_eq(p["repl"], None, "primary has no replication row")
    seq = primary_seq(c)
    for name, sid in (("db2", 2), ("db3", 3)):
        n = r[name]
        t.check_eq(n["outcome"], "ok", name + " outcome")
        t.check_eq(n["read_only"], True, name + " read_only")
        t.check_eq(n["server_id"], sid, name + " server_id")
        s = n["repl"]
        t.check(s is not None, name + " has a replication row")
        t.check_eq(s["io"], "yes", name + " io")
        t.check_eq(s["sql_running"], True, name + " sql")
        t.check_eq(s["lag_s"], 0, name + " lag")
        t.check_eq(s["relay_applied"], True, name + " relay applied")
        t.check_eq(s["source"], c.node(1).address, name + " source")
        t.check_eq(s["source_text"], c.node(1).address, name + " source text")
        t.check_eq(s["received"]["gtid"], {"0": seq}, name + " GTID received")
        t.check(s["received"]["file"].startswith("binlog.") and s["received"]["pos"] > 0,
                name + " binlog coordinates")
        t.check_eq((s["io_errno"], s["sql_errno"]), (0, 0), name + " errors")


def test_stopped_sql_thread_has_null_lag(t):
    c = t.cluster()
    c.sql(2, "STOP SLAVE SQL_THREAD")
    s = t.probe(c, nodes=["db2"])["db2"]["repl"]
    t.check_eq(s["sql_running"], False, "sql running")
    t.check_eq(s["io"], "yes", "io")
    t.check_eq(s["lag_s"], -1, "lag (NULL)")


def test_stopped_io_thread(t):
    c = t.cluster()
    c.sql(2, "STOP SLAVE IO_THREAD")
    s = t.probe(c, nodes=["db2"])["db2"]["repl"]
    t.check_eq(s["io"], "no", "io")
    t.check_eq(s["sql_running"], True, "sql running")
    t.check_eq(s["lag_s"], -1, "lag (NULL)")


def test_primary_killed_replicas_lose_their_source(t):
    c = t.cluster()
    c.kill9(1)

    def lost():
        r = t.probe(c)
        s = r["db2"]["repl"], r["db3"]["repl"]
        ok = all(x["io"] == "connecting" or x["io_errno"] in (2003, 2013) for x in s)
        return r if ok else None

    r = c.wait_for(lost, timeout=15, what="replicas noticing the dead primary")
    t.check_eq(r["db1"]["outcome"], "refused", "dead primary")
    t.check(r["db1"]["error_code"] in (2002, 2003), "refused error code")
    for name in ("db2", "db3"):
        s = r[name]["repl"]
        t.check_eq(r[name]["outcome"], "ok", name + " still answers")
        t.check_eq(s["lag_s"], -1, name + " lag (NULL)")
        t.check_eq(s["sql_running"], True, name + " sql thread")
        # Everything received was applied: the replicas stay promotable.
        t.check_eq(s["relay_applied"], True, name + " relay applied")


def test_wrong_password_is_access_denied(t):
    c = t.cluster(n=1)
    bad = os.path.join(t.dir, "bad.cnf")
    write_private(bad, "[client]\nuser = %s\npassword = not-%s\n" % (c.mpp_user, c.mpp_password))
    r = t.probe(c, extra={"global": {"credentials": bad}})
    t.check_eq(r["db1"]["outcome"], "access_denied", "outcome")
    t.check_eq(r["db1"]["error_code"], 1045, "error code")
    t.check(c.mpp_password not in r["db1"]["error"], "no password in the message")


def test_too_many_connections(t):
    c = t.cluster(n=1)
    c.sql(1, "SET GLOBAL max_connections = 10")
    limit = int(c.value(1, "@@max_connections"))
    # Fill every slot with the monitoring user itself (no SUPER: it gets no
    # spare connection). Our root queries can take a slot for a moment and
    # turn a client away, so add clients until all the slots are theirs.

    def sleeper():
        p = t.spawn([CLIENT, "--defaults-file=" + c.credentials, "--protocol=tcp",
                     "--host=127.0.0.1", "--port=%d" % c.node(1).port, "--batch"],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p.stdin.write(b"SELECT SLEEP(100);\n")
        p.stdin.flush()
        return p

    clients = [sleeper() for _ in range(limit)]

    def full():
        n = int(c.value(1, "COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'mpp'"))
        if n >= limit:
            return True
        alive = sum(1 for p in clients if p.poll() is None)
        clients.extend(sleeper() for _ in range(limit - alive))
        return False

    c.wait_for(full, timeout=30, interval=0.3, what="%d sleeping clients" % limit)
    r = t.probe(c)
    t.check_eq(r["db1"]["outcome"], "too_many_connections", "outcome")
    t.check_eq(r["db1"]["error_code"], 1040, "error code")


def test_closed_port_is_refused_at_once(t):
    c = t.cluster(n=1)
    port = free_port()
    r = t.probe(c, extra={"node db1": {"address": "127.0.0.1:%d" % port}}, direct=True)
    t.check_eq(r["db1"]["outcome"], "refused", "outcome")
    t.check(r["_elapsed_ms"] < 500, "refused in %d ms" % r["_elapsed_ms"])
    t.note("refused in %d ms" % r["_elapsed_ms"])


def test_stopped_server_misses_the_deadline_others_do_not_wait(t):
    c = t.cluster()
    c.sigstop(1)
    try:
        # connect_timeout 1s would let the library wait a whole second; the
        # deadline cuts it at 400 ms.
        r = t.probe(c, deadline_ms=400)
        t.check_eq(r["db1"]["outcome"], "timeout", "stopped primary")
        t.check_eq(r["db1"]["error"], "poll missed its deadline", "message")
        t.check(400 <= r["_elapsed_ms"] < 700, "answered in %d ms" % r["_elapsed_ms"])
        for name in ("db2", "db3"):
            t.check_eq(r[name]["outcome"], "ok", name + " polled normally")
        # Without the deadline, the library's own timeout ends the poll.
        r = t.probe(c, nodes=["db1"], direct=True)
        t.check_eq(r["db1"]["outcome"], "timeout", "direct poll of the stopped server")
        t.check(r["_elapsed_ms"] < 3500, "library timeout after %d ms" % r["_elapsed_ms"])
        t.note("stopped server: library timeout after %d ms" % r["_elapsed_ms"])
    finally:
        c.sigcont(1)
    r = t.probe(c, nodes=["db1"])
    t.check_eq(r["db1"]["outcome"], "ok", "after SIGCONT")


def test_unapplied_relay_log(t):
    c = t.cluster()
    c.sql(2, "STOP SLAVE SQL_THREAD")
    for i in range(3):
        c.write(1, "row%d" % i)
    seq = primary_seq(c)
    # Wait until db2's IO thread has received everything.
    c.wait_for(lambda: c.slave_status(2).get("Gtid_IO_Pos") == "0-1-%d" % seq,
               timeout=15, what="db2 receiving up to %d" % seq)
    c.wait_replicated(nodes=[3])
    r = t.probe(c)
    s2, s3 = r["db2"]["repl"], r["db3"]["repl"]
    t.check_eq(s2["relay_applied"], False, "db2 relay applied")
    t.check_eq(s2["received"]["gtid"], {"0": seq}, "db2 received")
    t.check_eq(s3["relay_applied"], True, "db3 relay applied")
    t.check_eq(s3["received"]["gtid"], {"0": seq}, "db3 received")
    c.sql(2, "START SLAVE SQL_THREAD")
    c.wait_replicated(nodes=[2])
    s2 = t.probe(c, nodes=["db2"])["db2"]["repl"]
    t.check_eq(s2["relay_applied"], True, "db2 relay applied after START SLAVE")


def test_replica_that_received_less_shows_a_smaller_position(t):
    c = t.cluster()
    c.sql(2, "STOP SLAVE IO_THREAD")
    before = primary_seq(c)
    c.write(1, "only-db3")
    c.wait_replicated(nodes=[3])
    r = t.probe(c)
    t.check_eq(r["db2"]["repl"]["received"]["gtid"], {"0": before}, "db2 received")
    t.check_eq(r["db3"]["repl"]["received"]["gtid"], {"0": before + 1}, "db3 received")
    # The binlog coordinates tell the same story.
    t.check(r["db2"]["repl"]["received"]["pos"] < r["db3"]["repl"]["received"]["pos"],
            "db2 read less of the binlog than db3")


def test_failing_check_query_is_a_query_error(t):
    c = t.cluster(n=1)
    r = t.probe(c, extra={"global": {"check_query": "SELECT * FROM mpptest.t"}})
    # The monitoring user may not read tables.
    t.check_eq(r["db1"]["outcome"], "query_error", "outcome")
    t.check_eq(r["db1"]["error_code"], 1142, "error code")
    t.check(r["db1"]["error"].startswith("check query: "), "message names the step")


def test_restarted_replica_reports_its_position_again(t):
    c = t.cluster()
    c.write(1, "before")
    c.wait_replicated()
    seq = primary_seq(c)
    c.kill9(3)
    c.restart(3)
    r = c.wait_for(lambda: (lambda x: x if x["db3"]["repl"]["io"] == "yes" else None)(
        t.probe(c, nodes=["db3"])), timeout=15, what="db3 reconnecting")
    s = r["db3"]["repl"]
    t.check_eq(s["received"]["gtid"], {"0": seq}, "db3 received after restart")
    t.check_eq(s["relay_applied"], True, "db3 relay applied")


def test_monitoring_user_has_no_super(t):
    c = t.cluster(n=1)
    grants = " ".join(row[0] for row in c.sql(1, "SHOW GRANTS FOR 'mpp'@'127.0.0.1'"))
    t.check("SLAVE MONITOR" in grants, "mpp has SLAVE MONITOR: " + grants)
    t.check("SUPER" not in grants and "ALL PRIVILEGES" not in grants, "mpp has no SUPER")
    mode = os.stat(c.credentials).st_mode & 0o777
    t.check_eq(mode, 0o600, "credentials file mode")


def test_cluster_starts_fast(t):
    c = t.cluster()
    t.note("3 servers replicating in %.1fs" % c.startup_seconds)
    t.check(c.startup_seconds < 15, "start-up took %.1fs" % c.startup_seconds)
    # Cleanup leaves no server behind.
    pids = [n.proc.pid for n in c.nodes]
    c.stop()
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        t.check(not alive, "server %d still alive after stop()" % pid)
    t.check(c.dir is None, "directory removed")


def test_check_query_returning_several_results(t):
    c = t.cluster(n=1)
    c.sql(1, "DELIMITER //\n"
             "CREATE PROCEDURE mpptest.health() SQL SECURITY DEFINER "
             "BEGIN SELECT 1; SELECT 2; END//\n"
             "DELIMITER ;\n"
             "GRANT EXECUTE ON PROCEDURE mpptest.health TO 'mpp'@'127.0.0.1'")
    r = t.probe(c, extra={"global": {"check_query": "CALL mpptest.health()"}})
    # The poll reads every result, so the next statements still work.
    t.check_eq(r["db1"]["outcome"], "ok", "outcome")
    t.check_eq(r["db1"]["read_only"], False, "read_only read after the CALL")


def test_a_query_that_hangs_times_out(t):
    c = t.cluster(n=1)
    r = t.probe(c, extra={"global": {"check_query": "SELECT SLEEP(20)", "query_timeout": "1s"}},
                direct=True)
    t.check_eq(r["db1"]["outcome"], "timeout", "outcome")
    t.check(r["db1"]["error_code"] in (2013, 2006), "error code %d" % r["db1"]["error_code"])
    t.check(r["_elapsed_ms"] < 5000, "query timeout after %d ms" % r["_elapsed_ms"])
    t.note("query timeout after %d ms" % r["_elapsed_ms"])
