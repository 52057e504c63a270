"""One mppstate per state_dir: a second daemon, --once or --quiesce beside a
running one exits 2, names the owner and touches nothing; the lock goes
with the process, however it ends, and moves with state_dir on reload."""

import os
import signal
import subprocess

SOCKET = "mppstate.sock"
FAST = {"global": {"interval": "300ms"}}


def owned_message(m):
    return "another mppstate (pid %d) owns %s" % (m.proc.pid, m.state_dir)


def track_files(state_dir):
    """{relative path: (inode, content)} of the track files (not the
    temporary files of a write under way)."""
    out = {}
    top = os.path.join(state_dir, "track")
    for vs in sorted(os.listdir(top)):
        for node in sorted(n for n in os.listdir(os.path.join(top, vs)) if not n.startswith(".")):
            path = os.path.join(top, vs, node)
            with open(path) as f:
                out[vs + "/" + node] = (os.stat(path).st_ino, f.read())
    return out


def run(args, timeout=20):
    """Runs a program that must end by itself; fails if it does not."""
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s still runs after %ss" % (" ".join(args), timeout))


def test_a_second_mppstate_on_the_same_state_dir_exits_2_and_touches_nothing(cluster, mppstate,
                                                                             spawn):
    c = cluster()
    m = mppstate(c, FAST)
    s = m.wait(lambda s: s["nodes"]["db3"]["state"] == "STANDBY", what="db3 STANDBY")
    m.wait(lambda x: x["seq"] >= s["seq"] + 2, what="the track files settled")
    sock = os.path.join(m.state_dir, SOCKET)
    sock_inode = os.stat(sock).st_ino
    tracks = track_files(m.state_dir)

    second = spawn([m.mppstate_bin, "-c", m.config], stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = second.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError("the second mppstate still runs after 20s")
    assert second.returncode == 2, "exit code of the second mppstate: %s" % out
    assert owned_message(m) in out, "the second names the owner: %r" % out

    once = run([m.mppstate_bin, "--once", "-c", m.config])
    assert once.returncode == 2, "--once beside a running daemon: %s" % once.stderr
    assert owned_message(m) in once.stderr, "--once names the owner: %r" % once.stderr
    quiesce = run([m.mppstate_bin, "--quiesce", "-c", m.config])
    assert quiesce.returncode == 2, "--quiesce beside a running daemon: %s" % quiesce.stderr
    assert owned_message(m) in quiesce.stderr, "--quiesce names the owner: %r" % quiesce.stderr

    # The first daemon's files are its own.
    assert os.stat(sock).st_ino == sock_inode, "the socket was not replaced"
    assert "db1" in m.mppctl("status").stdout, "the first daemon's socket answers"
    seq = m.state()["seq"]
    s = m.wait(lambda s: s["seq"] >= seq + 3, timeout=10, what="more rounds")
    assert s["pid"] == m.proc.pid, "the state file is the first daemon's"
    assert track_files(m.state_dir) == tracks, "track files untouched (same files, same content)"
    with open(os.path.join(m.state_dir, "mppstate.lock")) as f:
        assert f.read() == "%d\n" % m.proc.pid, "the lock file names the owner"

    assert m.stop() == 0, "the first daemon stops cleanly"
    assert not os.path.exists(sock), "the socket is gone with its daemon"
    # Once the daemon is gone (systemd's ExecStopPost), --quiesce runs.
    quiesce = run([m.mppstate_bin, "--quiesce", "-c", m.config])
    assert quiesce.returncode == 0, "--quiesce after the stop: %s" % quiesce.stderr
    assert {k: v[1] for k, v in track_files(m.state_dir).items()} == \
        {k: "0\n" for k in tracks}, "track files quiesced"


def test_after_a_sigkill_a_new_mppstate_starts(cluster, mppstate):
    c = cluster(1)
    m = mppstate(c, FAST)
    m.wait_active("db1")
    first = m.proc.pid
    m.proc.send_signal(signal.SIGKILL)
    m.proc.wait()
    lock = os.path.join(m.state_dir, "mppstate.lock")
    with open(lock) as f:
        assert f.read() == "%d\n" % first, "a stale lock file is left, naming the dead daemon"
    assert os.path.exists(os.path.join(m.state_dir, SOCKET)), "a stale socket file is left"

    m.start()
    s = m.wait(lambda s: s["pid"] == m.proc.pid, timeout=10, what="the new daemon's state file")
    m.wait(lambda x: x["seq"] >= s["seq"] + 2, timeout=10, what="rounds of the new daemon")
    assert "db1" in m.mppctl("status").stdout, "the new daemon's socket answers"
    with open(lock) as f:
        assert f.read() == "%d\n" % m.proc.pid, "the lock file names the new daemon"
    assert m.stop() == 0, "stops cleanly"


def test_a_reload_moves_the_lock_and_refuses_a_directory_another_daemon_owns(cluster, mppstate,
                                                                             workdir):
    c = cluster(1)
    a = mppstate(c, FAST, name="a")
    b = mppstate(c, FAST, name="b")
    a.wait_active("db1")
    b.wait_active("db1")

    def reload_a(state_dir):
        with open(a.config) as f:
            text = f.read()
        with open(a.config, "w") as f:
            f.write("\n".join("state_dir = " + state_dir if line.startswith("state_dir =") else line
                              for line in text.splitlines()) + "\n")
        a.proc.send_signal(signal.SIGHUP)

    # b owns its directory: a keeps its own.
    reload_a(b.state_dir)
    want = "reload failed: %s; still running the previous configuration" % owned_message(b)
    c.wait_for(lambda: want in a.log(), timeout=10, what="the refused reload logged")
    seq = a.state()["seq"]
    assert a.wait(lambda s: s["seq"] >= seq + 2, timeout=10)["pid"] == a.proc.pid, \
        "a goes on writing its own state file"
    assert b.wait(lambda s: s["seq"] >= seq + 2, timeout=10)["pid"] == b.proc.pid, \
        "b's state file is still b's"
    assert os.path.exists(os.path.join(a.state_dir, SOCKET)), "a's socket stays"
    assert "db1" in b.mppctl("status").stdout, "b's socket answers"

    # A free directory: the socket and the lock move there.
    moved = os.path.join(workdir, "moved")
    reload_a(moved)
    c.wait_for(lambda: os.path.exists(os.path.join(moved, "state")), timeout=10,
               what="a writes in the new directory")
    c.wait_for(lambda: not os.path.exists(os.path.join(a.state_dir, SOCKET)), timeout=10,
               what="the old socket removed")
    assert os.path.exists(os.path.join(moved, SOCKET)), "a listens in the new directory"
    with open(os.path.join(moved, "mppstate.lock")) as f:
        assert f.read() == "%d\n" % a.proc.pid, "a owns the new directory"
    # The directory a left is free for another mppstate (with a memory of its
    # own: a still uses a.data_dir).
    config = c.write_config(os.path.join(workdir, "once.ini"), FAST, state_dir=a.state_dir,
                            data_dir=os.path.join(workdir, "once-data"))
    once = run([a.mppstate_bin, "--once", "-c", config], timeout=60)
    assert once.returncode == 0, "--once on the directory a left: %s" % once.stderr
    assert "db1" in a.mppctl("status").stdout, "a answers on its new socket"
