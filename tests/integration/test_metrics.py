"""The metrics page of mppstate (doc/metrics.md): a real Prometheus scrapes
it while a writer is killed, promtool checks it, and the endpoint holds
against a trickling client, other paths and a taken port."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from mariadb_cluster import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = os.path.join(ROOT, "packaging", "prometheus", "mpp-rules.yml")


def metrics_extra(port, **global_keys):
    keys = {"metrics": "127.0.0.1:%d" % port}
    keys.update(global_keys)
    return {"global": keys}


def http(port, path="/metrics", method="GET", body=None, timeout=5):
    """(status, headers, body) of one request to 127.0.0.1:port."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method, data=body)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def wait_http(port, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return http(port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def sample(page, name, **labels):
    """The value of the sample name{labels} (labels: exactly these), or None."""
    for line in page.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if got == labels:
            return float(m.group(3))
    return None


class Prometheus:
    """A Prometheus server of its own (Debian's package), scraping targets
    every second and evaluating the shipped rules every second."""

    def __init__(self, spawn, workdir, targets):
        self.port = free_port()
        self.dir = os.path.join(workdir, "prometheus")
        os.makedirs(self.dir)
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "rule_files:\n  - %s\n"
                    "scrape_configs:\n  - job_name: mppstate\n    static_configs:\n"
                    "      - targets: [%s]\n" % (RULES, ", ".join("'%s'" % t for t in targets)))
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.log_file = open(self.log_path, "w")
        self.proc = spawn(["prometheus", "--config.file=" + config, "--storage.tsdb.path=" + self.dir + "/data",
                           "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
                          stdout=self.log_file, stderr=subprocess.STDOUT)

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s?%s" % (self.port, path, urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=5) as r:
            reply = json.load(r)
        assert reply["status"] == "success", reply
        return reply["data"]

    def query(self, expr):
        """The instant vector of expr: [(labels, value)]."""
        return [(r["metric"], float(r["value"][1])) for r in self.api("query", query=expr)["result"]]

    def wait(self, expr, predicate, timeout=60, what=None):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "prometheus exited: " + open(self.log_path).read()[-2000:]
            try:
                last = self.query(expr)
                if predicate(last):
                    return last
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise AssertionError("timed out waiting for %s: %s = %s" % (what or "a result", expr, last))


def test_prometheus_scrapes_node_states_and_counts_a_failover_after_kill_9(cluster, mppstate, spawn, workdir, note):
    c = cluster()
    port = free_port()
    m = mppstate(c, extra=metrics_extra(port))
    m.wait_active("db1")
    prom = Prometheus(spawn, workdir, ["127.0.0.1:%d" % port])

    active = prom.wait('mpp_node_state{state="ACTIVE"} == 1', lambda r: len(r) == 1, what="one ACTIVE")
    assert active[0][0]["node"] == "db1" and active[0][0]["pool"] == "main"
    standbys = prom.query('mpp_node_state{state="STANDBY"} == 1')
    assert sorted(r[0]["node"] for r in standbys) == ["db2", "db3"]
    assert prom.query('up{job="mppstate"}')[0][1] == 1
    assert prom.query('mpp_pool_failovers_total{pool="main"}')[0][1] == 0
    lag = prom.wait("mpp_node_replication_lag_seconds", lambda r: len(r) == 2, what="two replicas' lag")
    assert sorted(r[0]["node"] for r in lag) == ["db2", "db3"]
    assert prom.query('mpp_vs_node_up{vs="writer",node="db1"}')[0][1] == 1

    killed = time.monotonic()
    c.kill9(1)
    state = m.wait(lambda s: s["nodes"]["db1"]["state"] == "FAIL" and
                   any(s["nodes"][n]["state"] == "ACTIVE" for n in ("db2", "db3")), what="failover")
    new = [n for n in ("db2", "db3") if state["nodes"][n]["state"] == "ACTIVE"][0]
    counted = prom.wait('mpp_pool_failovers_total{pool="main"}', lambda r: r and r[0][1] == 1,
                        what="the failover counted")
    seen = time.monotonic() - killed
    assert prom.query('mpp_pool_writer_changes_total{pool="main"}')[0][1] == 1
    assert [r[0]["node"] for r in prom.query('mpp_node_state{state="ACTIVE"} == 1')] == [new]
    assert prom.query('mpp_node_state{node="db1",state="FAIL"}')[0][1] == 1
    assert prom.query('mpp_node_demoted{node="db1"}')[0][1] == 1
    assert prom.query('mpp_vs_node_up{vs="writer",node="db1"}')[0][1] == 0
    failed_polls = prom.query('sum(mpp_node_polls_total{node="db1",outcome=~"refused|timeout"})')
    assert failed_polls[0][1] >= 1
    stamp = prom.query('mpp_pool_last_failover_timestamp_seconds{pool="main"}')[0][1]
    assert abs(stamp - time.time()) < 60
    duration = prom.query('mpp_pool_last_failover_duration_seconds{pool="main"}')[0][1]
    assert 0 <= duration < 10
    # The shipped rules, loaded by this Prometheus, see it too.
    alerts = prom.wait("ALERTS{alertname=\"MppFailover\"}", lambda r: len(r) == 1, what="MppFailover pending or firing")
    assert alerts[0][0]["pool"] == "main"
    assert counted[0][0]["instance"] == "127.0.0.1:%d" % port
    scrape = prom.query('scrape_duration_seconds{job="mppstate"}')[0][1]
    samples = prom.query('scrape_samples_scraped{job="mppstate"}')[0][1]
    note("kill -9 of the writer to the failover counted in Prometheus (1 s scrapes): %.1fs; "
         "failover decided %.2fs after the trouble began" % (seen, duration))
    note("a scrape of 3 nodes: %d samples in %.1f ms" % (samples, scrape * 1000))


def test_the_page_passes_promtool_check_metrics_and_mppctl_prints_the_same_families(cluster, mppstate):
    c = cluster()
    port = free_port()
    m = mppstate(c, extra=metrics_extra(port))
    m.wait_active("db1")
    m.wait(lambda s: s["seq"] >= 3, what="three rounds")
    status, headers, page = http(port)
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    check = subprocess.run(["promtool", "check", "metrics"], input=page, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert check.returncode == 0, check.stdout
    assert check.stdout.strip() == "", check.stdout
    families = lambda text: sorted(re.findall(r"^# TYPE (\S+) ", text, re.M))
    printed = m.mppctl("metrics").stdout
    assert families(printed) == families(page)
    for name in ("mpp_node_state", "mpp_node_poll_duration_seconds", "mpp_pool_failovers_total",
                 "mpp_vs_node_weight", "mpp_rounds_total", "mpp_build_info"):
        assert name in families(page)
    assert sample(page, "mpp_node_state", pool="main", node="db1", state="ACTIVE") == 1
    assert sample(printed, "mpp_rounds_total") >= 2
    assert sample(printed, "mpp_node_polls_total", pool="main", node="db2", outcome="ok") >= 2
    # Nothing secret: the monitoring login's password is in no line.
    secrets = re.findall(r"^password\s*=\s*(\S+)", open(c.credentials).read(), re.M)
    assert secrets
    for secret in secrets:
        assert secret not in page and secret not in printed


def test_a_trickling_client_is_cut_off_while_scrapes_and_polls_go_on(cluster, mppstate, note):
    c = cluster()
    port = free_port()
    m = mppstate(c, extra=metrics_extra(port, interval="200ms"))
    m.wait_active("db1")
    slow = socket.create_connection(("127.0.0.1", port), timeout=20)
    started = time.monotonic()
    seq = m.state()["seq"]
    cut = None
    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
    sent = 0
    served = 0
    while time.monotonic() - started < 20:
        try:
            slow.send(request[sent % len(request):sent % len(request) + 1])
            sent += 1
            slow.settimeout(0.4)
            if slow.recv(1) == b"":
                cut = time.monotonic() - started
                break
        except socket.timeout:
            pass
        except (ConnectionResetError, BrokenPipeError):
            cut = time.monotonic() - started
            break
        status, _, page = http(port)  # others are served meanwhile
        assert status == 200 and "mpp_node_state" in page
        served += 1
    slow.close()
    assert cut is not None, "the trickling client was never cut off"
    assert 9 <= cut <= 13, "cut off after %.1fs, not at its 10 s deadline" % cut
    assert served >= 10
    assert m.state()["seq"] > seq + 20, "polls went on every 200 ms"
    page = http(port)[2]
    assert sample(page, "mpp_metrics_cut_off_total") == 1
    assert sample(page, "mpp_metrics_requests_total", code="200") >= served
    note("a client trickling a byte every 0.4 s: cut off after %.1fs; %d scrapes served meanwhile" % (cut, served))


def test_any_other_path_or_method_gets_404(cluster, mppstate):
    c = cluster(n=1)
    port = free_port()
    m = mppstate(c, extra=metrics_extra(port))
    m.wait_active("db1")
    for path, method, body in (("/", "GET", None), ("/metric", "GET", None), ("/metrics/x", "GET", None),
                               ("/status", "GET", None), ("/metrics", "POST", b"x=1"),
                               ("/metrics", "DELETE", None), ("/../metrics", "GET", None)):
        status, _, text = http(port, path, method, body)
        assert status == 404, (path, method, status)
        assert "mpp_" not in text
    status, headers, text = http(port, "/metrics?x=1")
    assert status == 200 and "mpp_node_state" in text
    status, headers, text = http(port, method="HEAD")
    assert status == 200 and text == ""
    assert sample(http(port)[2], "mpp_metrics_requests_total", code="404") == 7


def test_a_taken_port_is_logged_and_tried_again_and_a_reload_moves_the_endpoint(cluster, mppstate):
    c = cluster(n=1)
    port = free_port()
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", port))
    squatter.listen(1)
    m = mppstate(c, extra=metrics_extra(port, interval="200ms"))
    m.wait_active("db1")
    m.wait(lambda s: "cannot listen" in m.log(), what="the taken port logged")
    assert "metrics 127.0.0.1:%d: cannot listen: Address already in use" % port in m.log()
    squatter.close()
    status, _, page = wait_http(port, timeout=10)  # tried again every round
    assert status == 200 and "mpp_node_state" in page
    assert m.log().count("cannot listen") == 1
    assert "metrics: listening again" in m.log()

    new_port = free_port()
    with open(m.config) as f:
        text = f.read()
    with open(m.config, "w") as f:
        f.write(text.replace("127.0.0.1:%d" % port, "127.0.0.1:%d" % new_port))
    m.proc.send_signal(signal.SIGHUP)
    status, _, page = wait_http(new_port, timeout=10)
    assert status == 200
    try:
        http(port, timeout=2)
        assert False, "the old address still answers"
    except OSError:
        pass
    assert m.proc.poll() is None
