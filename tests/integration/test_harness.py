"""The harness's own promises that the other tests lean on."""

import threading

from mariadb_cluster import ClusterError


def kill_sessions_running(c, prefix):
    """Kills node 1's sessions whose statement starts with prefix, once one
    is under way: what a fence does to a test's own session."""
    running = ("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%s%%'"
               % prefix.replace("'", "''"))
    c.wait_for(lambda: c.sql(1, running), timeout=5, interval=0.02, what="the statement under way")
    for (session,) in c.sql(1, running):
        c.sql(1, "KILL CONNECTION %s" % session)


def in_thread(call):
    got = {}

    def run():
        try:
            got["value"] = call()
        except ClusterError as e:
            got["error"] = str(e)

    t = threading.Thread(target=run)
    t.start()
    return t, got


def test_a_read_whose_session_is_killed_is_read_again(cluster):
    # A fence kills every client session, a test's own read of @@read_only
    # included; such a read must be read again, not fail the test.
    c = cluster(n=1)
    t, got = in_thread(lambda: c.value(1, "SLEEP(1) + 7"))
    kill_sessions_running(c, "SELECT SLEEP(1) + 7")
    t.join(timeout=30)
    assert got == {"value": "7"}, got


def test_a_repeatable_statement_whose_session_is_killed_runs_again(cluster):
    # A test that sets read_only on a restarted node races the fence that
    # does the same and kills its session.
    c = cluster(n=1)
    t, got = in_thread(lambda: c.sql_repeatable(1, "DO SLEEP(1);\nSET GLOBAL max_connections = 321"))
    kill_sessions_running(c, "DO SLEEP(1)")
    t.join(timeout=30)
    assert got == {"value": []}, got
    assert c.value(1, "@@max_connections") == "321"
