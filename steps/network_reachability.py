"""Steps for NET-04 / NET-05: real TCP connects from the target's vantage points.

The data endpoints come from the target when it names them (``postgres.host``/``port``,
``kafka.bootstrap_servers``), else from AWS (the RDS endpoint; the MSK bootstrap brokers where
the endpoint answers GetBootstrapBrokers). NET-05 probes every broker host on every broker
port of the profile (9092 and 9094), not only the one the clients use.
"""

from __future__ import annotations

import pytest
from pytest_bdd import given, then

from asbuilt.probes import ProbeError
from asbuilt.probes.network import Endpoint, NetworkProbe, parse_host_port


@pytest.fixture(scope="session")
def network_probe(target) -> NetworkProbe:
    return NetworkProbe(target)


def _aws_or_none(asbuilt_run):
    return asbuilt_run.aws() if asbuilt_run.target.aws is not None else None


def _database_endpoints(target, aws, db_port: int) -> list[Endpoint]:
    if target.postgres is not None:
        resource = ""
        if aws is not None and aws.resources.rds_instance:
            resource = next((d["resource"] for d in aws.rds_instances()), "")
        return [Endpoint("RDS", target.postgres.host, target.postgres.port, resource, "target postgres.host/port")]
    if aws is None:
        raise ProbeError("the target names no database endpoint (postgres.host) and no AWS section to read it from")
    out = [Endpoint("RDS", d["endpoint"], d["port"] or db_port, d["resource"], "rds:DescribeDBInstances Endpoint")
           for d in aws.rds_instances() if d.get("endpoint")]
    if not out:
        raise ProbeError("no RDS endpoint: the instance reports no Endpoint address yet")
    return out


def _broker_hosts(target, aws) -> tuple[list[tuple[str, int]], str, str]:
    """[(host, port)] of the bootstrap brokers, where they came from, and the MSK resource."""
    resource = ""
    if aws is not None and (aws.resources.msk_cluster or aws.section.discover_tags):
        resource = next((c["resource"] for c in aws.msk_clusters()), "")
    if target.kafka is not None and target.kafka.bootstrap_servers:
        servers = target.kafka.bootstrap_servers.split(",")
        return [parse_host_port(s, 9092) for s in servers if s.strip()], "target kafka.bootstrap_servers", resource
    if aws is None or not resource:
        raise ProbeError("the target names no Kafka bootstrap servers and no MSK cluster to read them from")
    brokers, why = aws.msk_bootstrap(resource)
    if brokers is None:
        raise ProbeError(f"the MSK bootstrap brokers are unknown: the target names no kafka.bootstrap_servers and "
                         f"{why}")
    text = brokers.get("BootstrapBrokerStringTls") or brokers.get("BootstrapBrokerString") or ""
    return ([parse_host_port(s, 9094) for s in text.split(",") if s.strip()],
            "kafka:GetBootstrapBrokers", resource)


@given("the data endpoints of the platform", target_fixture="data_endpoints")
def data_endpoints(target, asbuilt_run, params):
    aws = _aws_or_none(asbuilt_run)
    db = _database_endpoints(target, aws, params("NET-01")["port"])
    hosts, source, resource = _broker_hosts(target, aws)
    used = [Endpoint("MSK broker", h, p, resource, source) for h, p in hosts]
    # every broker port of the profile on every broker host (outside probes: none may answer)
    all_ports = [Endpoint("MSK broker", h, p, resource, source + " (every profile broker port)")
                 for h in dict.fromkeys(h for h, _ in hosts) for p in params("NET-02")["ports"]]
    return {"inside": db + used, "outside": db + list(dict.fromkeys(all_ports + used))}


@then("from inside the cluster network the database and every bootstrap broker accept TCP connections")
def reachable_inside(network_probe, data_endpoints, params, decide, verdict):
    timeout = float(params("NET-04")["connect_timeout_seconds"])
    verdict(decide("NET-04", network_probe.probe("inside", data_endpoints["inside"], timeout)))


@then("from outside the VPC neither the database nor any broker port accepts a TCP connection")
def unreachable_outside(network_probe, data_endpoints, params, decide, verdict):
    timeout = float(params("NET-05")["connect_timeout_seconds"])
    verdict(decide("NET-05", network_probe.probe("outside", data_endpoints["outside"], timeout)))
