"""TLS between mppstate and the servers ([global] tls, mppstate/mysql_connect.cc)
against real MariaDB: every mode keeps its promise, or the poll fails with a
reason an operator can act on.

The certificates are made here with openssl: a CA, a server certificate it
signed for IP:127.0.0.1, one it signed for a name only, and an unrelated CA.
Whether a poll's own session is encrypted is proven by the poll itself: its
check query fails (1242, "Subquery returns more than 1 row") unless the
session's Ssl_cipher is set (ENCRYPTED), or unless it is empty (PLAIN)."""

import os
import shutil
import subprocess
import tempfile

import pytest

from mariadb_cluster import write_private

OPENSSL = "/usr/bin/openssl"

ENCRYPTED = ("SELECT (SELECT 1 UNION SELECT 2 FROM information_schema.SESSION_STATUS "
             "WHERE VARIABLE_NAME = 'SSL_CIPHER' AND VARIABLE_VALUE = '')")
PLAIN = ("SELECT (SELECT 1 UNION SELECT 2 FROM information_schema.SESSION_STATUS "
         "WHERE VARIABLE_NAME = 'SSL_CIPHER' AND VARIABLE_VALUE <> '')")

TLS_ERROR = 2026  # CR_SSL_CONNECTION_ERROR


def _openssl(args, cwd):
    r = subprocess.run([OPENSSL] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 0, "openssl %s: %s" % (" ".join(args), r.stdout)


def _ca(d, name):
    _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
              "-subj", "/CN=mpp test " + name], d)


def _server_cert(d, name, ca, san):
    _openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name], d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName = %s\nbasicConstraints = CA:FALSE\n" % san)
    _openssl(["x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
              "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext"], d)


@pytest.fixture(scope="module")
def certs():
    """{"ca", "other_ca": CA files; "good", "wrong_name": dict(ca=, cert=,
    key=) for MariaDBCluster(tls=...)}, in a directory removed afterwards."""
    d = tempfile.mkdtemp(prefix="mpp-tls-")
    try:
        _ca(d, "ca")
        _ca(d, "otherca")
        _server_cert(d, "server", "ca", "IP:127.0.0.1")
        _server_cert(d, "wrongname", "ca", "DNS:db.example.invalid")
        p = lambda f: os.path.join(d, f)  # noqa: E731
        yield {
            "ca": p("ca.pem"),
            "other_ca": p("otherca.pem"),
            "good": dict(ca=p("ca.pem"), cert=p("server.pem"), key=p("server.key")),
            "wrong_name": dict(ca=p("ca.pem"), cert=p("wrongname.pem"), key=p("wrongname.key")),
        }
    finally:
        shutil.rmtree(d, ignore_errors=True)


def server(cluster, tls=None):
    """One server, offering TLS with the files in tls (checked: MariaDB
    starts without TLS when it cannot use them), or none."""
    c = cluster(n=1, tls=tls)
    assert c.value(1, "@@have_ssl") == ("YES" if tls else "DISABLED"), "have_ssl"
    return c


def poll(c, probe, write_config, workdir, mode, ca=None, check_query=None):
    """db1's poll_probe result with tls = mode and the monitoring login in an
    option file that names ca as ssl-ca."""
    with open(c.credentials) as f:
        login = f.read()
    cnf = os.path.join(workdir, "client-%s.cnf" % mode)
    write_private(cnf, login + ("ssl-ca = %s\n" % ca if ca else ""))
    # Generous timeouts: a loaded machine must not turn a slow handshake
    # into a failure these tests would misread.
    keys = {"tls": mode, "connect_timeout": "5s", "query_timeout": "5s"}
    if check_query:
        keys["check_query"] = check_query
    config = write_config(c, {"global": keys}, name="mppstate-%s.ini" % mode, credentials=cnf)
    return probe(config=config, direct=True)["db1"]


def test_verify_identity_with_the_right_ca_and_name_is_encrypted(cluster, probe, write_config,
                                                                workdir, certs):
    c = server(cluster, certs["good"])
    r = poll(c, probe, write_config, workdir, "verify_identity", certs["ca"], ENCRYPTED)
    assert (r["outcome"], r["error"]) == ("ok", ""), "verified and encrypted"


def test_verify_identity_with_another_ca_fails_naming_the_certificate(cluster, probe, write_config,
                                                                     workdir, certs):
    c = server(cluster, certs["good"])
    r = poll(c, probe, write_config, workdir, "verify_identity", certs["other_ca"])
    assert r["outcome"] == "refused", "an unverified server is unreachable for us: %r" % r
    assert r["error_code"] == TLS_ERROR, "error code"
    assert "certificate verify failed against ssl-ca " + certs["other_ca"] in r["error"], r["error"]


def test_verify_identity_with_a_certificate_for_another_name_fails(cluster, probe, write_config,
                                                                   workdir, certs):
    c = server(cluster, certs["wrong_name"])
    r = poll(c, probe, write_config, workdir, "verify_identity", certs["ca"])
    assert r["outcome"] == "refused", "wrong name: %r" % r
    assert r["error_code"] == TLS_ERROR, "error code"
    assert "certificate does not match 127.0.0.1" in r["error"], r["error"]


def test_required_and_verify_identity_fail_against_a_server_without_tls(cluster, probe,
                                                                        write_config, workdir,
                                                                        certs):
    c = server(cluster)
    for mode in ("required", "verify_identity"):
        r = poll(c, probe, write_config, workdir, mode, certs["ca"])
        assert r["outcome"] == "refused", "%s: %r" % (mode, r)
        assert r["error_code"] == TLS_ERROR, mode + " error code"
        assert "TLS required but the server does not offer it" in r["error"], r["error"]


def test_preferred_against_a_server_without_tls_polls_in_plain(cluster, probe, write_config,
                                                               workdir, certs):
    c = server(cluster)
    r = poll(c, probe, write_config, workdir, "preferred", certs["ca"], PLAIN)
    assert (r["outcome"], r["error"]) == ("ok", ""), "plain poll"


def test_preferred_and_required_encrypt_without_verifying(cluster, probe, write_config, workdir,
                                                          certs):
    # The option file's CA is not the server's: only verify_identity uses it.
    c = server(cluster, certs["wrong_name"])
    for mode in ("preferred", "required"):
        r = poll(c, probe, write_config, workdir, mode, certs["other_ca"], ENCRYPTED)
        assert (r["outcome"], r["error"]) == ("ok", ""), mode + " encrypted"


def test_off_stays_plain_with_a_tls_server_and_a_ca_in_the_option_file(cluster, probe,
                                                                       write_config, workdir,
                                                                       certs):
    c = server(cluster, certs["good"])
    # The client library alone would use TLS (and check the CA) for an
    # ssl-ca in the file: a wrong one proves it is not even looked at.
    r = poll(c, probe, write_config, workdir, "off", certs["other_ca"], PLAIN)
    assert (r["outcome"], r["error"]) == ("ok", ""), "plain poll"


def test_a_tls_failure_reaches_the_state_file_and_mppctl_status(cluster, mppstate, workdir, certs):
    c = server(cluster, certs["wrong_name"])
    cnf = os.path.join(workdir, "client-tls.cnf")
    with open(c.credentials) as f:
        write_private(cnf, f.read() + "ssl-ca = %s\n" % certs["ca"])
    m = mppstate(c, {"global": {"tls": "verify_identity", "credentials": cnf}})
    s = m.wait(lambda s: "does not match" in s["nodes"]["db1"]["reason"],
               what="the TLS failure in the state file")
    assert "certificate does not match 127.0.0.1" in s["nodes"]["db1"]["reason"], "state file"
    node = m.status_json()["pools"][0]["nodes"][0]
    assert "certificate does not match 127.0.0.1" in node["reason"], "mppctl status: %r" % node
    assert node["state"] != "ACTIVE", "an unverified server is never elected"
