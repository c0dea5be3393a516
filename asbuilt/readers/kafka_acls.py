"""The live Kafka ACL reader: the ACLs the cluster holds for the principals a deployment uses
(CDK-SEC-05: Gateway's principal; CPX-03/04/06: Connect's and Control Center's), as
``asbuilt.model.kafka.KafkaPrincipal`` objects with ``AclEntry`` tuples.

One DescribeAcls per principal (principal filter, any resource, any operation) through the
target's Kafka client settings (``asbuilt.probes.kafka.KafkaProbe``: the bootstrap servers and
every advertised broker are checked against ``allowed_networks`` before a packet is sent). A
grant to the wildcard principal ``User:*`` applies to every principal, so each principal's ACLs
also include those (their ``principal`` field says ``User:*``); ``context["wildcard_acls"]``
counts them.

Where the cluster cannot be asked (unreachable, TLS or SASL refused, the identity lacks Describe
on the cluster, no authorizer configured), ``acls`` is ``Unknown`` with the cluster's reason: a
control over them is then ``error``, never a pass.
"""

from __future__ import annotations

from typing import Any

from asbuilt.model.facts import Unknown
from asbuilt.model.kafka import AclEntry, KafkaPrincipal
from asbuilt.probes import ProbeError

WILDCARD = "User:*"


def _probe(kafka_cfg: Any, target: Any = None):
    """A KafkaProbe from what the caller has: a probe, a Target (its kafka section) or a KafkaSection."""
    from asbuilt.probes.kafka import KafkaProbe
    from asbuilt.target import KafkaSection, Target

    if isinstance(kafka_cfg, KafkaProbe):
        return kafka_cfg, False
    if isinstance(kafka_cfg, Target):
        if kafka_cfg.kafka is None:
            raise ProbeError("kafka: the target file has no kafka section")
        return KafkaProbe(kafka_cfg.kafka, kafka_cfg), True
    if isinstance(kafka_cfg, KafkaSection):
        return KafkaProbe(kafka_cfg, target), True
    raise TypeError(f"read_principals: expected a KafkaProbe, Target or KafkaSection, got {type(kafka_cfg).__name__}")


def _name(value: Any) -> str:
    return getattr(value, "name", str(value)).upper()


def acl_entry(acl: Any) -> AclEntry:
    """A kafka-python ``ACL`` as the model's AclEntry (Kafka's enum spellings, upper case)."""
    pattern = acl.resource_pattern
    return AclEntry(principal=acl.principal, resource_type=_name(pattern.resource_type),
                    resource_name=pattern.resource_name, pattern_type=_name(pattern.pattern_type),
                    operation=_name(acl.operation), permission=_name(acl.permission_type), host=acl.host or "*")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _describe(probe, principal: str) -> list[AclEntry]:
    from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePatternFilter, ResourceType

    flt = ACLFilter(principal=principal, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                    resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
    try:
        acls, error = probe.admin().describe_acls(flt)
    except ProbeError:
        raise
    except Exception as exc:  # SecurityDisabledError, ClusterAuthorizationFailedError, timeouts
        raise probe.refusal() or ProbeError(f"kafka: DescribeAcls for {principal} refused: {_first_line(exc)}") from None
    if error is not None and getattr(error, "errno", 0):
        raise ProbeError(f"kafka: DescribeAcls for {principal} refused: {error}")
    return sorted((acl_entry(a) for a in acls), key=lambda e: (e.resource_type, e.resource_name, e.operation,
                                                                e.pattern_type, e.permission, e.host))


def read_principals(kafka_cfg: Any, principals: list[dict], target: Any = None) -> list[KafkaPrincipal]:
    """The ACLs of each principal, read from the cluster.

    ``kafka_cfg``: a ``KafkaProbe`` (kept open: the caller closes it), a ``Target`` (its kafka
    section and allowed_networks) or a ``KafkaSection`` (with ``target`` for allowed_networks).
    ``principals``: dicts ``{principal, role, role_source, context}``; ``principal`` is
    ``User:<name>`` (a bare name gets the ``User:`` prefix)."""
    out: list[KafkaPrincipal] = []
    try:
        probe, own = _probe(kafka_cfg, target)
    except ProbeError as exc:
        probe, own, broken = None, False, exc
    else:
        broken = None
    where = f"kafka {','.join(probe.bootstrap)} (DescribeAcls)" if probe is not None else "kafka (DescribeAcls)"
    wildcard: list[AclEntry] | Unknown | None = None
    try:
        for spec in principals:
            name = str(spec.get("principal") or "")
            if name and ":" not in name:
                name = f"User:{name}"
            role = spec.get("role")
            if role is None or role == "":
                role = Unknown("the principal's role is not named", where=str(spec.get("role_source") or ""))
            kp = KafkaPrincipal(resource=name or "(no principal)", principal=name, role=role,
                                role_source=str(spec.get("role_source") or ""), where=where,
                                context=dict(spec.get("context") or {}))
            if not name:
                kp.acls = Unknown("no principal name given", where=kp.role_source)
            elif broken is not None:
                kp.acls = Unknown(str(broken), where=where, expression=f"DescribeAcls principal={name}")
            else:
                try:
                    own_acls = _describe(probe, name)
                    if wildcard is None:
                        wildcard = _describe(probe, WILDCARD)
                    if isinstance(wildcard, Unknown):
                        kp.acls = wildcard
                    else:
                        extra = [] if name == WILDCARD else wildcard
                        kp.acls = tuple(own_acls) + tuple(extra)
                        kp.context["wildcard_acls"] = len(extra)
                except ProbeError as exc:
                    reason = str(exc)
                    kp.acls = Unknown(reason, where=where, expression=f"DescribeAcls principal={name}")
                    if probe.refusal() is not None or "cannot connect" in reason or "describe cluster" in reason:
                        broken = exc  # the cluster is not there: do not ask again per principal
            out.append(kp)
    finally:
        if own and probe is not None:
            probe.close()
    return out
