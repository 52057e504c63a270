"""A director pair on one machine, for the tests and the benchmark.

Three MariaDB servers replicating from db1, a 3-member etcd, and two
directors, each an mppstate in its own network namespace. A veth pair links
each namespace to the machine, where every server listens on an address of
its own (198.18.0.1, .2, .3 on lo) and etcd on 198.18.0.10. A director is
cut off from a server by a blackhole route in its namespace, which leaves
its path to the others and to etcd as it was.

    with Pair(workdir, build) as p:
        a, b = p.start_directors()
        p.wait_leader()
"""

import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from daemonlib import Mppstate, read_state  # noqa: E402
from etcdlib import EtcdCluster  # noqa: E402
from mariadb_cluster import MariaDBCluster, write_private  # noqa: E402

LAB_NET = "198.18.0.%d"     # server k listens on 198.18.0.k
ETCD_HOST = "198.18.0.10"
LINK_NET = "198.18.%d.%d"   # director i: 198.18.(10+i).1 on the machine, .2 in its namespace
LEASE_S = 2


def ip(*args, ns=None, check=True):
    argv = (["ip", "netns", "exec", ns, "ip"] if ns else ["ip"]) + list(args)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), r.stderr.strip()))
    return r


def _remove_links_holding(address):
    """Deletes the links that carry address: left by a run that was killed
    before its close(). The machine's route to the link net would go through
    such a link, and the replies to the director with it."""
    r = ip("-o", "addr", "show", "to", address + "/32", check=False)
    for line in r.stdout.splitlines():
        link = line.split()[1].split("@")[0]
        ip("link", "del", link, check=False)


class Network:
    """The addresses on lo and one namespace per director."""

    made = 0  # in this process: each gets its own names

    def __init__(self, directors):
        Network.made += 1
        self.tag = "%03d%d" % (os.getpid() % 1000, Network.made % 10)
        self.addresses = [LAB_NET % k for k in (1, 2, 3)] + [ETCD_HOST]
        self.ns = {}
        self.links = []
        try:
            self._make(directors)
        except BaseException:
            self.close()
            raise

    def _make(self, directors):
        for a in self.addresses:
            ip("addr", "add", a + "/32", "dev", "lo", check=False)  # left by a crash: fine
        for i, d in enumerate(directors, 1):
            ns = "mpp%s%s" % (self.tag, d)
            outer, inner = "mv%s%s" % (self.tag, d), "mvi%s%s" % (self.tag, d)
            ip("netns", "del", ns, check=False)
            ip("link", "del", outer, check=False)
            _remove_links_holding(LINK_NET % (10 + i, 1))
            ip("netns", "add", ns)
            self.links.append(outer)
            self.ns[d] = ns
            ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            ip("link", "set", inner, "netns", ns)
            ip("addr", "add", LINK_NET % (10 + i, 1) + "/30", "dev", outer)
            ip("link", "set", outer, "up")
            ip("link", "set", "lo", "up", ns=ns)
            ip("addr", "add", LINK_NET % (10 + i, 2) + "/30", "dev", inner, ns=ns)
            ip("link", "set", inner, "up", ns=ns)
            ip("route", "add", "default", "via", LINK_NET % (10 + i, 1), ns=ns)

    def cut(self, director, server):
        """The director loses its path to server k (1..3)."""
        ip("route", "add", "blackhole", LAB_NET % server + "/32", ns=self.ns[director])

    def heal(self, director, server):
        ip("route", "del", "blackhole", LAB_NET % server + "/32", ns=self.ns[director], check=False)

    def close(self):
        # A namespace goes when its last process has; its veth pair with
        # it, later: deleted here at once.
        for link in self.links:
            ip("link", "del", link, check=False)
        for ns in self.ns.values():
            ip("netns", "del", ns, check=False)
        self.ns, self.links = {}, []
        for a in self.addresses:
            ip("addr", "del", a + "/32", "dev", "lo", check=False)


class Servers(MariaDBCluster):
    """The cluster of the integration suite, each server also on its own lab
    address, with the logins allowed from the lab network."""

    def _write_server_cnf(self, node):
        super()._write_server_cnf(node)
        with open(node.cnf, "a") as f:
            f.write("bind-address = 127.0.0.1,%s\n" % (LAB_NET % node.index))

    def lab_address(self, i):
        return "%s:%d" % (LAB_NET % i, self.node(i).port)

    def allow_lab_logins(self, admins):
        """mpp and repl from the lab network; an admin login per director
        (so the general log tells who changed what); returns their option
        files by director."""
        stmts = [
            "CREATE USER 'mpp'@'198.18.%%' IDENTIFIED BY '%s'" % self.mpp_password,
            "GRANT SLAVE MONITOR ON *.* TO 'mpp'@'198.18.%'",
            "CREATE USER 'repl'@'198.18.%%' IDENTIFIED BY '%s'" % self.repl_password,
            "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'198.18.%'",
        ]
        files = {}
        for d in admins:
            password = "fence-" + os.urandom(6).hex()
            user = "mppadmin_" + d
            stmts += ["CREATE USER '%s'@'198.18.%%' IDENTIFIED BY '%s'" % (user, password),
                      "GRANT SUPER, READ_ONLY ADMIN, CONNECTION ADMIN, PROCESS, SLAVE MONITOR, "
                      "REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, RELOAD ON *.* TO '%s'@'198.18.%%'"
                      % user]
            files[d] = os.path.join(self.dir, "admin-%s.cnf" % d)
            write_private(files[d], "[client]\nuser = %s\npassword = %s\n" % (user, password))
        self.sql(1, ";\n".join(stmts))
        self.wait_replicated()
        # The replicas follow db1 at its lab address, the one the
        # directors know it by.
        for i in range(2, self.n + 1):
            self.sql(i, "STOP SLAVE; CHANGE MASTER TO MASTER_HOST='%s'; START SLAVE" % (LAB_NET % 1))
        self.wait_for(lambda: all(self.slave_status(i).get("Slave_IO_Running") == "Yes"
                                  for i in range(2, self.n + 1)), 30, "replicas on db1's lab address")
        return files

    def general_log(self, i, on=True):
        self.sql(i, "SET GLOBAL log_output = 'TABLE', general_log = %s" % ("ON" if on else "OFF"))

    def logged(self, i, since, like):
        """Statements of the general log of server i since (a 'YYYY-mm-dd
        HH:MM:SS.ffffff' server time) matching a LIKE pattern, as (user,
        statement); the test's own (root's) left out."""
        rows = self.sql(i, "SELECT user_host, CONVERT(argument USING utf8mb4) FROM mysql.general_log "
                           "WHERE event_time >= '%s' AND command_type = 'Query' AND argument LIKE '%s' "
                           "AND user_host NOT LIKE 'root[%%'"
                           % (since, like))
        return [(r[0], r[1]) for r in rows]

    def now(self, i):
        return self.value(i, "NOW(6)")


class Sampler:
    """Reads every director's state file every period and keeps, for each
    sample, the ACTIVE each names; and records, every 5 ms, the time_ms of
    the first file of each director that named each ACTIVE."""

    def __init__(self, directors, period=0.05):
        self.directors = directors  # name -> Mppstate
        self.period = period
        self.samples = []  # (monotonic, {name: active or None})
        self.first = {}    # (director, active) -> time_ms of its first state file naming it
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._sample, daemon=True),
                         threading.Thread(target=self._watch, daemon=True)]
        for t in self._threads:
            t.start()

    @staticmethod
    def _active(m):
        s = m.state()
        if s is None:
            return None, None
        act = [n for n, v in s["nodes"].items() if v["state"] == "ACTIVE"]
        return (act[0] if len(act) == 1 else None), s

    def _sample(self):
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), {d: self._active(m)[0] for d, m in self.directors.items()}))
            time.sleep(self.period)

    def _observe(self):
        for d, m in self.directors.items():
            active, s = self._active(m)
            if active is not None and (d, active) not in self.first:
                self.first[(d, active)] = s["time_ms"]

    def _watch(self):
        while not self._stop.is_set():
            self._observe()
            time.sleep(0.005)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join()
        # What the caller saw just before stopping, the watch may not have
        # seen yet.
        self._observe()

    def longest_disagreement_ms(self):
        """The longest run of samples in which two directors named different
        ACTIVE nodes, from its first sample to the first after it."""
        longest, start = 0.0, None
        for t, actives in self.samples:
            named = {a for a in actives.values() if a is not None}
            if len(named) > 1:
                start = t if start is None else start
            elif start is not None:
                longest = max(longest, t - start)
                start = None
        if start is not None:
            longest = max(longest, self.samples[-1][0] - start + self.period)
        return longest * 1000

    def publication_delay_ms(self, leader, follower, active):
        """From the leader's first state file naming active to the
        follower's."""
        a, b = self.first.get((leader, active)), self.first.get((follower, active))
        return None if a is None or b is None else b - a


class Pair:
    def __init__(self, workdir, build, directors=("a", "b"), manage_replication=False, log=None):
        self.workdir = workdir
        self.build = build
        self.names = list(directors)
        self.log = log or (lambda line: None)
        self.net = Network(self.names)
        self.servers = None
        self.etcd = None
        self.directors = {}
        try:
            self.servers = Servers(3)
            self.servers.start()
            self.admins = self.servers.allow_lab_logins(self.names)
            self.etcd = EtcdCluster(os.path.join(workdir, "etcd"), members=3, host=ETCD_HOST)
            for d in self.names:
                self.directors[d] = self._director(d, manage_replication)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _director(self, d, manage_replication):
        s = self.servers
        extra = {
            "global": {"interval": "300ms", "connect_timeout": "500ms", "query_timeout": "500ms",
                       "stale_after": "10s", "admin_credentials": self.admins[d]},
            "cluster": {"etcd": ", ".join(self.etcd.client_urls), "name": d, "lease": "%ds" % LEASE_S},
        }
        for k in (1, 2, 3):
            extra["node db%d" % k] = {"address": s.lab_address(k)}
        if manage_replication:
            repl = os.path.join(s.dir, "repl.cnf")
            write_private(repl, "[client]\nuser = repl\npassword = %s\n" % s.repl_password)
            extra["global"]["replication_credentials"] = repl
            extra["pool main"] = {"manage_replication": "yes"}
        ns = self.net.ns[d]

        def spawn(argv, **kw):
            return subprocess.Popen(["ip", "netns", "exec", ns] + argv, **kw)

        return Mppstate(s, os.path.join(self.workdir, "director-" + d), self.build.path("bin"), extra,
                        spawn=spawn, log=self.log)

    def start(self, *names):
        for d in names or self.names:
            self.directors[d].start()

    def leader(self, timeout=30):
        """The director that leads, by the etcd leader key."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = self.etcd.get("/mpp/leader")
            if v is not None:
                return v.decode()
            time.sleep(0.05)
        raise AssertionError("no leader after %ss" % timeout)

    def decision(self):
        v = self.etcd.get("/mpp/decision")
        return None if v is None else json.loads(v)

    def wait_all(self, predicate, timeout=30, what="state"):
        for m in self.directors.values():
            m.wait(predicate, timeout, what)

    def wait_active(self, node, timeout=30):
        self.wait_all(lambda s: s["nodes"][node]["state"] == "ACTIVE", timeout, node + " ACTIVE")

    def close(self):
        # The network goes whatever failed before it: a link left behind
        # would take the next pair's replies.
        try:
            for m in self.directors.values():
                if m.proc is not None and m.proc.poll() is None:
                    try:
                        os.kill(m.proc.pid, 18)  # SIGCONT: a stopped process cannot die
                    except ProcessLookupError:
                        pass
                m.close()
            if self.etcd is not None:
                self.etcd.close()
            if self.servers is not None:
                self.servers.stop()
        finally:
            self.net.close()
