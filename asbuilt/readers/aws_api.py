"""The live AWS reader: the estate model from the AWS API, through the probe (which fetches each
object once per run, read-only, inside allowed_networks).

It fills the same model objects the Terraform and CloudFormation readers fill (``Database``,
``SecurityGroup`` with its rules in the neutral form of asbuilt.rules.network, ``EksCluster``,
``NodeGroup``, ``Msk``, ``Subnet``, ``LoadBalancer`` with its listeners, ``Bucket``, ``Role``
with its policies' statements in the neutral form of asbuilt.rules.iam, ``Repository``,
``Peering``), so a control's evidence slice (asbuilt.static.facts) and its unit
(asbuilt.controls) read the deployment exactly as they read the code: a live step is
``decide("HA-04", live_estate.clusters())``. An object's location is its ARN (``Loc.api``).

Each part is read once per run, when a control first asks for it (``_done``; a part whose read
failed is asked again, and the probe answers from its record of the failure); the probe below
fetches each AWS object once and batches subnets and security groups. Four IAM controls judge
what only the API gives (the policy the target names, the cluster's OIDC provider, the node
role, the simulator's decisions): their slices (``installer_policy``, ``installer_trust``,
``node_roles``, ``installer_access``) give the unit's items, built from the same ``Role`` and
``Bucket`` objects.
"""

from __future__ import annotations

from typing import Any

from asbuilt.probes import ProbeError
from asbuilt.probes.aws import NotEmulated
from asbuilt.rules.iam_eval import normalise
from asbuilt.static.estate import (Bucket, Database, EksCluster, Estate, LoadBalancer, Loc, Msk, Node, NodeGroup,
                                   Peering, Repository, Role, SecurityGroup, Subnet)

PUBLIC_ACCESS_KEYS = {"BlockPublicAcls": "block_public_acls", "BlockPublicPolicy": "block_public_policy",
                      "IgnorePublicAcls": "ignore_public_acls", "RestrictPublicBuckets": "restrict_public_buckets"}


def neutral_rules(aws: Any, group: dict) -> list[dict]:
    """An EC2 security group's ingress permissions in the neutral form, as AWS evaluates them:
    prefix lists resolved to their CIDRs (and kept by id), "-1" all traffic."""
    gid = group["GroupId"]
    out = []
    for perm in group.get("IpPermissions", []) or []:
        proto = str(perm.get("IpProtocol", "-1")).lower()
        v4 = [r["CidrIp"] for r in perm.get("IpRanges", []) or [] if r.get("CidrIp")]
        v6 = [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", []) or [] if r.get("CidrIpv6")]
        lists = [p["PrefixListId"] for p in perm.get("PrefixListIds", []) or [] if p.get("PrefixListId")]
        for pl in lists:
            for cidr in aws.prefix_list_cidrs(pl):
                (v6 if ":" in cidr else v4).append(cidr)
        all_traffic = proto in ("-1", "all")
        out.append({
            "resource": gid, "protocol": proto,
            "from_port": None if all_traffic else perm.get("FromPort"),
            "to_port": None if all_traffic else perm.get("ToPort"),
            "cidrs_v4": v4, "cidrs_v6": v6,
            "groups": [p.get("GroupId") for p in perm.get("UserIdGroupPairs", []) or [] if p.get("GroupId")],
            "prefix_lists": lists,
        })
    return out


def _node(cls: type, ident: str, **fields: Any) -> Any:
    return cls(key=ident, loc=Loc.api(ident), **fields)


def listener_facts(li: dict) -> dict:
    """An ALB listener (the probe's shape) in the neutral form NET-06 reads: its action is the
    first default action's, unless an HTTP listener has a rule that does anything but redirect
    to HTTPS (then port 80 does not only redirect)."""
    actions = li["default_actions"]
    first = actions[0] if actions else {}
    action, redirect = first.get("type"), (first.get("redirect") or {}).get("protocol")
    if li["protocol"] == "HTTP":
        for a in [a for r in li["rules"] for a in r["actions"]]:
            if a["type"] != "redirect" or (a.get("redirect") or {}).get("protocol") != "HTTPS":
                action, redirect = a["type"], (a.get("redirect") or {}).get("protocol")
                break
    return {"resource": li["arn"], "port": li["port"], "protocol": li["protocol"], "action": action,
            "redirect_protocol": redirect, "certificates": li["certificates"], "rules": len(li["rules"])}


def _policy(p: dict) -> dict:
    return {"kind": p["kind"], "arn": p["arn"], "name": p.get("name"),
            "statements": normalise(p["document"], p["arn"])}


class AwsApiReader:
    """Builds (once per run) the parts of the estate a control asks for."""

    def __init__(self, aws: Any):
        self.aws = aws
        self.estate = Estate("aws", "AWS API")
        self._done: set[str] = set()
        self._partial_subnets: set[str] = set()  # known from a load balancer's zones only (no CIDR, no IPv6)

    # -- EC2 ------------------------------------------------------------------------------
    def subnets(self, ids: list[str]) -> None:
        e = self.estate
        want = [i for i in ids if i not in e.subnets or i in self._partial_subnets]
        for sid, s in self.aws.subnets(want).items():
            self._partial_subnets.discard(sid)
            e.add(e.subnets, _node(Subnet, sid, zone=s.get("az"), vpc=s.get("vpc_id"), cidr=s.get("cidr"),
                                   ipv6_cidrs=list(s.get("ipv6_cidrs") or [])))

    def security_groups(self, ids: list[str]) -> None:
        e = self.estate
        for gid, g in self.aws.security_groups([i for i in ids if i not in e.security_groups]).items():
            sg = SecurityGroup(key=gid, loc=Loc.api(g.get("SecurityGroupArn") or gid), vpc=g.get("VpcId"),
                               ingress=neutral_rules(self.aws, g))
            e.security_groups[gid] = sg

    def links(self) -> Estate:
        """The peerings between the VPCs of EKS, RDS and MSK, with whether both sides route
        through them (NET-08, and NET-01/02 for node CIDRs across VPCs). Read only when those
        resources are in more than one VPC."""
        from asbuilt.static.facts import _vpc_of

        e = self.estate
        nodes = [*e.clusters.values(), *e.databases.values(), *e.msk.values()]
        vpcs = sorted({v for v in (_vpc_of(e, n) for n in nodes) if isinstance(v, str) and v})
        if len(vpcs) > 1 and f"links {' '.join(vpcs)}" not in self._done:
            links = self.aws.vpc_links(vpcs)
            for p in links["peerings"]:
                pair = (p["requester"], p["accepter"])
                routed = {r["vpc_id"] for r in links["routes"]
                          if r.get("peering") == p["id"] and r.get("state") != "blackhole"}
                e.add(e.peerings, _node(Peering, p["id"], vpcs=pair,
                                        routed=p["status"] == "active" and set(pair) <= routed))
            self._done.add(f"links {' '.join(vpcs)}")
        return e

    # -- RDS, EKS, MSK ----------------------------------------------------------------------
    def databases(self) -> Estate:
        if "databases" not in self._done:
            e = self.estate
            for db in self.aws.rds_instances():
                e.add(e.databases, _node(
                    Database, db["resource"], engine=db.get("engine"), version=db.get("version"),
                    instance_class=db.get("instance_class"), multi_az=db.get("multi_az"),
                    backup_retention_days=db.get("backup_retention_days"),
                    security_groups=list(db.get("security_groups") or []), vpc=db.get("vpc_id")))
                self.security_groups(db.get("security_groups") or [])
            self._done.add("databases")
        return self.estate

    def clusters(self) -> Estate:
        if "clusters" not in self._done:
            e = self.estate
            for c in self.aws.eks_clusters():
                e.add(e.clusters, _node(EksCluster, c["resource"], version=c.get("version"),
                                        subnets=list(c.get("subnets") or []),
                                        security_groups=list(c.get("security_groups") or []),
                                        vpc=c.get("vpc_id"), node_security_groups=list(c.get("security_groups") or []),
                                        oidc_issuer=c.get("oidc_issuer")))
            for n in self.aws.eks_nodegroups():
                e.add(e.nodegroups, _node(
                    NodeGroup, n["resource"], cluster=n.get("cluster"), instance_types=list(n.get("instance_types") or []),
                    min_size=n.get("min_size"), desired_size=n.get("desired_size"), subnets=list(n.get("subnets") or []),
                    security_groups=list(n.get("launch_template_security_groups") or []), role=n.get("node_role")))
                self.subnets(n.get("subnets") or [])
            self._done.add("clusters")
        return self.estate

    def msk(self) -> Estate:
        if "msk" not in self._done:
            e = self.estate
            for m in self.aws.msk_clusters():
                e.add(e.msk, _node(
                    Msk, m["resource"], version=m.get("version"), broker_count=m.get("brokers"),
                    instance_type=m.get("instance_type"), subnets=list(m.get("client_subnets") or []),
                    security_groups=list(m.get("security_groups") or []), client_broker=m.get("client_broker"),
                    in_cluster=m.get("in_cluster"), vpc=m.get("vpc_id")))
                self.security_groups(m.get("security_groups") or [])
                self.subnets(m.get("client_subnets") or [])
            self._done.add("msk")
        return self.estate

    def broker_spread(self) -> Estate:
        """HA-03: MSK with where its brokers are: kafka:ListNodes where the endpoint answers it,
        else the client subnets (``zones_from`` says which)."""
        self.msk()
        if "broker_spread" not in self._done:
            e = self.estate
            for m in e.msk.values():
                nodes, source = self.aws.msk_nodes(m.key)
                if nodes is not None:
                    subs = self.aws.subnets([n["client_subnet"] for n in nodes])
                    m.broker_nodes = [{**n, "az": subs.get(n["client_subnet"], {}).get("az")} for n in nodes]
                    m.zones_from = "broker nodes (kafka:ListNodes)"
                else:
                    m.zones_from = f"client subnets' availability zones (broker nodes not listed: {source})"
            self._done.add("broker_spread")
        return self.estate

    def data_tier(self) -> Estate:
        """RDS and MSK with their security groups (NET-03)."""
        self.databases()
        return self.msk()

    def database_network(self) -> Estate:
        """RDS and EKS with the nodes' groups and subnets, and the peerings where they are in
        more than one VPC (NET-01)."""
        self.databases()
        self.clusters()
        return self.links()

    def msk_network(self) -> Estate:
        """MSK and EKS with the nodes' groups and subnets, and the peerings (NET-02)."""
        self.msk()
        self.clusters()
        return self.links()

    def placement(self) -> Estate:
        """EKS, RDS and MSK with the peerings between their VPCs (NET-08)."""
        self.clusters()
        self.data_tier()
        return self.links()

    # -- ALB ------------------------------------------------------------------------------
    def load_balancers(self) -> Estate:
        """The application load balancers with their listeners (HA-06), their subnets' zones as
        DescribeLoadBalancers gives them."""
        if "load_balancers" not in self._done:
            e = self.estate
            for b in self.aws.albs(with_listeners=True):
                raw = next((lb for lb in self.aws.albs_raw if lb.get("LoadBalancerArn") == b["resource"]), {})
                zones = {z.get("SubnetId"): z.get("ZoneName") for z in raw.get("AvailabilityZones") or []}
                for sid in b["subnets"]:
                    if sid and sid not in e.subnets:
                        self._partial_subnets.add(sid)
                        e.add(e.subnets, _node(Subnet, sid, zone=zones.get(sid), vpc=b.get("vpc_id")))
                e.add(e.load_balancers, _node(
                    LoadBalancer, b["resource"], lb_type="application", scheme=b.get("scheme"),
                    subnets=[s for s in b["subnets"] if s], security_groups=list(b.get("security_groups") or []),
                    listeners=[listener_facts(li) for li in b.get("listeners", [])], dns_name=b.get("dns_name")))
            self._done.add("load_balancers")
        return self.estate

    def load_balancer_posture(self) -> Estate:
        """The load balancers with their security groups (NET-06)."""
        self.load_balancers()
        self.security_groups([g for lb in self.estate.load_balancers.values() for g in lb.security_groups])
        return self.estate

    # -- S3, ECR ------------------------------------------------------------------------------
    def buckets(self) -> Estate:
        """The bundle bucket the target names (S3-01, S3-02)."""
        if "buckets" not in self._done:
            name = self.aws.resources.bundle_bucket
            if not name:
                raise ProbeError("the target names no bundle bucket (aws.resources.bundle_bucket)")
            e = self.estate
            b = self.aws.bucket(name)
            pab = b.get("public_access_block")
            e.add(e.buckets, _node(
                Bucket, b["resource"], name=b["bucket"], arn=b["resource"], versioning=b["versioning"],
                sse=b["sse_algorithm"], kms_key=b["kms_key_arn"],
                public_access_block={v: pab.get(k) for k, v in PUBLIC_ACCESS_KEYS.items()} if pab is not None else None))
            self._done.add("buckets")
        return self.estate

    def repositories(self) -> Estate:
        """The ECR repositories; only the ones the target names, where it names them (ECR-01)."""
        if "repositories" not in self._done:
            e = self.estate
            wanted = self.aws.resources.ecr_repositories
            for r in self.aws.ecr_repositories_raw:
                name = r["repositoryName"]
                if wanted is not None and not (name in wanted or name.rsplit("/", 1)[-1] in wanted):
                    continue
                e.add(e.repositories, _node(Repository, r["repositoryArn"], name=name, uri=r.get("repositoryUri"),
                                            tag_mutability=r.get("imageTagMutability")))
            self._done.add("repositories")
        return self.estate

    # -- IAM ------------------------------------------------------------------------------
    def role(self, name_or_arn: str) -> Role:
        """A role with its trust and every identity policy, statements in the neutral form."""
        facts = self.aws.role_facts(name_or_arn)
        e = self.estate
        if facts["resource"] not in e.roles:
            policies = [_policy(p) for p in facts["policies"]]
            boundary = facts.get("permissions_boundary")
            e.add(e.roles, _node(
                Role, facts["resource"], name=facts["name"],
                trust=normalise(facts["trust"], f"{facts['resource']} trust policy"),
                statements=[s for p in policies for s in p["statements"]], policies=policies,
                permissions_boundary={"arn": boundary["arn"], "statements": normalise(boundary["document"], boundary["arn"])}
                if boundary else None))
        return e.roles[facts["resource"]]

    def installer_role(self) -> Role:
        name = self.aws.resources.installer_role
        if not name:
            raise ProbeError("the target names no installer role (aws.resources.installer_role)")
        return self.role(name)

    def bundle_bucket(self) -> Bucket | None:
        """The bundle bucket the target names, or None when it names none."""
        if not self.aws.resources.bundle_bucket:
            return None
        self.buckets()
        return next(iter(self.estate.buckets.values()))

    def installer_policy(self) -> list[dict]:
        """IAM-01: the installer policy the target names (other grants of the role are IAM-05's
        business), else every policy of the role, with the bucket it must read."""
        role = self.installer_role()
        b = self.bundle_bucket()
        bucket = {"arn": b.arn, "sse": b.sse, "kms_key_arn": b.kms_key} if b else None
        named = self.aws.resources.installer_policy
        policies = role.policies
        attached = True
        if named:
            policies = [p for p in policies if p["arn"] == named or p.get("name") == named]
            if not policies:
                attached = False
                policies = [_policy({"kind": "managed", **self.aws.managed_policy(named)})] if named.startswith("arn:") else []
            if not policies:
                raise ProbeError(f"the installer policy {named!r} is neither attached to {role.key} nor a policy ARN")
        judged = ((f"the installer policy named by the target ({named})" + ("" if attached else ", NOT attached to the role"))
                  if named else "every policy attached to or inline in the role")
        return [{"resource": role.key, "statements": [s for p in policies for s in p["statements"]], "bucket": bucket,
                 "judged": judged, "policies": [{"kind": p["kind"], "arn": p["arn"]} for p in policies]}]

    def oidc_providers(self) -> list[dict]:
        """The IAM OIDC provider of each EKS cluster: {"cluster", "provider", "exists_in_iam"}."""
        found = []
        for c in self.aws.eks_clusters():
            if c["oidc_issuer"] and c["account"]:
                arn = (f"arn:{c['partition']}:iam::{c['account']}:oidc-provider/"
                       f"{c['oidc_issuer'].removeprefix('https://')}")
                exists = self.aws.oidc_provider(arn) is not None
                if exists and arn not in self.estate.oidc_providers:
                    self.estate.oidc_providers[arn] = _node(Node, arn)
                found.append({"cluster": c["resource"], "provider": arn, "exists_in_iam": exists})
        return found

    def oidc_provider_arns(self) -> list[str] | None:
        """The OIDC provider ARNs of the clusters (whether IAM has them or not), None when no
        cluster gives an issuer: the ones IAM-03 lets the installer's trust name."""
        try:
            return [p["provider"] for p in self.oidc_providers()] or None
        except NotEmulated:
            return None  # installer_trust() says why

    def installer_trust(self) -> list[dict]:
        """IAM-03: the installer role's trust, with the clusters' OIDC providers. Where the
        endpoint does not emulate EKS (LocalStack community) the providers are unknown: the
        item says why, so a trust that breaks the rule on its own still fails and one that
        does not is an error, never a pass."""
        role = self.installer_role()
        try:
            providers = self.oidc_providers()
        except NotEmulated as exc:
            return [{"resource": role.key, "statements": role.trust, "cluster_oidc_providers": [],
                     "oidc_providers_unknown": f"the cluster's OIDC provider is unknown: {exc}"}]
        return [{"resource": role.key, "statements": role.trust, "cluster_oidc_providers": providers}]

    def irsa_configured(self) -> bool:
        """The installer role is assumed through a web identity (IRSA)."""
        return any(s for s in self.installer_role().trust
                   if any(a.lower() == "sts:assumerolewithwebidentity" for a in s["actions"])
                   and s["principals"].get("Federated"))

    def node_roles(self) -> list[dict]:
        """IAM-04: each EKS node role (the target's, else every node group's), whether the bundle
        policy is attached to it and whether its documents let it read a bundle object."""
        from asbuilt.rules import iam_effective

        names = [self.aws.resources.node_role] if self.aws.resources.node_role else sorted(
            {g["node_role"] for g in self.aws.eks_nodegroups() if g.get("node_role")})
        installer = self.installer_role()
        bundle_arns = {p["arn"] for p in installer.policies if p["kind"] == "managed"}
        if self.aws.resources.installer_policy:
            bundle_arns.add(self.aws.resources.installer_policy)
        bucket = self.aws.resources.bundle_bucket
        out = []
        for name in names:
            role = self.role(name)
            attached = [p["arn"] for p in role.policies if p["arn"] in bundle_arns]
            reads, decided = False, None
            if bucket:
                check = iam_effective.bundle_access_checks(bucket)[0]  # s3:GetObject on a bundle object
                decided = iam_effective.decide_from_documents([check], role.statements)[0]
                reads = decided["decision"] in ("allowed", "conditional")
            out.append({"resource": role.key, "bundle_policies": attached, "reads_bundles": reads,
                        "policies": [p["arn"] for p in role.policies],
                        **({"bundle_read_decision": decided} if decided else {})})
        return out

    def installer_access(self) -> list[dict]:
        """IAM-05: what the installer role may do with the bundles and other buckets, decided
        by iam:SimulatePrincipalPolicy where the endpoint implements it, else by the documents."""
        from asbuilt.rules import iam_effective

        bucket = self.aws.resources.bundle_bucket
        if not bucket:
            raise ProbeError("the target names no bundle bucket (aws.resources.bundle_bucket)")
        role = self.installer_role()
        b = self.bundle_bucket()
        checks = iam_effective.bundle_access_checks(bucket, b.kms_key if str(b.sse).startswith("aws:kms") else None)
        actions = sorted({c["action"] for c in checks})
        resources = sorted({c["resource"] for c in checks})
        results, why = self.aws.simulate(role.key, actions, resources)
        if results is not None:
            decided = iam_effective.decide_from_simulation(checks, results)
            method = "iam:SimulatePrincipalPolicy"
        else:
            boundary = role.permissions_boundary["statements"] if role.permissions_boundary else None
            decided = iam_effective.decide_from_documents(checks, role.statements, boundary)
            method = ("policy documents evaluated by asbuilt.rules.iam_eval (identity policies"
                      + (" within the permissions boundary" if boundary is not None else "")
                      + f"; resource policies and SCPs not included) because {why}")
        out = {"resource": role.key, "method": method, "checks": decided}
        if getattr(self.aws, "emulator", None):  # which emulator answered (LocalStack says so in every answer)
            out["answered_by"] = self.aws.emulator
        return [out]
