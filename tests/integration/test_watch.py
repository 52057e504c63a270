"""The watch connection and the confirmation polls, against real servers.

Each node gets an idle connection on the monitoring login once a poll has
succeeded. The server ends it when it crashes (kill -9), when it shuts
down, but also when an admin KILLs it, when wait_timeout runs out, or when
it closes idle connections: the first two must fail over before the next
round, the others must change nothing at all.

The rounds here are 30s apart, so what happens within a few seconds of a
fault comes from the watch, not from a round."""

import os
import time

import pytest

from daemonlib import poll_probe

SLOW = {"global": {"interval": "30s", "stale_after": "2m"}}
HEALTHY = {"db1": "ACTIVE", "db2": "STANDBY", "db3": "STANDBY"}


def states(s):
    return {n: v["state"] for n, v in s["nodes"].items()}


def settled(s):
    return states(s) == HEALTHY


def unchanged(before, s):
    """Every node's STATE and STATUS as in before."""
    return all((v["state"], v["status"]) == (before["nodes"][n]["state"], before["nodes"][n]["status"])
               for n, v in s["nodes"].items())


def watch_ids(c, i, min_idle_s=0):
    """The ids of node i's idle sessions of the monitoring user: its watch
    (a poll's own session lives a few milliseconds)."""
    rows = c.sql_dicts(i, "SELECT ID, TIME FROM information_schema.PROCESSLIST "
                          "WHERE USER = '%s' AND COMMAND = 'Sleep'" % c.mpp_user)
    return sorted(int(r["ID"]) for r in rows if int(r["TIME"]) >= min_idle_s)


def connections(c, i):
    return int(c.sql_dicts(i, "SHOW GLOBAL STATUS LIKE 'Connections'")[0]["Value"])


def wait_for_watch(c, i, min_idle_s=1, timeout=30):
    """Waits until node i has a watch idle for min_idle_s; returns its id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = watch_ids(c, i, min_idle_s)
        if len(ids) == 1:
            return ids[0]
        time.sleep(0.1)
    raise AssertionError("node %d has no single watch connection: %r" % (i, watch_ids(c, i)))


def loud_lines(m, since):
    """Warnings and errors logged since offset `since` of the log."""
    return [l for l in m.log()[since:].splitlines() if l.startswith(("<3>", "<4>"))]


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


@pytest.mark.timeout(120)
def test_kill_of_the_watch_connection_changes_nothing_and_it_reconnects(cluster, mppstate, note):
    c = cluster()
    m = mppstate(c, SLOW)
    m.wait(settled, what="an elected pool")
    # Older than kWatchMinLife: a drop is confirmed, then the watch reopens.
    old = wait_for_watch(c, 1, min_idle_s=2)
    first = m.state()
    seq = first["seq"]
    logged = len(m.log())
    before = connections(c, 1)
    t0 = time.monotonic()
    c.sql(1, "KILL %d" % old)
    deadline = time.monotonic() + 10
    new = []
    while time.monotonic() < deadline:
        new = [i for i in watch_ids(c, 1) if i != old]
        if new:
            break
        time.sleep(0.02)
    took = time.monotonic() - t0
    assert new, "no new watch on db1 within 10s of the KILL (the next round is 30s away)"
    # The confirmation poll and the new watch: two fresh logins.
    assert connections(c, 1) - before >= 2, "no confirmation poll"
    time.sleep(1)
    s = m.state()
    assert unchanged(first, s), "the KILL changed the pool: %r" % s["nodes"]
    assert s["seq"] == seq, "a successful confirmation is no news, yet the state was evaluated again"
    assert loud_lines(m, logged) == [], "the KILL was not quiet"
    note("KILL of the watch: a new watch after %d ms" % (took * 1000))


@pytest.mark.timeout(120)
def test_wait_timeout_ending_the_watch_every_second_changes_nothing(cluster, mppstate, note):
    c = cluster(server_options=["wait-timeout = 1"])
    m = mppstate(c, SLOW)
    first = m.wait(settled, what="an elected pool")
    wait_for_watch(c, 1, min_idle_s=0)
    logged = len(m.log())
    before = [connections(c, i) for i in (1, 2, 3)]
    fds = open_fds(m.proc.pid)
    seen = set()
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        seen.update(watch_ids(c, 1))
        s = m.state()
        assert unchanged(first, s), "wait_timeout changed the pool: %r" % s["nodes"]
        time.sleep(0.1)
    grown = [connections(c, i) - b for i, b in zip((1, 2, 3), before)]
    # Each drop: one confirmation poll and one new watch, on every server.
    assert all(g >= 6 for g in grown), "watches did not come back after wait_timeout: %r" % grown
    assert len(seen) >= 4, "db1's watch was not replaced: %r" % sorted(seen)
    assert loud_lines(m, logged) == [], "wait_timeout was not quiet"
    assert open_fds(m.proc.pid) <= fds + 3, "descriptors grow: %d -> %d" % (fds, open_fds(m.proc.pid))
    note("wait_timeout = 1: %d new sessions on db1 in 8s" % grown[0])


def _fails_over_before_the_next_round(c, m, fault, note, what):
    m.wait(settled, what="an elected pool")
    wait_for_watch(c, 1, min_idle_s=1)
    t0 = time.monotonic()
    fault()
    s = m.wait(lambda s: s["nodes"]["db1"]["state"] == "FAIL" and
               any(s["nodes"][n]["state"] == "ACTIVE" for n in ("db2", "db3")),
               timeout=10, what="a new writer within 10s (the next round is 30s away)")
    took = time.monotonic() - t0
    reason = s["nodes"]["db1"]["reason"]
    assert "2 failed polls" in reason, "db1 failed over on two confirmed failed polls: " + reason
    note("%s: the state file names the new writer after %d ms" % (what, took * 1000))


@pytest.mark.timeout(120)
def test_kill9_of_the_writer_fails_over_before_the_next_round(cluster, mppstate, note):
    c = cluster()
    m = mppstate(c, SLOW)
    _fails_over_before_the_next_round(c, m, lambda: c.kill9(1), note, "kill -9")


@pytest.mark.timeout(120)
def test_shutdown_of_the_writer_fails_over_before_the_next_round(cluster, mppstate, note):
    c = cluster()
    m = mppstate(c, SLOW)
    _fails_over_before_the_next_round(c, m, lambda: c.shutdown(1), note, "SHUTDOWN")


@pytest.mark.timeout(120)
def test_a_stopped_node_misses_its_deadline_and_no_round_waits_for_it(cluster, mppstate, note):
    c = cluster()
    m = mppstate(c, {"global": {"interval": "200ms", "connect_timeout": "1s"}})
    m.wait(lambda s: settled(s) and all(v["status"] == "OK" for v in s["nodes"].values()),
           what="an elected, quiet pool")
    c.sigstop(2)
    try:
        # No EOF from a stopped server: its watch says nothing, the rounds
        # find it out, each on time.
        s = m.wait(lambda s: s["nodes"]["db2"]["state"] == "FAIL", timeout=10, what="db2 FAIL")
        assert "poll missed its deadline" in s["nodes"]["db2"]["reason"], s["nodes"]["db2"]["reason"]
        seq0, t0 = s["seq"], time.monotonic()
        time.sleep(3)
        s = m.state()
        rounds = s["seq"] - seq0
        assert rounds >= 10, "only %d evaluations in 3s at interval 200ms" % rounds
        assert s["nodes"]["db1"]["state"] == "ACTIVE" and s["nodes"]["db1"]["status"] == "OK", s["nodes"]["db1"]
        assert s["nodes"]["db3"]["state"] == "STANDBY" and s["nodes"]["db3"]["status"] == "OK", s["nodes"]["db3"]
        note("db2 stopped: %d evaluations in %.1fs" % (rounds, time.monotonic() - t0))
    finally:
        c.sigcont(2)
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY", timeout=30, what="db2 back")


@pytest.mark.timeout(180)
def test_a_thousand_rounds_of_refusals_and_timeouts_leak_nothing(cluster, build, workdir, note):
    import socket
    c = cluster(n=1)
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(4)  # accepts nothing: a connect lands in the backlog, then times out
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        config = c.write_config(os.path.join(workdir, "leak.ini"), {
            "node hung": {"address": "127.0.0.1:%d" % hung.getsockname()[1]},
            "node closed": {"address": "127.0.0.1:%d" % closed_port},
            "pool extra": {"nodes": "hung, closed"},
        })
        r = poll_probe(build.path("tests/poll_probe"), config, rounds=1000, deadline_ms=25, timeout=150)
    finally:
        hung.close()
    outcomes = r["outcomes"]
    assert outcomes.get("refused", 0) == 1000, outcomes
    assert outcomes.get("timeout", 0) >= 1000, outcomes
    assert outcomes.get("ok", 0) >= 500, "the real server should mostly answer in 25ms: %r" % outcomes
    assert r["in_flight"] == 0, r
    assert r["fds_end"] == r["fds_early"], "descriptors leak: %d -> %d" % (r["fds_early"], r["fds_end"])
    grown = r["rss_kib_end"] - r["rss_kib_early"]
    assert grown < 1024, "resident memory grew by %d KiB over 900 rounds" % grown
    note("1000 rounds: fds %d -> %d, RSS %d -> %d KiB, %r" % (r["fds_early"], r["fds_end"], r["rss_kib_early"],
                                                           r["rss_kib_end"], outcomes))


@pytest.mark.timeout(120)
def test_a_failover_between_rounds_elects_from_polls_taken_after_the_crash(cluster, mppstate, note):
    """The standbys' positions of the last round are up to an interval old.
    db2 (first in priority) stops receiving, db3 receives three more rows,
    then the writer dies, all between two rounds: db3, which has the rows,
    must be chosen, not db2 by the positions of the round before."""
    c = cluster()
    m = mppstate(c, {"global": {"interval": "8s", "stale_after": "1m"}})
    m.wait(settled, what="an elected pool")
    wait_for_watch(c, 1, min_idle_s=1)
    seq = m.state()["seq"]
    m.wait(lambda s: s["seq"] > seq, timeout=20, what="a round")  # 8s until the next one
    t0 = time.monotonic()
    c.sql(2, "STOP SLAVE IO_THREAD")
    for k in range(3):
        c.write(1, "only-db3-%d" % k)
    target = c.value(1, "@@gtid_binlog_pos")
    deadline = time.monotonic() + 10
    while c.value(3, "@@gtid_slave_pos") != target:
        assert time.monotonic() < deadline, "db3 did not apply the rows"
        time.sleep(0.05)
    c.kill9(1)
    s = m.wait(lambda s: s["nodes"]["db1"]["state"] == "FAIL", timeout=10, what="a failover before the next round")
    assert s["nodes"]["db3"]["state"] == "ACTIVE", "db3 received the most: %r" % states(s)
    assert time.monotonic() - t0 < 8, "the failover came from a round, not from the watch"
    note("fresh positions: db3 elected %.2fs after the last round" % (time.monotonic() - t0))
