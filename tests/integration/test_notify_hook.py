"""The notify hook during a real failover: a hook that starts a process of
its own and then hangs is killed after notify_timeout together with what it
started (it runs in its own process group), and the daemon goes on writing
the state file meanwhile."""

import os
import time

import pytest

from daemonlib import actives

# Starts a grandchild, says who it is and for which transition, and hangs.
HOOK = """#!/bin/sh
sleep 300 &
echo "$$ $! $1 $2 $3 $4" > "DIR/hook.$$.tmp"
mv "DIR/hook.$$.tmp" "DIR/hook.$$"
sleep 300
"""


def alive(pid):
    """Running, and not a zombie waiting for its parent (or init) to reap it."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def hooks(dir):
    """{(child pid, grandchild pid): "POOL NODE OLD NEW"} of every hook that ran."""
    out = {}
    for name in os.listdir(dir):
        if name.startswith("hook.") and not name.endswith(".tmp"):
            with open(os.path.join(dir, name)) as f:
                words = f.read().split()
            out[(int(words[0]), int(words[1]))] = " ".join(words[2:])
    return out


@pytest.mark.timeout(90)
def test_a_hanging_hook_is_killed_with_its_grandchild_after_a_failover(cluster, mppstate, workdir,
                                                                       log, note):
    c = cluster()
    hook_dir = os.path.join(workdir, "hooks")
    os.mkdir(hook_dir)
    hook = os.path.join(workdir, "notify-hook")
    with open(hook, "w") as f:
        f.write(HOOK.replace("DIR", hook_dir))
    os.chmod(hook, 0o755)
    m = mppstate(c, {"global": {"interval": "200ms", "connect_timeout": "1s",
                                "notify": hook, "notify_timeout": "1s"}})
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY" and
           s["nodes"]["db3"]["state"] == "STANDBY", what="an elected pool")

    c.kill9(1)
    m.wait_active("db2", timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ran = hooks(hook_dir)
        events = set(ran.values())
        if {"main db2 STANDBY ACTIVE", "main db1 ACTIVE FAIL"} <= events:
            break
        time.sleep(0.05)
    log("hooks: %r" % ran)
    assert {"main db2 STANDBY ACTIVE", "main db1 ACTIVE FAIL"} <= events, \
        "the failover's hooks ran: %r" % sorted(events)

    # Every hook hangs for 300s; notify_timeout is 1s. Within a bounded
    # wait, none of them and none of their grandchildren is left.
    seq0 = m.state()["seq"]
    t0 = time.monotonic()
    pids = [p for pair in ran for p in pair]
    deadline = t0 + 10
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    note("hooks gone %.1fs after the failover's hooks started" % (time.monotonic() - t0))
    survivors = [p for p in pids if alive(p)]
    assert survivors == [], "hook processes still running: %r of %r" % (survivors, ran)

    # The loop never waited on a hook: the state file kept coming.
    s = m.wait(lambda s: s["seq"] >= seq0 + 5, timeout=10, what="more rounds")
    assert actives(s) == ["db2"], "ACTIVE"
    assert "timed out: killed with its process group" in m.log(), "the kill is logged"
