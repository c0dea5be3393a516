"""The reference AWS estate, provisioned with boto3 into an AWS endpoint (the sandbox's moto).

One definition of the conforming deployment (the same facts as examples/reference/), and
the named drifts that each break exactly the controls they list. Only the sandbox and the
project's tests call this: it WRITES, and only to the endpoint it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
NAME = "conncentric"


@dataclass
class Reference:
    """The conforming facts. Drifts change these before provisioning."""

    eks_version: str = "1.31"
    rds_engine: str = "postgres"
    rds_version: str = "16.3"
    rds_class: str = "db.r6g.large"
    rds_multi_az: bool = True
    rds_backup_days: int = 7
    tags: dict[str, str] = field(default_factory=lambda: {"Project": NAME, "ManagedBy": "asbuilt-sandbox"})


def client(service: str, endpoint_url: str):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint_url)


def provision(endpoint_url: str, ref: Reference | None = None) -> dict[str, Any]:
    """Create the estate; returns the identifiers a target file needs."""
    ref = ref or Reference()
    tags = [{"Key": k, "Value": v} for k, v in ref.tags.items()]
    ec2 = client("ec2", endpoint_url)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])["Vpc"]
    subnets = [
        ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        for i, az in enumerate(ZONES, start=1)
    ]
    iam = client("iam", endpoint_url)
    cluster_role = iam.create_role(
        RoleName=f"{NAME}-eks-cluster",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
        '{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    )["Role"]
    eks = client("eks", endpoint_url)
    cluster = eks.create_cluster(
        name=NAME, version=ref.eks_version, roleArn=cluster_role["Arn"],
        resourcesVpcConfig={"subnetIds": subnets}, tags=ref.tags,
    )["cluster"]
    rds = client("rds", endpoint_url)
    rds.create_db_subnet_group(DBSubnetGroupName=f"{NAME}-db", DBSubnetGroupDescription="platform database",
                               SubnetIds=subnets)
    db = rds.create_db_instance(
        DBInstanceIdentifier=f"{NAME}-db", Engine=ref.rds_engine, EngineVersion=ref.rds_version,
        DBInstanceClass=ref.rds_class, MultiAZ=ref.rds_multi_az, BackupRetentionPeriod=ref.rds_backup_days,
        AllocatedStorage=100, MasterUsername="conncentric", ManageMasterUserPassword=True,
        DBSubnetGroupName=f"{NAME}-db", Tags=tags,
    )["DBInstance"]
    return {"vpc_id": vpc["VpcId"], "subnets": subnets, "eks_cluster": cluster["name"],
            "rds_instance": db["DBInstanceIdentifier"]}
