"""[global] data_dir: each mppstate keeps its pool memory (demotions, OFFLINE,
the writer) in a directory of its own, never in the system's /var/lib/mpp,
so that no two daemons, and no two tests, share one. It may be the state
directory itself."""

import os

FAST = {"global": {"interval": "200ms", "connect_timeout": "1s"}}
SYSTEM_MEMORY = "/var/lib/mpp/pool-memory"


def fingerprint(path):
    """What tells a rewrite of path apart (None: no such file)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def elected(s):
    return (s["nodes"]["db1"]["state"] == "ACTIVE"
            and s["nodes"]["db3"]["state"] in ("STANDBY", "OFFLINE"))


def test_an_offline_node_is_remembered_in_its_own_daemons_data_dir_only(cluster, mppstate,
                                                                        workdir):
    system = fingerprint(SYSTEM_MEMORY)
    c = cluster()
    a = mppstate(c, FAST, name="a")
    a.wait(lambda s: elected(s) and s["nodes"]["db3"]["state"] == "STANDBY", what="db3 STANDBY")
    a.mppctl("offline", "db3")
    a.wait(lambda s: s["nodes"]["db3"]["state"] == "OFFLINE", timeout=10, what="db3 OFFLINE")
    memory = os.path.join(a.data_dir, "pool-memory")
    c.wait_for(lambda: "db3" in read(memory) and "offline" in read(memory), timeout=10,
               what="db3 OFFLINE in a's pool memory")
    assert a.data_dir.startswith(workdir + os.sep), "a's data_dir is in the test's work dir"
    assert a.stop() == 0, "a stops cleanly"

    # A second daemon on the same servers starts from a memory of its own
    # (none): db3 is a plain STANDBY there, not a's OFFLINE.
    b = mppstate(c, FAST, name="b")
    assert b.data_dir != a.data_dir, "each daemon has its own data_dir"
    s = b.wait(elected, what="db1 ACTIVE, db3 evaluated")
    assert s["nodes"]["db3"]["state"] == "STANDBY", "b does not inherit a's OFFLINE"
    b_memory = os.path.join(b.data_dir, "pool-memory")
    c.wait_for(lambda: "db1" in read(b_memory), timeout=10, what="b's pool memory written")
    assert "offline" not in read(b_memory), "b's memory holds no OFFLINE: %r" % read(b_memory)
    assert "offline" in read(memory), "a's memory is left as a wrote it"
    assert fingerprint(SYSTEM_MEMORY) == system, "%s untouched" % SYSTEM_MEMORY


def test_data_dir_may_be_the_state_dir(cluster, mppstate, workdir):
    system = fingerprint(SYSTEM_MEMORY)
    c = cluster()
    shared = os.path.join(workdir, "same", "state")
    m = mppstate(c, {"global": dict(FAST["global"], data_dir=shared)}, name="same")
    assert m.state_dir == shared, "the harness's state_dir is the one given as data_dir"
    m.wait(lambda s: elected(s) and s["nodes"]["db3"]["state"] == "STANDBY", what="db3 STANDBY")
    m.mppctl("offline", "db3")
    m.wait(lambda s: s["nodes"]["db3"]["state"] == "OFFLINE", timeout=10, what="db3 OFFLINE")
    memory = os.path.join(shared, "pool-memory")
    c.wait_for(lambda: "offline" in read(memory), timeout=10, what="the memory in state_dir")
    names = set(os.listdir(shared))
    assert {"state", "pool-memory", "mppstate.lock", "mppstate.sock"} <= names, names
    assert "db3" in m.mppctl("status").stdout, "mppctl answers on the socket beside the memory"
    assert m.stop() == 0, "stops cleanly"

    # A restart reads the memory back from the same directory.
    m.start()
    s = m.wait(lambda s: s["pid"] == m.proc.pid and elected(s),
               what="the new process's state file, db1 ACTIVE")
    assert s["nodes"]["db3"]["state"] == "OFFLINE", "db3 still OFFLINE after the restart"
    assert "offline" in read(memory)
    assert m.stop() == 0, "stops cleanly"
    assert fingerprint(SYSTEM_MEMORY) == system, "%s untouched" % SYSTEM_MEMORY
