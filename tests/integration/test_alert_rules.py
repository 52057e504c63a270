"""The Prometheus alert rules the packages ship
(packaging/prometheus/mpp-rules.yml): promtool accepts them, its unit tests
(prometheus/mpp-rules.test.yml) pass, and they match doc/metrics.md: the
alerts of its "Alert rules" table with their severities, and only metrics
it describes.

Needs promtool (Debian's `prometheus` package); without it the tests fail
rather than skip. They need no server and no build.
"""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = "packaging/prometheus/mpp-rules.yml"
RULE_TESTS = "tests/integration/prometheus/mpp-rules.test.yml"
DOC = "doc/metrics.md"


def _read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def _promtool(*args):
    """Runs promtool from the top of the tree; returns (exit code, output)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: it comes with Debian's `prometheus` "
                    "package (apt-get install prometheus)", pytrace=False)
    p = subprocess.run([promtool] + list(args), cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    return p.returncode, p.stdout


def _doc_alerts():
    """{alert: severity} from the rows of doc/metrics.md's "Alert rules" table."""
    alerts = {}
    for line in _read(DOC).splitlines():
        if line.startswith("| `Mpp"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            alerts[cells[0].strip("`")] = cells[-1]
    return alerts


def _doc_metrics():
    """The metric names of doc/metrics.md's metric tables (first cells)."""
    return set(re.findall(r"^\| `(mpp_[a-z_]+)", _read(DOC), re.MULTILINE))


def _rules():
    """{alert: (expression, severity)} from the rules file. A line reader, not
    a YAML parser: the file's layout is `- alert:`, then `expr:` on one line
    or as a block whose lines are indented deeper, then `severity:`."""
    rules = {}
    name = None
    expr_indent = None
    for line in _read(RULES).splitlines():
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if expr_indent is not None:
            if text and indent > expr_indent:
                rules[name][0].append(text)
                continue
            expr_indent = None
        m = re.match(r"- alert: (\S+)$", text)
        if m:
            name = m.group(1)
            rules[name] = ([], None)
            continue
        if name is None:
            continue
        if text.startswith("expr:"):
            rest = text[len("expr:"):].strip()
            if rest not in (">", ">-", "|", "|-"):
                rules[name][0].append(rest)
            expr_indent = indent
        m = re.match(r"severity: (\S+)$", text)
        if m:
            rules[name] = (rules[name][0], m.group(1))
    return {n: (" ".join(e), s) for n, (e, s) in rules.items()}


def test_the_rules_file_passes_promtool_check_rules():
    code, out = _promtool("check", "rules", "--lint=all", "--lint-fatal", RULES)
    assert code == 0 and "SUCCESS" in out, \
        "promtool check rules %s exited %d:\n%s" % (RULES, code, out)


def test_every_alert_fires_on_its_series_and_not_otherwise():
    code, out = _promtool("test", "rules", RULE_TESTS)
    assert code == 0, "promtool test rules %s exited %d:\n%s" % (RULE_TESTS, code, out)


def test_the_rules_file_has_exactly_the_alerts_of_the_doc_with_their_severities():
    doc = _doc_alerts()
    rules = {name: severity for name, (_, severity) in _rules().items()}
    assert len(doc) >= 10, "the alert table of %s read (%s)" % (DOC, sorted(doc))
    assert sorted(rules) == sorted(doc), \
        "alerts in %s but not in %s: %s; in %s but not in %s: %s" % (
            DOC, RULES, sorted(set(doc) - set(rules)),
            RULES, DOC, sorted(set(rules) - set(doc)))
    assert rules == doc, "severities of %s against %s" % (RULES, DOC)


def test_every_metric_the_rules_use_is_described_in_the_doc():
    documented = _doc_metrics()
    used = {}
    for name, (expr, _) in _rules().items():
        assert expr, "%s has an expression" % name
        for metric in re.findall(r"\bmpp_[a-z_]+", expr):
            used.setdefault(metric, []).append(name)
    assert used, "the rules use mpp_ metrics"
    missing = {m: alerts for m, alerts in used.items() if m not in documented}
    assert not missing, "metrics the rules use that %s does not list: %s" % (DOC, missing)


def test_every_alert_has_a_case_where_it_fires_and_one_where_it_must_not():
    fires, silent = set(), set()
    lines = _read(RULE_TESTS).splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\s*alertname: (\S+)$", line)
        if m:
            following = lines[i + 1].strip() if i + 1 < len(lines) else ""
            (silent if following == "exp_alerts: []" else fires).add(m.group(1))
    alerts = set(_doc_alerts())
    assert not alerts - fires, "alerts with no case where they fire: %s" % sorted(alerts - fires)
    assert not alerts - silent, \
        "alerts with no case where they must stay silent: %s" % sorted(alerts - silent)
