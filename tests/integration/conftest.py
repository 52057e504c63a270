"""Fixtures of the integration suite (see README.md in this directory).

Every test gets what it asks for by naming it as an argument; everything a
fixture starts is stopped after the test, whether it passed or not:

    def test_something(cluster, probe):
        c = cluster()                      # 3 servers, replicating
        r = probe(c)                       # poll_probe's JSON, parsed
        assert r["db1"]["outcome"] == "ok", "db1 polled"

    build         the build directory: build.path("bin/mppstate") (session)
    workdir       a fresh private directory for this test (a str)
    cluster       cluster(n=3, **kw) starts a MariaDBCluster
    spawn         spawn(args, **popen_kw) starts a background program
    write_config  write_config(c, extra=None) writes an mppstate.ini
    probe         probe(c, ...) runs poll_probe once, returns its results
    mppstate      mppstate(c, extra=None) starts the daemon (daemonlib.Mppstate)
    note          note(text): a figure printed in the "figures" summary
    log           log(line): kept, printed only if the test fails

When a test fails, its report gets a section "mpp log": the lines given to
log() (poll_probe output, mppctl calls, ...), the end of each mppstate log
and the end of each server's error log.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import daemonlib  # noqa: E402
# The fixtures and hooks every suite shares, registered here by name.
from pytest_suite import (build, log, note, pytest_addoption, pytest_configure,  # noqa: E402,F401
                          pytest_report_teststatus, pytest_terminal_summary, workdir)
from mariadb_cluster import MariaDBCluster, die_with_parent  # noqa: E402


_STATE = pytest.StashKey()  # item -> _TestState



# ----- what one test started -----

class _TestState:
    """Everything one test started, released by close() in the right order:
    programs first (mppstate among them), then the servers, then the
    directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mpp-it-")
        self.clusters = []
        self.procs = []
        self.daemons = []
        self.lines = []

    def log(self, line):
        self.lines.append(line)

    def close(self):
        errors = []
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        for d in self.daemons:
            d.close()
        for c in self.clusters:
            try:
                c.stop()
            except Exception as e:  # keep cleaning up
                errors.append("stopping servers: %r" % e)
        shutil.rmtree(self.dir, ignore_errors=True)
        return errors

    def report(self):
        """The text added to a failing test's report."""
        out = self.lines[-40:]
        for d in self.daemons:
            out.append("---- %s (last lines)" % d.log_path)
            out += d.log().splitlines()[-40:]
        for c in self.clusters:
            if c.dir is None:
                continue
            for node in c.nodes:
                out.append("---- %s error log (last lines)" % node.name)
                out += c.error_log(node.index, lines=15).splitlines()
        return "\n".join(out)


@pytest.fixture
def _state(request):
    state = _TestState()
    request.node.stash[_STATE] = state
    yield state
    errors = state.close()
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    state = item.stash.get(_STATE, None)
    if rep.failed and state is not None and rep.when in ("setup", "call"):
        text = state.report()
        if text:
            rep.sections.append(("mpp log", text))


# ----- the fixtures -----

@pytest.fixture
def cluster(_state):
    """cluster(n=3, server_options=None): starts n real servers (see
    MariaDBCluster); they are stopped and removed after the test."""
    def start(n=3, **kw):
        c = MariaDBCluster(n, **kw)
        _state.clusters.append(c)
        c.start()
        _state.log("%d servers up in %.1fs: %s" % (n, c.startup_seconds,
                                                   ", ".join(x.address for x in c.nodes)))
        return c
    return start


@pytest.fixture
def spawn(_state):
    """spawn(args, **popen_kw): starts a background program in its own
    process group (stdin /dev/null unless told); it is killed after the test,
    or when the test process dies."""
    def start(args, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(args, start_new_session=True, preexec_fn=die_with_parent, **kw)
        _state.procs.append(p)
        return p
    return start


@pytest.fixture
def write_config(workdir):
    """write_config(c, extra=None, name="mppstate.ini", **kw): writes an
    mppstate.ini for cluster c into workdir (state_dir = workdir/state unless
    given, data_dir beside it: workdir/data); returns its path. extra: see
    MariaDBCluster.config_text."""
    def write(c, extra=None, name="mppstate.ini", **kw):
        kw.setdefault("state_dir", os.path.join(workdir, "state"))
        return c.write_config(os.path.join(workdir, name), extra, **kw)
    return write


@pytest.fixture
def probe(build, write_config, log):
    """probe(c=None, config=None, nodes=(), deadline_ms=None, direct=False,
    extra=None, timeout=60): runs poll_probe once on cluster c (or on a
    config file); returns {node name: result dict} plus "_elapsed_ms"."""
    def run(c=None, config=None, nodes=(), deadline_ms=None, direct=False, extra=None,
            timeout=60):
        if config is None:
            config = write_config(c, extra)
        return daemonlib.poll_probe(build.path("tests/poll_probe"), config, nodes=nodes,
                                    deadline_ms=deadline_ms, direct=direct, timeout=timeout,
                                    log=log)
    return run


@pytest.fixture
def mppstate(_state, build, spawn, log):
    """mppstate(c, extra=None, name="mppstate", start=True): a
    daemonlib.Mppstate watching cluster c, with its own config, state
    directory, data directory and log under workdir/name; started unless
    start=False. It is killed after the test; its log is printed if the test
    fails."""
    def make(c, extra=None, name="mppstate", start=True):
        m = daemonlib.Mppstate(c, os.path.join(_state.dir, name), os.path.join(build.dir, "bin"),
                               extra=extra, spawn=spawn, log=log)
        _state.daemons.append(m)
        return m.start() if start else m
    return make
