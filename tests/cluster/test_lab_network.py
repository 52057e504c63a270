"""The director pair's network (pairlib.Network): a namespace per director
that reaches the servers and etcd on the machine's lab addresses."""

import socket
import subprocess

from pairlib import ETCD_HOST, LINK_NET, Network, ip


def connects_from(ns, host, port):
    """Whether a TCP connection from namespace ns to host:port is answered."""
    code = "import socket; socket.create_connection((%r, %d), timeout=2).close()" % (host, port)
    r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode == 0


def links_holding(address):
    r = ip("-o", "addr", "show", "to", address + "/32")
    return [line.split()[1].split("@")[0] for line in r.stdout.splitlines()]


def test_a_link_a_killed_run_left_behind_does_not_cut_the_next_pair_off():
    # A run killed before its close() leaves its veth pair, holding the
    # first director's link address: the machine's route to the director
    # went through it, and every reply was lost.
    stale = "mvstale"
    ip("link", "del", stale, check=False)
    ip("link", "add", stale, "type", "veth", "peer", "name", stale + "p")
    try:
        ip("addr", "add", LINK_NET % (11, 1) + "/30", "dev", stale)
        ip("link", "set", stale, "up")
        ip("link", "set", stale + "p", "up")
        net = Network(["a"])
        try:
            with socket.socket() as listener:
                listener.bind((ETCD_HOST, 0))
                listener.listen()
                assert connects_from(net.ns["a"], ETCD_HOST, listener.getsockname()[1]), \
                    "director a cannot reach etcd's address"
            assert links_holding(LINK_NET % (11, 1)) == [net.links[0]]
        finally:
            net.close()
        assert links_holding(LINK_NET % (11, 1)) == []
    finally:
        ip("link", "del", stale, check=False)
