"""One model from every reader: the same resource written in Terraform, in CloudFormation and
read from the AWS API gives equal model objects.

The API side is a real moto server of this test session (``moto_endpoint``: moto in server mode
on 127.0.0.1, not the sandbox), provisioned with the sandbox's reference definition
(asbuilt_sandbox/aws_reference.py) and read over HTTP by the real probe and the AWS API reader.
No Kafka, Kubernetes or network namespace is needed. Compared: the RDS instance, the security
group rules on RDS and MSK, the EKS node group, the MSK cluster, the load balancer, the bundle
bucket, the installer role's policy and trust, and a trust with ``Principal "*"`` and
``NotPrincipal`` written the same way in all three.
"""

from __future__ import annotations

import json
import os

import pytest

from asbuilt.probes.aws import AwsProbe
from asbuilt.readers.aws_api import AwsApiReader
from asbuilt.target import AwsResources, AwsSection
from asbuilt_sandbox import aws_reference
from tests.helpers import reset_moto
from tests.static.helpers import scan
from tests.static.test_one_model import _estates, _rules

# A trust as people write it when they get it wrong: anyone, and everyone but one account.
OPEN_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
    {"Sid": "AllButOne", "Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
     "Action": "sts:AssumeRoleWithWebIdentity",
     "Condition": {"StringEquals": {"oidc.example/id/ABC:sub": "system:serviceaccount:conncentric:conncentric-installer"}}},
]}
OPEN_TF = """
resource "aws_iam_role" "open" {
  name = "open-trust"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "Anyone", Effect = "Allow", Principal = "*", Action = "sts:AssumeRole" },
      { Sid = "AllButOne", Effect = "Allow", NotPrincipal = { AWS = "arn:aws:iam::111122223333:root" },
        Action = "sts:AssumeRoleWithWebIdentity",
        Condition = { StringEquals = { "oidc.example/id/ABC:sub" = "system:serviceaccount:conncentric:conncentric-installer" } } }
    ]
  })
}
"""


@pytest.fixture(scope="module")
def api(moto_endpoint):
    """The reference estate in moto, plus a role with the open trust, read by the AWS API reader."""
    reset_moto(moto_endpoint)
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # moto's: never real ones
    try:
        ids = aws_reference.provision(moto_endpoint)
        aws_reference.client("iam", moto_endpoint).create_role(RoleName="open-trust",
                                                               AssumeRolePolicyDocument=json.dumps(OPEN_TRUST))
        section = AwsSection(region="us-east-1", endpoint_url=moto_endpoint, resources=AwsResources(
            eks_cluster=ids["eks_cluster"], eks_nodegroup=ids["eks_nodegroup"], rds_instance=ids["rds_instance"],
            msk_cluster=ids["msk_cluster_arn"], alb=ids["alb"], bundle_bucket=ids["bundle_bucket"],
            installer_role=ids["installer_role"], installer_policy=ids["installer_policy_arn"],
            node_role=ids["node_role"], ecr_repositories=ids["ecr_repositories"]))
        reader = AwsApiReader(AwsProbe(section, allowed_networks=["127.0.0.0/8"]))
        reader.databases(), reader.clusters(), reader.msk(), reader.load_balancer_posture(), reader.buckets()
        reader.installer_role(), reader.role("open-trust")
        yield reader, ids
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def code(tmp_path_factory):
    return _estates(tmp_path_factory.mktemp("one-model"))


def _plain_statements(statements, names: dict[str, str]) -> list[dict]:
    """Neutral statements without where they are written, with the names that differ by
    construction (the bucket's name, the key's ARN, the OIDC issuer) replaced by what they are."""
    def name(value: str) -> str:
        for real, role in names.items():
            value = value.replace(real, role)
        return value

    out = []
    for s in statements:
        s = {k: v for k, v in s.items() if k != "resource"}
        s["resources"] = [name(r) for r in s["resources"]]
        s["principals"] = {k: [name(p) for p in v] for k, v in s["principals"].items()}
        s["conditions"] = {op: {name(k).rsplit(":", 1)[-1]: v for k, v in cond.items()}
                           for op, cond in s["conditions"].items()}
        out.append(s)
    return out


def test_the_api_gives_the_model_objects_terraform_and_cloudformation_give(api, code):
    reader, _ = api
    e = reader.estate
    tf, cfn = code
    assert e.flavour == "aws"
    for static in (tf, cfn):
        (db_api,), (db_code,) = e.databases.values(), static.databases.values()
        fields = ("engine", "instance_class", "multi_az", "backup_retention_days")
        assert {f: getattr(db_api, f) for f in fields} == {f: getattr(db_code, f) for f in fields}
        assert db_api.version.split(".")[0] == db_code.version.split(".")[0]  # both PostgreSQL 16
        assert _rules(e, db_api.security_groups) == _rules(static, db_code.security_groups)

        (ng_api,), (ng_code,) = e.nodegroups.values(), static.nodegroups.values()
        assert (ng_api.instance_types, ng_api.min_size, ng_api.desired_size) == \
            (ng_code.instance_types, ng_code.min_size, ng_code.desired_size)
        assert len({e.zone_of(s) for s in ng_api.subnets}) == len({static.zone_of(s) for s in ng_code.subnets}) == 3

        (msk_api,), (msk_code,) = e.msk.values(), static.msk.values()
        fields = ("version", "broker_count", "instance_type", "client_broker")
        assert {f: getattr(msk_api, f) for f in fields} == {f: getattr(msk_code, f) for f in fields}
        assert len({e.zone_of(s) for s in msk_api.subnets}) == len({static.zone_of(s) for s in msk_code.subnets})
        assert _rules(e, msk_api.security_groups) == _rules(static, msk_code.security_groups)

        (lb_api,), (lb_code,) = e.load_balancers.values(), static.load_balancers.values()
        assert (lb_api.lb_type, lb_api.scheme) == (lb_code.lb_type, lb_code.scheme)
        listen = lambda lb: sorted((li["port"], li["protocol"], li["action"], li["redirect_protocol"])  # noqa: E731
                                   for li in lb.listeners)
        assert listen(lb_api) == listen(lb_code)
        # the sandbox admits 10.0.0.0/8 on the ALB, the example code its VPC's 10.0.0.0/16: the same rules otherwise
        assert {r[:4] for r in _rules(e, lb_api.security_groups)} == {r[:4] for r in _rules(static, lb_code.security_groups)}

        (b_api,), (b_code,) = e.buckets.values(), static.buckets.values()
        assert (b_api.versioning, b_api.sse, b_api.public_access_block) == \
            (b_code.versioning, b_code.sse, b_code.public_access_block)


def test_policy_documents_are_equal_from_the_api_and_the_code(api, code):
    """The installer role's policy and trust: the same neutral statements from the three readers."""
    reader, ids = api
    tf, cfn = code
    role_api = reader.estate.roles[ids["installer_role_arn"]]
    issuer = ids["oidc_issuer"].removeprefix("https://")
    api_names = {f"arn:aws:s3:::{ids['bundle_bucket']}": "<bucket>", ids["kms_key_arn"]: "<key>",
                 ids["oidc_provider_arn"]: "<oidc provider>", issuer: "<issuer>"}
    for static in (tf, cfn):
        (role_code,) = [r for r in static.roles.values() if r.name == ids["installer_role"]]
        (bucket,) = static.buckets.values()
        key = next(s["resources"][0] for s in role_code.statements if s.get("sid") == "AllowKMSDecrypt")
        provider = role_code.trust[0]["principals"]["Federated"][0]
        names = {bucket.arn: "<bucket>", key: "<key>", provider: "<oidc provider>"}
        assert _plain_statements(role_api.statements, api_names) == _plain_statements(role_code.statements, names)
        assert _plain_statements(role_api.trust, api_names) == _plain_statements(role_code.trust, names)


def test_principal_star_and_not_principal_are_read_one_way(api, tmp_path):
    """``Principal "*"`` and ``NotPrincipal`` written in Terraform, in CloudFormation and read
    back from IAM give equal trust statements (and the same IAM-03 verdict)."""
    from asbuilt.catalogue import load_profile
    from asbuilt.controls import unit
    from asbuilt.static import checkbase

    reader, _ = api
    (open_api,) = [r for r in reader.estate.roles.values() if r.name == "open-trust"]

    (tmp_path / "tf").mkdir()
    (tmp_path / "tf" / "main.tf").write_text(OPEN_TF)
    (tmp_path / "cfn").mkdir()
    (tmp_path / "cfn" / "open.json").write_text(json.dumps({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"OpenRole": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "open-trust", "AssumeRolePolicyDocument": OPEN_TRUST}}}}, indent=2))
    captured = {}
    original = checkbase.ScanContext.add_stack

    def keep(self, stack):
        captured.setdefault(getattr(stack, "flavour", ""), stack)
        return original(self, stack)

    checkbase.ScanContext.add_stack = keep
    try:
        scan([tmp_path / "tf"], [], tmp_path / "r1")
        scan([tmp_path / "cfn"], [], tmp_path / "r2")
    finally:
        checkbase.ScanContext.add_stack = original

    api_trust = _plain_statements(open_api.trust, {})
    assert api_trust[0]["principals"] == {"AWS": ["*"]}
    assert api_trust[1]["not_principals"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    assert api_trust[1]["principals"] == {}
    for flavour in ("terraform", "cloudformation"):
        (role_code,) = captured[flavour].roles.values()
        assert _plain_statements(role_code.trust, {}) == api_trust, flavour

    profile = load_profile("conncentric-aws")
    verdicts = []
    for role in (open_api, *(captured[f].roles["aws_iam_role.open" if f == "terraform" else "OpenRole"]
                             for f in ("terraform", "cloudformation"))):
        v = unit("IAM-03").decide([{"resource": "role open-trust", "statements": role.trust}], profile,
                                  namespace="conncentric", service_account="conncentric-installer", oidc_providers=[])
        verdicts.append((v.status, sorted(f.what for f in v.findings)))
    assert verdicts[0][0] == "fail" and verdicts[0] == verdicts[1] == verdicts[2]
    assert any("NotPrincipal trusts everyone except" in w for w in verdicts[0][1])


def test_a_group_the_api_does_not_return_is_unknown_in_the_api_s_words(api):
    reader, _ = api
    (g,) = reader.estate.groups(["sg-0000000000000000f"])
    assert g["unknown"].reason == ("security group sg-0000000000000000f is not returned by the API, so its rules "
                                   "are not known")
    assert "not returned by the API" in reader.estate.zone_of("subnet-0000000000000000f").reason
