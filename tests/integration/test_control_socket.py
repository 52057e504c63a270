"""The control socket never stops the poll loop: clients that trickle their
request, never read a big reply or take every slot cost the daemon nothing,
the state file is rewritten every interval and `mppctl status` still
answers."""

import os
import socket
import subprocess
import threading
import time

import pytest

SPARE_NODES = 500
SPARE_VS = 6


def spare_pool_text():
    """A pool of SPARE_NODES nodes on loopback addresses where nothing
    listens (refused at once) behind SPARE_VS virtual servers, as config
    text: with it `status --json` runs to several hundred KB."""
    # One port free on every address; the nodes differ by address
    # (127.1.x.y), away from the 127.0.0.1 ports test servers take.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
    names = ["spare-node-%03d" % i for i in range(SPARE_NODES)]
    out = ["[pool spare]"]
    # "nodes" may repeat: one line each for ten names, within inih's line.
    out += ["nodes = " + ", ".join(names[i:i + 10]) for i in range(0, len(names), 10)]
    for i, name in enumerate(names):
        out += ["[node %s]" % name, "address = 127.1.%d.%d:%d" % (i // 200, i % 200 + 1, port)]
    for k in range(SPARE_VS):
        out += ["[vs spare%d]" % k, "address = 192.0.2.20:%d" % (4000 + k), "pool = spare",
                "role = ro"]
    return "\n".join(out) + "\n"


def big_mppstate(c, mppstate, extra=None):
    """mppstate on cluster c with the spare pool added to its config."""
    m = mppstate(c, extra, start=False)
    with open(m.config, "w") as f:
        f.write(c.config_text(extra, state_dir=m.state_dir, data_dir=m.data_dir)
                + spare_pool_text())
    return m.start()


def header(path):
    """The state file's header fields (pid, seq, time_ms, ...) as ints;
    None while there is no file."""
    try:
        with open(path) as f:
            first = f.readline()
            assert first.startswith("mpp-state "), "state file starts with its version: %r" % first
            out = {}
            for line in f:
                key, _, value = line.rstrip("\n").partition(" ")
                if key in ("pool", "node", "dest", "end"):
                    break
                out[key] = int(value)
            return out
    except FileNotFoundError:
        return None


def sample_rounds(m, seconds):
    """Reads the state file's header for `seconds`; returns the headers seen,
    in order, without repeats."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        h = header(m.state_path)
        if h is not None and (not seen or h["seq"] != seen[-1]["seq"]):
            seen.append(h)
        time.sleep(0.1)
    return seen


def status_answers(m, log, timeout=10):
    """Runs `mppctl status`; returns (exit code, stdout, stderr, seconds).
    Fails if no answer comes within timeout (the loop is stuck)."""
    t0 = time.monotonic()
    try:
        r = subprocess.run([m.mppctl_bin, "-c", m.config, "status"], capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("mppctl status got no answer within %ss: the loop is stuck" % timeout)
    elapsed = time.monotonic() - t0
    log("mppctl status -> %d in %.3fs: %s" % (r.returncode, elapsed, r.stderr.strip()))
    return r.returncode, r.stdout, r.stderr, elapsed


def connect(m):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(m.state_dir, "mppstate.sock"))
    return s


def assert_rounds_went_on(seen, seconds, what):
    seqs = [h["seq"] for h in seen]
    times = [h["time_ms"] for h in seen]
    assert seqs == sorted(seqs) and times == sorted(times), \
        "seq and time_ms only advance: %r" % seen
    # One round a second is expected; a stuck loop writes none.
    assert len(seen) - 1 >= seconds // 2, \
        "state file rewritten %d times in %ss while %s (seq %r)" % (len(seen) - 1, seconds, what,
                                                                   seqs)
    return len(seen) - 1


def trickle(m, stop, replies):
    """A client that sends one byte every 0.9s and never ends its line; when
    the daemon closes it, it keeps what it was told and comes back."""
    while not stop.is_set():
        s = connect(m)
        try:
            while not stop.wait(0.9):
                s.send(b"s")
        except OSError:
            pass
        try:
            s.settimeout(1)
            replies.append(s.recv(4096))
        except OSError:
            pass
        s.close()


@pytest.mark.timeout(180)
def test_a_trickling_client_does_not_stop_the_rounds(cluster, mppstate, log, note):
    c = cluster()
    m = mppstate(c, {"global": {"interval": "1s"}})
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY", what="db2 STANDBY")
    stop = threading.Event()
    replies = []
    t = threading.Thread(target=trickle, args=(m, stop, replies), daemon=True)
    t.start()
    try:
        time.sleep(1.5)  # a few bytes in
        code, out, _, elapsed = status_answers(m, log)
        note("mppctl status beside a trickling client: %.3fs" % elapsed)
        assert code == 0 and "db1" in out, "mppctl status answers"
        seen = sample_rounds(m, 10)
        rounds = assert_rounds_went_on(seen, 10, "a client trickled its request")
        note("%d rounds in 10s" % rounds)
    finally:
        stop.set()
        t.join(timeout=10)
    assert m.state()["pid"] == m.proc.pid, "the daemon wrote the state file"
    assert any(r.startswith(b"error\nrequest not complete within 2s") for r in replies), \
        "the trickling client was told and closed: %r" % replies
    assert m.proc.poll() is None, "mppstate still runs"


@pytest.mark.timeout(180)
def test_a_client_that_never_reads_a_big_status_does_not_stop_the_rounds(cluster, mppstate, log,
                                                                          note):
    c = cluster()
    m = big_mppstate(c, mppstate, {"global": {"interval": "1s"}})
    m.wait(lambda s: s["nodes"]["db2"]["state"] == "STANDBY"
           and s["nodes"]["spare-node-499"]["status"] == "FAIL", timeout=60,
           what="db2 STANDBY and the spare nodes polled")
    full = m.mppctl("status", "--json").stdout
    note("status --json: %d KB" % (len(full) // 1024))
    assert len(full) > 300 * 1024, "status --json is big (%d bytes)" % len(full)

    # Clients that ask and never read: the reply does not fit in a socket
    # buffer.
    silent = []
    for _ in range(3):
        s = connect(m)
        s.sendall(b"status-json\n")
        silent.append(s)
    try:
        code, out, _, elapsed = status_answers(m, log)
        note("mppctl status beside 3 non-reading clients: %.3fs" % elapsed)
        assert code == 0 and "spare-node-499" in out, "mppctl status answers"
        seen = sample_rounds(m, 8)
        rounds = assert_rounds_went_on(seen, 8, "3 clients left a big reply unread")
        note("%d rounds in 8s" % rounds)
        # By now (more than 5 s) their replies were dropped: each gets what
        # the socket held, then the end of the connection.
        for s in silent:
            got = bytearray()
            s.settimeout(10)
            while True:
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                got += chunk
            assert got.startswith(b"ok\n{"), "the reply began"
            assert len(got) < len(full), "an unread reply is cut off (%d of %d bytes)" % (
                len(got), len(full))
    finally:
        for s in silent:
            s.close()
    assert "reply not read within 5s" in m.log(), "the drop is logged"
    code, out, _, _ = status_answers(m, log)
    assert code == 0, "mppctl status still answers"


def test_clients_beyond_the_cap_are_refused_at_once_and_the_slots_come_back(cluster, mppstate,
                                                                            log):
    c = cluster(1)
    m = mppstate(c, {"global": {"interval": "1s"}})
    m.wait_active("db1")
    idle = [connect(m) for _ in range(16)]  # every slot, nothing sent
    try:
        time.sleep(0.3)
        code, _, err, _ = status_answers(m, log)
        assert code == 1, "mppctl is refused while every slot is taken"
        assert "busy: 16 clients already connected" in err, err
        seq = m.state()["seq"]
        m.wait(lambda s: s["seq"] >= seq + 2, timeout=10, what="rounds go on")
        # The idle ones are closed at their request deadline (2s).
        for s in idle:
            s.settimeout(10)
            assert s.recv(4096) == b"error\nrequest not complete within 2s\n", "idle client told"
        code, out, _, _ = status_answers(m, log)
        assert code == 0 and "db1" in out, "a slot is free again"
    finally:
        for s in idle:
            s.close()
