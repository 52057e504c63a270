"""The etcd client (cluster/etcd_client.h) against real 3-member etcd
clusters, through etcd_probe: leases, the campaign transaction, ranges,
watches, endpoints that are dead or stopped, authentication and TLS.

Tests assert what the client does; the times they measure are printed in
the "figures" summary, not asserted (but for the watch's stop on SIGTERM,
whose bound is the contract).
"""

import json
import queue
import signal
import subprocess
import threading
import time

import pytest

from etcdlib import EtcdError, free_port


class Lines:
    """The lines a background program prints, read by a thread so that the
    test can wait for them with a timeout."""

    def __init__(self, stream):
        self.q = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.q.put(line)
        self.q.put(None)

    def take(self, n, timeout=10):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            try:
                line = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            out.append(json.loads(line))
        return out


def events(lines):
    return [(e["type"], e["key"], e["value"]) for e in lines]


def follower(c):
    """A member that does not lead: stopping it leaves the cluster a leader."""
    leader = c.leader_index()
    return next(m.index for m in c.members if m.index != leader)


def urls_first(c, index):
    """The client URLs with member index first."""
    urls = c.client_urls
    return [urls[index]] + [u for i, u in enumerate(urls) if i != index]


# ----- leases -----

def test_a_lease_is_granted_kept_alive_and_expires_without_keepalives(etcd, probe):
    c = etcd()
    g = probe(c, "grant", 2).json
    assert g["id"] != 0 and g["ttl"] == 2, g
    k = probe(c, "keepalive", g["id"]).json
    assert k["ttl"] == 2, k
    time.sleep(3.5)
    k = probe(c, "keepalive", g["id"]).json
    assert k["ttl"] == 0, "an expired lease answers TTL 0, not an error: %r" % k


def test_revoking_a_lease_deletes_its_key_and_an_unknown_lease_is_no_error(etcd, probe):
    c = etcd()
    lease = probe(c, "grant", 30).json["id"]
    assert probe(c, "txn-create", "/mpp/leader", "dir1", lease).json["succeeded"]
    kvs = probe(c, "get", "/mpp/leader").json["kvs"]
    assert [(kv["value"], kv["lease"]) for kv in kvs] == [("dir1", lease)]
    probe(c, "revoke", lease)
    assert probe(c, "get", "/mpp/leader").json["kvs"] == []
    assert c.get("/mpp/leader") is None
    r = probe(c, "revoke", lease)
    assert r.code == 0 and r.json["revoked"] == lease, r


# ----- transactions and ranges -----

def test_the_campaign_transaction_succeeds_once_then_returns_the_holder(etcd, probe):
    c = etcd()
    first = probe(c, "grant", 30).json["id"]
    second = probe(c, "grant", 30).json["id"]
    won = probe(c, "txn-create", "/mpp/leader", "dir1", first).json
    assert won["succeeded"] and won["holder"] is None, won
    lost = probe(c, "txn-create", "/mpp/leader", "dir2", second).json
    assert not lost["succeeded"], lost
    holder = lost["holder"]
    assert (holder["key"], holder["value"], holder["lease"]) == ("/mpp/leader", "dir1", first), lost
    assert holder["create_revision"] == won["revision"] == holder["mod_revision"], (won, lost)
    assert holder["version"] == 1, holder
    assert c.get("/mpp/leader") == b"dir1"


def test_a_range_of_an_absent_key_is_empty_with_the_store_revision(etcd, probe):
    c = etcd()
    rev = c.put("/present", "x")
    r = probe(c, "get", "/absent").json
    assert r["kvs"] == [] and r["revision"] == rev, r


def test_an_error_answer_from_etcd_is_final_and_names_the_endpoint(etcd, probe):
    c = etcd()
    r = probe(c, "txn-create", "/mpp/leader", "dir1", 4242, expect_ok=False)
    assert r.code == 1, r
    assert "requested lease not found" in r.stderr, r
    named = [u for u in c.client_urls if u in r.stderr]
    assert named == [c.client_urls[0]], "answered by the first endpoint, not retried: %r" % r


def test_keys_and_values_travel_base64_both_ways(etcd, probe):
    c = etcd()
    values = ["", "a", "ab", "abc", "abcd", "abcde", "\u00e9/\u00fc \u2713", "+/= 0"]
    for i, v in enumerate(values):
        key = "/b64/%d/\u00e4" % i
        probe(c, "put", key, v)
        assert c.get(key) == v.encode(), "etcd decodes what the client encoded: %r" % v
    c.put("/b64/etcd", "fr\u00e5n etcd")
    kvs = probe(c, "get", "/b64/etcd").json["kvs"]
    assert [kv["value"] for kv in kvs] == ["fr\u00e5n etcd"]


@pytest.mark.parametrize("text", ["YQ", "YQ=", "Y===", "YR==", "YWK=", "Y!==", "YQ==YQ==", "=QQQ", "YW Jj"])
def test_base64_decode_refuses_what_is_not_base64(probe, text):
    r = probe([], "unbase64", text, expect_ok=False)
    assert r.code == 1 and "not base64" in r.stderr, r


def test_base64_encode_and_decode_agree_on_every_padding(probe):
    for text, want in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                       ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]:
        assert probe([], "base64", text).json["base64"] == want
        assert probe([], "unbase64", want).json["bytes"] == text


# ----- watches -----

def test_a_watch_sees_puts_and_deletes_in_order_and_stops_on_sigterm(etcd, probe_cmd, spawn, note):
    c = etcd()
    start = c.revision() + 1
    p = spawn(probe_cmd(c, "watch", "/mpp/", start, 0), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
              text=True)
    lines = Lines(p.stdout)
    c.put("/mpp/a", "1")
    c.put("/other", "x")
    c.put("/mpp/b", "2")
    c.delete("/mpp/a")
    seen = lines.take(3)
    assert events(seen) == [("PUT", "/mpp/a", "1"), ("PUT", "/mpp/b", "2"), ("DELETE", "/mpp/a", "")], seen
    revs = [e["mod_revision"] for e in seen]
    assert revs == sorted(revs) and revs[0] >= start, seen
    time.sleep(0.5)  # idle: the stop must not wait for traffic
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=1)
    except subprocess.TimeoutExpired:
        pytest.fail("the watch did not stop within 1 s of SIGTERM")
    ms = (time.monotonic() - t0) * 1000
    note("watch stopped %.0f ms after SIGTERM" % ms)
    assert p.returncode == 0, p.stderr.read()


def test_a_watch_from_an_old_revision_replays_history_and_exits_after_count(etcd, probe):
    c = etcd()
    c.put("/h/a", "1")
    c.put("/h/b", "2")
    c.delete("/h/a")
    c.put("/h/a", "3")
    r = probe(c, "watch", "/h/", 1, 3)
    assert events(r.lines) == [("PUT", "/h/a", "1"), ("PUT", "/h/b", "2"), ("DELETE", "/h/a", "")], r


def test_a_watch_of_a_compacted_revision_fails(etcd, probe):
    c = etcd()
    for i in range(3):
        c.put("/c/a", str(i))
    c.compact(c.revision())
    r = probe(c, "watch", "/c/", 1, 0, expect_ok=False, timeout=20)
    assert r.code == 1 and "compacted" in r.stderr and c.client_urls[0] in r.stderr, r


def test_a_watch_sees_a_lease_expiry_as_a_delete(etcd, probe):
    c = etcd()
    lease = probe(c, "grant", 1).json["id"]
    won = probe(c, "txn-create", "/mpp/leader", "dir1", lease).json
    r = probe(c, "watch", "/mpp/", won["revision"], 2, timeout=20)
    assert events(r.lines) == [("PUT", "/mpp/leader", "dir1"), ("DELETE", "/mpp/leader", "")], r


# ----- endpoints that fail -----

def test_a_first_endpoint_with_nothing_listening_is_skipped(etcd, probe, note):
    c = etcd()
    dead = "http://127.0.0.1:%d" % free_port()
    r = probe([dead] + c.client_urls, "grant", 5)
    assert r.json["ttl"] == 5 and r.json["endpoint"] == c.client_urls[0], r
    note("grant past a refused endpoint: %.1f ms in the client" % r.json["elapsed_ms"])


def test_a_first_member_killed_is_skipped_and_the_next_call_starts_where_the_last_answered(etcd, probe):
    c = etcd()
    f = follower(c)
    c.member(f).kill()
    urls = urls_first(c, f)
    r = probe(urls, "grant", 5, options=["--repeat", "2"])
    assert [x["endpoint"] for x in r.lines] == [urls[1], urls[1]], r
    assert r.json["ttl"] == 5, r


def test_all_endpoints_dead_fails_naming_them(probe):
    urls = ["http://127.0.0.1:%d" % free_port() for _ in range(2)]
    r = probe(urls, "grant", 5, expect_ok=False)
    assert r.code == 1 and r.lines == [], r
    assert urls[0] in r.stderr and urls[1] in r.stderr, r


def test_a_stopped_first_member_costs_one_attempt_within_the_budget(etcd, probe, note):
    c = etcd()
    f = follower(c)
    urls = urls_first(c, f)
    c.member(f).pause()
    try:
        r = probe(urls, "grant", 5, timeout_ms=1500, options=["--repeat", "3"])
    finally:
        c.member(f).resume()
    assert all(x["endpoint"] == urls[1] for x in r.lines), r
    assert r.lines[0]["ttl"] == 5, r
    note("budget 1500 ms over 3 endpoints: first call %.0f ms past the stopped member, then %.1f ms, %.1f ms"
         % tuple(x["elapsed_ms"] for x in r.lines))


def test_a_watch_starts_on_the_next_endpoint_when_the_first_is_stopped(etcd, probe_cmd, spawn, note):
    c = etcd()
    f = follower(c)
    c.member(f).pause()
    start = c.revision() + 1
    try:
        p = spawn(probe_cmd(urls_first(c, f), "watch", "/w/", start, 1, timeout_ms=900), stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
        lines = Lines(p.stdout)
        c.put("/w/x", "1")
        seen = lines.take(1)
        assert events(seen) == [("PUT", "/w/x", "1")], (seen, p.poll())
        assert p.wait(timeout=10) == 0, p.stderr.read()
    finally:
        c.member(f).resume()


def test_a_watch_ends_with_an_error_when_its_member_dies(etcd, probe_cmd, spawn):
    c = etcd()
    f = follower(c)
    p = spawn(probe_cmd(urls_first(c, f), "watch", "/w/", c.revision() + 1, 0), stdout=subprocess.PIPE,
              stderr=subprocess.PIPE, text=True)
    lines = Lines(p.stdout)
    c.put("/w/x", "1")
    assert events(lines.take(1)) == [("PUT", "/w/x", "1")]
    c.member(f).kill()
    assert p.wait(timeout=10) == 1
    err = p.stderr.read()
    assert c.client_urls[f] in err and "watch stream" in err, err


# ----- authentication -----

def test_auth_works_with_the_right_password_and_fails_clearly_with_a_wrong_one(etcd, probe):
    password = "root-pw-4711"
    c = etcd(auth=password)
    r = probe(c, "put", "/a", "1", user="root", password=password)
    got = probe(c, "get", "/a", user="root", password=password)
    assert [kv["value"] for kv in got.json["kvs"]] == ["1"], got
    for res in (r, got):
        assert password not in res.stderr and all(password not in str(x) for x in res.lines), res

    wrong = "wrong-pw-0815"
    r = probe(c, "get", "/a", user="root", password=wrong, expect_ok=False)
    assert r.code == 1 and "authentication failed" in r.stderr and "root" in r.stderr, r
    assert wrong not in r.stderr and password not in r.stderr and r.lines == [], r

    r = probe(c, "get", "/a", expect_ok=False)
    assert r.code == 1 and "user name is empty" in r.stderr, r


def test_an_expired_token_is_replaced_by_logging_in_again(etcd, probe):
    c = etcd(auth="pw", extra_args=["--auth-token-ttl", "1"])
    r = probe(c, "get", "/a", user="root", password="pw", options=["--repeat", "3", "--pause-ms", "2500"])
    assert len(r.lines) == 3, r
    # The premise: a token unused for that long is refused.
    stale = c.call("/v3/auth/authenticate", {"name": "root", "password": "pw"}, login=False)["token"]
    time.sleep(2.5)
    with pytest.raises(EtcdError, match="invalid auth token"):
        c.call("/v3/kv/range", {"key": "YQ=="}, token=stale)


def test_a_watch_logs_in_too(etcd, probe):
    c = etcd(auth="pw")
    c.put("/w/a", "1")
    r = probe(c, "watch", "/w/", 1, 1, user="root", password="pw")
    assert events(r.lines) == [("PUT", "/w/a", "1")], r


def test_a_user_on_a_cluster_without_auth_is_no_error(etcd, probe):
    c = etcd()
    r = probe(c, "grant", 5, user="root", password="pw")
    assert r.json["ttl"] == 5, r


# ----- TLS -----

def test_https_with_client_certificates(etcd, probe):
    c = etcd(tls=True)
    assert all(u.startswith("https://") for u in c.client_urls)
    probe(c, "put", "/t", "v")
    assert [kv["value"] for kv in probe(c, "get", "/t").json["kvs"]] == ["v"]
    assert events(probe(c, "watch", "/t", 1, 1).lines) == [("PUT", "/t", "v")]

    r = probe(c, "get", "/t", tls=False, options=["--cacert", c.ca], expect_ok=False)
    assert r.code == 1 and c.client_urls[0] in r.stderr, "no client certificate: %r" % r
    r = probe(c, "get", "/t", tls=False, expect_ok=False)
    assert r.code == 1 and "certificate" in r.stderr, "etcd's certificate unverified: %r" % r


def test_https_with_client_certificates_and_auth(etcd, probe):
    c = etcd(tls=True, auth="pw")
    probe(c, "put", "/t", "v", user="root", password="pw")
    assert c.get("/t") == b"v"


# ----- figures -----

def test_round_trip_times_on_loopback(etcd, probe, note):
    c = etcd()
    r = probe(c, "bench", 100, "/bench").json
    note("median of 100 on loopback, 3 members: grant %d us, txn %d us, range %d us (max %d, %d, %d)"
         % (r["grant"]["median_us"], r["txn"]["median_us"], r["range"]["median_us"],
            r["grant"]["max_us"], r["txn"]["max_us"], r["range"]["max_us"]))
    assert c.get("/bench/100") is None, "the leases were revoked"
