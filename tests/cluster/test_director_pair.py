"""A director pair (doc/director-pair.md): two mppstate directors, each in
its own network namespace, a real 3-member etcd, three real MariaDB
servers. Only the leader decides; both state files follow its published
decision; a deposed leader never acts; losing etcd freezes decisions."""

import os
import signal
import subprocess
import time

from pairlib import LEASE_S, Sampler

INTERVAL_S = 0.3


def actives(state):
    return [n for n, v in state["nodes"].items() if v["state"] == "ACTIVE"]


def other(name):
    return "b" if name == "a" else "a"


def start_pair(pair, first="a"):
    """Starts the first director, lets it lead, then the other; both name
    db1."""
    pair.start(first)
    assert pair.leader() == first
    pair.start(other(first))
    pair.wait_active("db1")
    return first, other(first)


def check_agreement(sampler, note, leader, follower, active):
    """The two state files named different ACTIVE nodes for no longer than
    it took the decision to travel."""
    delay = sampler.publication_delay_ms(leader, follower, active)
    longest = sampler.longest_disagreement_ms()
    note("publication delay %s -> %s (%s ACTIVE): %s ms; longest disagreement sampled every 50 ms: %.0f ms"
         % (leader, follower, active, delay, longest))
    assert delay is not None, "both directors named %s" % active
    assert longest <= max(delay, 0) + 2 * sampler.period * 1000, \
        "the state files disagreed for %.0f ms, the publication took %s ms" % (longest, delay)


def test_the_leader_decides_and_the_follower_follows(pair, note):
    p = pair()
    leader, follower = start_pair(p)
    d = p.decision()
    assert d["leader"] == leader and d["epoch"] > 0
    s = p.directors[follower].status_json()
    assert s["cluster"]["leader"] == leader
    assert s["cluster"]["role"] == "follower"
    assert s["cluster"]["epoch"] == d["epoch"]
    assert p.directors[leader].status_json()["cluster"]["role"] == "leader"
    table = p.directors[follower].mppctl("status").stdout
    assert "cluster: leader %s" % leader in table, table
    # A command on the follower is refused with the leader's name.
    r = p.directors[follower].mppctl("offline", "db3", check=False)
    assert r.returncode != 0
    assert "the leader is %s" % leader in r.stdout + r.stderr
    r = p.directors[follower].mppctl("switchover", "main", "db2", check=False)
    assert r.returncode != 0 and "the leader is %s" % leader in r.stdout + r.stderr
    # On the leader it works, and the follower's state file follows.
    p.directors[leader].mppctl("offline", "db3")
    p.wait_all(lambda s: s["nodes"]["db3"]["state"] == "OFFLINE", 10, "db3 OFFLINE")
    # The metrics pages say who leads, and both show the same STATEs.
    for name, role in ((leader, "1"), (follower, "0")):
        page = p.directors[name].mppctl("metrics").stdout
        lines = set(page.splitlines())
        assert "mpp_cluster_leader %s" % role in lines, (name, page[:2000])
        assert "mpp_cluster_deciding %s" % role in lines
        assert "mpp_cluster_frozen 0" in lines
        assert "mpp_cluster_epoch %d" % d["epoch"] in lines
        assert 'mpp_node_state{pool="main",node="db3",state="OFFLINE"} 1' in lines
    # A reload cannot change the pair: the running one stays.
    m = p.directors[follower]
    with open(m.config) as f:
        text = f.read()
    with open(m.config, "w") as f:
        f.write(text.replace("lease = %ds" % LEASE_S, "lease = %ds" % (LEASE_S + 1)))
    m.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "reload refused" not in m.log():
        time.sleep(0.05)
    assert "reload refused: [cluster] changed" in m.log()
    assert m.status_json()["cluster"]["leader"] == leader


def test_kill9_of_the_leader_another_takes_over(pair, note):
    p = pair()
    leader, follower = start_pair(p)
    epoch = p.decision()["epoch"]
    t0 = time.monotonic()
    p.directors[leader].proc.kill()
    assert p.leader(timeout=3 * (LEASE_S + INTERVAL_S) + 10) in (leader, follower)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (p.decision()["leader"] != follower):
        time.sleep(0.02)
    took = time.monotonic() - t0
    d = p.decision()
    assert d["leader"] == follower, d
    assert d["epoch"] > epoch
    note("takeover after kill -9 of the leader: %.2f s (lease %d s, interval %.1f s)"
         % (took, LEASE_S, INTERVAL_S))
    p.directors[follower].wait(lambda s: s["pools"]["main"]["flag"] == "ok" and actives(s) == ["db1"], 10)
    assert p.directors[follower].status_json()["cluster"]["role"] == "leader"


def test_sigstop_of_the_leader_the_resumed_one_does_not_act(pair, note):
    p = pair(manage_replication=True)
    leader, follower = start_pair(p)
    s = p.servers
    for i in (1, 2, 3):
        s.general_log(i)
    os.kill(p.directors[leader].proc.pid, signal.SIGSTOP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not p.directors[follower].status_json()["cluster"]["deciding"]:
        time.sleep(0.05)
    assert p.leader() == follower
    # The new leader moves the writer while the old one sleeps: what the
    # sleeper remembers (db1 writable, the others its replicas) is now wrong.
    p.directors[follower].mppctl("switchover", "main", "db3")
    p.directors[follower].wait_active("db3")
    epoch = p.decision()["epoch"]
    since = s.now(1)
    os.kill(p.directors[leader].proc.pid, signal.SIGCONT)
    time.sleep(3 * LEASE_S)
    changes = []
    for i in (1, 2, 3):
        for pattern in ("%read_only%", "%CHANGE MASTER%", "%START SLAVE%", "%STOP SLAVE%", "KILL%", "%semi_sync%"):
            changes += [(i, u, q) for u, q in s.logged(i, since, pattern) if "mppadmin_%s" % leader in u]
    assert changes == [], "the resumed ex-leader changed a database: %s" % changes
    d = p.decision()
    assert d["leader"] == follower and d["epoch"] == epoch, d
    assert s.value(1, "@@read_only") == "1", "db1 stays fenced"
    assert s.value(3, "@@read_only") == "0", "db3 stays the writer"
    p.wait_all(lambda st: actives(st) == ["db3"], 10, "db3 ACTIVE on both")
    assert "not the leader" in p.directors[leader].log() or "the leader is %s" % follower in \
        p.directors[leader].log()


def test_two_etcd_members_stopped_no_decision_changes(pair, note):
    p = pair()
    leader, follower = start_pair(p)
    seq = p.decision()["seq"]
    etcd_leader = p.etcd.leader_index()
    stopped = [i for i in range(3) if i != etcd_leader][:1] + [etcd_leader]
    for i in stopped:
        p.etcd.member(i).pause()
    p.servers.kill9(1)
    # Longer than a failover takes, longer than the lease.
    time.sleep(3 * (LEASE_S + INTERVAL_S))
    for d, m in p.directors.items():
        st = m.wait(lambda st: st["pools"]["main"]["flag"] == "frozen", 10, "frozen on " + d)
        assert actives(st) == ["db1"], (d, st["nodes"])
        assert st["nodes"]["db1"]["status"] != "OK", "each director still shows what it sees"
    assert p.servers.value(2, "@@read_only") == "1" and p.servers.value(3, "@@read_only") == "1"
    # Out of reach for longer than stale_after: the last decision is no
    # longer served, as a stale state file would not be.
    for d, m in p.directors.items():
        st = m.wait(lambda st: not st["dests"][("writer", "db1")]["up"], 15, "nothing served on " + d)
        assert actives(st) == ["db1"], (d, st["nodes"])
        assert "longer than stale_after" in st["pools"]["main"]["note"]
    for i in stopped:
        p.etcd.member(i).resume()
    sampler = Sampler(p.directors)
    try:
        p.wait_all(lambda st: actives(st) not in ([], ["db1"]) and st["pools"]["main"]["flag"] == "ok", 30,
                   "a failover once etcd is back")
    finally:
        sampler.stop()
    d = p.decision()
    assert d["seq"] > seq
    new = d["pools"][0]["active"]
    check_agreement(sampler, note, d["leader"], other(d["leader"]), new)


def test_a_director_cut_off_from_the_writer_the_leaders_view_wins(pair, note):
    p = pair()
    leader, follower = start_pair(p)
    sampler = Sampler(p.directors)
    try:
        # The follower alone loses db1: it sees it fail, and keeps it ACTIVE.
        p.net.cut(follower, 1)
        st = p.directors[follower].wait(lambda s: s["nodes"]["db1"]["status"] == "FAIL", 15, "db1 FAIL seen")
        time.sleep(2 * LEASE_S)
        for m in p.directors.values():
            assert actives(m.state()) == ["db1"]
        assert p.directors[follower].state()["dests"][("writer", "db1")]["up"], "the follower's LVS keeps db1"
        p.net.heal(follower, 1)
        # The leader alone loses db1: it fails over, and the follower, which
        # sees db1 well, follows.
        p.net.cut(leader, 1)
        p.wait_all(lambda s: actives(s) not in ([], ["db1"]), 20, "the leader's failover")
        new = actives(p.directors[leader].state())[0]
        assert actives(p.directors[follower].state()) == [new]
        # Its own polls of db1, which it reaches, show it well.
        p.directors[follower].wait(lambda s: "poll" not in s["nodes"]["db1"]["reason"], 10, "db1 answering")
    finally:
        sampler.stop()
    check_agreement(sampler, note, leader, follower, new)


def test_failover_under_the_pair_repoints_the_replicas_once(pair, note):
    p = pair(manage_replication=True)
    leader, follower = start_pair(p)
    s = p.servers
    for i in (2, 3):
        s.general_log(i)
    since = s.now(2)
    sampler = Sampler(p.directors)
    try:
        s.kill9(1)
        p.wait_all(lambda st: actives(st) in (["db2"], ["db3"]), 30, "failover")
        new = actives(p.directors[leader].state())[0]
        replica = 3 if new == "db2" else 2
        s.wait_for(lambda: s.slave_status(replica).get("Slave_SQL_Running") == "Yes" and
                   int(s.slave_status(replica)["Master_Port"]) == s.node(int(new[2])).port, 30,
                   "the replica re-pointed")
        time.sleep(2 * LEASE_S)  # time enough for a second re-pointing, if there were one
    finally:
        sampler.stop()
    changes = s.logged(replica, since, "%CHANGE MASTER%")
    assert len(changes) == 1, changes
    assert "mppadmin_%s" % leader in changes[0][0], changes
    assert all("mppadmin_%s" % follower not in u for i in (2, 3) for u, _ in s.logged(i, since, "%"))
    check_agreement(sampler, note, leader, follower, new)


def test_once_refuses_a_director_pair(build, workdir):
    """--once would decide alone: in a pair only the leader decides."""
    cnf = os.path.join(workdir, "client.cnf")
    fd = os.open(cnf, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"[client]\nuser = mpp\npassword = secret\n")
    os.close(fd)
    config = os.path.join(workdir, "mppstate.ini")
    with open(config, "w") as f:
        f.write("[global]\nstate_dir = %s/state\ndata_dir = %s/data\ncredentials = %s\n"
                "[pool main]\nnodes = db1\n[node db1]\naddress = 127.0.0.1:1\n"
                "[cluster]\netcd = http://127.0.0.1:1\nname = a\n" % (workdir, workdir, cnf))
    r = subprocess.run([build.path("bin/mppstate"), "--once", "-c", config], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2
    assert "--once cannot run in a director pair" in r.stderr
    assert not os.path.exists(os.path.join(workdir, "state", "state"))
