"""Fixtures of the cluster suite: etcd, and director pairs on it.

Every test gets what it asks for by naming it as an argument; everything a
fixture starts is stopped after the test, whether it passed or not:

    def test_something(etcd, probe):
        c = etcd()                              # 3 members, http
        r = probe(c, "grant", "5")              # etcd_probe's answer, parsed
        assert r.json["ttl"] == 5, r

    build     the build directory: build.path("tests/etcd_probe") (session)
    pair      pair(manage_replication=False) builds a director pair
              (pairlib.Pair: servers, etcd, directors "a" and "b")
    workdir   a fresh private directory for this test (a str)
    etcd      etcd(members=3, tls=False, auth=None, extra_args=()) starts an
              etcdlib.EtcdCluster
    probe     probe(target, *command, ...) runs etcd_probe once
    probe_cmd probe_cmd(target, *command, ...): its argv, for spawn()
    spawn     spawn(args, **popen_kw) starts a background program
    note      note(text): a figure printed in the "figures" summary
    log       log(line): kept, printed only if the test fails

When a test fails, its report gets a section "etcd log": the lines given to
log() (each etcd_probe call among them) and the end of each member's log.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from etcdlib import EtcdCluster, die_with_parent  # noqa: E402
from pairlib import Pair  # noqa: E402
# The fixtures and hooks every suite shares, registered here by name.
from pytest_suite import (build, log, note, pytest_addoption, pytest_configure,  # noqa: E402,F401
                          pytest_report_teststatus, pytest_terminal_summary, workdir)


_STATE = pytest.StashKey()  # item -> _TestState



class _TestState:
    """Everything one test started, released by close(): programs first,
    then the clusters, then the directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mpp-etcd-")
        self.clusters = []
        self.pairs = []
        self.procs = []
        self.lines = []

    def log(self, line):
        self.lines.append(line)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        for p in self.pairs:
            p.close()
        for c in self.clusters:
            c.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def report(self):
        out = self.lines[-40:]
        for p in self.pairs:
            for d, m in p.directors.items():
                out.append("---- director %s %s (last lines)" % (d, m.log_path))
                out += m.log().splitlines()[-40:]
        for c in self.clusters:
            for m in c.members:
                out.append("---- %s %s (last lines)" % (m.name, m.log_path))
                out += m.log(15).splitlines()
        return "\n".join(out)


@pytest.fixture
def _state(request):
    state = _TestState()
    request.node.stash[_STATE] = state
    yield state
    state.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    state = item.stash.get(_STATE, None)
    if rep.failed and state is not None and rep.when in ("setup", "call"):
        text = state.report()
        if text:
            rep.sections.append(("etcd log", text))


@pytest.fixture
def etcd(_state):
    """etcd(members=3, tls=False, auth=None, extra_args=()): starts an
    etcdlib.EtcdCluster in its own directory; killed after the test."""
    def start(members=3, tls=False, auth=None, extra_args=()):
        d = os.path.join(_state.dir, "etcd%d" % len(_state.clusters))
        c = EtcdCluster(d, members=members, tls=tls, auth=auth, extra_args=extra_args)
        _state.clusters.append(c)
        _state.log("%d members up in %.1fs: %s" % (members, c.startup_seconds, ", ".join(c.client_urls)))
        return c
    return start


@pytest.fixture
def pair(_state, build):
    """pair(manage_replication=False): a director pair (pairlib.Pair): three
    MariaDB servers, a 3-member etcd and two directors "a" and "b" in
    network namespaces, not started yet; all stopped after the test. Needs
    root."""
    def make(**kw):
        if os.geteuid() != 0:
            pytest.fail("the director pair needs root (network namespaces)", pytrace=False)
        p = Pair(os.path.join(_state.dir, "pair%d" % len(_state.pairs)), build, log=_state.log, **kw)
        _state.pairs.append(p)
        _state.clusters.append(p.etcd)
        return p
    return make


@pytest.fixture
def spawn(_state):
    """spawn(args, **popen_kw): starts a background program in its own
    process group; it is killed after the test, or when the test process
    dies."""
    def start(args, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(args, start_new_session=True, preexec_fn=die_with_parent, **kw)
        _state.procs.append(p)
        return p
    return start


class ProbeResult:
    """What one etcd_probe run gave: code, the JSON lines of stdout (json is
    the last), stderr, and the wall time in ms."""

    def __init__(self, code, lines, stderr, elapsed_ms):
        self.code = code
        self.lines = lines
        self.json = lines[-1] if lines else None
        self.stderr = stderr
        self.elapsed_ms = elapsed_ms

    def __repr__(self):
        return "ProbeResult(code=%d, lines=%r, stderr=%r)" % (self.code, self.lines, self.stderr)


def probe_args(build, workdir, target, user=None, password=None, tls=None, timeout_ms=None, options=()):
    """etcd_probe's options for target: an EtcdCluster (its client URLs and,
    if it has TLS, its CA and client certificate) or a list of URLs."""
    urls = target.client_urls if hasattr(target, "client_urls") else list(target)
    args = [build.path("tests/etcd_probe"), "--endpoints", ",".join(urls)]
    if tls is None:
        tls = getattr(target, "tls", False)
    if tls:
        args += ["--cacert", target.ca, "--cert", target.client_cert, "--key", target.client_key]
    if user is not None:
        args += ["--user", user]
    if password is not None:
        path = os.path.join(workdir, "password")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        args += ["--password-file", path]
    if timeout_ms is not None:
        args += ["--timeout-ms", str(timeout_ms)]
    return args + list(options)


@pytest.fixture
def probe(build, workdir, log):
    """probe(target, *command, user=None, password=None, tls=None,
    timeout_ms=None, options=(), expect_ok=True, timeout=60): runs etcd_probe
    once against target (an EtcdCluster or a list of URLs) and returns a
    ProbeResult; with expect_ok, fails the test unless it exits 0."""
    def run(target, *command, expect_ok=True, timeout=60, **kw):
        args = probe_args(build, workdir, target, **kw) + [str(c) for c in command]
        t0 = time.monotonic()
        r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        elapsed_ms = (time.monotonic() - t0) * 1000
        log("$ %s\n-> %d in %.0f ms\n%s%s" % (" ".join(args), r.returncode, elapsed_ms, r.stdout, r.stderr))
        lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
        res = ProbeResult(r.returncode, lines, r.stderr, elapsed_ms)
        if expect_ok and r.returncode != 0:
            pytest.fail("etcd_probe %s failed: %r" % (" ".join(str(c) for c in command), res), pytrace=False)
        return res
    return run


@pytest.fixture
def probe_cmd(build, workdir):
    """probe_cmd(target, *command, **kw): etcd_probe's argv, for spawn()."""
    def make(target, *command, **kw):
        return probe_args(build, workdir, target, **kw) + [str(c) for c in command]
    return make
