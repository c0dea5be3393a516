"""The live AWS reader: the estate model from the AWS API, through the probe (which fetches each
object once per run, read-only, inside allowed_networks).

It fills the same model objects the Terraform and CloudFormation readers fill (``Database``,
``SecurityGroup`` with its rules in the neutral form of asbuilt.rules.network, ``EksCluster``,
``NodeGroup``, ``Msk``, ``Subnet``), so a control's evidence slice (asbuilt.static.facts) and its
unit (asbuilt.controls) read the deployment exactly as they read the code. An object's location
is its ARN (``Loc.api``).
"""

from __future__ import annotations

from typing import Any

from asbuilt.static.estate import Database, EksCluster, Estate, Loc, Msk, NodeGroup, SecurityGroup, Subnet


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


def _node(cls: type, arn: str, **fields: Any) -> Any:
    return cls(key=arn, loc=Loc.api(arn), **fields)


class AwsApiReader:
    """Builds (once per run) the parts of the estate a control asks for."""

    def __init__(self, aws: Any):
        self.aws = aws
        self.estate = Estate("aws", "AWS API")
        self._done: set[str] = set()

    def _once(self, part: str) -> bool:
        if part in self._done:
            return False
        self._done.add(part)
        return True

    def subnets(self, ids: list[str]) -> None:
        e = self.estate
        for sid, s in self.aws.subnets([i for i in ids if i not in e.subnets]).items():
            e.add(e.subnets, _node(Subnet, sid, zone=s.get("az"), vpc=s.get("vpc_id"), cidr=s.get("cidr")))

    def security_groups(self, ids: list[str]) -> None:
        e = self.estate
        for gid, g in self.aws.security_groups([i for i in ids if i not in e.security_groups]).items():
            sg = _node(SecurityGroup, gid, vpc=g.get("VpcId"), ingress=neutral_rules(self.aws, g))
            e.security_groups[gid] = sg

    def databases(self) -> Estate:
        if self._once("databases"):
            e = self.estate
            for db in self.aws.rds_instances():
                e.add(e.databases, _node(
                    Database, db["resource"], engine=db.get("engine"), version=db.get("version"),
                    instance_class=db.get("instance_class"), multi_az=db.get("multi_az"),
                    backup_retention_days=db.get("backup_retention_days"),
                    security_groups=list(db.get("security_groups") or [])))
                self.security_groups(db.get("security_groups") or [])
        return self.estate

    def clusters(self) -> Estate:
        if self._once("clusters"):
            e = self.estate
            for c in self.aws.eks_clusters():
                e.add(e.clusters, _node(EksCluster, c["resource"], version=c.get("version"),
                                        subnets=list(c.get("subnets") or []),
                                        security_groups=list(c.get("security_groups") or [])))
            for n in self.aws.eks_nodegroups():
                e.add(e.nodegroups, _node(
                    NodeGroup, n["resource"], cluster=n.get("cluster"), instance_types=list(n.get("instance_types") or []),
                    min_size=n.get("min_size"), desired_size=n.get("desired_size"), subnets=list(n.get("subnets") or []),
                    security_groups=list(n.get("launch_template_security_groups") or [])))
                self.subnets(n.get("subnets") or [])
        return self.estate

    def msk(self) -> Estate:
        if self._once("msk"):
            e = self.estate
            for m in self.aws.msk_clusters():
                e.add(e.msk, _node(
                    Msk, m["resource"], version=m.get("version"), broker_count=m.get("brokers"),
                    instance_type=m.get("instance_type"), subnets=list(m.get("client_subnets") or []),
                    security_groups=list(m.get("security_groups") or []), client_broker=m.get("client_broker")))
                self.security_groups(m.get("security_groups") or [])
                self.subnets(m.get("client_subnets") or [])
        return self.estate
