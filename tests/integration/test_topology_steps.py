"""The steps that make the databases follow the decision
(mppstate/topology_steps.h), one at a time against real MariaDB through the
test program topology_probe: fencing, promotion, attaching a node to the
ACTIVE (and refusing a diverged one), restarting replication, a
switchover's catch-up. No mppstate runs here: each test plays the worker's
part by hand.

Every probe call also checks that no password (the replication login's,
the admin login's) is in what it printed."""

import json
import os
import subprocess

import pymysql
import pytest

from daemonlib import add_admin_user
from mariadb_cluster import CLIENT, free_port, write_private


class Steps:
    """topology_probe on one config: step("attach", "db3", "db2") returns
    its outcome {"ok", "message", "diverged"}."""

    def __init__(self, program, config, secrets, log):
        self.program = program
        self.config = config
        self.secrets = secrets
        self.log = log

    def step(self, *args):
        r = subprocess.run([self.program, "-c", self.config] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        self.log("topology_probe %s -> %d: %s%s" % (" ".join(args), r.returncode, r.stdout,
                                                   r.stderr))
        for secret in self.secrets:
            assert secret not in r.stdout + r.stderr, "a password in the output of %s" % (args,)
        assert r.returncode in (0, 1), "topology_probe %s: %s" % (args, r.stderr)
        out = json.loads(r.stdout)
        assert out["ok"] == (r.returncode == 0), "the exit code says the outcome"
        return out


def repl_login(cluster, user="repl", password=None, name="mpp-repl.cnf"):
    """A replication_credentials file (0600): the cluster's 'repl' user
    unless told."""
    path = os.path.join(cluster.dir, name)
    text = "[client]\n"
    if user is not None:
        text += "user = %s\n" % user
    text += "password = %s\n" % (cluster.repl_password if password is None else password)
    write_private(path, text)
    return path


@pytest.fixture
def steps(build, write_config, log):
    """steps(c, repl=None, name="mppstate.ini", extra=None, secrets=()) ->
    Steps on a config (workdir/name) for cluster c with an admin login that
    may fence and re-point (made once per cluster), and repl as
    replication_credentials (the cluster's 'repl' login unless given).
    extra: see MariaDBCluster.config_text; secrets: more passwords that
    must not be printed."""
    def make(c, repl=None, name="mppstate.ini", extra=None, secrets=()):
        admin = os.path.join(c.dir, "mpp-admin.cnf")
        if not os.path.exists(admin):
            admin = add_admin_user(c)
        cfg = {"global": {"admin_credentials": admin,
                          "replication_credentials": repl or repl_login(c)}}
        for header, keys in (extra or {}).items():
            cfg.setdefault(header, {}).update(keys)
        with open(admin) as f:
            admin_password = [l.split("=", 1)[1].strip() for l in f if l.startswith("password")][0]
        config = write_config(c, cfg, name=name)
        return Steps(build.path("tests/topology_probe"), config,
                     [c.repl_password, admin_password] + list(secrets), log)
    return make


def read_only(c, i):
    return c.value(i, "@@read_only") == "1"


def rows(c, i):
    return int(c.value(i, "COUNT(*) FROM mpptest.t"))


def source_port(c, i):
    s = c.slave_status(i)
    assert s.get("Slave_IO_Running") == "Yes" and s.get("Slave_SQL_Running") == "Yes", \
        "%s replicates: %s" % (c.node(i).name, s)
    return int(s["Master_Port"])


def root_connection(c, i):
    node = c.node(i)
    return pymysql.connect(unix_socket=node.socket, user="root", connect_timeout=5, read_timeout=10,
                           write_timeout=10, autocommit=True)


def hold_table_lock(spawn, c, i):
    """A client of node i holding LOCK TABLES mpptest.t WRITE (which blocks
    its SQL thread, and read_only ON) until it is killed."""
    node = c.node(i)
    p = spawn([CLIENT, "--defaults-file=" + node.root_cnf, "--batch"], stdin=subprocess.PIPE,
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    p.stdin.write("LOCK TABLES mpptest.t WRITE;\nSELECT SLEEP(300);\n")
    p.stdin.flush()
    c.wait_for(lambda: c.value(i, "COUNT(*) FROM information_schema.PROCESSLIST "
                                  "WHERE INFO = 'SELECT SLEEP(300)'") == "1",
               timeout=10, what="the lock taken")
    return p


def detach(c, i):
    """Node i stops replicating, at the position it has."""
    c.sql(i, "STOP SLAVE;\nRESET SLAVE ALL")


# ----- fence, unfence -----

def test_fence_makes_a_writer_read_only_and_kills_its_clients(cluster, steps):
    c = cluster()
    s = steps(c)
    held = root_connection(c, 1)
    with held.cursor() as cur:
        cur.execute("SELECT 1")
    assert not read_only(c, 1), "db1 starts writable"

    out = s.step("fence", "db1")
    assert out["ok"], out
    assert read_only(c, 1), "db1 read_only after the fence"
    assert out["message"].startswith("db1: read_only ON, "), out
    assert int(out["message"].split(", ")[1].split()[0]) >= 1, "the held session counted: %s" % out
    with pytest.raises(pymysql.err.OperationalError):
        with held.cursor() as cur:
            cur.execute("INSERT INTO mpptest.t (v) VALUES ('after the fence')")
    assert rows(c, 1) == 0, "the held session wrote nothing"
    # Replication is no client: the replicas still follow db1.
    for i in (2, 3):
        assert source_port(c, i) == c.node(1).port

    out = s.step("unfence", "db1")
    assert out == {"ok": True, "message": "db1: read_only OFF", "diverged": False}
    assert not read_only(c, 1), "db1 writable again"


def test_fence_gets_through_a_client_holding_a_table_lock(cluster, steps, spawn):
    # SET GLOBAL read_only = ON waits for LOCK TABLES ... WRITE to end: a
    # fence that waited would fail every round while the client holds it.
    c = cluster()
    s = steps(c)
    locker = hold_table_lock(spawn, c, 1)
    out = s.step("fence", "db1")
    assert out["ok"], out
    assert read_only(c, 1), "db1 read_only although a client held a table lock"
    assert locker.wait(timeout=10) is not None, "the client holding the lock was disconnected"


def test_fence_of_an_unreachable_node_fails_with_its_name(cluster, steps):
    c = cluster()
    s = steps(c, extra={"node db3": {"address": "127.0.0.1:%d" % free_port()}})
    out = s.step("fence", "db3")
    assert not out["ok"] and out["message"].startswith("db3: "), out


# ----- promote -----

def test_promote_removes_replication_and_makes_the_node_writable(cluster, steps):
    c = cluster()
    s = steps(c)
    c.write(1, "before")
    c.wait_replicated()

    # db1 is still writable: db3 must not be made writable too.
    out = s.step("promote", "db3", "--stop-replication", "--others", "db1,db2")
    assert out == {"ok": False, "message": "db3 not made writable: db1 is writable", "diverged": False}
    assert read_only(c, 3), "db3 stays read_only"

    assert s.step("fence", "db1")["ok"]
    out = s.step("promote", "db2", "--stop-replication", "--others", "db1,db3")
    assert out == {"ok": True, "message": "db2: replication removed, read_only OFF", "diverged": False}
    assert not read_only(c, 2), "db2 writable"
    assert c.slave_status(2) == {}, "db2 replicates from nobody"
    assert rows(c, 2) == 1

    # Again: nothing left to remove, and nothing changes.
    out = s.step("promote", "db2", "--stop-replication", "--others", "db1,db3")
    assert out == {"ok": True, "message": "db2: read_only OFF", "diverged": False}


def test_promote_skips_an_unreachable_other(cluster, steps):
    c = cluster()
    s = steps(c)
    c.kill9(1)
    out = s.step("promote", "db2", "--stop-replication", "--others", "db1,db3")
    assert out["ok"], out
    assert not read_only(c, 2) and c.slave_status(2) == {}


def test_promote_refuses_while_another_answers_but_cannot_be_asked(cluster, steps):
    # Unlike a node that does not answer, one that refuses the login may
    # still be writable.
    c = cluster()
    s = steps(c)
    c.sql(1, "SET sql_log_bin = 0;\nDROP USER 'mppadmin'@'127.0.0.1'")
    out = s.step("promote", "db2", "--others", "db1,db3")
    assert not out["ok"], out
    assert out["message"].startswith("db2 not made writable: db1's read_only unknown: db1: Access denied"), out
    assert read_only(c, 2), "db2 stays read_only"


@pytest.mark.parametrize("use_gtid", ["slave_pos", "no"])
def test_promote_waits_for_the_relay_log_and_fails_if_not_applied(cluster, steps, spawn, use_gtid):
    c = cluster()
    s = steps(c)
    if use_gtid == "no":  # a replica set up by binlog file and position
        c.sql(2, "STOP SLAVE;\nCHANGE MASTER TO MASTER_USE_GTID = no;\nSTART SLAVE")
    locker = hold_table_lock(spawn, c, 2)  # db2's SQL thread cannot apply writes to mpptest.t
    for k in range(3):
        c.write(1, "w%d" % k)
    if use_gtid == "no":
        m = c.sql_dicts(1, "SHOW MASTER STATUS")[0]
        received = "%s:%s" % (m["File"], m["Position"])
        key = lambda st: "%s:%s" % (st.get("Master_Log_File"), st.get("Read_Master_Log_Pos"))
    else:
        received = c.value(1, "@@gtid_binlog_pos")
        key = lambda st: st.get("Gtid_IO_Pos")
    c.wait_for(lambda: key(c.slave_status(2)) == received, timeout=10,
               what="db2 received db1's writes")
    assert s.step("fence", "db1")["ok"]

    out = s.step("promote", "db2", "--stop-replication", "--apply-wait", "1000", "--others", "db1,db3")
    assert not out["ok"], out
    assert out["message"].startswith("db2: relay log not applied within 1s (received %s, applied "
                                     % received), out
    assert read_only(c, 2), "db2 stays read_only"
    st = c.slave_status(2)
    assert st["Slave_IO_Running"] == "No", "the IO thread stays stopped: %s" % st

    locker.kill()
    locker.wait()
    out = s.step("promote", "db2", "--stop-replication", "--apply-wait", "10000", "--others", "db1,db3")
    assert out["ok"], out
    assert rows(c, 2) == 3, "every received write applied before replication was removed"
    assert not read_only(c, 2) and c.slave_status(2) == {}


# ----- attach -----

def test_attach_points_a_replica_at_the_new_writer(cluster, steps):
    c = cluster()
    s = steps(c)
    c.write(1, "before")
    c.wait_replicated()
    c.kill9(1)
    assert s.step("promote", "db2", "--stop-replication", "--others", "db1,db3")["ok"]

    out = s.step("attach", "db3", "db2")
    gtid = c.value(3, "@@gtid_slave_pos")
    assert out == {"ok": True, "message": "db3: replicates from db2 at %s" % gtid, "diverged": False}
    assert source_port(c, 3) == c.node(2).port
    c.write(2, "after")
    c.wait_replicated(primary=2, nodes=[3])
    assert rows(c, 3) == 2, "db3 has db2's new row"


def switch_over(c, s, old, new, before_attach=None):
    """The steps of a switchover from node old to node new (numbers): old
    fenced, new caught up and promoted, every other node attached to it."""
    names = ["db%d" % i for i in range(1, c.n + 1)]
    others = [n for n in names if n != "db%d" % new]
    assert s.step("fence", "db%d" % old)["ok"]
    assert s.step("catch-up", "db%d" % old, "db%d" % new, "--timeout", "10000")["ok"]
    assert s.step("promote", "db%d" % new, "--stop-replication", "--others", ",".join(others))["ok"]
    if before_attach:
        before_attach()
    for n in others:
        out = s.step("attach", n, "db%d" % new)
        assert out["ok"], out


def test_attach_of_the_ex_writer_asks_for_what_follows_its_own_writes(cluster, steps):
    # There and back: db1's gtid_slave_pos still says what it applied as
    # db2's replica, although it wrote more since, as the writer.
    c = cluster()
    s = steps(c)
    c.write(1, "db1-a")
    switch_over(c, s, 1, 2)
    c.write(2, "db2-a")
    switch_over(c, s, 2, 1)
    for k in range(3):
        c.write(1, "db1-b%d" % k)
    stale, mine = c.value(1, "@@gtid_slave_pos"), c.value(1, "@@gtid_binlog_pos")
    assert stale.split("-")[1] == "2" and mine.split("-")[1] == "1", (stale, mine)

    # db2 no longer has the binlogs from before db1's last writes, as on a
    # server that has run a while: asked for what follows db1's
    # gtid_slave_pos, it could not answer.
    def purge():
        c.sql(2, "FLUSH BINARY LOGS")
        c.sql(2, "PURGE BINARY LOGS TO '%s'" % c.sql_dicts(2, "SHOW MASTER STATUS")[0]["File"])
    switch_over(c, s, 1, 2, before_attach=purge)
    c.write(2, "db2-b")
    c.wait_replicated(primary=2)
    for i in (1, 3):
        st = c.slave_status(i)
        assert st["Last_IO_Errno"] == "0" and st["Last_SQL_Errno"] == "0", st
        assert source_port(c, i) == c.node(2).port
    assert [rows(c, i) for i in (1, 2, 3)] == [6, 6, 6], "every node has every row once"
    assert read_only(c, 1) and read_only(c, 3) and not read_only(c, 2)


def test_attach_refuses_a_node_with_an_extra_transaction(cluster, steps):
    c = cluster()
    s = steps(c)
    c.write(1, "shared")
    c.wait_replicated()
    detach(c, 2)
    c.write(1, "only on db1")  # db2 never gets it
    extra = c.value(1, "@@gtid_binlog_pos")
    assert s.step("fence", "db1")["ok"]
    assert s.step("promote", "db2", "--stop-replication", "--others", "db1")["ok"]

    out = s.step("attach", "db1", "db2")
    assert out == {"ok": False, "message": "db1 has diverged: %s is not in db2's binlog" % extra,
                   "diverged": True}
    assert c.slave_status(1) == {}, "db1 was not pointed at db2"
    assert rows(c, 1) == 2


def test_attach_refuses_an_equal_sequence_from_another_server(cluster, steps):
    c = cluster()
    s = steps(c)
    c.write(1, "shared")
    c.wait_replicated()
    common = c.value(1, "@@gtid_binlog_pos")
    detach(c, 2)
    # Both write once from the same position: 0-1-N+1 and 0-2-N+1.
    c.write(1, "db1-own")
    c.write(2, "db2-own")
    mine, theirs = c.value(1, "@@gtid_binlog_pos"), c.value(2, "@@gtid_binlog_pos")
    assert mine.split("-")[2] == theirs.split("-")[2] and mine != theirs, (mine, theirs)
    assert s.step("fence", "db1")["ok"]
    assert s.step("promote", "db2", "--others", "db1")["ok"]

    out = s.step("attach", "db1", "db2")
    assert out == {"ok": False, "message": "db1 has diverged: %s is not in db2's binlog" % mine,
                   "diverged": True}
    assert c.slave_status(1) == {}, "db1 was not pointed at db2"

    # Rebuilt: its own write gone, its binlog reset, its position one db2 has.
    c.sql(1, "SET sql_log_bin = 0;\nDELETE FROM mpptest.t WHERE v = 'db1-own';\n"
             "SET sql_log_bin = 1;\nRESET MASTER;\nSET GLOBAL gtid_slave_pos = '%s'" % common)
    out = s.step("attach", "db1", "db2")
    assert out == {"ok": True, "message": "db1: replicates from db2 at %s" % common, "diverged": False}
    c.wait_replicated(primary=2, nodes=[1])
    assert sorted(r[0] for r in c.sql(1, "SELECT v FROM mpptest.t")) == ["db2-own", "shared"]


def test_attach_refuses_a_writable_node(cluster, steps):
    c = cluster()
    s = steps(c)
    c.sql(3, "SET GLOBAL read_only = OFF")
    out = s.step("attach", "db3", "db1")
    assert out == {"ok": False, "message": "db3: writable, not attached before it is fenced",
                   "diverged": False}
    assert source_port(c, 3) == c.node(1).port, "its replication untouched"


# ----- start, catch-up -----

def test_start_replication_restarts_stopped_threads(cluster, steps):
    c = cluster()
    s = steps(c)
    c.sql(3, "STOP SLAVE")
    c.write(1, "while stopped")
    out = s.step("start", "db3")
    assert out["ok"] and out["message"] == "db3: replication from 127.0.0.1:%d started" % c.node(1).port, \
        out
    c.wait_replicated(nodes=[3])
    assert rows(c, 3) == 1

    out = s.step("start", "db1")
    assert out == {"ok": False, "message": "db1: not a replica", "diverged": False}


def test_sever_stops_only_the_io_thread_of_a_replica_of_the_failing_writer(cluster, steps):
    c = cluster()
    s = steps(c)
    pos = c.value(1, "@@gtid_binlog_pos")
    out = s.step("sever", "db3", "db1")
    assert out == {"ok": True, "message": "db3: IO thread stopped, receives nothing more from db1; received up to %s"
                   % pos, "diverged": False}, out
    st = c.slave_status(3)
    assert (st["Slave_IO_Running"], st["Slave_SQL_Running"]) == ("No", "Yes"), st
    c.write(1, "after the sever")
    c.wait_replicated(nodes=[2])
    assert rows(c, 3) == 0, "db3 received a write after the sever"
    # Done again, and for a source it does not follow: nothing to do.
    assert s.step("sever", "db3", "db1")["message"] == "db3: IO thread already stopped"
    assert s.step("sever", "db2", "db3")["message"] == "db2: does not replicate from db3, nothing to stop"
    assert c.slave_status(2)["Slave_IO_Running"] == "Yes"
    assert s.step("sever", "db1", "db2")["message"] == "db1: does not replicate from db2, nothing to stop"


def test_catch_up_times_out_on_a_blocked_target_and_succeeds_otherwise(cluster, steps, spawn):
    c = cluster()
    s = steps(c)
    locker = hold_table_lock(spawn, c, 2)
    c.write(1, "blocked on db2")
    pos = c.value(1, "@@gtid_binlog_pos")
    out = s.step("catch-up", "db1", "db2", "--timeout", "1000")
    assert out == {"ok": False, "message": "db2: did not apply db1's position %s within 1s" % pos,
                   "diverged": False}
    out = s.step("catch-up", "db1", "db3", "--timeout", "5000")
    assert out == {"ok": True, "message": "db3: applied db1's position %s" % pos, "diverged": False}

    locker.kill()
    locker.wait()
    out = s.step("catch-up", "db1", "db2", "--timeout", "10000")
    assert out["ok"], out
    assert rows(c, 2) == 1


# ----- the replication login -----

def test_no_password_in_any_message(cluster, steps):
    c = cluster()
    # An unreachable source: the step fails before any CHANGE MASTER.
    s = steps(c, extra={"node ghost": {"address": "127.0.0.1:%d" % free_port()},
                        "pool other": {"nodes": "ghost"}})
    out = s.step("attach", "db3", "ghost")
    assert not out["ok"] and out["message"].startswith("ghost: "), out
    assert source_port(c, 3) == c.node(1).port, "db3 untouched"

    # A wrong password: the IO thread cannot log in, the step says why.
    wrong = "wrong-" + os.urandom(6).hex()
    s = steps(c, repl=repl_login(c, password=wrong, name="wrong.cnf"), name="wrong.ini",
              secrets=[wrong])
    out = s.step("attach", "db3", "db1", "--wait", "2000")
    assert not out["ok"], out
    assert out["message"].startswith("db3: replication threads not running after 2s: IO "), out
    assert "1045" in out["message"], "the server's error is given: %s" % out

    # No user at all.
    path = repl_login(c, user=None, name="nouser.cnf")
    s = steps(c, repl=path, name="nouser.ini")
    out = s.step("attach", "db3", "db1")
    assert out == {"ok": False, "message": "db3: replication_credentials %s: no user" % path,
                   "diverged": False}

    # A password that needs quoting in CHANGE MASTER.
    odd = "it's a \\ \"pass\" %s" % os.urandom(4).hex()
    c.sql(1, "CREATE USER 'repl2'@'127.0.0.1' IDENTIFIED BY '%s';\n"
             "GRANT REPLICATION SLAVE ON *.* TO 'repl2'@'127.0.0.1'"
          % odd.replace("\\", "\\\\").replace("'", "\\'"))
    s = steps(c, repl=repl_login(c, user="repl2", password='"%s"' % odd.replace("\\", "\\\\")
                                 .replace('"', '\\"'), name="odd.cnf"),
              name="odd.ini", secrets=[odd])
    out = s.step("attach", "db3", "db1")
    assert out["ok"], out
    assert c.slave_status(3)["Master_User"] == "repl2"
    c.write(1, "through repl2")
    c.wait_replicated(nodes=[3])
