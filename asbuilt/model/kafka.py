"""Kafka principals and their ACLs, as every reader gives them (the live cluster's DescribeAcls,
and later IaC that declares ACLs). Controls over principals (CDK-SEC-05, CPX-03/04/06) read these
objects only; they never see a client library's types.

Names follow Kafka's own enum spellings (``kafka-acls.sh --list`` prints the same), upper case:
resource_type TOPIC | GROUP | CLUSTER | TRANSACTIONAL_ID | DELEGATION_TOKEN | USER;
pattern_type LITERAL | PREFIXED; operation READ | WRITE | CREATE | DELETE | ALTER | DESCRIBE |
CLUSTER_ACTION | DESCRIBE_CONFIGS | ALTER_CONFIGS | IDEMPOTENT_WRITE | ALL; permission ALLOW | DENY.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asbuilt.model.facts import Unknown


@dataclass(frozen=True)
class AclEntry:
    principal: str          # "User:connect-worker"
    resource_type: str
    resource_name: str      # "connect-configs", "*", "kafka-cluster"
    pattern_type: str       # LITERAL (a "*" name is the wildcard) or PREFIXED
    operation: str
    permission: str = "ALLOW"
    host: str = "*"

    def describe(self) -> str:
        """One line for evidence and findings, in kafka-acls.sh's words."""
        return (f"{self.permission} {self.operation} on {self.resource_type} "
                f"{self.pattern_type.lower()} '{self.resource_name}' from host {self.host}")


@dataclass
class KafkaPrincipal:
    """One principal the deployment uses, what role it plays, and the ACLs the cluster holds for it.

    ``role`` is what the principal is for ("gateway", "connect-worker", "connect-producer",
    "connect-consumer", "control-center"); ``role_source`` says how asbuilt learned it (the target
    file, or the username of a JAAS config in a task definition, read without its password).
    ``acls`` is Unknown when the cluster could not be asked (with the reason)."""

    resource: str                              # for findings: "User:connect-worker"
    principal: str
    role: str | Unknown
    role_source: str = ""
    acls: tuple[AclEntry, ...] | Unknown = ()
    where: str = ""                            # "kafka 127.0.0.1:9093 (DescribeAcls)"
    context: dict[str, Any] = field(default_factory=dict)  # e.g. group_id, internal topics declared
