"""The reachability probe (testinfra, vantage points, allowed_networks) and the Kafka probe's bounds,
plus the live-only rules NET-04/NET-05 and HA-07. Loopback only."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from asbuilt.probes import ProbeError
from asbuilt.probes.kafka import KafkaProbe
from asbuilt.probes.network import AddressGuard, Endpoint, NetworkProbe, Vantage, parse_host_port
from asbuilt.rules import kafka_topics, reachability
from asbuilt.target import KafkaSection, Target


def _target(**kw) -> Target:
    base = {"name": "t", "allowed_networks": ["127.0.0.0/8"],
            "vantage_points": [{"name": "here", "role": "inside", "kind": "local"},
                               {"name": "also-here", "role": "outside", "kind": "local"}]}
    return Target.model_validate({**base, **kw})


@pytest.fixture
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.close()
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    srv.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_guard_refuses_addresses_outside_allowed_networks():
    guard = AddressGuard(["127.0.0.0/8", "198.18.0.0/16"])
    assert guard.check("127.0.0.1") == "127.0.0.1"
    assert guard.check("198.18.10.10") == "198.18.10.10"
    assert guard.check("localhost").startswith("127.")
    for bad in ("10.0.1.5", "8.8.8.8", "192.168.1.1", "::1"):
        with pytest.raises(ProbeError, match="outside the target's allowed_networks"):
            guard.check(bad)
    with pytest.raises(ProbeError, match="not a host name"):
        guard.check("bad host; rm -rf /")
    assert AddressGuard([]).check("anything.example") == "anything.example"  # no list: the target's own call


def test_nothing_is_sent_to_a_refused_address(monkeypatch):
    called = []
    monkeypatch.setattr(Vantage, "connect", lambda *a, **k: called.append(a) or (True, "connected"))
    probe = NetworkProbe(_target())
    with pytest.raises(ProbeError, match="refusing to probe 10.9.8.7"):
        probe.probe("inside", [Endpoint("RDS", "127.0.0.1", 5432), Endpoint("MSK broker", "10.9.8.7", 9094)], 1)
    assert called == []


def test_local_vantage_connects_and_is_refused(listener):
    probe = NetworkProbe(_target())
    closed = _closed_port()
    out = probe.probe("inside", [Endpoint("RDS", "127.0.0.1", listener, "db"),
                                 Endpoint("MSK broker", "127.0.0.1", closed, "msk")], 2)
    by_port = {p["port"]: p for p in out}
    assert by_port[listener]["connected"] is True and by_port[listener]["detail"] == "connected"
    assert by_port[closed]["connected"] is False and by_port[closed]["detail"] == "refused"
    assert {p["vantage"] for p in out} == {"here"} and {p["kind"] for p in out} == {"local"}
    v = reachability.reachable_from_inside(out, 2)
    assert v.status == "fail" and f"127.0.0.1:{closed}" in v.message and "Fix:" in v.message
    v = reachability.unreachable_from_outside(probe.probe("outside", [Endpoint("RDS", "127.0.0.1", listener)], 2), 2)
    assert v.status == "fail" and "outside the VPC" in v.message


def test_a_broken_vantage_point_is_an_error_not_a_verdict():
    t = _target(vantage_points=[{"name": "gone", "role": "outside", "kind": "netns", "netns": "asb-does-not-exist"}])
    with pytest.raises(ProbeError, match="vantage point gone .* is not usable"):
        NetworkProbe(t).probe("outside", [Endpoint("RDS", "127.0.0.1", 5432)], 1)


def test_missing_vantage_points_make_the_rules_error():
    assert reachability.reachable_from_inside([], 5).status == "error"
    assert reachability.unreachable_from_outside([], 5).status == "error"


def test_parse_host_port():
    assert parse_host_port("b-1.msk:9094") == ("b-1.msk", 9094)
    assert parse_host_port("[fd00::1]:9092") == ("fd00::1", 9092)
    assert parse_host_port("10.0.0.1", 5432) == ("10.0.0.1", 5432)
    with pytest.raises(ValueError):
        parse_host_port("host")


def test_kafka_probe_refused_port_is_a_bounded_error():
    section = KafkaSection(bootstrap_servers=f"127.0.0.1:{_closed_port()}", security_protocol="PLAINTEXT",
                           request_timeout=3)
    probe = KafkaProbe(section, _target())
    t0 = time.monotonic()
    with pytest.raises(ProbeError, match="kafka: cannot connect"):
        probe.topics(["conncentric.events"])
    assert time.monotonic() - t0 < 30
    probe.close()


def test_kafka_probe_refuses_brokers_outside_allowed_networks():
    section = KafkaSection(bootstrap_servers="10.20.30.40:9094", security_protocol="SSL")
    with pytest.raises(ProbeError, match="outside the target's allowed_networks"):
        KafkaProbe(section, _target()).topics(["x"])


def test_topic_replication_rule():
    ok = {"resource": "topic a", "exists": True, "replication_factor": 3, "min_insync_replicas": 2}
    assert kafka_topics.topic_replication([ok], 3, 2).status == "pass"
    v = kafka_topics.topic_replication([{**ok, "replication_factor": 2}], 3, 2)
    assert v.status == "fail" and "topic a: replication factor 2, below 3" in v.message and "Fix:" in v.message
    v = kafka_topics.topic_replication([{**ok, "min_insync_replicas": 1}], 3, 2)
    assert v.status == "fail" and "min.insync.replicas 1" in v.message
    v = kafka_topics.topic_replication([{**ok, "min_insync_replicas": 4}], 3, 2)
    assert v.status == "fail" and "exceeds" in v.message
    assert kafka_topics.topic_replication([{"resource": "topic b", "exists": False}], 3, 2).status == "fail"
    assert kafka_topics.topic_replication([], 3, 2).status == "error"


def test_topic_replication_unknown_from_the_cluster_is_an_error_not_a_fail():
    """A min.insync.replicas the cluster did not give (DescribeConfigs denied, say) is unknown: the
    unit errors naming it, and a known violation on another topic still fails."""
    from asbuilt.catalogue import load_profile
    from asbuilt.controls import unit
    from asbuilt.model.facts import Unknown

    ok = {"resource": "topic a", "exists": True, "replication_factor": 3, "min_insync_replicas": 2}
    blind = {**ok, "resource": "topic b",
             "min_insync_replicas": Unknown("DescribeConfigs gave no min.insync.replicas for the topic", "kafka b-1:9094")}
    v = unit("HA-07").decide([ok, blind], load_profile("conncentric-aws"))
    assert v.status == "error" and "min insync replicas of topic b" in v.message and "DescribeConfigs" in v.message
    v = unit("HA-07").decide([{**ok, "replication_factor": 2}, blind], load_profile("conncentric-aws"))
    assert v.status == "fail" and "topic a: replication factor 2" in v.message


def test_ssh_and_kubectl_vantage_points_use_testinfra_backends(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    t = _target(kubernetes={"kubeconfig": str(kubeconfig), "context": "prod"},
                vantage_points=[{"name": "bastion", "role": "outside", "kind": "ssh", "host": "audit@bastion"},
                                {"name": "pod", "role": "inside", "kind": "kubectl", "pod": "tools/netshoot"}])
    ssh = Vantage(t.vantage_points[0], t).host.backend
    assert ssh.NAME == "ssh" and ssh.host.name == "bastion" and ssh.host.user == "audit"
    assert "BatchMode=yes" in ssh.ssh_extra_args and "ConnectTimeout=10" in ssh.ssh_extra_args
    kube = Vantage(t.vantage_points[1], t).host.backend
    assert kube.NAME == "kubectl" and kube.name == "netshoot" and kube.namespace == "tools"
    assert kube.kubeconfig == str(kubeconfig) and kube.context == "prod"
    bad = _target(vantage_points=[{"name": "p", "role": "inside", "kind": "kubectl", "pod": "Not A Pod!"}])
    with pytest.raises(ProbeError, match="needs pod"):
        Vantage(bad.vantage_points[0], bad)
