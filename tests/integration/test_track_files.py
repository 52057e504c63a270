"""keepalived track files against real MariaDB: a reload takes the files it
no longer owns down and removes them, every down is written before any up
(a failback, a switchover to an earlier node), and `mppstate --quiesce`
covers files the config no longer owns.

The order of the writes is read from the kernel: `inotifywait -m` (Debian's
inotify-tools) reports every rename of a temporary over a track file
(MOVED_TO: a write) and every removal (DELETE), in the order they happened.
The content of a write that is removed a moment later cannot be read back;
the unit tests (tests/unit/mppstate/state_writer_test.cc) check it."""

import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from daemonlib import actives, add_admin_user

INOTIFYWAIT = shutil.which("inotifywait") or "/usr/bin/inotifywait"
DOWN = "-2147483648\n"
FAST = {"global": {"interval": "200ms", "connect_timeout": "1s"}}


class Watch:
    """inotifywait -m on dir (recursive): events as (EVENTS, path relative
    to dir), e.g. ("MOVED_TO", "writer/db1"), ("DELETE,ISDIR", "reader")."""

    def __init__(self, spawn, dir, events=("moved_to", "delete", "create")):
        if not os.path.exists(INOTIFYWAIT):
            pytest.fail("inotifywait is missing (Debian package inotify-tools; "
                        "scripts/install-deps)", pytrace=False)
        self.dir = dir
        args = [INOTIFYWAIT, "-m", "-r", "--format", "%e %w%f"]
        for e in events:
            args += ["-e", e]
        self.proc = spawn(args + [dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            if "Watches established" in line:
                break
        else:
            pytest.fail("inotifywait did not start: exit %s" % self.proc.wait(), pytrace=False)
        self._events = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            event, _, path = line.rstrip("\n").partition(" ")
            with self._lock:
                self._events.append((event, os.path.relpath(path, self.dir)))

    def events(self):
        with self._lock:
            return list(self._events)

    def wait_for(self, event, path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (event, path) in self.events():
                return self.events()
            time.sleep(0.02)
        raise AssertionError("no %s %s within %ss; events: %r" % (event, path, timeout, self.events()))


def first(events, event, path):
    """The index of the first (event, path), or None."""
    try:
        return events.index((event, path))
    except ValueError:
        return None


def edit_config(text, drop=(), rename=None, keys=None):
    """The config text (as MariaDBCluster.config_text writes it: sections
    separated by a blank line) without the sections in drop, with headers
    renamed ({"vs writer": "vs rw"}) and keys replaced ({"pool main":
    {"nodes": "db1, db2"}})."""
    out = []
    for block in text.strip("\n").split("\n\n"):
        lines = block.split("\n")
        header = lines[0].strip("[]")
        if header in drop:
            continue
        for key, value in (keys or {}).get(header, {}).items():
            lines = [l for l in lines if not l.startswith(key + " =")] + ["%s = %s" % (key, value)]
        lines[0] = "[%s]" % (rename or {}).get(header, header)
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def reload(m, text):
    """Writes the config and sends SIGHUP; returns once mppstate logged it."""
    before = m.log().count("configuration reloaded")
    with open(m.config, "w") as f:
        f.write(text)
    m.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while m.log().count("configuration reloaded") <= before:
        assert m.proc.poll() is None, "mppstate exited:\n" + m.log()[-2000:]
        assert time.monotonic() < deadline, "reload not logged:\n" + m.log()[-2000:]
        time.sleep(0.02)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def track_files(track):
    """{vs/node: content} of every track file (no temporaries)."""
    out = {}
    for vs in sorted(os.listdir(track)):
        if os.path.isdir(os.path.join(track, vs)):
            for node in sorted(os.listdir(os.path.join(track, vs))):
                if not node.startswith("."):
                    out[vs + "/" + node] = read(os.path.join(track, vs, node))
    return out


def wait_files(m, want, timeout=30):
    """Until every track file in want holds its content."""
    track = os.path.join(m.state_dir, "track")
    deadline = time.monotonic() + timeout
    while True:
        have = {k: read(os.path.join(track, k)) for k in want}
        if have == want:
            return
        assert time.monotonic() < deadline, "track files %r, want %r" % (have, want)
        time.sleep(0.02)


def healthy(m):
    """db1 ACTIVE, db2 and db3 STANDBY, and the track files saying so."""
    m.wait(lambda s: actives(s) == ["db1"] and s["nodes"]["db2"]["state"] == "STANDBY"
           and s["nodes"]["db3"]["state"] == "STANDBY", what="db1 ACTIVE, db2 and db3 STANDBY")
    wait_files(m, {"writer/db1": "1\n", "writer/db2": DOWN, "writer/db3": DOWN,
                   "reader/db2": "1\n", "reader/db3": "1\n"})


def test_a_reload_takes_down_then_removes_the_files_of_a_renamed_vs_and_a_removed_standby(
        cluster, mppstate, spawn, log):
    c = cluster()
    m = mppstate(c, FAST)
    healthy(m)
    track = os.path.join(m.state_dir, "track")
    w = Watch(spawn, track)
    with open(m.config) as f:
        text = f.read()
    # The rw vs renamed, db3 (a STANDBY) out of the pool and the config.
    reload(m, edit_config(text, drop=("node db3",), rename={"vs writer": "vs rw"},
                          keys={"pool main": {"nodes": "db1, db2"}}))
    m.wait(lambda s: ("rw", "db1") in s["dests"] and "db3" not in s["nodes"], what="the new config")
    wait_files(m, {"rw/db1": "1\n", "rw/db2": DOWN, "reader/db2": "1\n"})
    w.wait_for("DELETE,ISDIR", "writer")
    # rw/ is made after writer/ is gone, and inotifywait may report it later.
    events = w.wait_for("CREATE,ISDIR", "rw")
    log("events: %r" % events)
    files = track_files(track)
    assert files == {"rw/db1": "1\n", "rw/db2": DOWN, "reader/db1": DOWN, "reader/db2": "1\n"}, \
        "only the files the new config owns are left"
    assert not os.path.exists(os.path.join(track, "writer")), "the old vs's directory is gone"
    # Files that were up were written (down) before they were removed.
    for up in ("writer/db1", "reader/db3"):
        written, removed = first(events, "MOVED_TO", up), first(events, "DELETE", up)
        assert written is not None and removed is not None and written < removed, \
            "%s written, then removed: %r" % (up, events)
    for down in ("writer/db2", "writer/db3"):
        assert first(events, "DELETE", down) is not None, "%s removed: %r" % (down, events)
    # The old writer's file was gone before the new vs had a directory to
    # write its up into: never two writer files up.
    gone, created = first(events, "DELETE", "writer/db1"), first(events, "CREATE,ISDIR", "rw")
    assert gone is not None and created is not None and gone < created, \
        "writer/db1 gone before rw/ exists: %r" % events
    assert "track files:" not in m.log(), "no sweep error logged"


def test_a_reload_that_removes_a_whole_vs_takes_its_files_down_then_removes_them(
        cluster, mppstate, spawn, log):
    c = cluster()
    m = mppstate(c, FAST)
    healthy(m)
    track = os.path.join(m.state_dir, "track")
    w = Watch(spawn, track)
    with open(m.config) as f:
        text = f.read()
    reload(m, edit_config(text, drop=("vs reader",)))
    events = w.wait_for("DELETE,ISDIR", "reader")
    log("events: %r" % events)
    assert track_files(track) == {"writer/db1": "1\n", "writer/db2": DOWN, "writer/db3": DOWN}, \
        "only the writer's files are left"
    for up in ("reader/db2", "reader/db3"):
        written, removed = first(events, "MOVED_TO", up), first(events, "DELETE", up)
        assert written is not None and removed is not None and written < removed, \
            "%s written, then removed: %r" % (up, events)
    assert first(events, "DELETE", "reader/db1") is not None, "reader/db1 removed: %r" % events
    assert not any(p.startswith("writer/") for _, p in events), "the writer's files untouched: %r" % events
    s = m.wait(lambda s: ("reader", "db2") not in s["dests"], what="the state file without reader")
    assert actives(s) == ["db1"], "ACTIVE"


def test_a_switchover_to_an_earlier_node_writes_the_old_writer_down_first(cluster, mppstate, spawn,
                                                                          log):
    # db2 first in priority order; db1, the replication source, is elected.
    c = cluster()
    admin = add_admin_user(c)
    m = mppstate(c, {"global": {"interval": "200ms", "admin_credentials": admin},
                     "pool main": {"nodes": "db2, db1, db3", "manage_read_only": "yes"}})
    healthy(m)
    w = Watch(spawn, os.path.join(m.state_dir, "track", "writer"), events=("moved_to",))
    m.mppctl("switchover", "main", "db2")
    m.wait_active("db2")
    wait_files(m, {"writer/db1": DOWN, "writer/db2": "1\n"})
    events = w.wait_for("MOVED_TO", "db2")
    log("events: %r" % events)
    down, up = first(events, "MOVED_TO", "db1"), first(events, "MOVED_TO", "db2")
    assert down is not None and down < up, "db1 down before db2 up: %r" % events


@pytest.mark.timeout(180)
def test_a_failback_writes_the_old_writer_down_first(cluster, mppstate, spawn, log):
    c = cluster()
    admin = add_admin_user(c)
    m = mppstate(c, {"global": {"interval": "200ms", "connect_timeout": "1s", "admin_credentials": admin},
                     "pool main": {"failback": "yes", "manage_read_only": "yes"}})
    healthy(m)
    c.kill9(1)
    m.wait_active("db2", timeout=15)
    wait_files(m, {"writer/db1": DOWN, "writer/db2": "1\n"})
    # db1 comes back and is rebuilt as db2's replica; db3 follows db2 too.
    c.restart(1)
    c.sql_repeatable(1, "SET GLOBAL read_only = ON;\nSET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos")
    c.replicate_from(1, 2)
    c.replicate_from(3, 2)
    c.write(2, "after failover")
    c.wait_replicated(primary=2)
    w = Watch(spawn, os.path.join(m.state_dir, "track", "writer"), events=("moved_to",))
    m.mppctl("recover", "db1")
    m.wait_active("db1", timeout=30)
    wait_files(m, {"writer/db1": "1\n", "writer/db2": DOWN})
    events = w.wait_for("MOVED_TO", "db1")
    log("events: %r" % events)
    down, up = first(events, "MOVED_TO", "db2"), first(events, "MOVED_TO", "db1")
    assert down is not None and down < up, "db2 down before db1 up: %r" % events
    assert "failback" in m.log(), "it was a failback:\n" + m.log()[-1500:]


def test_quiesce_after_a_reload_that_dropped_a_vs_leaves_no_file_up(cluster, mppstate, build):
    c = cluster()
    m = mppstate(c, FAST)
    healthy(m)
    track = os.path.join(m.state_dir, "track")
    with open(m.config) as f:
        text = f.read()
    reload(m, edit_config(text, drop=("vs reader",)))
    m.wait(lambda s: ("reader", "db2") not in s["dests"], what="the state file without reader")
    c.wait_for(lambda: not os.path.exists(os.path.join(track, "reader")), timeout=10,
               what="reader/ removed")
    # Then the config on disk changes again without a reload (writer
    # renamed), and mppstate stops: --quiesce reads that config.
    with open(m.config, "w") as f:
        f.write(edit_config(text, drop=("vs reader",), rename={"vs writer": "vs rw"}))
    assert m.stop() == 0, "mppstate exit code"
    r = subprocess.run([build.path("bin/mppstate"), "-c", m.config, "--quiesce"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0, "--quiesce: %d %s" % (r.returncode, r.stderr)
    files = track_files(track)
    assert files == {"writer/db1": "0\n", "writer/db2": "0\n", "writer/db3": "0\n"}, \
        "every file left quiesced, those the config no longer names too"
    # The next start takes them down and removes them, and writes its own.
    m.start()
    wait_files(m, {"rw/db1": "1\n"})
    c.wait_for(lambda: not os.path.exists(os.path.join(track, "writer")), timeout=10,
               what="writer/ removed")
    assert track_files(track) == {"rw/db1": "1\n", "rw/db2": DOWN, "rw/db3": DOWN}, "after the start"
