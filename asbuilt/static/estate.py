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
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from asbuilt.model.facts import Unknown, is_unknown


def display_path(path: str | os.PathLike) -> str:
    """A path as messages show it: relative to the working directory when below it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def _locate(value: Any, where: str) -> Any:
    if isinstance(value, Unknown):
        return value if value.where else replace(value, where=where)
    if isinstance(value, list):
        out = [_locate(v, where) for v in value]
        return value if all(a is b for a, b in zip(out, value)) else out
    if isinstance(value, dict):
        out = {k: _locate(v, str(value.get("resource") or where)) for k, v in value.items()}
        return value if all(out[k] is value[k] for k in value) else out
    return value


NOT_IN_STACK = "(not in this stack)"


@dataclass(frozen=True)
class Loc:
    """Where a model object comes from: file:line (address) for code; for an API object, its
    ARN or id alone (``Loc.api``)."""

    file: str  # display path; "" for an API object
    line: int
    address: str

    @classmethod
    def api(cls, arn: str) -> "Loc":
        return cls("", 0, arn)

    def __str__(self) -> str:
        return f"{self.file}:{self.line} ({self.address})" if self.file else self.address

    def evidence(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "address": self.address} if self.file else {"arn": self.address}


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
    ipv6_cidrs: list[str] = field(default_factory=list)


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
    vpc: str | None = None            # the API gives it (resourcesVpcConfig.vpcId); code: from the subnets
    # The groups the cluster's nodes carry, where the source names them (the API: the additional
    # groups and the cluster security group EKS created); None: the code cannot name the group
    # EKS creates, so it stands as ``cluster_security_group``.
    node_security_groups: list[str] | None = None
    oidc_issuer: str | None = None

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
    role: str | None = None  # the node IAM role (ARN or key)


@dataclass
class Database(Node):
    engine: str | None = None
    version: str | None = None
    instance_class: str | None = None
    multi_az: bool | None = None
    backup_retention_days: int | None = None
    security_groups: list[str] = field(default_factory=list)
    subnets: list[str] = field(default_factory=list)
    vpc: str | None = None  # the API gives it (the subnet group's VpcId)


@dataclass
class Msk(Node):
    version: str | None = None
    broker_count: int | None = None
    instance_type: str | None = None
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    client_broker: str | None = None
    in_cluster: bool | None = None
    vpc: str | None = None
    # Where the brokers are, when the source lists them (kafka:ListNodes): [{"broker_id", "client_subnet",
    # "az", "endpoints"}]; None: only the client subnets are known. ``zones_from`` says which.
    broker_nodes: list[dict] | None = None
    zones_from: str | None = None


@dataclass
class LoadBalancer(Node):
    lb_type: str = "application"
    scheme: str | None = None
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    listeners: list[dict] = field(default_factory=list)
    dns_name: str | None = None


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
    # each policy of the role, where the source names them (the API): {"kind": managed|inline,
    # "arn", "name", "statements"}; and the permissions boundary's statements (None: no boundary)
    policies: list[dict] = field(default_factory=list)
    permissions_boundary: dict | None = None  # {"arn", "statements"}


@dataclass
class Repository(Node):
    name: str | None = None
    uri: str | None = None
    tag_mutability: str | None = None


@dataclass
class Peering(Node):
    vpcs: tuple[str | None, str | None] = (None, None)
    routed: bool = False


@dataclass
class Estate:
    """The AWS resources of one IaC stack (see the module docstring)."""

    flavour: str  # terraform | cloudformation | aws (read from the AWS API)
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
    # module calls whose code is not on disk (registry, git): what they create is not known
    unresolved_modules: list[dict] = field(default_factory=list)
    resolved_modules: list[str] = field(default_factory=list)
    # resources that may or may not be created (a CloudFormation Condition not decidable statically)
    undecided_resources: list[dict] = field(default_factory=list)

    not_created: set[int] = field(default_factory=set)  # ids of checkov's configurations left out (Condition false)

    def not_modelled_database(self, resource: str, rtype: str, file: str, line: int) -> None:
        """An RDS DB cluster (Aurora, Multi-AZ DB cluster): asbuilt models DB instances, so the
        controls over the platform database cannot pass, or skip, on a stack that has one."""
        self._not_modelled(resource, "AWS::RDS::DBInstance", f"the database of {resource} ({rtype})",
                           "an RDS DB cluster, which asbuilt does not model (its engine, version, Multi-AZ, backups and "
                           "security groups are not read)",
                           "asbuilt judges the platform database as an RDS DB instance (AWS::RDS::DBInstance, "
                           "aws_db_instance)", file, line)

    def not_modelled_msk(self, resource: str, rtype: str, file: str, line: int) -> None:
        """An MSK Serverless cluster: no brokers, broker type or Kafka version to read, so the MSK
        controls cannot pass, or skip, on a stack whose Kafka it is."""
        self._not_modelled(resource, "AWS::MSK::Cluster", f"the Kafka cluster of {resource} ({rtype})",
                           "an MSK Serverless cluster, which asbuilt does not model (it has no brokers, broker type, "
                           "zones or Kafka version of its own to read)",
                           "asbuilt judges the platform's Kafka as a provisioned MSK cluster (AWS::MSK::Cluster, "
                           "aws_msk_cluster)", file, line)

    def _not_modelled(self, resource: str, judged_as: str, fact: str, reason: str, hint: str,
                      file: str, line: int) -> None:
        # judged_as: the resource type whose controls this resource makes undecided
        self.undecided_resources.append({"resource": resource, "type": judged_as, "file": file, "line": line,
                                         "fact": fact, "reason": reason, "hint": "; " + hint})

    COLLECTIONS = ("vpcs", "subnets", "security_groups", "clusters", "nodegroups", "databases", "msk",
                   "load_balancers", "buckets", "roles", "oidc_providers", "repositories", "peerings")

    def nodes(self) -> list[Node]:
        return [n for c in self.COLLECTIONS for n in getattr(self, c).values()]

    def locate_unknowns(self) -> None:
        """Give every unknown fact that has no location its node's (file:line (address))."""
        for node in self.nodes():
            for f in fields(node):
                value = getattr(node, f.name)
                located = _locate(value, str(node.loc))
                if located is not value:
                    setattr(node, f.name, located)

    def counts(self) -> dict[str, int]:
        return {c: len(getattr(self, c)) for c in self.COLLECTIONS if getattr(self, c)}

    def add(self, collection: dict, node: Node) -> Node:
        collection[node.key] = node
        if node.conf_id:
            self.by_conf[node.conf_id] = node
        return node

    # ---------------------------------------------------------------- derived facts

    @property
    def absent(self) -> str:
        """How a message says an object the estate does not hold is missing: a stack does not
        define it; the AWS API did not return it."""
        return "not returned by the API" if self.flavour == "aws" else "not defined in this stack"

    def zone_of(self, subnet: Any) -> Any:
        """The subnet's availability zone, or an Unknown saying why it cannot be known."""
        if is_unknown(subnet):
            return subnet
        s = self.subnets.get(subnet)
        if s is None:
            return Unknown(f"subnet {subnet} is {self.absent}, so its availability zone is not known")
        if s.zone is None:
            return Unknown("its availability zone is not set or could not be resolved", str(s.loc))
        return s.zone

    def vpc_of_subnets(self, subnets: list) -> Any:
        """The VPC of a resource's subnets (one: a resource's subnets share a VPC), or Unknown."""
        vpcs: set[str] = set()
        unknown: Unknown | None = None
        for s in subnets:
            if is_unknown(s):
                unknown = unknown if unknown is not None else s
                continue
            sub = self.subnets.get(s)
            if sub is None:
                unknown = unknown if unknown is not None else Unknown(f"subnet {s} is {self.absent}, so its VPC is not known")
            elif is_unknown(sub.vpc):
                unknown = unknown if unknown is not None else sub.vpc
            elif sub.vpc:
                vpcs.add(sub.vpc)
        if vpcs:
            return sorted(vpcs)[0] if len(vpcs) == 1 else "|".join(sorted(vpcs))
        return unknown

    def vpc_of_groups(self, groups: list) -> Any:
        vpcs: set[str] = set()
        unknown: Unknown | None = None
        for g in groups:
            sg = None if is_unknown(g) else self.security_groups.get(g)
            if sg is None:
                unknown = unknown if unknown is not None else (g if is_unknown(g) else None)
            elif is_unknown(sg.vpc):
                unknown = unknown if unknown is not None else sg.vpc
            elif sg.vpc:
                vpcs.add(sg.vpc)
        if len(vpcs) == 1:
            return next(iter(vpcs))
        return None if vpcs else unknown

    def groups(self, keys: list) -> list[dict]:
        """The neutral form of each security group; one whose rules the stack does not give is
        ``{"id", "resource", "unknown": Unknown}`` (rules over it cannot pass on it)."""
        out = []
        # ingress rules whose own group could not be resolved (security_group_id = local.x in a
        # registry module, seen through a plan) may apply to any group of the stack
        stray = [r for g, sg in self.security_groups.items() if is_unknown(g) for r in sg.ingress]
        for k in keys:
            if is_unknown(k):
                out.append({"id": k.expression or "?", "resource": k.where or "?", "ingress": [], "unknown": k})
                continue
            sg = self.security_groups.get(k)
            if sg is not None and sg.loc.file != NOT_IN_STACK:
                out.append(sg.neutral())
                if stray:
                    out[-1]["unknown"] = Unknown(
                        f"which security group the ingress rule {stray[0].get('resource')} belongs to is not known, "
                        "so it may apply to this one", str(sg.loc))
            else:
                out.append({"id": k, "resource": k, "ingress": sg.ingress if sg else [],
                            "unknown": Unknown(f"security group {k} is {self.absent}, so its rules "
                                               "are not known")})
        return out

    def node_security_groups(self) -> list:
        """Security groups the EKS worker nodes are in (Unknown entries where unresolved)."""
        found: list = []
        named = [c for c in self.clusters.values() if c.node_security_groups is not None]
        if named:  # the source names the groups EKS gives the nodes (the API): those, and every launch template's
            for c in named:
                found += c.node_security_groups or []
            for ng in self.nodegroups.values():
                found += ng.security_groups
            return list(dict.fromkeys(g for g in found if isinstance(g, str)))
        for ng in self.nodegroups.values():
            found += ng.security_groups
            if not ng.security_groups:
                cluster = self.clusters.get(ng.cluster) if isinstance(ng.cluster, str) else None
                if cluster:
                    found.append(cluster.cluster_security_group)
                elif is_unknown(ng.cluster):
                    found.append(ng.cluster)
        known = sorted({g for g in found if isinstance(g, str)})
        return known + [g for g in found if is_unknown(g)][:1]

    def node_cidrs(self, data_vpc: Any = None) -> list[str]:
        """The CIDRs of the node subnets (IPv4, then IPv6), where a CIDR rule of a resource in
        ``data_vpc`` can admit them: the nodes in that VPC or in one peered and routed with it.
        Not filtered when either VPC is not known."""
        ids = dict.fromkeys(s for ng in self.nodegroups.values() for s in ng.subnets if isinstance(s, str))
        subs = [self.subnets[s] for s in ids if s in self.subnets]
        node_vpcs = {s.vpc for s in subs if isinstance(s.vpc, str) and s.vpc}
        if isinstance(data_vpc, str) and data_vpc and node_vpcs and data_vpc not in node_vpcs \
                and not any(v in self.peered_vpcs(data_vpc) for v in node_vpcs):
            return []
        cidrs = [s.cidr for s in subs if isinstance(s.cidr, str) and s.cidr]
        v6 = [c for s in subs for c in s.ipv6_cidrs if isinstance(c, str)]
        if self.flavour == "aws":  # in the order the node groups list their subnets, each with its IPv6 blocks
            return [c for s in subs for c in ([s.cidr] if s.cidr else []) + list(s.ipv6_cidrs)]
        return sorted(set(cidrs)) + sorted(set(v6) - set(cidrs))

    def peered_vpcs(self, vpc: Any) -> list[str]:
        if not isinstance(vpc, str):
            return []
        out = []
        for p in self.peerings.values():
            if p.routed and vpc in p.vpcs:
                out += [v for v in p.vpcs if isinstance(v, str) and v and v != vpc]
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
    # kustomizations among the manifests that change them when built (patches, replicas, images,
    # generators, remote resources...): the objects as written are not what is deployed
    unapplied: list[dict] = field(default_factory=list)
