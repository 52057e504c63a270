"""The poller (mppstate/poller.cc, concurrent_poller.cc) against real
MariaDB servers, through the test program poll_probe."""

import os
import socket
import subprocess
import threading

import mariadb_cluster
from mariadb_cluster import CLIENT, free_port, write_private


def primary_seq(c):
    """The primary's last GTID sequence number in domain 0."""
    return int(c.value(1, "@@gtid_binlog_pos").split("-")[2])


def test_healthy_primary_and_replicas(cluster, probe):
    c = cluster()
    r = probe(c)
    p = r["db1"]
    assert p["outcome"] == "ok", "db1 outcome"
    assert p["read_only"] is False, "primary read_only"
    assert p["server_id"] == 1, "primary server_id"
    assert p["repl"] is None, "primary has no replication row"
    seq = primary_seq(c)
    for name, sid in (("db2", 2), ("db3", 3)):
        n = r[name]
        assert n["outcome"] == "ok", name + " outcome"
        assert n["read_only"] is True, name + " read_only"
        assert n["server_id"] == sid, name + " server_id"
        s = n["repl"]
        assert s is not None, name + " has a replication row"
        assert s["io"] == "yes", name + " io"
        assert s["sql_running"] is True, name + " sql"
        assert s["lag_s"] == 0, name + " lag"
        assert s["relay_applied"] is True, name + " relay applied"
        assert s["source"] == c.node(1).address, name + " source"
        assert s["source_text"] == c.node(1).address, name + " source text"
        assert s["received"]["gtid"] == {"0": seq}, name + " GTID received"
        assert s["received"]["file"].startswith("binlog.") and s["received"]["pos"] > 0, \
            "%s binlog coordinates: %r" % (name, s["received"])
        assert (s["io_errno"], s["sql_errno"]) == (0, 0), name + " errors"


def test_stopped_sql_thread_has_null_lag(cluster, probe):
    c = cluster()
    c.sql(2, "STOP SLAVE SQL_THREAD")
    s = probe(c, nodes=["db2"])["db2"]["repl"]
    assert s["sql_running"] is False, "sql running"
    assert s["io"] == "yes", "io"
    assert s["lag_s"] == -1, "lag (NULL)"


def test_stopped_io_thread(cluster, probe):
    c = cluster()
    c.sql(2, "STOP SLAVE IO_THREAD")
    s = probe(c, nodes=["db2"])["db2"]["repl"]
    assert s["io"] == "no", "io"
    assert s["sql_running"] is True, "sql running"
    assert s["lag_s"] == -1, "lag (NULL)"


def test_primary_killed_replicas_lose_their_source(cluster, probe):
    c = cluster()
    c.kill9(1)

    def lost():
        r = probe(c)
        s = r["db2"]["repl"], r["db3"]["repl"]
        ok = all(x["io"] == "connecting" or x["io_errno"] in (2003, 2013) for x in s)
        return r if ok else None

    r = c.wait_for(lost, timeout=15, what="replicas noticing the dead primary")
    assert r["db1"]["outcome"] == "refused", "dead primary"
    assert r["db1"]["error_code"] in (2002, 2003), "refused error code"
    for name in ("db2", "db3"):
        s = r[name]["repl"]
        assert r[name]["outcome"] == "ok", name + " still answers"
        assert s["lag_s"] == -1, name + " lag (NULL)"
        assert s["sql_running"] is True, name + " sql thread"
        # Everything received was applied: the replicas stay promotable.
        assert s["relay_applied"] is True, name + " relay applied"


def test_wrong_password_is_access_denied(cluster, probe, workdir):
    c = cluster(n=1)
    bad = os.path.join(workdir, "bad.cnf")
    write_private(bad, "[client]\nuser = %s\npassword = not-%s\n" % (c.mpp_user, c.mpp_password))
    r = probe(c, extra={"global": {"credentials": bad}})
    assert r["db1"]["outcome"] == "access_denied", "outcome"
    assert r["db1"]["error_code"] == 1045, "error code"
    assert c.mpp_password not in r["db1"]["error"], "no password in the message"


def test_too_many_connections(cluster, probe, spawn):
    c = cluster(n=1)
    c.sql(1, "SET GLOBAL max_connections = 10")
    limit = int(c.value(1, "@@max_connections"))
    # Fill every slot with the monitoring user itself (no SUPER: it gets no
    # spare connection). Our root queries can take a slot for a moment and
    # turn a client away, so add clients until all the slots are theirs.

    def sleeper():
        p = spawn([CLIENT, "--defaults-file=" + c.credentials, "--protocol=tcp",
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
    r = probe(c)
    assert r["db1"]["outcome"] == "too_many_connections", "outcome"
    assert r["db1"]["error_code"] == 1040, "error code"


def test_closed_port_is_refused_at_once(cluster, probe, note):
    c = cluster(n=1)
    port = free_port()
    r = probe(c, extra={"node db1": {"address": "127.0.0.1:%d" % port}}, direct=True)
    assert r["db1"]["outcome"] == "refused", "outcome"
    assert r["_elapsed_ms"] < 500, "refused in %d ms" % r["_elapsed_ms"]
    note("refused in %d ms" % r["_elapsed_ms"])


def test_stopped_server_misses_the_deadline_others_do_not_wait(cluster, probe, note):
    c = cluster()
    c.sigstop(1)
    try:
        # connect_timeout 1s would let the library wait a whole second; the
        # deadline cuts it at 400 ms.
        r = probe(c, deadline_ms=400)
        assert r["db1"]["outcome"] == "timeout", "stopped primary"
        assert r["db1"]["error"] == "poll missed its deadline", "message"
        assert 400 <= r["_elapsed_ms"] < 700, "answered in %d ms" % r["_elapsed_ms"]
        for name in ("db2", "db3"):
            assert r[name]["outcome"] == "ok", name + " polled normally"
        # Alone, the poll ends on its connect timeout: the kernel accepts
        # the connection, the stopped server never greets.
        r = probe(c, nodes=["db1"], direct=True)
        assert r["db1"]["outcome"] == "timeout", "direct poll of the stopped server"
        assert r["db1"]["error"] == "connect: no answer within 1000ms", r["db1"]["error"]
        assert r["_elapsed_ms"] < 3500, "connect timeout after %d ms" % r["_elapsed_ms"]
        note("stopped server: connect timeout after %d ms" % r["_elapsed_ms"])
    finally:
        c.sigcont(1)
    r = probe(c, nodes=["db1"])
    assert r["db1"]["outcome"] == "ok", "after SIGCONT"


def test_unapplied_relay_log(cluster, probe):
    c = cluster()
    c.sql(2, "STOP SLAVE SQL_THREAD")
    for i in range(3):
        c.write(1, "row%d" % i)
    seq = primary_seq(c)
    # Wait until db2's IO thread has received everything.
    c.wait_for(lambda: c.slave_status(2).get("Gtid_IO_Pos") == "0-1-%d" % seq,
               timeout=15, what="db2 receiving up to %d" % seq)
    c.wait_replicated(nodes=[3])
    r = probe(c)
    s2, s3 = r["db2"]["repl"], r["db3"]["repl"]
    assert s2["relay_applied"] is False, "db2 relay applied"
    assert s2["received"]["gtid"] == {"0": seq}, "db2 received"
    assert s3["relay_applied"] is True, "db3 relay applied"
    assert s3["received"]["gtid"] == {"0": seq}, "db3 received"
    c.sql(2, "START SLAVE SQL_THREAD")
    c.wait_replicated(nodes=[2])
    s2 = probe(c, nodes=["db2"])["db2"]["repl"]
    assert s2["relay_applied"] is True, "db2 relay applied after START SLAVE"


def test_replica_that_received_less_shows_a_smaller_position(cluster, probe):
    c = cluster()
    c.sql(2, "STOP SLAVE IO_THREAD")
    before = primary_seq(c)
    c.write(1, "only-db3")
    c.wait_replicated(nodes=[3])
    r = probe(c)
    assert r["db2"]["repl"]["received"]["gtid"] == {"0": before}, "db2 received"
    assert r["db3"]["repl"]["received"]["gtid"] == {"0": before + 1}, "db3 received"
    # The binlog coordinates tell the same story.
    assert r["db2"]["repl"]["received"]["pos"] < r["db3"]["repl"]["received"]["pos"], \
        "db2 read less of the binlog than db3"


def test_failing_check_query_is_a_query_error(cluster, probe):
    c = cluster(n=1)
    r = probe(c, extra={"global": {"check_query": "SELECT * FROM mpptest.t"}})
    # The monitoring user may not read tables.
    assert r["db1"]["outcome"] == "query_error", "outcome"
    assert r["db1"]["error_code"] == 1142, "error code"
    assert r["db1"]["error"].startswith("check query: "), "message names the step"


def test_restarted_replica_reports_its_position_again(cluster, probe):
    c = cluster()
    c.write(1, "before")
    c.wait_replicated()
    seq = primary_seq(c)
    c.kill9(3)
    c.restart(3)

    def reconnected():
        r = probe(c, nodes=["db3"])
        return r if r["db3"]["repl"]["io"] == "yes" else None

    r = c.wait_for(reconnected, timeout=15, what="db3 reconnecting")
    s = r["db3"]["repl"]
    assert s["received"]["gtid"] == {"0": seq}, "db3 received after restart"
    assert s["relay_applied"] is True, "db3 relay applied"


def test_monitoring_user_has_no_super(cluster):
    c = cluster(n=1)
    grants = " ".join(row[0] for row in c.sql(1, "SHOW GRANTS FOR 'mpp'@'127.0.0.1'"))
    assert "SLAVE MONITOR" in grants, "mpp has SLAVE MONITOR: " + grants
    assert "SUPER" not in grants and "ALL PRIVILEGES" not in grants, "mpp has SUPER: " + grants
    mode = os.stat(c.credentials).st_mode & 0o777
    assert mode == 0o600, "credentials file mode %o" % mode


def test_cluster_starts_and_stops_without_leftovers(cluster, note):
    c = cluster()
    # A figure, not a limit: tests assert no timings.
    note("3 servers replicating in %.1fs" % c.startup_seconds)
    assert all(c.value(i, "@@server_id") for i in (1, 2, 3)), "every server answers"
    # Cleanup leaves no server behind.
    pids = [n.proc.pid for n in c.nodes]
    c.stop()
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        assert not alive, "server %d still alive after stop()" % pid
    assert c.dir is None, "directory removed"


def test_a_port_another_server_took_first_is_left_for_a_new_one(cluster, monkeypatch):
    # Another server greets on the port handed to db1 before db1 binds it:
    # db1 exits with "Address already in use", and the harness must not take
    # that stranger's greeting for db1's. It waits on db1's own socket.
    stranger = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stranger.bind(("127.0.0.1", 0))
    stranger.listen(8)
    taken = stranger.getsockname()[1]
    done = threading.Event()

    def greet():
        stranger.settimeout(0.1)
        while not done.is_set():
            try:
                conn, _ = stranger.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"\x4a\x00\x00\x00\x0a5.5.5-10.11.0-stranger\x00")

    t = threading.Thread(target=greet, daemon=True)
    t.start()
    ports = iter([taken])
    monkeypatch.setattr(mariadb_cluster, "free_port",
                        lambda: next(ports, None) or free_port())
    try:
        c = cluster(n=1)
    finally:
        done.set()
        t.join()
        stranger.close()
    assert c.node(1).port != taken, "db1 moved on to another port"
    assert c.value(1, "@@port") == str(c.node(1).port), "db1 answers on its new port"
    assert "Address already in use" in c.error_log(1, lines=1000), "db1 met the taken port"


def test_check_query_returning_several_results(cluster, probe):
    c = cluster(n=1)
    c.sql(1, "DELIMITER //\n"
             "CREATE PROCEDURE mpptest.health() SQL SECURITY DEFINER "
             "BEGIN SELECT 1; SELECT 2; END//\n"
             "DELIMITER ;\n"
             "GRANT EXECUTE ON PROCEDURE mpptest.health TO 'mpp'@'127.0.0.1'")
    r = probe(c, extra={"global": {"check_query": "CALL mpptest.health()"}})
    # The poll reads every result, so the next statements still work.
    assert r["db1"]["outcome"] == "ok", "outcome"
    assert r["db1"]["read_only"] is False, "read_only read after the CALL"


def test_a_query_that_hangs_times_out(cluster, probe, note):
    c = cluster(n=1)
    r = probe(c, extra={"global": {"check_query": "SELECT SLEEP(20)", "query_timeout": "1s"}},
              direct=True)
    assert r["db1"]["outcome"] == "timeout", "outcome"
    # The statement's own deadline ends it, not the library's.
    assert r["db1"]["error"] == "check query: no answer within 1000ms", r["db1"]["error"]
    assert r["_elapsed_ms"] < 5000, "query timeout after %d ms" % r["_elapsed_ms"]
    note("query timeout after %d ms" % r["_elapsed_ms"])
