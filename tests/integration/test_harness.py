"""The harness's own promises that the other tests lean on."""

import threading

from mariadb_cluster import ClusterError


def test_a_read_whose_session_is_killed_is_read_again(cluster):
    # A fence kills every client session, a test's own read of @@read_only
    # included; such a read must be read again, not fail the test.
    c = cluster(n=1)
    got = {}

    def read():
        try:
            got["value"] = c.value(1, "SLEEP(1) + 7")
        except ClusterError as e:
            got["error"] = str(e)

    t = threading.Thread(target=read)
    t.start()
    c.wait_for(lambda: c.sql(1, "SELECT ID FROM information_schema.PROCESSLIST"
                                " WHERE INFO LIKE 'SELECT SLEEP(1) + 7%'"),
               timeout=5, interval=0.02, what="the read under way")
    for (session,) in c.sql(1, "SELECT ID FROM information_schema.PROCESSLIST"
                               " WHERE INFO LIKE 'SELECT SLEEP(1) + 7%'"):
        c.sql(1, "KILL CONNECTION %s" % session)
    t.join(timeout=30)
    assert got == {"value": "7"}, got
