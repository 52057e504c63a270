"""Real etcd clusters for the etcd suite (python3 standard library, Debian's
etcd-server and etcd-client).

EtcdCluster starts N members (default 3) of /usr/bin/etcd in workdir, each
on free ports of 127.0.0.1 only, and waits until every member answers a
linearizable read. Members are numbered from 0, in the order of
client_urls.

    c = EtcdCluster(workdir, members=3, tls=True, auth="secret")
    c.client_urls                      # ["https://127.0.0.1:PORT", ...]
    c.put("k", "v"); c.get("k")        # through the gateway, as root if auth
    c.member(0).pause(); ...; c.member(0).resume()
    c.close()

tls=True: a CA, a server certificate (SAN IP:127.0.0.1) and a client
certificate (no CN) are made with openssl in workdir (c.ca, c.client_cert,
c.client_key), and the members serve https to clients that show a
certificate of that CA; the peers talk plain http. auth="PASSWORD": the user
root gets that password and authentication is enabled (enable_auth()).

Members run in their own process groups and die with the test process
(PR_SET_PDEATHSIG, atexit).
"""

import atexit
import base64
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
# The process helpers of the MariaDB servers serve the members as well.
from mariadb_cluster import die_with_parent, free_port  # noqa: E402,F401

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"

_live = []


class EtcdError(Exception):
    pass


@atexit.register
def _close_all():
    for c in list(_live):
        c.close()


def _b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def _unb64(text):
    return base64.b64decode(text or "")


def _run(args, what):
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise EtcdError("%s: %s" % (what, (r.stderr or r.stdout).strip()))
    return r.stdout


def make_certificates(workdir):
    """A CA, a server certificate for IP 127.0.0.1 and a client certificate,
    P-256 keys, in workdir/tls; returns its path. The client certificate has
    no CN: with auth enabled, etcd's gateway refuses one that has ("CommonName
    of client sending a request against gateway will be ignored"), as it
    cannot pass the name on as the user."""
    d = os.path.join(workdir, "tls")
    os.makedirs(d, exist_ok=True)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    _run(["openssl", "req", "-x509"] + key + ["-keyout", ca_key, "-out", ca, "-days", "2",
          "-subj", "/CN=mpp test CA", "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], "making the CA")
    # etcd's gateway dials its own gRPC server with the server certificate:
    # that one must be good for client authentication too.
    for name, cn, ext in (("server", "etcd", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"),
                          ("client", None, "extendedKeyUsage=clientAuth\n")):
        ext_file = os.path.join(d, name + ".ext")
        with open(ext_file, "w") as f:
            f.write(ext)
        csr = os.path.join(d, name + ".csr")
        _run(["openssl", "req"] + key + ["-keyout", os.path.join(d, name + ".key"), "-out", csr,
                                         "-subj", "/CN=" + cn if cn else "/O=mpp test client"],
             "making the %s key" % name)
        _run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
              "-days", "2", "-extfile", ext_file, "-out", os.path.join(d, name + ".crt")],
             "signing the %s certificate" % name)
    return d


class Member:
    """One etcd process: its ports and data directory stay across restarts."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.name = "m%d" % index
        self.data_dir = os.path.join(cluster.workdir, self.name + ".etcd")
        self.log_path = os.path.join(cluster.workdir, self.name + ".log")
        self.proc = None
        self.paused = False
        self.pick_ports()

    def pick_ports(self):
        self.client_port = free_port()
        self.peer_port = free_port()

    @property
    def client_url(self):
        return "%s://%s:%d" % ("https" if self.cluster.tls else "http", self.cluster.host, self.client_port)

    @property
    def peer_url(self):
        return "http://127.0.0.1:%d" % self.peer_port

    def _spawn(self, state):
        c = self.cluster
        args = [ETCD, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
                "--initial-cluster", c.initial_cluster(), "--initial-cluster-state", state,
                "--initial-cluster-token", c.token,
                # Loopback has no latency: a 50 ms heartbeat and a 500 ms
                # election timeout elect a new leader in about a second
                # instead of etcd's default of several.
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--logger", "zap", "--log-outputs", "stderr"] + c.extra_args
        if c.tls:
            args += ["--cert-file", os.path.join(c.tls_dir, "server.crt"),
                     "--key-file", os.path.join(c.tls_dir, "server.key"),
                     "--trusted-ca-file", c.ca, "--client-cert-auth"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                         start_new_session=True, preexec_fn=die_with_parent)
        finally:
            log.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def answering(self):
        return self.running() and not self.paused

    def log(self, lines=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def start(self, timeout=20):
        """Starts the member again, with its data directory, and waits until
        it answers."""
        if self.running():
            return
        self._spawn("existing")
        self.cluster.wait_ready([self], timeout)

    def _signal(self, sig):
        if self.running():
            os.killpg(self.proc.pid, sig)

    def stop(self):
        """SIGTERM, and waits for the exit."""
        if self.running():
            self.resume()
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self):
        """SIGKILL, and waits for the exit."""
        if self.proc is not None and self.proc.poll() is None:
            self._signal(signal.SIGKILL)
            self.proc.wait()
        self.paused = False

    def pause(self):
        """SIGSTOP: the kernel still accepts connections, nobody answers."""
        self._signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self._signal(signal.SIGCONT)
        self.paused = False


class EtcdCluster:
    def __init__(self, workdir, members=3, tls=None, auth=None, extra_args=(), timeout=30, host="127.0.0.1"):
        """Starts the cluster and waits until every member answers; raises
        EtcdError (with the members' logs) if it does not. host: the
        address the members serve clients on (their peers talk on
        127.0.0.1)."""
        self.host = host
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.tls = bool(tls)
        self.tls_dir = make_certificates(self.workdir) if self.tls else None
        self.ca = os.path.join(self.tls_dir, "ca.crt") if self.tls else None
        self.client_cert = os.path.join(self.tls_dir, "client.crt") if self.tls else None
        self.client_key = os.path.join(self.tls_dir, "client.key") if self.tls else None
        self.extra_args = list(extra_args)
        self.password = None  # root's, once auth is enabled
        self._token = None
        self.members = []
        self.closed = False
        _live.append(self)
        t0 = time.monotonic()
        # free_port() can race with another program taking a port before
        # etcd binds it: then start over on other ports.
        for attempt in range(3):
            self.token = "mpp-test-" + secrets.token_hex(6)
            self.members = [Member(self, i) for i in range(members)]
            for m in self.members:
                m._spawn("new")
            try:
                self.wait_ready(self.members, timeout)
                break
            except EtcdError:
                busy = any("address already in use" in m.log(200) for m in self.members)
                self._kill_all()
                if not busy or attempt == 2:
                    self.close()
                    raise
                for m in self.members:
                    shutil.rmtree(m.data_dir, ignore_errors=True)
        self.startup_seconds = time.monotonic() - t0
        if auth:
            self.enable_auth(auth)

    # ----- addresses -----

    @property
    def client_urls(self):
        return [m.client_url for m in self.members]

    def member(self, i):
        return self.members[i]

    def initial_cluster(self):
        return ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)

    # ----- the gateway, as the tests' own client -----

    def _ssl_context(self):
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx

    def call(self, path, body, member=None, timeout=5, login=True, token=None):
        """POSTs body (a dict) to path of a member (default: the first one
        running and not paused) and returns etcd's answer; raises EtcdError
        with etcd's message on an error answer, OSError on a transport
        failure. With auth enabled it logs in as root, unless token is given
        (then that one is sent, and not replaced if etcd refuses it)."""
        m = member if member is not None else next(x for x in self.members if x.answering())
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = token
            login = False
        elif login and self.password is not None:
            if self._token is None:
                self._token = self.call("/v3/auth/authenticate", {"name": "root", "password": self.password},
                                        m, timeout, login=False)["token"]
            headers["Authorization"] = self._token
        req = urllib.request.Request(m.client_url + path, data=json.dumps(body).encode(), headers=headers,
                                     method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=self._ssl_context()))
        try:
            with opener.open(req, timeout=timeout) as r:
                return json.loads(r.read().decode().split("\n")[0])
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                message = json.loads(text).get("message", text)
            except ValueError:
                message = text
            if login and "auth token" in message:
                self._token = None
                return self.call(path, body, member, timeout)
            raise EtcdError("%s: %s" % (m.client_url, message)) from None

    def get(self, key):
        """The key's value as bytes, or None."""
        kvs = self.call("/v3/kv/range", {"key": _b64(key)}).get("kvs", [])
        return _unb64(kvs[0].get("value")) if kvs else None

    def put(self, key, value, lease=0):
        """Puts the key; returns the store's revision after it."""
        body = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        return int(self.call("/v3/kv/put", body)["header"]["revision"])

    def delete(self, key):
        return int(self.call("/v3/kv/deleterange", {"key": _b64(key)})["header"]["revision"])

    def revision(self):
        """The store's current revision."""
        return int(self.call("/v3/kv/range", {"key": _b64("\0")})["header"]["revision"])

    def compact(self, revision):
        self.call("/v3/kv/compaction", {"revision": str(revision), "physical": True})

    def leader_index(self):
        """The index of the member that leads, as the first answering
        member sees it."""
        status = self.call("/v3/maintenance/status", {})
        leader = status.get("leader")
        for m in self.members:
            if m.answering() and self.call("/v3/maintenance/status", {}, member=m)["header"]["member_id"] == leader:
                return m.index
        raise EtcdError("no member is the leader %s" % leader)

    # ----- etcdctl -----

    def etcdctl(self, *args, user=None):
        """Runs etcdctl against the answering members; returns its stdout.
        user: "NAME:PASSWORD" on its command line (tests only)."""
        cmd = [ETCDCTL, "--endpoints", ",".join(m.client_url for m in self.members if m.answering()),
               "--dial-timeout", "5s"]
        if self.tls:
            cmd += ["--cacert", self.ca, "--cert", self.client_cert, "--key", self.client_key]
        if user:
            cmd += ["--user", user]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
        env["ETCDCTL_API"] = "3"
        r = subprocess.run(cmd + list(args), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           env=env, timeout=30)
        if r.returncode != 0:
            raise EtcdError("etcdctl %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    def enable_auth(self, password):
        """Creates the user root with password (and the root role), then
        enables authentication; later calls of this helper log in as root."""
        self.etcdctl("user", "add", "root", "--new-user-password", password)
        self.etcdctl("user", "grant-role", "root", "root")
        self.etcdctl("auth", "enable")
        self.password = password
        self._token = None

    # ----- life -----

    def wait_ready(self, members, timeout):
        """Waits until each member answers a linearizable read (so it has a
        leader); raises EtcdError with the logs of those that do not."""
        deadline = time.monotonic() + timeout
        waiting = list(members)
        while waiting:
            m = waiting[0]
            if not m.running():
                raise EtcdError("%s exited with %s:\n%s" % (m.name, m.proc.returncode, m.log()))
            try:
                self.call("/v3/kv/range", {"key": _b64("\0")}, member=m, timeout=1)
                waiting.pop(0)
                continue
            except (OSError, EtcdError):
                pass
            if time.monotonic() > deadline:
                raise EtcdError("%s does not answer after %ds:\n%s" % (m.name, timeout, m.log()))
            time.sleep(0.05)

    def _kill_all(self):
        for m in self.members:
            m.kill()

    def close(self):
        """Kills every member; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self._kill_all()
        if self in _live:
            _live.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
