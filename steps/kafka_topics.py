"""Steps for HA-07: the platform topics' replication, read from the Kafka cluster (kafka-python)."""

from __future__ import annotations

import pytest
from pytest_bdd import given, then

from asbuilt.probes import ProbeError
from asbuilt.probes.kafka import KafkaProbe


_BROKER_STRING = {"SSL": "BootstrapBrokerStringTls", "PLAINTEXT": "BootstrapBrokerString",
                  "SASL_SSL": "BootstrapBrokerStringSaslScram", "SASL_PLAINTEXT": "BootstrapBrokerString"}


@pytest.fixture(scope="session")
def kafka_probe(target, asbuilt_run):
    if target.kafka is None:
        pytest.skip("the target file has no kafka section")
    bootstrap = None
    if not target.kafka.bootstrap_servers:  # else: the MSK cluster's, where the endpoint answers
        if target.aws is None:
            raise ProbeError("the target names no kafka.bootstrap_servers and no MSK cluster to read them from")
        aws = asbuilt_run.aws()
        clusters = aws.msk_clusters()
        if not clusters:
            raise ProbeError("no MSK cluster found to read the bootstrap brokers from")
        brokers, why = aws.msk_bootstrap(clusters[0]["resource"])
        if brokers is None:
            raise ProbeError(f"the target names no kafka.bootstrap_servers and {why}")
        key = "BootstrapBrokerStringSaslIam" if target.kafka.sasl_mechanism == "AWS_MSK_IAM" else \
            _BROKER_STRING[target.kafka.security_protocol]
        bootstrap = brokers.get(key)
        if not bootstrap:
            raise ProbeError(f"kafka:GetBootstrapBrokers has no {key} for {target.kafka.security_protocol}")
    probe = KafkaProbe(target.kafka, target, bootstrap)
    yield probe
    probe.close()


@given("the platform topics on the Kafka cluster", target_fixture="platform_topics")
def platform_topics(kafka_probe, target):
    if not target.kafka.topics:
        raise ProbeError("the target names no platform topics (kafka.topics)")
    return kafka_probe.topics(list(target.kafka.topics))


@then("each is replicated with enough in-sync replicas")
def topics_replicated(platform_topics, decide, verdict):
    verdict(decide("HA-07", platform_topics))
