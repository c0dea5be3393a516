"""CDK-SEC-05: the Gateway's Kafka principal holds the documented ACLs, and nothing broader.

The documented set (Conduktor Gateway documentation, as the facts sheet records it) for a Gateway
whose ``GATEWAY_CLUSTER_ID`` is ``<id>`` and whose ``GATEWAY_GROUP_ID`` is ``<group>`` (default
``conduktor_<id>``):

* its internal topics ``_conduktor_<id>_*`` (license, topicmappings, usermappings, consumer_offsets,
  interceptor_configs, encryption_configs, acls, auditlogs, vclusters, groups, encryption_keys,
  data_quality_violation): Read, Write, Create and Describe on the prefix (the Gateway creates and
  writes them; the docs name Read, the requirements page asks for topic management);
* its consumer group: Read (offset commits) and Describe;
* the cluster: Describe; topics: Describe (on ``*``).

Broader than needed, each a finding: ``ALL`` on anything; Alter or Delete on every topic (``*``
or the empty prefix); Alter, AlterConfigs or ClusterAction on the cluster. Kafka's implications
are honoured when checking what is present (ALL covers everything; Read, Write, Delete and Alter
imply Describe; AlterConfigs implies DescribeConfigs; a ``*`` or a covering prefix covers a name).
"""

from __future__ import annotations

from asbuilt.model.kafka import AclEntry

DEFAULT_CLUSTER_ID = "gateway"  # the Gateway image's GATEWAY_CLUSTER_ID default
INTERNAL_TOPIC_OPERATIONS = ("READ", "WRITE", "CREATE", "DESCRIBE")
_IMPLIES = {"DESCRIBE": {"READ", "WRITE", "DELETE", "ALTER"}, "DESCRIBE_CONFIGS": {"ALTER_CONFIGS"}}
_BROAD_TOPIC_OPS = ("ALTER", "DELETE")
_BROAD_CLUSTER_OPS = ("ALTER", "ALTER_CONFIGS", "CLUSTER_ACTION")


def default_group_id(cluster_id: str) -> str:
    return f"conduktor_{cluster_id}"


def documented_acls(principal: str, cluster_id: str = DEFAULT_CLUSTER_ID,
                    group_id: str | None = None) -> tuple[AclEntry, ...]:
    """The ACLs the Gateway's principal needs, as kafka-acls.sh would list them."""
    group = group_id or default_group_id(cluster_id)
    prefix = f"_conduktor_{cluster_id}_"
    out = [AclEntry(principal, "TOPIC", prefix, "PREFIXED", op) for op in INTERNAL_TOPIC_OPERATIONS]
    out += [AclEntry(principal, "GROUP", group, "LITERAL", op) for op in ("READ", "DESCRIBE")]
    out += [AclEntry(principal, "CLUSTER", "kafka-cluster", "LITERAL", "DESCRIBE"),
            AclEntry(principal, "TOPIC", "*", "LITERAL", "DESCRIBE")]
    return tuple(out)


def _covers_name(acl: AclEntry, resource_type: str, name: str, pattern: str) -> bool:
    if acl.resource_type != resource_type:
        return False
    if acl.pattern_type == "LITERAL" and acl.resource_name == "*":
        return True
    if acl.pattern_type == "PREFIXED":
        return name.startswith(acl.resource_name)
    return pattern == "LITERAL" and acl.resource_name == name or (
        pattern == "PREFIXED" and acl.resource_name == name)


def _covers_op(acl: AclEntry, operation: str) -> bool:
    return acl.operation in ("ALL", operation) or acl.operation in _IMPLIES.get(operation, set())


def granted(acls: tuple[AclEntry, ...] | list[AclEntry], need: AclEntry) -> bool:
    """Whether the ACLs allow ``need`` (and no DENY takes it away)."""
    allow = any(a.permission == "ALLOW" and _covers_name(a, need.resource_type, need.resource_name, need.pattern_type)
                and _covers_op(a, need.operation) for a in acls)
    deny = any(a.permission == "DENY" and _covers_name(a, need.resource_type, need.resource_name, need.pattern_type)
               and _covers_op(a, need.operation) for a in acls)
    return allow and not deny


def broader(acls: tuple[AclEntry, ...] | list[AclEntry]) -> list[tuple[AclEntry, str]]:
    """The ALLOW entries broader than the Gateway needs, each with why."""
    out = []
    for a in acls:
        if a.permission != "ALLOW":
            continue
        every_topic = a.resource_type == "TOPIC" and (
            (a.pattern_type == "LITERAL" and a.resource_name == "*") or (a.pattern_type == "PREFIXED" and a.resource_name == ""))
        if a.operation == "ALL":
            out.append((a, f"ALL on {a.resource_type.lower()} '{a.resource_name}'"))
        elif every_topic and a.operation in _BROAD_TOPIC_OPS:
            out.append((a, f"{a.operation} on every topic"))
        elif a.resource_type == "CLUSTER" and a.operation in _BROAD_CLUSTER_OPS:
            out.append((a, f"{a.operation} on the cluster"))
    return out
