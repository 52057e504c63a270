"""The monitor's own faults are not the nodes': a running mppstate whose
descriptor limit is lowered until its polls cannot open the login file or a
socket (EMFILE) logs the problem as its own, and no STATE changes: no
failover, no standby failed."""

import os
import resource
import time

import pytest

FAST = {"global": {"interval": "200ms", "connect_timeout": "1s"}}
HEALTHY = {"db1": "ACTIVE", "db2": "STANDBY", "db3": "STANDBY"}


def states(s):
    return {n: v["state"] for n, v in s["nodes"].items()}


def lowest_free_fd(pid):
    used = {int(fd) for fd in os.listdir("/proc/%d/fd" % pid)}
    return next(fd for fd in range(len(used) + 1) if fd not in used)


@pytest.mark.timeout(90)
def test_polls_short_of_descriptors_change_no_state(cluster, mppstate, log, note):
    c = cluster()
    m = mppstate(c, FAST)
    m.wait(lambda s: states(s) == HEALTHY and all(v["status"] == "OK" for v in s["nodes"].values()),
           what="an elected, quiet pool")
    pid = m.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    # One descriptor to spare: enough for the state file, the login file or
    # one poll's socket at a time, not for three polls at once. (The soft
    # limit only: raising it back needs no privilege.)
    limit = lowest_free_fd(pid) + 1
    log("descriptors: lowest free %d, soft limit %d -> %d" % (limit - 1, soft, limit))
    log_before = len(m.log())
    seq0 = m.state()["seq"]
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, hard))
    try:
        seen_reason = None
        status_reason = None
        deadline = time.monotonic() + 30
        last = m.state()
        # At least 30 rounds (6s), and until both the state file and
        # `mppctl status` have shown the monitor's problem.
        while time.monotonic() < deadline:
            s = m.state()
            if s is not None:
                last = s
                assert states(s) == HEALTHY, "STATE changed during the fault: %r" % s["nodes"]
                for v in s["nodes"].values():
                    if "monitor problem" in v["reason"]:
                        seen_reason = v["reason"]
            if status_reason is None:
                r = m.mppctl("status", check=False)
                if r.returncode == 0 and "not polled, a monitor problem" in r.stdout:
                    status_reason = r.stdout
            if last["seq"] >= seq0 + 30 and seen_reason and status_reason:
                break
            time.sleep(0.02)
        rounds = last["seq"] - seq0
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    note("%d rounds short of descriptors" % rounds)
    assert rounds >= 30, "the state file kept being written during the fault"
    assert seen_reason is not None and ("Too many open files" in seen_reason or
                                        "(24)" in seen_reason), \
        "a node's reason in the state file names the monitor's problem: %r" % seen_reason
    assert status_reason is not None, "mppctl status showed the monitor's problem"

    # Descriptors again: every node is polled, and judged healthy, as before.
    seq1 = m.state()["seq"]
    s = m.wait(lambda s: s["seq"] >= seq1 + 5 and
               all("monitor" not in v["reason"] for v in s["nodes"].values()), timeout=10,
               what="polls without monitor errors")
    assert states(s) == HEALTHY, "STATE after the fault"
    assert all(v["status"] == "OK" for v in s["nodes"].values()), "STATUS: %r" % s["nodes"]

    text = m.log()[log_before:]
    assert "monitor: cannot poll db" in text, "the monitor's problem is logged:\n" + text[-2000:]
    assert "failover" not in text and "no standby is eligible" not in text, \
        "no failover considered:\n" + text[-2000:]
    transitions = [line for line in text.splitlines() if " -> " in line and "main/" in line and
                   ("FAIL" in line.split(" -> ")[1] or "WARN" in line.split(" -> ")[1])]
    assert transitions == [], "no node went to WARN or FAIL"
