"""The reference AWS estate, provisioned with boto3 into an AWS endpoint (the sandbox's moto).

One definition of the conforming deployment (the same facts as examples/reference/): the
``Reference`` dataclass holds every fact a control looks at; a drift (asbuilt_sandbox/drifts.py)
changes some of those facts before provisioning. Only the sandbox and the project's tests call
this module: it WRITES, and only to the endpoint it is given.

Into LocalStack community (``asbuilt sandbox up --aws localstack``) the same definition goes where
LocalStack can hold it: the services it answers HTTP 501 for (EKS, RDS, MSK, ELBv2, ECR) are
skipped, keep the reference's names in the returned identifiers and are listed in
``not_emulated`` (the EKS cluster's OIDC issuer is then ``FALLBACK_ISSUER``).

What moto cannot represent is recorded in ``MOTO_GAPS`` and surfaces in the sandbox README
and the evidence of the controls concerned; the suite never turns a gap into a pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions as bce

from asbuilt.probes.aws import not_emulated_service

REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
NAME = "conncentric"
ACCOUNT = "123456789012"  # moto's default account
NAMESPACE = "conncentric"
INSTALLER_SA = "conncentric-installer"

MOTO_GAPS = {
    "kafka:GetBootstrapBrokers": "not implemented: bootstrap brokers come from the target file",
    "kafka:ListNodes": "not implemented: broker AZs are derived from the client subnets' AZs",
    "kafka:CreateClusterV2": "drops EncryptionInfo: the sandbox creates MSK with CreateCluster (v1)",
    "iam:SimulatePrincipalPolicy": "not implemented: effective permissions are evaluated from the policy documents",
    "s3:presigned-urls": "moto does not check pre-signed URL signatures or expiry: IAM-06 reads X-Amz-Expires",
    "eks:nodegroup-release": "node group releaseVersion is fixed by moto; VER-01 reads the cluster version",
}


@dataclass
class Reference:
    """The conforming facts. Drifts change these before provisioning."""

    # versions and sizing
    eks_version: str = "1.31"
    nodegroup_instance_types: list[str] = field(default_factory=lambda: ["m6i.xlarge"])
    nodegroup_scaling: dict[str, int] = field(default_factory=lambda: {"minSize": 2, "maxSize": 6, "desiredSize": 3})
    nodegroup_zones: tuple[str, ...] = ZONES
    rds_engine: str = "postgres"
    rds_version: str = "16.3"
    rds_class: str = "db.r6g.large"
    rds_multi_az: bool = True
    rds_backup_days: int = 7
    rds_in_own_vpc: bool = False  # NET-08 drift: the database in a second, unpeered VPC
    msk_version: str = "3.6.0"
    msk_broker_type: str = "kafka.m5.large"
    msk_brokers: int = 3
    msk_zones: tuple[str, ...] = ZONES
    msk_client_broker: str = "TLS"
    alb_scheme: str = "internal"
    alb_zones: tuple[str, ...] = ZONES
    alb_http_redirects: bool = True
    # security groups: extra ingress rules and removals, in EC2 IpPermissions form
    rds_sg_extra: list[dict] = field(default_factory=list)
    msk_sg_extra: list[dict] = field(default_factory=list)
    rds_sg_admits_nodes: bool = True
    msk_sg_admits_nodes: bool = True
    # IAM
    installer_policy_statements: list[dict] | None = None  # None: the seed's exact policy
    installer_trust_sub: str = f"system:serviceaccount:{NAMESPACE}:{INSTALLER_SA}"
    installer_trust_operator: str = "StringEquals"
    installer_extra_policy_statements: list[dict] | None = None  # IAM-05 drift: a second policy
    bundle_policy_on_node_role: bool = False
    # storage and registry
    bucket_versioning: bool = True
    bucket_encryption: str = "aws:kms"  # or AES256
    bucket_public_access_block: bool = True
    ecr_repositories: tuple[str, ...] = ("orchestrator", "adapter", "portal")
    tags: dict[str, str] = field(default_factory=lambda: {"Project": NAME, "ManagedBy": "asbuilt-sandbox"})

    @property
    def bucket(self) -> str:
        return f"{NAME}-bundles-sandbox"


def client(service: str, endpoint_url: str, **kw):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint_url, **kw)


def _tags(ref: Reference) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in ref.tags.items()]


def seed_installer_policy(bucket: str, key_arn: str) -> list[dict]:
    """The seed's 'Custom Bundle S3 IAM Policy', exactly."""
    return [
        {"Sid": "AllowBundleDownload", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "AllowBucketListing", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Sid": "AllowKMSDecrypt", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": key_arn},
    ]


# The OIDC issuer the trust policy names when the endpoint has no EKS to issue one (LocalStack
# community): the installer role and its trust are still provisioned and checked.
FALLBACK_ISSUER = f"https://oidc.eks.{REGION}.amazonaws.com/id/ASBUILTSANDBOXNOEKS000000000000"


def _offered(service: str, skipped: dict[str, str], fn, default=None):
    """``fn()``, or ``default`` when the endpoint answers that it does not emulate ``service``
    (LocalStack's 501): that part of the estate is left out and recorded in ``skipped``."""
    try:
        return fn()
    except bce.ClientError as exc:
        svc = not_emulated_service(exc, service)
        if not svc:
            raise
        skipped[service] = f"the endpoint does not emulate {svc} (HTTP 501 from LocalStack)"
        return default


def provision(endpoint_url: str, ref: Reference | None = None, **client_kw) -> dict[str, Any]:
    """Create the whole estate; returns the identifiers a target file needs.

    Against an endpoint that does not emulate a service (LocalStack community edition: EKS, RDS,
    MSK, ELBv2, ECR answer HTTP 501) that part is skipped, its identifiers are None and the
    service is listed in ``not_emulated``; every other part is provisioned as on moto."""
    ref = ref or Reference()
    tags = _tags(ref)
    skipped: dict[str, str] = {}

    def aws(service: str):
        return client(service, endpoint_url, **client_kw)
    ec2 = aws("ec2")

    def make_vpc(cidr_prefix: str) -> tuple[str, dict[str, str]]:
        vpc = ec2.create_vpc(CidrBlock=f"{cidr_prefix}.0.0/16",
                             TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])["Vpc"]["VpcId"]
        subnets = {}
        for i, az in enumerate(ZONES, start=1):
            subnets[az] = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr_prefix}.{i}.0/24", AvailabilityZone=az,
                                            TagSpecifications=[{"ResourceType": "subnet", "Tags": tags}],
                                            )["Subnet"]["SubnetId"]
        return vpc, subnets

    vpc, subnets = make_vpc("10.0")
    public = {az: ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{100 + i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
              for i, az in enumerate(ZONES, start=1)}

    def sg(name: str, vpc_id: str, desc: str) -> str:
        return ec2.create_security_group(GroupName=f"{NAME}-{name}", Description=desc, VpcId=vpc_id,
                                         TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
                                         )["GroupId"]

    node_sg = sg("eks-nodes", vpc, "EKS managed node group")
    db_vpc, db_subnets = (make_vpc("10.1") if ref.rds_in_own_vpc else (vpc, subnets))
    rds_sg = sg("rds", db_vpc, "platform database")
    msk_sg = sg("msk", vpc, "MSK brokers")
    alb_sg = sg("alb", vpc, "ALB")

    def admit(group: str, port: int, from_group: str | None, cidrs: list[str] | None = None) -> None:
        perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
        if from_group:
            perm["UserIdGroupPairs"] = [{"GroupId": from_group, "Description": "EKS nodes"}]
        if cidrs:
            perm["IpRanges"] = [{"CidrIp": c} for c in cidrs]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[perm])

    if ref.rds_sg_admits_nodes:
        if ref.rds_in_own_vpc:  # cannot reference a group of another, unpeered VPC: the node subnets' CIDRs
            admit(rds_sg, 5432, None, [f"10.0.{i}.0/24" for i in range(1, 4)])
        else:
            admit(rds_sg, 5432, node_sg)
    if ref.msk_sg_admits_nodes:
        admit(msk_sg, 9094, node_sg)
    if ref.rds_sg_extra:
        ec2.authorize_security_group_ingress(GroupId=rds_sg, IpPermissions=ref.rds_sg_extra)
    if ref.msk_sg_extra:
        ec2.authorize_security_group_ingress(GroupId=msk_sg, IpPermissions=ref.msk_sg_extra)
    ec2.authorize_security_group_ingress(GroupId=alb_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]} for p in (443, 80)
    ])

    # -- IAM: cluster role, node role, OIDC provider, installer role (IRSA) + policy -------------
    iam = aws("iam")

    def role(name: str, trust: dict) -> str:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                               Tags=tags)["Role"]["Arn"]

    def service_trust(service: str) -> dict:
        return {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}

    cluster_role = role(f"{NAME}-eks-cluster", service_trust("eks.amazonaws.com"))
    node_role_name = f"{NAME}-eks-node"
    node_role = role(node_role_name, service_trust("ec2.amazonaws.com"))

    eks = aws("eks")
    cluster = _offered("eks", skipped, lambda: eks.create_cluster(
        name=NAME, version=ref.eks_version, roleArn=cluster_role,
        resourcesVpcConfig={"subnetIds": list(subnets.values()), "securityGroupIds": [node_sg]}, tags=ref.tags,
    )["cluster"])
    issuer = cluster["identity"]["oidc"]["issuer"] if cluster else FALLBACK_ISSUER
    issuer_host = issuer.removeprefix("https://")
    oidc_arn = iam.create_open_id_connect_provider(
        Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
    )["OpenIDConnectProviderArn"]
    nodegroup = eks.create_nodegroup(
        clusterName=NAME, nodegroupName=f"{NAME}-nodes", nodeRole=node_role,
        subnets=[subnets[az] for az in ref.nodegroup_zones], instanceTypes=ref.nodegroup_instance_types,
        scalingConfig=ref.nodegroup_scaling, version=ref.eks_version, tags=ref.tags,
    )["nodegroup"] if cluster else None

    kms = aws("kms")
    key_arn = kms.create_key(Description="conncentric bundle bucket", Tags=[
        {"TagKey": k, "TagValue": v} for k, v in ref.tags.items()])["KeyMetadata"]["Arn"]

    installer_role_name = f"{NAME}-installer-s3-read"
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": oidc_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {ref.installer_trust_operator: {
            f"{issuer_host}:sub": ref.installer_trust_sub,
            f"{issuer_host}:aud": "sts.amazonaws.com",
        }},
    }]}
    installer_role = role(installer_role_name, trust)
    statements = ref.installer_policy_statements or seed_installer_policy(ref.bucket, key_arn)
    statements = json.loads(json.dumps(statements).replace("{bucket}", ref.bucket).replace("{key_arn}", key_arn))
    policy_arn = iam.create_policy(
        PolicyName=f"{NAME}-bundle-read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=installer_role_name, PolicyArn=policy_arn)
    if ref.installer_extra_policy_statements:
        extra_doc = json.dumps({"Version": "2012-10-17", "Statement": ref.installer_extra_policy_statements})
        extra_doc = extra_doc.replace("{bucket}", ref.bucket).replace("{key_arn}", key_arn)  # as for the main policy
        extra = iam.create_policy(PolicyName=f"{NAME}-installer-extra", PolicyDocument=extra_doc)["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=installer_role_name, PolicyArn=extra)
    if ref.bundle_policy_on_node_role:
        iam.attach_role_policy(RoleName=node_role_name, PolicyArn=policy_arn)

    # -- RDS ------------------------------------------------------------------------------
    def make_rds() -> dict:
        rds = aws("rds")
        rds.create_db_subnet_group(DBSubnetGroupName=f"{NAME}-db", DBSubnetGroupDescription="platform database",
                                   SubnetIds=list(db_subnets.values()))
        db = rds.create_db_instance(
            DBInstanceIdentifier=f"{NAME}-db", Engine=ref.rds_engine, EngineVersion=ref.rds_version,
            DBInstanceClass=ref.rds_class, MultiAZ=ref.rds_multi_az, BackupRetentionPeriod=ref.rds_backup_days,
            AllocatedStorage=100, MasterUsername="conncentric", ManageMasterUserPassword=True,
            DBSubnetGroupName=f"{NAME}-db", VpcSecurityGroupIds=[rds_sg], DBName="conncentric", Port=5432,
            StorageEncrypted=True, Tags=tags,
        )["DBInstance"]
        return db

    db = _offered("rds", skipped, make_rds)

    # -- MSK (CreateCluster v1: v2 drops EncryptionInfo in moto) ----------------------------
    def make_msk() -> dict:
        kafka = aws("kafka")
        msk = kafka.create_cluster(
            ClusterName=f"{NAME}-msk", KafkaVersion=ref.msk_version, NumberOfBrokerNodes=ref.msk_brokers,
            BrokerNodeGroupInfo={"InstanceType": ref.msk_broker_type, "ClientSubnets": [subnets[az] for az in ref.msk_zones],
                                 "SecurityGroups": [msk_sg]},
            EncryptionInfo={"EncryptionInTransit": {"ClientBroker": ref.msk_client_broker, "InCluster": True}},
            Tags=ref.tags,
        )
        return msk

    msk = _offered("kafka", skipped, make_msk)

    # -- ALB + listeners (what the AWS Load Balancer Controller provisions from the Ingress) --
    def make_alb() -> dict:
        elb = aws("elbv2")
        alb_subnets = [subnets[az] for az in ref.alb_zones] if ref.alb_scheme == "internal" else [public[az] for az in ref.alb_zones]
        lb = elb.create_load_balancer(Name=f"{NAME}-alb", Subnets=alb_subnets, Scheme=ref.alb_scheme,
                                      Type="application", SecurityGroups=[alb_sg], Tags=tags)["LoadBalancers"][0]
        tg = elb.create_target_group(Name=f"{NAME}-portal", Protocol="HTTP", Port=8080, VpcId=vpc,
                                     TargetType="ip")["TargetGroups"][0]
        cert = aws("acm").request_certificate(DomainName="conncentric.sandbox.internal")["CertificateArn"]
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
                            Certificates=[{"CertificateArn": cert}], SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        http_action = ({"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
                       if ref.alb_http_redirects else {"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]})
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[http_action])
        return lb

    lb = _offered("elbv2", skipped, make_alb)

    # -- S3 bundle bucket + KMS ----------------------------------------------------------------
    s3 = aws("s3")
    s3.create_bucket(Bucket=ref.bucket)
    if ref.bucket_versioning:
        s3.put_bucket_versioning(Bucket=ref.bucket, VersioningConfiguration={"Status": "Enabled"})
    rule: dict[str, Any] = {"SSEAlgorithm": ref.bucket_encryption}
    if ref.bucket_encryption == "aws:kms":
        rule["KMSMasterKeyID"] = key_arn
    s3.put_bucket_encryption(Bucket=ref.bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": rule, "BucketKeyEnabled": True}]})
    if ref.bucket_public_access_block:
        s3.put_public_access_block(Bucket=ref.bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    else:
        # New buckets have all four blocks on by default (AWS since April 2023, and LocalStack;
        # moto makes none): the drift removes them, as an operator who opened the bucket would.
        try:
            s3.delete_public_access_block(Bucket=ref.bucket)
        except bce.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchPublicAccessBlockConfiguration":
                raise
    s3.put_bucket_tagging(Bucket=ref.bucket, Tagging={"TagSet": tags})

    # -- ECR, logs -------------------------------------------------------------------------------
    ecr = aws("ecr")

    def make_ecr() -> list[str]:
        for repo in ref.ecr_repositories:
            ecr.create_repository(repositoryName=repo, imageScanningConfiguration={"scanOnPush": True},
                                  imageTagMutability="IMMUTABLE", tags=tags)
        return list(ref.ecr_repositories)

    repos = _offered("ecr", skipped, make_ecr)
    logs = aws("logs")
    log_group = f"/{NAME}/installer"
    logs.create_log_group(logGroupName=log_group, tags=ref.tags)

    return {
        "account": aws("sts").get_caller_identity()["Account"],  # moto's 123456789012, LocalStack's 000000000000
        "region": REGION,
        "vpc_id": vpc,
        "subnets": subnets,
        "node_security_group": node_sg,
        "rds_security_group": rds_sg,
        "msk_security_group": msk_sg,
        # a service the endpoint does not emulate keeps the reference's names (listed in
        # not_emulated): a target names what should be there, and the endpoint's 501 answers for it
        "eks_cluster": cluster["name"] if cluster else NAME,
        "eks_nodegroup": nodegroup["nodegroupName"] if nodegroup else f"{NAME}-nodes",
        "oidc_issuer": issuer,
        "oidc_provider_arn": oidc_arn,
        "node_role": node_role_name,
        "installer_role": installer_role_name,
        "installer_role_arn": installer_role,
        "installer_policy_arn": policy_arn,
        "kms_key_arn": key_arn,
        "bundle_bucket": ref.bucket,
        "rds_instance": db["DBInstanceIdentifier"] if db else f"{NAME}-db",
        "msk_cluster_arn": msk["ClusterArn"] if msk else f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/{NAME}-msk/not-provisioned",
        "msk_cluster": f"{NAME}-msk",
        "alb_arn": lb["LoadBalancerArn"] if lb else None,
        "alb": lb["LoadBalancerName"] if lb else f"{NAME}-alb",
        "ecr_repositories": repos or list(ref.ecr_repositories),
        "not_emulated": dict(sorted(skipped.items())),
        "installer_log_group": log_group,
    }
