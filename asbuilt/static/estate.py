"""The whole-set model of one stack: what a static reader knows about the deployment.

A per-resource checkov check sees one resource's configuration and nothing else, but half of
the reference architecture relates resources to each other (a security group rule naming
another group, MSK / EKS / ALB subnets and their availability zones, an IAM policy, the role
it is attached to and that role's trust policy, a bucket and its KMS key, the VPC of EKS, RDS
and MSK). So before any check runs, asbuilt builds an *estate* per stack from the definitions
checkov parsed (``asbuilt.static.terraform`` and ``asbuilt.static.cloudformation`` for IaC,
``asbuilt.static.kubernetes`` for manifests and rendered charts): every resource of interest as
a small neutral object, with its references already resolved to the objects they name. The
checks then read the estate (through ``asbuilt.static.facts``) and call the same rule functions
as the live suite, with the same evidence shapes.

A *stack* is what is deployed together and can refer to itself: one Terraform root module (with
its child modules), one CloudFormation template, one rendered chart, one folder of manifests.
Cross-stack links (the role an IRSA annotation names, the brokers a values file lists) go
through ``ScanContext`` in ``asbuilt.static.checkbase``.

Identity: every object has a ``key`` unique within its stack (Terraform address, CloudFormation
logical id, ``Kind/namespace/name``) and a ``loc`` (file, line, address) that messages print as
``file:line (address)``. References the reader cannot resolve keep a readable placeholder
(``<aws_kms_key.bundles>``) so both sides of a comparison render the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def display_path(path: str | os.PathLike) -> str:
    """A path as messages show it: relative to the working directory when below it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


@dataclass(frozen=True)
class Loc:
    file: str  # display path
    line: int
    address: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} ({self.address})"

    def evidence(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "address": self.address}


@dataclass
class Node:
    key: str
    loc: Loc
    conf_id: int = 0  # id() of the configuration dict checkov hands to the checks

    @property
    def resource(self) -> str:
        return str(self.loc)


@dataclass
class Vpc(Node):
    cidr: str | None = None


@dataclass
class Subnet(Node):
    zone: str | None = None
    vpc: str | None = None
    cidr: str | None = None


@dataclass
class SecurityGroup(Node):
    vpc: str | None = None
    ingress: list[dict] = field(default_factory=list)  # neutral rules, see asbuilt.rules.network

    def neutral(self) -> dict:
        return {"id": self.key, "resource": self.resource, "vpc": self.vpc, "ingress": self.ingress}


@dataclass
class EksCluster(Node):
    version: str | None = None
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)

    @property
    def cluster_security_group(self) -> str:
        """The security group EKS creates for the cluster (nodes without a launch template get it)."""
        return f"{self.key}#cluster_security_group"


@dataclass
class NodeGroup(Node):
    cluster: str | None = None
    instance_types: list[str] = field(default_factory=list)
    min_size: int | None = None
    desired_size: int | None = None
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)


@dataclass
class Database(Node):
    engine: str | None = None
    version: str | None = None
    instance_class: str | None = None
    multi_az: bool | None = None
    backup_retention_days: int | None = None
    security_groups: list[str] = field(default_factory=list)
    subnets: list[str] = field(default_factory=list)


@dataclass
class Msk(Node):
    version: str | None = None
    broker_count: int | None = None
    instance_type: str | None = None
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    client_broker: str | None = None


@dataclass
class LoadBalancer(Node):
    lb_type: str = "application"
    scheme: str | None = None
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    listeners: list[dict] = field(default_factory=list)


@dataclass
class Bucket(Node):
    name: str | None = None
    arn: str = ""
    versioning: str | None = None
    versioning_loc: Loc | None = None
    sse: str | None = None
    kms_key: str | None = None
    encryption_loc: Loc | None = None
    public_access_block: dict | None = None
    public_access_loc: Loc | None = None


@dataclass
class Role(Node):
    name: str | None = None
    trust: list[dict] = field(default_factory=list)       # neutral statements
    statements: list[dict] = field(default_factory=list)  # every attached / inline policy statement


@dataclass
class Repository(Node):
    name: str | None = None


@dataclass
class Peering(Node):
    vpcs: tuple[str | None, str | None] = (None, None)
    routed: bool = False


@dataclass
class Estate:
    """The AWS resources of one IaC stack (see the module docstring)."""

    flavour: str  # terraform | cloudformation
    name: str     # display name of the stack (folder or template)
    vpcs: dict[str, Vpc] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    security_groups: dict[str, SecurityGroup] = field(default_factory=dict)
    clusters: dict[str, EksCluster] = field(default_factory=dict)
    nodegroups: dict[str, NodeGroup] = field(default_factory=dict)
    databases: dict[str, Database] = field(default_factory=dict)
    msk: dict[str, Msk] = field(default_factory=dict)
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    oidc_providers: dict[str, Node] = field(default_factory=dict)
    repositories: dict[str, Repository] = field(default_factory=dict)
    peerings: dict[str, Peering] = field(default_factory=dict)
    by_conf: dict[int, Node] = field(default_factory=dict)

    def add(self, collection: dict, node: Node) -> Node:
        collection[node.key] = node
        if node.conf_id:
            self.by_conf[node.conf_id] = node
        return node

    # ---------------------------------------------------------------- derived facts

    def zone_of(self, subnet: str) -> str | None:
        s = self.subnets.get(subnet)
        return s.zone if s else None

    def vpc_of_subnets(self, subnets: list[str]) -> str | None:
        vpcs = {self.subnets[s].vpc for s in subnets if s in self.subnets and self.subnets[s].vpc}
        return sorted(vpcs)[0] if len(vpcs) == 1 else (None if not vpcs else "|".join(sorted(vpcs)))

    def vpc_of_groups(self, groups: list[str]) -> str | None:
        vpcs = {self.security_groups[g].vpc for g in groups if g in self.security_groups and self.security_groups[g].vpc}
        return sorted(vpcs)[0] if len(vpcs) == 1 else None

    def groups(self, keys: list[str]) -> list[dict]:
        out = []
        for k in keys:
            sg = self.security_groups.get(k)
            out.append(sg.neutral() if sg else {"id": k, "resource": k, "ingress": []})
        return out

    def node_security_groups(self) -> list[str]:
        """Security groups the EKS worker nodes are in."""
        found: list[str] = []
        for ng in self.nodegroups.values():
            found += ng.security_groups
            if not ng.security_groups:
                cluster = self.clusters.get(ng.cluster or "")
                if cluster:
                    found.append(cluster.cluster_security_group)
        return sorted(set(found))

    def node_cidrs(self) -> list[str]:
        cidrs = []
        for ng in self.nodegroups.values():
            for s in ng.subnets:
                sub = self.subnets.get(s)
                if sub and sub.cidr:
                    cidrs.append(sub.cidr)
        return sorted(set(cidrs))

    def peered_vpcs(self, vpc: str | None) -> list[str]:
        out = []
        for p in self.peerings.values():
            if p.routed and vpc in p.vpcs:
                out += [v for v in p.vpcs if v and v != vpc]
        return out


@dataclass
class K8sObject:
    kind: str
    namespace: str
    name: str
    body: dict
    loc: Loc
    conf_id: int = 0

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    @property
    def resource(self) -> str:
        return str(self.loc)


@dataclass
class K8sStack:
    """The Kubernetes objects of one rendered chart or one folder/file of manifests."""

    flavour: str  # helm | kubernetes
    name: str
    namespace: str
    objects: list[K8sObject] = field(default_factory=list)
    by_conf: dict[int, K8sObject] = field(default_factory=dict)
    values: Any = None  # the merged values (asbuilt.static.values.Values) of a rendered chart
    location: str = ""  # the chart's Chart.yaml or the first manifest file (where stack-wide findings point)
