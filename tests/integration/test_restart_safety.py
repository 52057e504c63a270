"""Safe decisions across restarts, reloads and operator commands, on real
MariaDB (doc/pool-logic.md): a restart keeps the writer it had unless a
failover's rules say otherwise, and keeps demotions even when /run was
emptied; a reload may not remove the ACTIVE; `mppctl offline` applies
before the failover of the round it arrives in.

Each test watches every state file the restarted mppstate writes (a file
left by the previous process is told apart by its pid) and the transitions
it logs, so a wrong writer for a single round is caught too."""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from daemonlib import actives
from replication_lib import fill_connections, release_clients

HALF = {"global": {"interval": "500ms", "connect_timeout": "1s"}}


class Watch:
    """The state files of m's current process, each new one seen once (by
    seq) and given to check, which asserts what must hold in every round."""

    def __init__(self, m, check=None):
        self.m = m
        self.check = check
        self.seq = None

    def until(self, pred, timeout=20, what="state"):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if self.m.proc.poll() is not None:
                raise AssertionError("mppstate exited with %s:\n%s"
                                     % (self.m.proc.returncode, self.m.log()[-2000:]))
            s = self.m.state()
            if s is not None and s["pid"] == self.m.proc.pid and s["seq"] != self.seq:
                self.seq = s["seq"]
                last = s
                if self.check:
                    self.check(s)
                if pred(s):
                    return s
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %ss waiting for %s; last state: %s\nlog:\n%s"
                                     % (timeout, what, last and last["nodes"],
                                        self.m.log()[-2000:]))
            time.sleep(0.01)

    def rounds(self, n, timeout=20):
        """n more rounds; returns the last state."""
        if self.seq is None:
            self.until(lambda s: True, timeout, "a state file")
        first = self.seq
        return self.until(lambda s: s["seq"] >= first + n, timeout, "%d more rounds" % n)


def states(s):
    return {n: v["state"] for n, v in s["nodes"].items()}


def became(log_text, node, state):
    """The transitions of node to state that mppstate logged."""
    return re.findall(r"main/%s \S+ -> %s/.*" % (node, state), log_text)


def wait_log(m, text, since=0, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in m.log()[since:]:
        if time.monotonic() > deadline:
            raise AssertionError("%r not logged within %ss:\n%s"
                                 % (text, timeout, m.log()[since:][-2000:]))
        time.sleep(0.02)


def assert_monitor_without_super(c):
    # With SUPER (or CONNECTION ADMIN) the login would get the spare
    # connection of a full server, and never see 1040.
    grants = " ".join(row[0] for row in c.sql(1, "SHOW GRANTS FOR '%s'@'127.0.0.1'" % c.mpp_user))
    for power in ("SUPER", "CONNECTION ADMIN", "ALL PRIVILEGES"):
        assert power not in grants, "the monitoring login has %s: %s" % (power, grants)


def settled(s):
    return states(s) == {"db1": "ACTIVE", "db2": "STANDBY", "db3": "STANDBY"}


def test_a_restart_with_the_writer_dead_elects_by_the_failover_rules(cluster, mppstate, log):
    c = cluster()
    assert_monitor_without_super(c)
    m = mppstate(c, HALF)
    m.wait(settled, what="db1 ACTIVE, db2 and db3 STANDBY")
    # db2 holds a row of its own; the same key from the writer stops its
    # SQL thread (1062). Its IO thread goes on receiving: db2 receives as
    # much as db3, so only its broken SQL thread can keep it out.
    c.sql(2, "SET SESSION sql_log_bin = 0;\n"
             "INSERT INTO mpptest.t (id, v) VALUES (1000, 'db2 only')")
    c.sql(1, "INSERT INTO mpptest.t (id, v) VALUES (1000, 'from db1')")
    c.wait_for(lambda: c.slave_status(2).get("Last_SQL_Errno") == "1062", timeout=15,
               what="db2's SQL thread stopped on 1062")
    for i in range(5):
        c.write(1, "after-%d" % i)
    c.wait_replicated(nodes=[3])
    pos = c.value(1, "@@gtid_binlog_pos")
    c.wait_for(lambda: c.slave_status(2).get("Gtid_IO_Pos") == pos, timeout=15,
               what="db2 received everything")
    st2 = c.slave_status(2)
    log("db2: SQL %s errno %s, lag %s, received %s, applied %s; db3 applied %s"
        % (st2["Slave_SQL_Running"], st2["Last_SQL_Errno"], st2["Seconds_Behind_Master"],
           st2["Gtid_IO_Pos"], c.value(2, "@@gtid_slave_pos"), c.value(3, "@@gtid_slave_pos")))
    assert st2["Slave_SQL_Running"] == "No", "db2 stopped applying"
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "FAIL", what="db2 FAIL before the restart")

    assert m.stop() == 0, "mppstate exit code on SIGTERM"
    c.kill9(1)
    since = len(m.log())
    m.start()

    def never_db2(s):
        assert s["nodes"]["db2"]["state"] != "ACTIVE", "db2 (SQL thread broken) elected: %s" % states(s)
        assert len(actives(s)) <= 1, "two ACTIVE: %s" % states(s)

    w = Watch(m, never_db2)
    s = w.until(lambda s: actives(s) != [], what="an ACTIVE after the restart")
    assert actives(s) == ["db3"], "ACTIVE after the restart"
    assert s["nodes"]["db1"]["state"] == "FAIL", "db1 demoted: %s" % s["nodes"]["db1"]
    assert s["dests"][("writer", "db3")]["up"], "writer on db3: %r" % s["dests"]
    s = w.rounds(3)
    assert states(s)["db1"] == "FAIL" and actives(s) == ["db3"], "still: %s" % states(s)
    text = m.log()[since:]
    assert "election waits: db1" in text, "one failed poll did not move the writer:\n" + text
    assert "failover at election: db1 -> db3" in text, "the failover's rules chose:\n" + text
    assert became(text, "db2", "ACTIVE") == [], "db2 never ACTIVE"


@pytest.mark.timeout(150)
def test_a_restart_keeps_a_writer_that_is_full_or_misses_one_poll(cluster, mppstate, spawn, log,
                                                                    note):
    c = cluster()
    assert_monitor_without_super(c)
    m = mppstate(c, HALF)
    m.wait(settled, what="db1 ACTIVE, db2 and db3 STANDBY")
    assert m.stop() == 0, "mppstate exit code on SIGTERM"

    # db1 full: every slot held by the monitoring login itself (the
    # replicas' dump threads hold two more); our root queries use the spare
    # connection of SUPER.
    clients = fill_connections(c, 1, spawn)
    log("db1 full: %d sleeping clients started" % len(clients))

    since = len(m.log())
    m.start()

    def db1_stays(s):
        assert actives(s) in ([], ["db1"]), "the writer moved: %s" % states(s)
        assert s["nodes"]["db1"]["state"] != "FAIL", "db1 FAIL: %s" % s["nodes"]["db1"]

    w = Watch(m, db1_stays)
    s = w.until(lambda s: actives(s) == ["db1"], what="db1 ACTIVE after the restart")
    s = w.rounds(6)
    assert settled(s), "after six rounds of 1040: %s" % states(s)
    assert "too many connections" in s["nodes"]["db1"]["reason"], s["nodes"]["db1"]
    nodes = {n["name"]: n for n in m.status_json()["pools"][0]["nodes"]}
    assert nodes["db1"]["state"] == "ACTIVE", "status --json db1: %r" % nodes["db1"]
    assert nodes["db1"]["poll"] == "too many connections", "status --json db1: %r" % nodes["db1"]
    assert [nodes[n]["state"] for n in ("db2", "db3")] == ["STANDBY", "STANDBY"], nodes
    assert s["dests"][("writer", "db1")]["up"], "writer on db1: %r" % s["dests"]

    release_clients(clients)
    s = w.until(lambda s: s["nodes"]["db1"]["status"] == "OK", what="db1 OK once released")
    assert settled(s), "after the release: %s" % states(s)
    text = m.log()[since:]
    assert "failover" not in text, "no failover:\n" + text
    assert became(text, "db2", "ACTIVE") == [] and became(text, "db3", "ACTIVE") == [], text

    # One missed poll at start-up: db1 hangs through the first round only.
    # The interval leaves a second between that round's state file and the
    # next poll, in which db1 is let go again.
    assert m.stop() == 0, "mppstate exit code on SIGTERM"
    c.write_config(m.config, {"global": {"interval": "2s", "connect_timeout": "1s"}},
                   state_dir=m.state_dir, data_dir=m.data_dir)
    c.sigstop(1)
    since = len(m.log())
    t0 = time.monotonic()
    m.start()
    w = Watch(m, db1_stays)
    try:
        s = w.until(lambda s: s["nodes"]["db1"]["status"] != "OK", timeout=15,
                    what="db1's failed first poll")
    finally:
        c.sigcont(1)
    note("missed poll seen %.2fs after the start" % (time.monotonic() - t0))
    assert actives(s) == [], "no ACTIVE after one failed poll of the writer: %s" % states(s)
    assert s["nodes"]["db1"]["status"] == "INFO", "one failed poll: %s" % s["nodes"]["db1"]
    assert "election waits: db1" in s["pools"]["main"]["note"], s["pools"]["main"]
    s = w.until(lambda s: actives(s) != [], what="the election")
    assert actives(s) == ["db1"], "db1 ACTIVE after its missed poll: %s" % states(s)
    s = w.rounds(2)
    assert settled(s), "after the missed poll: %s" % states(s)
    text = m.log()[since:]
    assert "failover" not in text, "no failover:\n" + text


def test_a_restart_keeps_a_demotion_also_without_the_state_file(cluster, mppstate, log):
    c = cluster()
    m = mppstate(c, HALF)
    m.wait(settled, what="db1 ACTIVE, db2 and db3 STANDBY")
    c.kill9(1)
    m.wait_active("db2", timeout=15)
    # What an operator does after the failover: db2 the writer, db1 (back)
    # and db3 its read-only replicas. db1 would look like a healthy standby.
    c.restart(1)
    c.replicate_from(2, None)
    c.sql(2, "SET GLOBAL read_only = OFF")
    c.sql_repeatable(1, "SET GLOBAL read_only = ON;\nSET GLOBAL gtid_slave_pos = @@gtid_binlog_pos")
    c.replicate_from(1, 2)
    c.replicate_from(3, 2)
    c.write(2, "after the failover")
    c.wait_replicated(primary=2)
    st1 = c.slave_status(1)
    log("db1: IO %s SQL %s lag %s" % (st1["Slave_IO_Running"], st1["Slave_SQL_Running"],
                                      st1["Seconds_Behind_Master"]))
    assert (st1["Slave_IO_Running"], st1["Slave_SQL_Running"]) == ("Yes", "Yes"), st1
    s = m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY", what="db3 STANDBY under db2")
    assert s["nodes"]["db1"]["state"] == "FAIL", "db1 demoted: %s" % s["nodes"]["db1"]

    def db1_demoted(s):
        assert s["nodes"]["db1"]["state"] not in ("STANDBY", "ACTIVE"), \
            "db1, demoted, came back: %s" % s["nodes"]["db1"]
        assert actives(s) in ([], ["db2"]), "the writer moved: %s" % states(s)

    memory = os.path.join(m.data_dir, "pool-memory")
    for restart in ("stop and start", "state_dir emptied"):
        assert m.stop() == 0, "mppstate exit code on SIGTERM"
        with open(memory) as f:
            text = f.read()
        log("pool memory:\n" + text)
        assert "\nnode main db1 demoted\n" in text, "the pool memory names db1 demoted:\n" + text
        if restart == "state_dir emptied":
            shutil.rmtree(m.state_dir)  # a reboot empties /run; data_dir stays
        since = len(m.log())
        m.start()
        w = Watch(m, db1_demoted)
        w.until(lambda s: actives(s) == ["db2"], what="db2 ACTIVE after %s" % restart)
        s = w.rounds(4)
        assert s["nodes"]["db1"]["state"] == "FAIL", "db1 after %s: %s" % (restart, s["nodes"]["db1"])
        assert "demoted" in s["nodes"]["db1"]["reason"], s["nodes"]["db1"]
        assert states(s)["db3"] == "STANDBY", "db3 after %s: %s" % (restart, states(s))
        text = m.log()[since:]
        assert became(text, "db1", "STANDBY") == [] and became(text, "db1", "ACTIVE") == [], text

    r = m.mppctl("recover", "db1")
    assert "db1 recovered" in r.stdout, r.stdout
    s = m.wait(lambda s: s["nodes"]["db1"]["state"] == "STANDBY", what="db1 STANDBY once recovered")
    assert actives(s) == ["db2"], "ACTIVE after the recovery: %s" % states(s)
    with open(memory) as f:
        text = f.read()
    assert "node main db1" not in text, "db1 no longer demoted:\n" + text


def config_without(m, node, keep):
    """m's config with node removed: not in pool main, no section."""
    text = m.cluster.config_text({**HALF, "pool main": {"nodes": ", ".join(keep)}},
                                 state_dir=m.state_dir, data_dir=m.data_dir)
    text, n = re.subn(r"\[node %s\]\n(?:[^\[\n][^\n]*\n|\n)*" % node, "", text)
    assert n == 1 and ("[node %s]" % node) not in text, text
    with open(m.config, "w") as f:
        f.write(text)


def test_a_reload_that_removes_the_active_is_refused(cluster, mppstate, log):
    c = cluster()
    m = mppstate(c, HALF)
    m.wait(settled, what="db1 ACTIVE, db2 and db3 STANDBY")
    since = len(m.log())
    config_without(m, "db1", ["db2", "db3"])
    m.proc.send_signal(signal.SIGHUP)
    wait_log(m, "reload refused", since)
    text = m.log()[since:]
    assert ("reload refused: node db1 is the ACTIVE of pool main and the new configuration "
            "removes it: switch over first (mppctl switchover main)") in text, text
    assert "configuration reloaded" not in text, text

    def db1_writer(s):
        assert settled(s), "after the refused reload: %s" % states(s)
        up = [n for (vs, n), d in s["dests"].items() if vs == "writer" and d["up"]]
        assert up == ["db1"], "writer up on %s" % up

    w = Watch(m, db1_writer)
    w.rounds(4)
    assert became(m.log()[since:], r"db[23]", "ACTIVE") == [], "no new writer"

    # Removing a STANDBY is a reload like any other.
    since = len(m.log())
    config_without(m, "db3", ["db1", "db2"])
    m.proc.send_signal(signal.SIGHUP)
    wait_log(m, "configuration reloaded", since)
    s = m.wait(lambda s: "db3" not in s["nodes"], what="db3 gone from the state file")
    assert states(s) == {"db1": "ACTIVE", "db2": "STANDBY"}, "after removing db3: %s" % states(s)
    assert s["dests"][("writer", "db1")]["up"], "writer on db1: %r" % s["dests"]
    assert "reload refused" not in m.log()[since:], m.log()[since:]


def test_offline_in_the_failover_round_keeps_the_node_from_promotion(cluster, mppstate, spawn,
                                                                      log, note):
    c = cluster()
    # No watch: the rounds alone find the crash, one failed poll a second,
    # which leaves time for the command between the two.
    m = mppstate(c, {"global": {"interval": "1s", "connect_timeout": "1s", "watch": "no"}})
    m.wait(settled, what="db1 ACTIVE, db2 and db3 STANDBY")
    c.write(1, "last")
    c.wait_replicated()
    received = [c.slave_status(i)["Gtid_IO_Pos"] for i in (2, 3)]
    assert received[0] == received[1], "db2 and db3 received the same: %s" % received
    w = Watch(m)
    w.rounds(2)  # their lag with the writer healthy

    def never_db2(s):
        assert s["nodes"]["db2"]["state"] != "ACTIVE", "db2 (OFFLINE) promoted: %s" % states(s)

    w.check = never_db2
    since = len(m.log())
    c.kill9(1)
    s = w.until(lambda s: s["nodes"]["db1"]["status"] != "OK", timeout=10,
                what="db1's first failed poll")
    assert s["nodes"]["db1"]["status"] == "INFO" and actives(s) == ["db1"], \
        "one failed poll: %s %s" % (states(s), s["nodes"]["db1"])
    t0 = time.monotonic()
    offline = spawn([m.mppctl_bin, "-c", m.config, "offline", "db2"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    s = w.until(lambda s: actives(s) != ["db1"], timeout=10, what="the failover")
    out, err = offline.communicate(timeout=10)
    note("offline answered %.2fs after the first failed poll" % (time.monotonic() - t0))
    log("mppctl offline db2 -> %d: %s%s" % (offline.returncode, out, err))
    assert offline.returncode == 0 and "db2 is OFFLINE" in out, (offline.returncode, out, err)
    assert actives(s) == ["db3"], "promoted: %s" % states(s)
    assert states(s)["db2"] == "OFFLINE", "db2 OFFLINE in the failover's state file: %s" % states(s)
    assert states(s)["db1"] == "FAIL", "db1 demoted: %s" % states(s)
    s = w.rounds(2)
    assert states(s) == {"db1": "FAIL", "db2": "OFFLINE", "db3": "ACTIVE"}, states(s)
    text = m.log()[since:]
    assert became(text, "db2", "ACTIVE") == [], "db2 never ACTIVE:\n" + text
    assert "failover: db1 -> db3" in text, text
