"""mppstate against real MariaDB servers: elections, failovers, the traps
DESIGN.md lists, restarts, reloads and a fenced switchover. Assertions read
the state file and `mppctl status --json`."""

import os
import signal
import socket
import subprocess
import time

from daemonlib import actives, add_admin_user, hold_global_read_lock

FAST = {"global": {"interval": "200ms", "connect_timeout": "1s"}}


def test_healthy_pool_elects_the_primary(cluster, mppstate):
    c = cluster()
    m = mppstate(c)
    m.wait_active("db1")
    m.wait(lambda s: all(s["nodes"][n]["state"] == "STANDBY" for n in ("db2", "db3")),
           what="both replicas STANDBY")
    s = m.state()
    assert actives(s) == ["db1"], "ACTIVE nodes"
    assert s["dests"][("writer", "db1")]["up"], "writer up on db1"
    assert not s["dests"][("writer", "db2")]["up"], "writer down on db2"
    assert s["dests"][("reader", "db2")]["up"] and s["dests"][("reader", "db3")]["up"], \
        "reader up on both replicas: %r" % s["dests"]
    j = m.status_json()
    nodes = {n["name"]: n for n in j["pools"][0]["nodes"]}
    assert nodes["db1"]["state"] == "ACTIVE", "status --json db1"
    assert nodes["db2"]["lag"] == 0, "status --json db2 lag"
    assert nodes["db1"]["read_only"] is False, "db1 writable"
    track = os.path.join(m.state_dir, "track")
    with open(os.path.join(track, "writer", "db1")) as f:
        assert f.read() == "1\n", "track file writer/db1"
    with open(os.path.join(track, "writer", "db2")) as f:
        assert f.read() == "-2147483648\n", "track file writer/db2"
    mode = os.stat(os.path.join(m.state_dir, "mppstate.sock")).st_mode & 0o777
    assert oct(mode) == oct(0o660), "control socket mode"


def test_kill9_of_the_primary_fails_over_to_the_first_secondary(cluster, mppstate, note):
    c = cluster()
    m = mppstate(c, FAST)
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY" and s["nodes"]["db3"]["state"] == "STANDBY")
    t0 = time.monotonic()
    c.kill9(1)
    s = m.wait_active("db2", timeout=10)
    note("failover %.2fs" % (time.monotonic() - t0))
    assert actives(s) == ["db2"], "one ACTIVE"
    assert s["nodes"]["db1"]["state"] == "FAIL", "db1"
    assert s["dests"][("writer", "db2")]["up"] and not s["dests"][("writer", "db1")]["up"], \
        "writer moved to db2: %r" % s["dests"]


def test_sigstop_of_the_primary_fails_over_and_sigcont_does_not_bring_it_back(cluster, mppstate,
                                                                               note):
    c = cluster()
    m = mppstate(c, {"global": {"interval": "500ms", "connect_timeout": "1s"}})
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY")
    t0 = time.monotonic()
    c.sigstop(1)
    m.wait_active("db2", timeout=1.0 + 2 * 0.5 + 2.0)
    elapsed = time.monotonic() - t0
    note("failover %.2fs (connect timeout + 2 intervals = 2.0s)" % elapsed)
    c.sigcont(1)
    time.sleep(3)
    s = m.state()
    assert actives(s) == ["db2"], "ACTIVE after SIGCONT"
    assert s["nodes"]["db1"]["state"] == "FAIL", "db1 stays FAIL (demoted)"


def test_a_stall_shorter_than_one_interval_does_not_fail_over(cluster, mppstate):
    c = cluster()
    m = mppstate(c, {"global": {"interval": "1s", "connect_timeout": "1s"}})
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY")
    seq0 = m.state()["seq"]
    c.sigstop(1)
    time.sleep(0.5)
    c.sigcont(1)
    m.wait(lambda s: s["seq"] >= seq0 + 5, timeout=15, what="five more rounds")
    s = m.state()
    assert actives(s) == ["db1"], "ACTIVE"
    assert "failover" not in m.log(), "no failover logged"


def test_a_stopped_sql_thread_on_the_first_secondary_promotes_the_second(cluster, mppstate):
    c = cluster()
    m = mppstate(c, FAST)
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY")
    c.sql(2, "STOP SLAVE SQL_THREAD")
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "FAIL", what="db2 FAIL")
    c.kill9(1)
    s = m.wait_active("db3", timeout=10)
    assert actives(s) == ["db3"], "one ACTIVE"


def test_a_replica_with_an_unapplied_relay_log_is_not_promoted(cluster, mppstate, spawn):
    c = cluster()
    m = mppstate(c, FAST)
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY")
    hold_global_read_lock(spawn, c, 2)
    for i in range(3):
        c.write(1, "r%d" % i)
    pos = c.value(1, "@@gtid_binlog_pos")
    c.wait_for(lambda: c.slave_status(2).get("Gtid_IO_Pos") == pos, timeout=15,
               what="db2 received everything")
    c.wait_replicated(nodes=[3])
    applied = c.value(2, "@@gtid_slave_pos")
    assert applied != pos, "db2 has not applied it: %s" % applied
    time.sleep(0.5)  # a round or two with the writer healthy
    c.kill9(1)
    s = m.wait_active("db3", timeout=10)
    assert s["nodes"]["db2"]["state"] != "ACTIVE", "db2 not promoted"


def test_a_wrong_password_is_reported_and_causes_no_failover(cluster, mppstate):
    c = cluster()
    m = mppstate(c, FAST)
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY")
    with open(c.credentials) as f:
        good = f.read()
    with open(c.credentials, "w") as f:
        f.write(good.replace("password = ", "password = wrong"))
    s = m.wait(lambda s: "access denied" in s["nodes"]["db1"]["reason"], what="1045 reported")
    assert s["nodes"]["db1"]["status"] == "INFO", "db1 STATUS"
    time.sleep(2)  # ten rounds
    s = m.state()
    assert actives(s) == ["db1"], "ACTIVE"
    assert "1045" in s["nodes"]["db1"]["reason"], "the reason names 1045"
    assert "access denied" in m.log(), "logged:\n" + m.log()[-1500:]


def test_restarting_mppstate_keeps_the_active_where_it_was(cluster, mppstate):
    c = cluster()
    m = mppstate(c, FAST)
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY")
    c.kill9(1)
    m.wait_active("db2", timeout=10)
    c.restart(1)  # back, writable, and still the source db3 replicates from
    assert m.stop() == 0, "mppstate exit code on SIGTERM"
    m.start()
    time.sleep(1.5)
    s = m.wait(lambda s: len(actives(s)) == 1, what="an ACTIVE after the restart")
    assert actives(s) == ["db2"], "ACTIVE after restart"


def test_sighup_with_a_broken_config_keeps_the_old_one(cluster, mppstate):
    c = cluster()
    m = mppstate(c, FAST)
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY")
    with open(m.config, "a") as f:
        f.write("[pool other]\nnodes = nosuchnode\n")
    m.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    assert m.proc.poll() is None, "mppstate still running"
    assert "nodes: unknown node 'nosuchnode'" in m.log(), "the error is logged with its line"
    assert "still running the previous configuration" in m.log(), "keeps the old config"
    seq = m.state()["seq"]
    s = m.wait(lambda s: s["seq"] > seq + 2, what="more rounds")
    assert actives(s) == ["db1"], "ACTIVE"
    # A good reload is taken.
    with open(m.config) as f:
        text = f.read().replace("[pool other]\nnodes = nosuchnode\n", "")
    with open(m.config, "w") as f:
        f.write(text.replace("interval = 200ms", "interval = 300ms"))
    m.proc.send_signal(signal.SIGHUP)
    m.wait(lambda s: s["interval_ms"] == 300, what="the new interval")


def test_a_fenced_switchover_leaves_exactly_one_writable_server(cluster, mppstate):
    c = cluster()
    admin = add_admin_user(c)
    m = mppstate(c, {"global": {"interval": "200ms", "admin_credentials": admin},
                     "pool main": {"manage_read_only": "yes"}})
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY")
    c.write(1, "before")
    r = m.mppctl("switchover", "main", "db2")
    assert "db2" in r.stdout, "switchover answer names db2: %r" % r.stdout
    s = m.wait_active("db2")
    assert actives(s) == ["db2"], "one ACTIVE"
    time.sleep(0.5)
    writable = [i for i in (1, 2, 3) if c.value(i, "@@read_only") == "0"]
    assert writable == [2], "writable servers"
    rows = c.sql(2, "SELECT COUNT(*) FROM mpptest.t WHERE v = 'before'")
    assert rows[0][0] == "1", "db2 has the last write"
    # Refused operations are clear.
    r = m.mppctl("switchover", "main", "db9", check=False)
    assert r.returncode == 1, "unknown node refused"
    assert "unknown node 'db9'" in r.stderr, r.stderr
    r = m.mppctl("offline", "db2", check=False)
    assert r.returncode == 1, "offline of the ACTIVE refused"
    assert "switchover" in r.stderr, r.stderr


def test_offline_online_and_recover(cluster, mppstate):
    c = cluster()
    m = mppstate(c, FAST)
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY")
    m.mppctl("offline", "db3")
    s = m.wait(lambda s: s["nodes"]["db3"]["state"] == "OFFLINE")
    assert not s["dests"][("reader", "db3")]["up"], "OFFLINE is not up"
    m.mppctl("online", "db3")
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY")
    r = m.mppctl("recover", "db3", check=False)
    assert r.returncode == 1, "recover of a STANDBY refused"
    assert "not FAIL" in r.stderr, r.stderr


def test_mpp_check_agrees_with_mppctl_status_for_every_vs_and_node(cluster, mppstate, build):
    c = cluster()
    m = mppstate(c, {"global": {"interval": "1s"}, "node db3": {"weight": "300"}})
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY")
    c.sql(2, "STOP SLAVE SQL_THREAD")  # db2 down for reads
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "FAIL")
    check = build.path("bin/mpp-check")
    for attempt in range(20):
        j = m.status_json()
        seq_before = m.state()["seq"]
        if seq_before != j["seq"]:
            time.sleep(0.1)
            continue  # a round in between: ask again
        compared = 0
        for vs in j["vs"]:
            vip, vport = vs["address"].rsplit(":", 1)
            for d in vs["dests"]:
                rip, rport = d["address"].rsplit(":", 1)
                named = subprocess.run([check, "--state", m.state_path, "--vs", vs["name"],
                                        "--node", d["node"]], capture_output=True, text=True)
                by_address = subprocess.run([check, "--state", m.state_path, vip, vport, rip, rport],
                                            capture_output=True, text=True)
                dynamic = subprocess.run([check, "--state", m.state_path, "--dynamic", "--vs",
                                          vs["name"], "--node", d["node"]], capture_output=True, text=True)
                want = 0 if d["up"] else 1
                what = "%s/%s" % (vs["name"], d["node"])
                assert named.returncode == want, what + " named form"
                assert by_address.returncode == want, what + " address form"
                assert dynamic.returncode == (2 + min(d["weight"], 253) if d["up"] else 1), \
                    what + " --dynamic"
                compared += 1
        if m.state()["seq"] != seq_before:
            continue  # the file changed while we read it
        assert compared == 6, "pairs compared"
        assert any(d["up"] for vs in j["vs"] for d in vs["dests"] if d["node"] == "db3"), \
            "db3 is up somewhere (weight 300 clamps to 253 for --dynamic): %r" % j["vs"]
        return
    raise AssertionError("could not read the state file and the status in one round")


def test_the_notify_hook_gets_each_transition_and_cannot_block_the_loop(cluster, mppstate,
                                                                        workdir):
    c = cluster()
    out = os.path.join(workdir, "transitions")
    hook = os.path.join(workdir, "hook")
    # A shell hook: it writes its line within milliseconds even on a busy
    # machine (an interpreter found through PATH can take longer than
    # notify_timeout to start), then hangs.
    with open(hook, "w") as f:
        f.write("#!/bin/sh\n"
                "printf '%%s %%s %%s %%s\\n' \"$1\" \"$2\" \"$3\" \"$4\" >> '%s'\n"
                "exec sleep 3600  # a hook that hangs\n" % out)
    os.chmod(hook, 0o755)
    m = mppstate(c, {"global": {"interval": "200ms", "notify": hook, "notify_timeout": "3s"}})
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY")
    seq = m.state()["seq"]
    m.wait(lambda s: s["seq"] >= seq + 5, timeout=5, what="rounds go on while hooks hang")
    c.kill9(1)
    m.wait_active("db2", timeout=10)

    # The hooks of one round run side by side and each writes its own line:
    # wait until every expected line is there, not only the first one.
    want = ["main db1 UNKNOWN ACTIVE", "main db2 UNKNOWN STANDBY", "main db2 STANDBY ACTIVE",
            "main db1 ACTIVE FAIL"]

    def hook_lines():
        try:
            with open(out) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    deadline = time.monotonic() + 10
    lines = hook_lines()
    while any(w not in lines for w in want) and time.monotonic() < deadline:
        time.sleep(0.05)
        lines = hook_lines()
    missing = [w for w in want if w not in lines]
    assert not missing, "hook lines missing after 10s: %r; got %r" % (missing, lines)
    c.wait_for(lambda: "timed out: killed" in m.log(), timeout=10, what="hung hooks killed")


def test_isolation_freezes_every_state_when_no_checkpoint_answers(cluster, mppstate):
    c = cluster()
    # A checkpoint that stays silent: its accept queue is full, so the
    # kernel drops new connection attempts without an answer.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    port = silent.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        time.sleep(0.2)
        m = mppstate(c, {"global": {"interval": "200ms", "connect_timeout": "1s",
                                    "checkpoints": "127.0.0.1:%d" % port}})
        m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY")
        c.kill9(1)
        s = m.wait(lambda s: s["pools"]["main"]["flag"] == "isolated", timeout=10,
                   what="isolated")
        time.sleep(2)
        s = m.state()
        assert s["pools"]["main"]["flag"] == "isolated", "still isolated"
        assert actives(s) == ["db1"], "no failover while isolated"
        assert "every STATE is frozen" in s["pools"]["main"]["note"], s["pools"]["main"]["note"]
    finally:
        for f in fillers:
            f.close()
        silent.close()  # now the checkpoint refuses: an answer, the network is back
    s = m.wait_active("db2", timeout=10)
    assert s["pools"]["main"]["flag"] == "ok", "no longer isolated"
