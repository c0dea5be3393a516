"""The sandbox network part: namespaces, links, routes, the packet filter and the probe.

The live tests (marked ``sandbox``) need root; they create and remove asb-vpc, asb-node and
asb-outside. Every connection they make goes to 198.18.0.0/16.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from asbuilt_sandbox import topology as topo
from asbuilt_sandbox.parts.base import Process
from asbuilt_sandbox.parts.network import (
    HOST_IF,
    NAMESPACES,
    AllowRule,
    NetworkPart,
    applied_rules,
    apply_security_groups,
    render_ruleset,
    rules_from_security_group,
    tcp_probe,
)

needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"), reason="needs root and iproute2")

NODE_SG = "sg-0node000000000001"
RDS_SG = {
    "GroupId": "sg-0rds0000000000001",
    "GroupName": "rds",
    "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [], "Ipv6Ranges": [],
         "PrefixListIds": [], "UserIdGroupPairs": [{"GroupId": NODE_SG, "UserId": "123456789012"}]},
    ],
    "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
}


# --------------------------------------------------------------------------- translation (no root)


def test_group_reference_becomes_the_members_cidrs():
    rules = rules_from_security_group(RDS_SG, {NODE_SG: [topo.NODE_SUBNET]}, [topo.RDS_ADDR])
    assert [(r.dest_addr, r.port_from, r.port_to, r.protocol, r.source_cidr) for r in rules] == [
        (topo.RDS_ADDR, 5432, 5432, "tcp", topo.NODE_SUBNET)
    ]
    assert "sg-0rds0000000000001" in rules[0].description


def test_unknown_group_reference_admits_nothing():
    assert rules_from_security_group(RDS_SG, {}, [topo.RDS_ADDR]) == []


def test_all_traffic_ranges_v6_prefix_lists_and_every_destination():
    sg = {
        "GroupId": "sg-msk",
        "IpPermissions": [
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "open"}]},
            {"IpProtocol": "tcp", "FromPort": 9092, "ToPort": 9098,
             "Ipv6Ranges": [{"CidrIpv6": "::/0"}], "PrefixListIds": [{"PrefixListId": "pl-1"}]},
            {"IpProtocol": "6", "FromPort": 9094, "ToPort": 9094, "IpRanges": [{"CidrIp": "198.18.1.7/24"}]},
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "198.18.0.0/16"}]},
        ],
    }
    dests = list(topo.BROKER_ADDRS)
    rules = rules_from_security_group(sg, {"pl-1": ["198.18.200.0/24"]}, dests)
    flows = {(r.dest_addr, r.port_from, r.port_to, r.protocol, r.source_cidr) for r in rules}
    for d in dests:
        assert (d, 0, 65535, "all", "0.0.0.0/0") in flows
        assert (d, 9092, 9098, "tcp", "::/0") in flows
        assert (d, 9092, 9098, "tcp", "198.18.200.0/24") in flows
        assert (d, 9094, 9094, "tcp", "198.18.1.0/24") in flows  # host bits dropped, like EC2 does
        assert (d, 0, 65535, "icmp", "198.18.0.0/16") in flows
    assert len(rules) == len(flows) == 5 * len(dests)


def test_ruleset_rendering():
    text = render_ruleset([
        AllowRule(topo.RDS_ADDR, 5432, 5432, "tcp", topo.NODE_SUBNET),
        AllowRule(topo.RDS_ADDR, 0, 65535, "all", "0.0.0.0/0"),
        AllowRule(topo.RDS_ADDR, 5432, 5432, "tcp", "::/0"),  # cannot match a v4 address: left out
        AllowRule(topo.BROKER_ADDRS[0], 9092, 9094, "tcp", "198.18.200.0/24", 'x"; drop'),
    ])
    assert f"ip daddr {topo.RDS_ADDR} ip saddr {topo.NODE_SUBNET} tcp dport 5432 accept" in text
    assert f"ip daddr {topo.RDS_ADDR} accept" in text
    assert "::/0" not in text
    assert f"ip daddr {topo.BROKER_ADDRS[0]} ip saddr 198.18.200.0/24 tcp dport 9092-9094 accept" in text
    assert '"; drop' not in text  # descriptions cannot inject nft syntax
    assert "default" not in text


@pytest.mark.parametrize("kwargs", [
    {"protocol": "sctp"}, {"port_from": 10, "port_to": 9}, {"source_cidr": "nonsense"}, {"dest_addr": "x"},
])
def test_bad_rules_are_refused(kwargs):
    args = {"dest_addr": topo.RDS_ADDR, "port_from": 1, "port_to": 2, "protocol": "tcp", "source_cidr": "0.0.0.0/0"}
    with pytest.raises(ValueError):
        AllowRule(**{**args, **kwargs})


@pytest.mark.parametrize("host", ["8.8.8.8", "192.0.2.1", "10.0.0.1", "::ffff:8.8.8.8", "2001:db8::1", "example.com", ""])
def test_probe_refuses_addresses_outside_the_sandbox(host):
    with pytest.raises(ValueError):
        tcp_probe(None, host, 443, 0.1)
    with pytest.raises(ValueError):
        tcp_probe(topo.NS_NODE, host, 443, 0.1)


# --------------------------------------------------------------------------- live


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    old = os.environ.get("ASBUILT_STATE")
    os.environ["ASBUILT_STATE"] = str(tmp_path_factory.mktemp("state"))
    part = NetworkPart()
    part.stop()
    started = time.monotonic()
    facts = part.start()
    facts["seconds"] = time.monotonic() - started
    yield part, facts
    part.stop()
    if old is None:
        os.environ.pop("ASBUILT_STATE", None)
    else:
        os.environ["ASBUILT_STATE"] = old


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def listener(network):
    """A TCP listener inside asb-vpc on the first broker address (a real process, tracked by pid)."""
    code = ("import socket\n"
            f"s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(({topo.BROKER_ADDRS[0]!r},9092));s.listen()\n"
            "while True:\n c,_=s.accept();c.close()\n")
    proc = Process("test", "listener", [sys.executable, "-c", code], netns=topo.NS_VPC)
    proc.start()
    deadline = time.monotonic() + 10
    while not tcp_probe(None, topo.BROKER_ADDRS[0], 9092, 0.5):
        assert time.monotonic() < deadline, proc.log_tail()
        time.sleep(0.1)
    yield topo.BROKER_ADDRS[0], 9092
    proc.stop()


@pytest.mark.sandbox
@needs_root
def test_namespaces_come_up_without_a_default_route(network):
    part, facts = network
    assert facts["seconds"] < 10
    netns = _ip("netns", "list")
    for ns in NAMESPACES:
        assert ns in netns
        for fam in ("-4", "-6"):
            assert _ip("-n", ns, fam, "route", "show", "default").strip() == "", f"default route in {ns}"
        assert "UP" in _ip("-n", ns, "-br", "link", "show", "lo")
        forward = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv4.ip_forward"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        assert forward == ("1" if ns == topo.NS_VPC else "0")
    assert _ip("-n", topo.NS_NODE, "-4", "route").splitlines()[0].startswith(f"{topo.NET_CIDR} via 198.18.1.1")
    assert topo.NODE_ADDR in _ip("-n", topo.NS_NODE, "-br", "addr")
    assert topo.OUTSIDE_ADDR in _ip("-n", topo.NS_OUTSIDE, "-br", "addr")
    vpc_lo = _ip("-n", topo.NS_VPC, "-br", "addr", "show", "lo")
    for addr in (topo.RDS_ADDR, *topo.BROKER_ADDRS):
        assert f"{addr}/32" in vpc_lo
    assert topo.HOST_ADDR in _ip("-br", "addr", "show", HOST_IF)
    assert f"{topo.NET_CIDR} via {topo.VPC_HOST_SIDE} dev {HOST_IF}" in _ip("route", "show", topo.NET_CIDR)
    status = part.status()
    assert status["up"] and status["filter"]


@pytest.mark.sandbox
@needs_root
def test_filter_mirrors_the_rules(network, listener):
    addr, port = listener

    def reach():
        return {v: tcp_probe(ns, addr, port, 0.5) for v, ns in (("host", None), ("node", topo.NS_NODE),
                                                                ("outside", topo.NS_OUTSIDE))}

    apply_security_groups([])
    assert reach() == {"host": True, "node": False, "outside": False}  # the bastion always passes

    apply_security_groups([AllowRule(addr, port, port, "tcp", topo.NODE_SUBNET)])
    assert reach() == {"host": True, "node": True, "outside": False}

    apply_security_groups([AllowRule(addr, port + 1, port + 5, "tcp", topo.NODE_SUBNET)])  # other ports
    assert reach() == {"host": True, "node": False, "outside": False}

    apply_security_groups([AllowRule(addr, port, port, "tcp", "0.0.0.0/0")])
    assert reach() == {"host": True, "node": True, "outside": True}

    apply_security_groups([AllowRule(addr, 0, 65535, "all", topo.OUTSIDE_SUBNET)])
    assert reach() == {"host": True, "node": False, "outside": True}
    assert applied_rules() == [AllowRule(addr, 0, 65535, "all", topo.OUTSIDE_SUBNET)]

    # an idempotent start keeps the applied filter
    network[0].start()
    assert reach() == {"host": True, "node": False, "outside": True}
    apply_security_groups([])


@pytest.mark.sandbox
@needs_root
def test_namespaces_cannot_open_connections_to_the_host(network):
    # Even a host listener on all addresses is out of reach from the sandbox's namespaces.
    import socket

    with socket.socket() as srv:
        srv.bind((topo.HOST_ADDR, 0))
        srv.listen()
        port = srv.getsockname()[1]
        assert tcp_probe(None, topo.HOST_ADDR, port, 0.5)
        assert not tcp_probe(topo.NS_NODE, topo.HOST_ADDR, port, 0.5)
        assert not tcp_probe(topo.NS_OUTSIDE, topo.HOST_ADDR, port, 0.5)


@pytest.mark.sandbox
@needs_root
def test_stop_leaves_nothing_behind(network):
    part, _ = network
    stray = Process("test", "stray", ["sleep", "300"], netns=topo.NS_OUTSIDE)
    pid = stray.start()
    part.stop()
    part.stop()  # idempotent
    netns = _ip("netns", "list")
    assert not any(ns in netns for ns in NAMESPACES)
    assert subprocess.run(["ip", "link", "show", HOST_IF], capture_output=True).returncode != 0
    assert _ip("route", "show", topo.NET_CIDR).strip() == ""
    assert not stray.running(), f"process {pid} left running in a deleted namespace"
    assert part.status()["up"] is False
    stray.stop()
    # and it comes back (the module fixture's teardown stops it again)
    part.start()
    assert part.status()["up"]
