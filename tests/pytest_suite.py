"""What the pytest suites (tests/integration, tests/cluster) share: the
runner behind each suite's `run` script, and the fixtures and reporting
hooks their conftest.py files import.

    run_suite(HERE, argv)    runs the suite in directory HERE: `run BUILD
                             [PATTERN...] [-- PYTEST_ARGS...]`, ends with
                             "N passed, N failed"
    build                    the build directory (--build, $MPP_BUILD or
                             build/): build.path("bin/mppstate") (session)
    workdir, log             the suite's own _state fixture's directory and
                             log(line) (printed only if the test fails)
    note                     note(text): a figure for the "figures" summary
"""

import os
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)


# ----- the runner -----

class Tally:
    """Counts tests: passed if every phase passed, failed if any phase
    (setup, call, teardown) failed; a file that fails to load counts as a
    failure too."""

    def __init__(self):
        self.outcome = {}
        self.broken_files = 0

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.outcome[report.nodeid] = "failed"
        elif report.when == "call" and report.passed:
            self.outcome.setdefault(report.nodeid, "passed")

    def pytest_collectreport(self, report):
        if report.failed:
            self.broken_files += 1

    def counts(self):
        values = list(self.outcome.values())
        return values.count("passed"), values.count("failed") + self.broken_files


def run_suite(here, argv):
    """Runs every test_* of here/test_*.py, or those matching a PATTERN
    (pytest -k expressions); returns the exit code: non-zero if anything
    failed or no test ran."""
    if not argv or argv[0].startswith("-"):
        print("usage: run BUILD [PATTERN...] [-- PYTEST_ARGS...]", file=sys.stderr)
        return 2
    build = os.path.abspath(argv[0])
    rest = argv[1:]
    extra = []
    if "--" in rest:
        i = rest.index("--")
        rest, extra = rest[:i], rest[i + 1:]
    args = [here, "--build", build, "--rootdir", here, "-c", os.path.join(here, "pytest.ini"),
            "-p", "no:cacheprovider", "-v", "-rfE"]
    if rest:
        args += ["-k", " or ".join("(%s)" % p for p in rest)]
    args += extra
    tally = Tally()
    code = pytest.main(args, plugins=[tally])
    passed, failed = tally.counts()
    sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    if code != 0:
        return int(code)
    return 1 if failed or not passed else 0


# ----- fixtures -----

def pytest_addoption(parser):
    parser.addoption("--build", metavar="DIR",
                     default=os.environ.get("MPP_BUILD", os.path.join(ROOT, "build")),
                     help="the build directory holding bin/ and tests/ "
                          "(default: $MPP_BUILD, else build/ of the source tree)")


class Build:
    """The build directory given by --build (or $MPP_BUILD)."""

    def __init__(self, path):
        self.dir = os.path.abspath(path)

    def __repr__(self):
        return "Build(%r)" % self.dir

    def path(self, rel):
        """A file of the build directory, e.g. build.path("bin/mppctl");
        fails the test if it is not built."""
        p = os.path.join(self.dir, rel)
        if not os.path.exists(p):
            pytest.fail("%s is not built (make -C <tree> all test-tools)" % p, pytrace=False)
        return p


@pytest.fixture(scope="session")
def build(pytestconfig):
    b = Build(pytestconfig.getoption("build"))
    if not os.path.isdir(b.dir):
        pytest.fail("build directory %s does not exist (--build DIR)" % b.dir, pytrace=False)
    return b


@pytest.fixture
def workdir(_state):
    """A private temporary directory, removed after the test."""
    return _state.dir


@pytest.fixture
def log(_state):
    """log(line): kept, and printed in the report only if the test fails."""
    return _state.log


@pytest.fixture
def note(request):
    """note(text): a figure (e.g. a measured time) printed in the "figures"
    section of the summary."""
    def add(text):
        request.node.user_properties.append(("note", text))
    return add


# ----- reporting -----

def pytest_configure(config):
    if not config.pluginmanager.hasplugin("timeout"):
        raise pytest.UsageError("pytest-timeout is missing (Debian package "
                                "python3-pytest-timeout; run with /usr/bin/python3)")


def pytest_report_teststatus(report, config):
    # "PASSED (2.4s)" in verbose mode.
    if report.when == "call" and report.passed:
        return "passed", ".", ("PASSED (%.1fs)" % report.duration, {"green": True})
    return None


def pytest_terminal_summary(terminalreporter):
    lines = []
    for outcome in ("passed", "failed"):
        for rep in terminalreporter.stats.get(outcome, []):
            if getattr(rep, "when", None) != "call":
                continue
            notes = [v for k, v in rep.user_properties if k == "note"]
            if notes:
                lines.append("%s: %s" % (rep.nodeid, "; ".join(notes)))
    if lines:
        terminalreporter.write_sep("=", "figures")
        for line in lines:
            terminalreporter.write_line(line)
