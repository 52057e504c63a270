"""What every integration test gets: a Context with the build directory, a
private temporary directory, servers that are cleaned up after the test, and
helpers to run the built programs.

    def test_something(t):
        c = t.cluster()                    # 3 servers, replicating
        result = t.probe(c)                # poll_probe's JSON, parsed
        t.check_eq(result["db1"]["outcome"], "ok", "db1 polled")
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile

from mariadb_cluster import MariaDBCluster, die_with_parent


class TestTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds):
    """Raises TestTimeout in the test if it runs longer than seconds."""
    def on_alarm(_signum, _frame):
        raise TestTimeout("test still running after %ds" % seconds)
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def limit(seconds):
    """Decorator: a test's own time limit (the default is 120 s)."""
    def wrap(func):
        func.time_limit = seconds
        return func
    return wrap


class Context:
    def __init__(self, build, name):
        self.build = build
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="mpp-it-")
        self._clusters = []
        self._procs = []
        self._notes = []
        self._log = []

    # ----- resources, all released by close() -----

    def cluster(self, n=3, **kw):
        """Starts n real servers (see MariaDBCluster) for this test."""
        c = MariaDBCluster(n, **kw)
        self._clusters.append(c)
        c.start()
        self.log("%d servers up in %.1fs: %s" % (n, c.startup_seconds,
                                                 ", ".join(x.address for x in c.nodes)))
        return c

    def spawn(self, args, **kw):
        """Starts a background program in its own process group; it is
        killed after the test (or when the test process dies)."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(args, start_new_session=True, preexec_fn=die_with_parent, **kw)
        self._procs.append(p)
        return p

    def close(self):
        """Releases everything; returns an error text or None."""
        errors = []
        for p in self._procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        for c in self._clusters:
            try:
                c.stop()
            except Exception as e:  # keep cleaning up
                errors.append("stopping servers: %r" % e)
        shutil.rmtree(self.dir, ignore_errors=True)
        return "\n".join(errors) or None

    # ----- programs under test -----

    def path(self, rel):
        """A file of the build directory, e.g. t.path("bin/mppstate")."""
        p = os.path.join(self.build, rel)
        if not os.path.exists(p):
            raise AssertionError("%s is not built" % p)
        return p

    def write_config(self, cluster, extra=None, name="mppstate.ini", **kw):
        return cluster.write_config(os.path.join(self.dir, name), extra,
                                    state_dir=kw.pop("state_dir", os.path.join(self.dir, "state")),
                                    **kw)

    def probe(self, cluster=None, config=None, nodes=(), deadline_ms=None, direct=False,
              extra=None, timeout=60):
        """Runs poll_probe once; returns {node name: result dict} plus the
        key "_elapsed_ms"."""
        if config is None:
            config = self.write_config(cluster, extra)
        args = [self.path("tests/poll_probe"), "-c", config]
        for n in nodes:
            args += ["--node", n]
        if deadline_ms is not None:
            args += ["--deadline-ms", str(deadline_ms)]
        if direct:
            args.append("--direct")
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise AssertionError("poll_probe exited %d: %s" % (r.returncode, r.stderr.strip()))
        doc = json.loads(r.stdout)
        out = {n["name"]: n for n in doc["nodes"]}
        out["_elapsed_ms"] = doc["elapsed_ms"]
        self.log("poll_probe: " + r.stdout.strip())
        return out

    # ----- checks and reporting -----

    def check(self, cond, what):
        if not cond:
            raise AssertionError(what)

    def check_eq(self, got, want, what):
        if got != want:
            raise AssertionError("%s: got %r, want %r" % (what, got, want))

    def note(self, text):
        """A figure printed on the PASS line (e.g. a measured time)."""
        self._notes.append(text)

    def note_text(self):
        return (" " + "; ".join(self._notes)) if self._notes else ""

    def log(self, line):
        """Kept, and printed only if the test fails."""
        self._log.append(line)

    def log_lines(self):
        return self._log[-40:]
