"""Named drifts: each injects one violation into the sandbox and lists the controls it breaks.

A drift changes facts of the reference before the sandbox is provisioned: the AWS estate
(``aws`` = fields of ``aws_reference.Reference``), the platform topics (``kafka``), the helm
values and Kubernetes objects (``kube``), the reference installer (``installer_fault``). The
project's tests bring the sandbox up with one drift and assert that exactly ``controls`` fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asbuilt.errors import InputError


@dataclass(frozen=True)
class Drift:
    name: str
    controls: tuple[str, ...]
    description: str
    aws: dict[str, Any] = field(default_factory=dict)
    kafka: dict[str, Any] = field(default_factory=dict)
    kube: dict[str, Any] = field(default_factory=dict)
    installer_fault: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "controls": list(self.controls), "description": self.description}


def _tcp(port: int, cidr: str | None = None, v6: str | None = None) -> dict:
    perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if cidr:
        perm["IpRanges"] = [{"CidrIp": cidr, "Description": "drift"}]
    if v6:
        perm["Ipv6Ranges"] = [{"CidrIpv6": v6, "Description": "drift"}]
    return perm


DRIFTS: list[Drift] = [
    # versions and sizing
    Drift("eks-old-version", ("VER-01",), "EKS control plane on Kubernetes 1.29", aws={"eks_version": "1.29"}),
    Drift("rds-old-postgres", ("VER-02",), "RDS PostgreSQL 14", aws={"rds_version": "14.10"}),
    Drift("rds-mysql", ("VER-02",), "the platform database is MySQL, not PostgreSQL",
          aws={"rds_engine": "mysql", "rds_version": "8.0.35"}),
    Drift("msk-old-kafka", ("VER-03",), "MSK on Apache Kafka 3.4", aws={"msk_version": "3.4.0"}),
    Drift("nodegroup-small-instances", ("SIZE-01",), "node group on m6i.large (below m6i.xlarge)",
          aws={"nodegroup_instance_types": ["m6i.large"]}),
    Drift("rds-small-class", ("SIZE-02",), "RDS on db.t3.medium (below db.r6g.large)", aws={"rds_class": "db.t3.medium"}),
    Drift("msk-small-brokers", ("SIZE-03",), "MSK brokers kafka.t3.small", aws={"msk_broker_type": "kafka.t3.small"}),
    # high availability
    Drift("rds-single-az", ("HA-01",), "RDS MultiAZ off", aws={"rds_multi_az": False}),
    Drift("rds-no-backups", ("HA-02",), "RDS automated backups off (retention 0)", aws={"rds_backup_days": 0}),
    Drift("msk-two-zones", ("HA-03",), "MSK with 2 brokers in 2 availability zones",
          aws={"msk_brokers": 2, "msk_zones": ("us-east-1a", "us-east-1b")}),
    Drift("nodegroup-single-az", ("HA-04",), "node group subnets all in us-east-1a",
          aws={"nodegroup_zones": ("us-east-1a",)}),
    Drift("nodegroup-one-node", ("HA-04", "SIZE-01"), "node group min/desired size 1",
          aws={"nodegroup_scaling": {"minSize": 1, "maxSize": 3, "desiredSize": 1}}),
    Drift("alb-single-az", ("HA-06",), "ALB in one availability zone", aws={"alb_zones": ("us-east-1a",)}),
    # networking
    Drift("sg-rds-open-world", ("NET-03", "NET-05"), "RDS security group admits 5432 from 0.0.0.0/0",
          aws={"rds_sg_extra": [_tcp(5432, "0.0.0.0/0")]}),
    Drift("sg-msk-open-world-v6", ("NET-03",), "MSK security group admits 9094 from ::/0",
          aws={"msk_sg_extra": [_tcp(9094, v6="::/0")]}),
    Drift("sg-rds-no-node-access", ("NET-01", "NET-04"), "RDS security group no longer admits the EKS nodes",
          aws={"rds_sg_admits_nodes": False}),
    Drift("sg-msk-no-node-access", ("NET-02", "NET-04"), "MSK security group no longer admits the EKS nodes",
          aws={"msk_sg_admits_nodes": False}),
    Drift("sg-msk-extra-port", ("NET-03",), "MSK security group also admits TCP 22 from the node subnet",
          aws={"msk_sg_extra": [_tcp(22, "10.0.1.0/24")]}),
    Drift("alb-internet-facing", ("NET-06",), "ALB scheme internet-facing (declared posture: internal)",
          aws={"alb_scheme": "internet-facing"}),
    Drift("alb-http-forwards", ("NET-06",), "ALB port 80 forwards instead of redirecting to HTTPS",
          aws={"alb_http_redirects": False}),
    Drift("msk-plaintext", ("NET-07",), "MSK client-broker encryption TLS_PLAINTEXT",
          aws={"msk_client_broker": "TLS_PLAINTEXT"}),
    Drift("rds-other-vpc", ("NET-08", "NET-01"), "RDS in a second VPC that is not peered with the cluster's",
          aws={"rds_in_own_vpc": True}),
    # IAM
    Drift("installer-policy-wildcard", ("IAM-01", "IAM-05"), "installer policy grants s3:* on *",
          aws={"installer_policy_statements": [
              {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    Drift("installer-trust-any-sa", ("IAM-03",), "installer trust allows any service account of the namespace",
          aws={"installer_trust_operator": "StringLike",
               "installer_trust_sub": "system:serviceaccount:conncentric:*"}),
    Drift("bundle-policy-on-node-role", ("IAM-04",), "bundle policy also attached to the EKS node role",
          aws={"bundle_policy_on_node_role": True}),
    Drift("installer-can-write", ("IAM-05",), "a second policy lets the installer role write and delete bundles",
          aws={"installer_extra_policy_statements": [
              {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
               "Resource": "arn:aws:s3:::{bucket}/*"}]}),
    # storage and registry
    Drift("bucket-unversioned", ("S3-01", "BNDL-02"), "bundle bucket versioning not enabled", aws={"bucket_versioning": False}),
    Drift("bucket-sse-s3", ("S3-02",), "bundle bucket default encryption SSE-S3 (AES256)",
          aws={"bucket_encryption": "AES256"}),
    Drift("bucket-public-access", ("S3-02",), "bundle bucket without a public access block",
          aws={"bucket_public_access_block": False}),
    Drift("ecr-missing-portal", ("ECR-01",), "no ECR repository for portal",
          aws={"ecr_repositories": ("orchestrator", "adapter")}),
]

BY_NAME = {d.name: d for d in DRIFTS}


def resolve(names: list[str]) -> list[Drift]:
    out = []
    for name in names:
        if name not in BY_NAME:
            raise InputError(f"unknown drift {name!r} (see `asbuilt sandbox drifts`)")
        out.append(BY_NAME[name])
    return out
