"""CDK-*: the Conduktor platform on Kubernetes (profile conduktor-k8s). One unit per control
(see asbuilt.controls). The facts come from ``asbuilt.model.conduktor`` components, read the same
way from rendered charts / manifests (the static anchors below: every Conduktor workload) and
from the Kubernetes API (steps/conduktor.py); the rules are ``asbuilt.rules.conduktor``.

CDK-DB-01/02 (asbuilt.model.postgres.DatabaseServer) and CDK-SEC-05
(asbuilt.model.kafka.KafkaPrincipal) are live only: their items come from
``conduktor.database_items`` / ``conduktor.principal_items``.
"""

from __future__ import annotations

from typing import Any, Callable

from asbuilt.controls import Unit
from asbuilt.judge import PARTIAL_DEFAULT
from asbuilt.model.k8s import WORKLOADS
from asbuilt.rules import conduktor as cdk


def estate_of_stack(s: Any) -> cdk.Estate:
    """The Conduktor estate of one rendered chart or manifest set (asbuilt.static.estate.K8sStack),
    each component anchored on its workload (cached on the stack: every CDK check reads it)."""
    cached = getattr(s, "_conduktor_estate", None)
    if cached is not None:
        return cached
    from asbuilt.static.facts import is_test_hook

    objects = [(o.body, o.resource, {"file": o.loc.file, "line": o.loc.line, "_anchor": o.key})
               for o in s.objects if not is_test_hook(o)]
    estate = cdk.read(objects, s.namespace)
    try:
        s._conduktor_estate = estate
    except AttributeError:
        pass
    return estate


def static(items: Callable[[cdk.Estate], list[dict]]) -> Callable[[Any, Any], list[dict]]:
    def facts(s: Any, ctx: Any) -> list[dict]:
        return items(estate_of_stack(s))

    facts.__name__ = items.__name__
    return facts


def _unit(control: str, rule: Callable, items: Callable, **kw: Any) -> Unit:
    return Unit(control, rule, kubernetes=WORKLOADS, k8s=static(items), **kw)


CDK_HA_01 = _unit("CDK-HA-01", cdk.console_replicas, cdk.console_replica_items, thresholds={"min_replicas": int})
CDK_HA_02 = _unit("CDK-HA-02", cdk.gateway_replicas, cdk.gateway_replica_items, thresholds={"min_replicas": int})
CDK_HA_03 = _unit("CDK-HA-03", cdk.cortex_single, cdk.cortex_items)
CDK_ST_01 = _unit("CDK-ST-01", cdk.ephemeral_storage, cdk.storage_items,
                  thresholds={"console_min_ephemeral_storage": str, "cortex_min_ephemeral_storage": str})
# the endpoints the target names (live) are judged by the rule itself: it names an endpoint it could
# not reach as the unknown fact, beside the objects' own facts
CDK_SEC_01 = _unit("CDK-SEC-01", cdk.https_and_sasl_ssl, cdk.tls_items, partial=(*PARTIAL_DEFAULT, "endpoint"))
CDK_SEC_02 = _unit("CDK-SEC-02", cdk.secrets_from_secrets, cdk.secret_items)
CDK_SEC_03 = _unit("CDK-SEC-03", cdk.sso_and_root, cdk.sso_items)
CDK_SEC_04 = _unit("CDK-SEC-04", cdk.restricted_security, cdk.container_items)
CDK_OPS_01 = _unit("CDK-OPS-01", cdk.requests_and_limits, cdk.resource_items)
CDK_OPS_02 = _unit("CDK-OPS-02", cdk.prometheus_monitoring, cdk.monitoring_items)
CDK_OPS_03 = _unit("CDK-OPS-03", cdk.json_logs_and_audit, cdk.logging_items)
CDK_NET_01 = _unit("CDK-NET-01", cdk.sni_behind_load_balancer, cdk.sni_items)

# live only: items from asbuilt.rules.conduktor.database_items / principal_items
CDK_DB_01 = Unit("CDK-DB-01", cdk.database_version_tls, thresholds={"min_version": str})
CDK_DB_02 = Unit("CDK-DB-02", cdk.database_ha_backups)
CDK_SEC_05 = Unit("CDK-SEC-05", cdk.gateway_principal)

# the item builders of the units judged on Kubernetes objects, for the live steps
ITEMS: dict[str, Callable[[cdk.Estate], list[dict]]] = {
    "CDK-HA-01": cdk.console_replica_items, "CDK-HA-02": cdk.gateway_replica_items, "CDK-HA-03": cdk.cortex_items,
    "CDK-ST-01": cdk.storage_items, "CDK-SEC-01": cdk.tls_items, "CDK-SEC-02": cdk.secret_items,
    "CDK-SEC-03": cdk.sso_items, "CDK-SEC-04": cdk.container_items, "CDK-OPS-01": cdk.resource_items,
    "CDK-OPS-02": cdk.monitoring_items, "CDK-OPS-03": cdk.logging_items, "CDK-NET-01": cdk.sni_items,
}
