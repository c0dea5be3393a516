"""The sandbox's Kafka part: three real brokers (KRaft, TLS, StandardAuthorizer) on loopback.

The sandbox-marked tests start real JVMs (the jars come from the cache, fetched from Maven
Central on first use); they run on 127.0.0.1 with free ports per broker, in a state
directory of their own, and leave no JVM or port behind.
"""

from __future__ import annotations

import os
import time

import pytest

from asbuilt_sandbox.parts.base import PartError, free_port, port_open
from asbuilt_sandbox.parts.kafka import ADMIN_PRINCIPAL, CLUSTER_ID, KafkaPart


# --------------------------------------------------------------- no JVM needed


def test_refuses_addresses_outside_the_sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("ASBUILT_STATE", str(tmp_path))
    with pytest.raises(PartError, match="refusing to bind to 10.0.0.5"):
        KafkaPart()._plan(["127.0.0.1", "127.0.0.1", "10.0.0.5"], None, None)


def test_plans_standard_ports_on_distinct_addresses(tmp_path, monkeypatch):
    monkeypatch.setenv("ASBUILT_STATE", str(tmp_path))
    nodes = KafkaPart()._plan(["198.18.20.11", "198.18.20.12", "198.18.20.13"], "asb-vpc", None)
    assert [(n.address, n.ports()) for n in nodes] == [
        ("198.18.20.11", (9092, 9093, 9094)), ("198.18.20.12", (9092, 9093, 9094)),
        ("198.18.20.13", (9092, 9093, 9094))]
    # the namespace default is the topology's broker addresses
    assert [n.address for n in KafkaPart()._plan(None, "asb-vpc", None)] == [n.address for n in nodes]


def test_loopback_plan_uses_distinct_ports(tmp_path, monkeypatch):
    monkeypatch.setenv("ASBUILT_STATE", str(tmp_path))
    nodes = KafkaPart()._plan(None, None, None)
    ports = [p for n in nodes for p in n.ports()]
    assert {n.address for n in nodes} == {"127.0.0.1"} and len(set(ports)) == 9
    with pytest.raises(PartError, match="collide"):
        KafkaPart()._plan(None, None, [(9092, 9093, 9094)] * 3)


# ------------------------------------------------------------ real brokers


@pytest.fixture(scope="module")
def kafka(tmp_path_factory):
    """A started part in its own state directory; stopped (and checked for leftovers) after."""
    state = tmp_path_factory.mktemp("kafka-state")
    old = os.environ.get("ASBUILT_STATE")
    os.environ["ASBUILT_STATE"] = str(state)
    part = KafkaPart()
    try:
        started = time.monotonic()
        facts = part.start()
        print(f"kafka part started in {time.monotonic() - started:.1f}s")
        yield part, facts
    finally:
        part.stop()
        if old is None:
            os.environ.pop("ASBUILT_STATE", None)
        else:
            os.environ["ASBUILT_STATE"] = old


def _ssl(facts, cert=None, key=None):
    config = {"bootstrap_servers": facts["bootstrap_tls"].split(","), "security_protocol": "SSL",
              "ssl_cafile": facts["ca_file"]}
    if cert:
        config.update(ssl_certfile=str(cert), ssl_keyfile=str(key))
    return config


@pytest.mark.sandbox
def test_start_reports_facts(kafka):
    part, facts = kafka
    assert facts["cluster_id"] == CLUSTER_ID
    assert len(facts["bootstrap_plaintext"].split(",")) == 3
    assert all(s.startswith("127.0.0.1:") for s in facts["bootstrap_tls"].split(","))
    assert ADMIN_PRINCIPAL in facts["super_users"] and "User:ANONYMOUS" not in facts["super_users"]
    assert os.path.isfile(facts["ca_file"]) and os.path.isfile(facts["client_cert"])
    status = part.status()
    assert status["state"] == "up" and all(b["running"] for b in status["brokers"])


@pytest.mark.sandbox
def test_start_is_idempotent(kafka):
    part, facts = kafka
    pids = [b["pid"] for b in part.status()["brokers"]]
    started = time.monotonic()
    assert part.start() == facts
    assert time.monotonic() - started < 5
    assert [b["pid"] for b in part.status()["brokers"]] == pids


@pytest.mark.sandbox
def test_topic_with_replication_and_min_insync(kafka):
    part, _ = kafka
    part.create_topic("platform-events", partitions=2, replication_factor=3, configs={"min.insync.replicas": 2})
    part.create_topic("platform-events", replication_factor=3)  # exists: no error
    with part.admin() as admin:
        [topic] = admin.describe_topics(["platform-events"])
    assert len(topic["partitions"]) == 2
    assert all(len(p["replica_nodes"]) == 3 for p in topic["partitions"])
    configs = part.topic_configs("platform-events")
    assert configs["min.insync.replicas"] == "2"
    assert configs["unclean.leader.election.enable"] == "false"


@pytest.mark.sandbox
def test_acl_create_and_describe(kafka):
    part, _ = kafka
    created = part.create_acls("User:connect", "TOPIC", "connect-", ["READ", "WRITE", "DESCRIBE"],
                               pattern_type="PREFIXED")
    assert len(created) == 3
    found = part.describe_acls(principal="User:connect")
    described = {(a.operation.name, a.resource_pattern.resource_type.name, a.resource_pattern.resource_name,
                  a.resource_pattern.pattern_type.name, a.permission_type.name) for a in found}
    assert described == {(op, "TOPIC", "connect-", "PREFIXED", "ALLOW") for op in ("READ", "WRITE", "DESCRIBE")}


@pytest.mark.sandbox
def test_produce_and_consume_over_tls_as_an_acl_granted_principal(kafka):
    from kafka import KafkaConsumer, KafkaProducer

    part, facts = kafka
    part.create_topic("orders", replication_factor=3, configs={"min.insync.replicas": "2"})
    part.create_acls("User:app", "TOPIC", "orders", ["READ", "WRITE", "DESCRIBE"])
    part.create_acls("User:app", "GROUP", "app-group", ["READ"])
    cert, key = part.issue_client_cert("app")

    producer = KafkaProducer(acks="all", **_ssl(facts, cert, key))
    try:
        meta = producer.send("orders", b"as built").get(timeout=30)
    finally:
        producer.close()
    assert meta.topic == "orders"

    consumer = KafkaConsumer("orders", group_id="app-group", auto_offset_reset="earliest",
                             consumer_timeout_ms=30000, **_ssl(facts, cert, key))
    try:
        values = _first(consumer)
    finally:
        consumer.close()
    assert values == [b"as built"]


@pytest.mark.sandbox
def test_scram_users_on_the_sasl_ssl_listener_with_their_acls(kafka):
    """SCRAM-SHA-512 users (AlterUserScramCredentials, KRaft metadata) authenticate on the SASL_SSL
    listener as User:<name>; ACLs decide what they may do; a wrong password is refused; deleting
    the users removes them; the ACL reader gives the principal's grants as the model's AclEntry."""
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.errors import KafkaError

    from asbuilt.model.kafka import AclEntry
    from asbuilt.readers.kafka_acls import read_principals
    from asbuilt.target import KafkaSection, Target

    part, facts = kafka
    assert len(facts["bootstrap_sasl_ssl"].split(",")) == 3 and facts["sasl_mechanism"] == "SCRAM-SHA-512"
    made = part.scram_users(["gw", "cc"])
    assert made["gw"]["principal"] == "User:gw" and os.stat(made["gw"]["password_file"]).st_mode & 0o077 == 0
    assert {"gw", "cc"} <= set(part.scram_users_on())
    part.create_topic("_conduktor_gw_license", replication_factor=3)
    part.create_acl_entries([AclEntry("User:gw", "TOPIC", "_conduktor_gw_", "PREFIXED", op)
                             for op in ("WRITE", "DESCRIBE")])
    producer = KafkaProducer(acks="all", max_block_ms=15000, **part.sasl_client_config("gw"))
    try:
        assert producer.send("_conduktor_gw_license", b"x").get(timeout=30).topic == "_conduktor_gw_license"
    finally:
        producer.close()
    wrong = {**part.sasl_client_config("gw"), "sasl_plain_password": "not-the-password-at-all"}
    with pytest.raises(KafkaError):
        KafkaAdminClient(**wrong, bootstrap_timeout_ms=8000, request_timeout_ms=8000).close()

    section = KafkaSection(bootstrap_servers=facts["bootstrap_tls"], security_protocol="SSL",
                           ssl_cafile=facts["ca_file"], ssl_certfile=facts["client_cert"],
                           ssl_keyfile=facts["client_key"])
    [gw, cc] = read_principals(Target(name="t", allowed_networks=["127.0.0.0/8"], kafka=section),
                               [{"principal": "User:gw", "role": "gateway"}, {"principal": "User:cc", "role": "x"}])
    assert set(gw.acls) == {AclEntry("User:gw", "TOPIC", "_conduktor_gw_", "PREFIXED", op)
                            for op in ("WRITE", "DESCRIBE")}
    assert cc.acls == ()  # asked and answered: none
    assert part.delete_scram_users(keep=["cc"]) == ["gw"]
    assert part.scram_users_on() == ["cc"]


def _first(consumer):
    for message in consumer:
        return [message.value]
    return []


@pytest.mark.sandbox
def test_anonymous_clients_get_nothing_without_an_acl(kafka):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError, TopicAuthorizationFailedError

    part, facts = kafka
    part.create_topic("guarded", replication_factor=3)
    for config in (_ssl(facts), {"bootstrap_servers": facts["bootstrap_plaintext"].split(",")}):
        producer = KafkaProducer(max_block_ms=10000, **config)
        try:
            with pytest.raises(KafkaError) as caught:
                producer.send("guarded", b"x").get(timeout=15)
        finally:
            producer.close()
        assert isinstance(caught.value, TopicAuthorizationFailedError), repr(caught.value)


@pytest.mark.sandbox
def test_recovers_from_a_crashed_broker_and_stale_pid_file(kafka):
    import signal

    part, facts = kafka
    victim = part.process(2)
    os.kill(victim.pid(), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while victim.running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert part.status()["state"] == "degraded"
    assert victim.pidfile.exists()  # stale
    assert part.start() == facts
    assert part.status()["state"] == "up"
    assert part.topic_configs("orders")["min.insync.replicas"] == "2"  # data survived


@pytest.mark.sandbox
def test_stop_leaves_no_jvm_and_no_port(kafka):
    part, facts = kafka
    brokers = facts["brokers"]
    part.stop()
    assert part._ours() == []
    assert part.status()["state"] == "down"
    for b in brokers:
        for port in (b["plaintext_port"], b["tls_port"], b["controller_port"]):
            assert not port_open(b["address"], port)


# ------------------------------------------------------------- failures


@pytest.mark.sandbox
def test_a_taken_port_fails_with_the_part_and_log_named(tmp_path, monkeypatch):
    import socket

    monkeypatch.setenv("ASBUILT_STATE", str(tmp_path))
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen(1)
    taken = squatter.getsockname()[1]
    ports = [(free_port(), free_port(), taken), (free_port(), free_port(), free_port()),
             (free_port(), free_port(), free_port())]
    try:
        with pytest.raises(PartError) as caught:
            KafkaPart().start(ports=ports)
    finally:
        squatter.close()
    message = str(caught.value)
    assert message.startswith("sandbox part kafka:") and f"127.0.0.1:{taken}" in message
    assert "kafka-broker-1.log" in message


@pytest.mark.sandbox
def test_a_broker_that_dies_at_start_fails_with_its_log_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ASBUILT_STATE", str(tmp_path))
    part = KafkaPart(heap="1k")  # the JVM refuses to start with so small a heap
    with pytest.raises(PartError) as caught:
        part.start()
    message = str(caught.value)
    assert "exited during start-up" in message and "(log: " in message and "kafka-broker-" in message
    assert part._ours() == []
    assert part.status()["state"] == "down"
