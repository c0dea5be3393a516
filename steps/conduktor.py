"""Steps about the Conduktor platform (profile conduktor-k8s), judged on Kubernetes API objects.
Thin: fetch the Conduktor namespace once (asbuilt.probes.k8s, Secrets as keys only), shape it with
asbuilt.model.conduktor / asbuilt.rules.conduktor exactly as the static checks do, and let the
control's unit decide. CDK-SEC-01 adds the endpoints the target names, each met once with a real
TLS handshake (asbuilt.probes.tls_endpoint). CDK-DB-01/02 and CDK-SEC-05 (PostgreSQL, Kafka) have their own steps."""

from __future__ import annotations

import pytest
from pytest_bdd import given, then

from asbuilt.controls.cdk import ITEMS
from asbuilt.probes import k8s as k8sprobe
from asbuilt.rules import conduktor as cdk


@pytest.fixture(scope="session")
def conduktor_estate(kube: k8sprobe.KubeProbe, target) -> cdk.Estate:
    """The Conduktor namespace read once per run (``kube``: steps/platform.py's probe, which skips
    a target without a kubernetes section)."""
    ns = target.kubernetes.conduktor_namespace
    return cdk.read(kube.conduktor_objects(ns), ns)


@pytest.fixture(scope="session")
def conduktor_endpoints(target) -> list:
    """The endpoints the target's conduktor section names (console_url, gateway_bootstrap), each
    met once per run with a real TLS handshake (and a SASL_SSL client connection to the Gateway
    with gateway_client): asbuilt.probes.tls_endpoint. None named: nothing probed."""
    from asbuilt.probes.tls_endpoint import probe_endpoints

    return probe_endpoints(target)


@given("the Conduktor objects of the Conduktor namespace", target_fixture="conduktor")
def conduktor(conduktor_estate):
    return conduktor_estate


def _judge(control: str, estate: cdk.Estate, decide, verdict) -> None:
    verdict(decide(control, ITEMS[control](estate)))


@then("the Console runs at least the profile's number of replicas")
def console_replicas(conduktor, decide, verdict):
    _judge("CDK-HA-01", conduktor, decide, verdict)


@then("the Gateway runs at least the profile's number of replicas")
def gateway_replicas(conduktor, decide, verdict):
    _judge("CDK-HA-02", conduktor, decide, verdict)


@then("Console Cortex runs exactly one replica")
def cortex_single(conduktor, decide, verdict):
    _judge("CDK-HA-03", conduktor, decide, verdict)


@then("the Console and Cortex request their minimum ephemeral storage and the Gateway mounts no unneeded volume")
def ephemeral_storage(conduktor, decide, verdict):
    _judge("CDK-ST-01", conduktor, decide, verdict)


@then("the Console and the Gateway admin API are served over HTTPS and Gateway clients use SASL_SSL")
def https_and_sasl_ssl(conduktor, conduktor_endpoints, decide, verdict):
    verdict(decide("CDK-SEC-01", cdk.tls_items(conduktor, conduktor_endpoints)))


@then("every sensitive Conduktor setting comes from a Kubernetes Secret")
def secrets_from_secrets(conduktor, decide, verdict):
    _judge("CDK-SEC-02", conduktor, decide, verdict)


@then("the Console has a root account and OIDC single sign-on")
def sso_and_root(conduktor, decide, verdict):
    _judge("CDK-SEC-03", conduktor, decide, verdict)


@then("every Conduktor container runs non-root, unprivileged, on a read-only root filesystem")
def restricted_security(conduktor, decide, verdict):
    _judge("CDK-SEC-04", conduktor, decide, verdict)


@then("every Conduktor container sets cpu and memory requests and limits")
def requests_and_limits(conduktor, decide, verdict):
    _judge("CDK-OPS-01", conduktor, decide, verdict)


@then("the Console and the Gateway are scraped by Prometheus and have alerting rules")
def prometheus_monitoring(conduktor, decide, verdict):
    _judge("CDK-OPS-02", conduktor, decide, verdict)


@then("the Console and the Gateway log JSON and export audit logs to Kafka")
def json_logs_and_audit(conduktor, decide, verdict):
    _judge("CDK-OPS-03", conduktor, decide, verdict)


@then("the Gateway routes by SNI behind a LoadBalancer Service")
def sni_behind_load_balancer(conduktor, decide, verdict):
    _judge("CDK-NET-01", conduktor, decide, verdict)
