"""Fixtures of the fault campaign: the integration suite's (real MariaDB
servers, mppstate, cleanup after each test, the "mpp log" of a failing test;
tests/integration/conftest.py), and the campaign's own options:

    --seed N       the campaign's random seed (default: a new one, printed)
    --minutes M    how long the faults go on (default 2; make bench: 10)

    seed, minutes  their values, as fixtures
"""

import importlib.util
import os
import random
import sys

import pytest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
sys.path.insert(0, INTEGRATION)  # mariadb_cluster, daemonlib, replication_lib


def _integration_fixtures():
    spec = importlib.util.spec_from_file_location("integration_fixtures",
                                                  os.path.join(INTEGRATION, "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_it = _integration_fixtures()
# Registered here by name, as pytest finds fixtures and hooks.
_state, build, cluster, log, mppstate, note, spawn, workdir = (
    _it._state, _it.build, _it.cluster, _it.log, _it.mppstate, _it.note, _it.spawn, _it.workdir)
pytest_configure, pytest_report_teststatus, pytest_runtest_makereport, pytest_terminal_summary = (
    _it.pytest_configure, _it.pytest_report_teststatus, _it.pytest_runtest_makereport,
    _it.pytest_terminal_summary)


def pytest_addoption(parser):
    _it.pytest_addoption(parser)
    parser.addoption("--seed", type=int, default=None,
                     help="the campaign's random seed (default: a new one, printed)")
    parser.addoption("--minutes", type=float, default=2.0,
                     help="how long the faults go on (default 2)")


@pytest.fixture
def seed(pytestconfig):
    given = pytestconfig.getoption("seed")
    return given if given is not None else random.SystemRandom().randrange(1, 10 ** 6)


@pytest.fixture
def minutes(pytestconfig):
    return pytestconfig.getoption("minutes")
