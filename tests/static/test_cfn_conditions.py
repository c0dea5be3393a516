"""CloudFormation Conditions, written the way AWS's sample templates write them: an
``EnvironmentType`` parameter with ``AllowedValues``, an ``IsProduction`` condition that turns
MultiAZ on and a read replica into existence, ``!If`` with ``AWS::NoValue``, ``!And``/``!Or``/``!Not``
and ``!Condition``. The parameters' defaults decide, unless values are given for the deploy
(``asbuilt static --parameter NAME=VALUE``, a target's ``static.cloudformation_parameters``);
a condition over a value known only at deploy (a parameter without a default, ``AWS::Region``) is an
unknown fact, never a pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.static.helpers import scan

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: >-
  PostgreSQL on Amazon RDS. Production gets a Multi-AZ primary, seven days of backups and a read
  replica; other environments a single-AZ instance.
Parameters:
  EnvironmentType:
    Description: The environment this stack is for.
    Type: String
    Default: {default}
    AllowedValues: [dev, staging, prod]
    ConstraintDescription: must be dev, staging or prod.
  DBInstanceClass:
    Description: The database instance type.
    Type: String
    Default: db.r6g.large
  DBSnapshotIdentifier:
    Description: Restore from this snapshot (leave empty for a new database).
    Type: String
    Default: ""
{extra_params}Conditions:
  IsProduction: !Equals [!Ref EnvironmentType, prod]
  IsStaging: !Equals [!Ref EnvironmentType, staging]
  KeepBackups: !Or [!Condition IsProduction, !Condition IsStaging]
  HasSnapshot: !Not [!Equals [!Ref DBSnapshotIdentifier, ""]]
  CreateReadReplica: !And [!Condition IsProduction, !Not [!Condition HasSnapshot]]
{extra_conditions}Resources:
  DBInstance:
    Type: AWS::RDS::DBInstance
    DeletionPolicy: Snapshot
    Properties:
      Engine: postgres
      EngineVersion: "16.3"
      DBInstanceClass: !Ref DBInstanceClass
      AllocatedStorage: "100"
      MultiAZ: !If [IsProduction, true, false]
      BackupRetentionPeriod: !If [KeepBackups, 7, 0]
      DBSnapshotIdentifier: !If [HasSnapshot, !Ref DBSnapshotIdentifier, !Ref "AWS::NoValue"]
      StorageEncrypted: true
  ReadReplica:
    Type: AWS::RDS::DBInstance
    Condition: CreateReadReplica
    Properties:
      Engine: postgres
      EngineVersion: "16.3"
      SourceDBInstanceIdentifier: !Ref DBInstance
      DBInstanceClass: db.t3.micro
      MultiAZ: false
      BackupRetentionPeriod: 0
{extra_resources}"""


def _template(tmp_path: Path, default: str = "dev", extra_params: str = "", extra_conditions: str = "",
              extra_resources: str = "", name: str = "database.yaml") -> Path:
    path = tmp_path / "cfn" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE.format(default=default, extra_params=extra_params, extra_conditions=extra_conditions,
                                    extra_resources=extra_resources))
    return path


def _by(paths: list[Path], tmp_path: Path, parameters: dict | None = None) -> dict:
    from asbuilt import static
    from asbuilt.catalogue import load_profile
    from asbuilt.static.engine import Scan, discover_paths

    inputs = discover_paths(paths, [])
    inputs.cfn_parameters = dict(parameters or {})
    result = Scan(inputs, load_profile("conncentric-aws")).run()
    static.write_sarif(result, load_profile("conncentric-aws"), tmp_path / "r")
    return {v.control: v for v in result.verdicts}


def test_the_defaults_decide_the_conditions(tmp_path):
    by = _by([_template(tmp_path)], tmp_path)  # EnvironmentType dev: single-AZ, no backups, no replica
    assert by["HA-01"].status == "fail" and "DBInstance" in by["HA-01"].message, by["HA-01"].message
    assert by["HA-02"].status == "fail" and "0 day" in by["HA-02"].message
    # the replica's condition is false: it is not created, so it is neither judged nor reported
    for v in by.values():
        assert "ReadReplica" not in v.message, (v.control, v.message)


def test_a_parameter_given_for_the_deploy_decides_them(tmp_path):
    by = _by([_template(tmp_path)], tmp_path, {"EnvironmentType": "staging"})
    assert by["HA-01"].status == "fail"  # staging is not production: single-AZ
    assert by["HA-02"].status == "pass", by["HA-02"].message  # Or: staging keeps backups
    by = _by([_template(tmp_path)], tmp_path, {"EnvironmentType": "prod"})
    # production: the primary passes HA-01, and the replica now exists (And: no snapshot) and fails
    assert by["HA-01"].status == "fail", by["HA-01"].message
    assert [f.resource.rsplit("(", 1)[-1] for f in by["HA-01"].findings] == ["ReadReplica)"]
    by = _by([_template(tmp_path)], tmp_path, {"EnvironmentType": "prod", "DBSnapshotIdentifier": "snap-2026-11"})
    assert by["HA-01"].status == "pass", by["HA-01"].message  # a restore: no replica
    assert by["HA-02"].status == "pass"


def test_a_parameter_value_replaces_the_default_in_properties(tmp_path):
    by = _by([_template(tmp_path, default="prod")], tmp_path, {"DBInstanceClass": "db.t3.micro",
                                                                "DBSnapshotIdentifier": "snap-1"})
    assert by["SIZE-02"].status in ("fail", "warn") and "db.t3.micro" in by["SIZE-02"].message
    assert "DBInstance" in by["SIZE-02"].message


def test_a_condition_over_a_value_known_only_at_deploy_is_an_error_naming_it(tmp_path):
    path = _template(tmp_path, default="prod", extra_params="  Tier:\n    Type: String\n",
                     extra_conditions="  IsGold: !Equals [!Ref Tier, gold]\n"
                                      "  InHomeRegion: !Equals [!Ref \"AWS::Region\", us-east-1]\n",
                     extra_resources="  GoldReplica:\n    Type: AWS::RDS::DBInstance\n    Condition: IsGold\n"
                                     "    Properties:\n      Engine: postgres\n      EngineVersion: \"16.3\"\n"
                                     "      DBInstanceClass: db.r6g.large\n      MultiAZ: true\n"
                                     "      BackupRetentionPeriod: !If [InHomeRegion, 7, 14]\n")
    by = _by([path], tmp_path, {"DBSnapshotIdentifier": "snap-1"})
    v = by["HA-01"]  # DBInstance passes; whether GoldReplica exists is not known
    assert v.status == "error", v.message
    assert "GoldReplica" in v.message and "IsGold" in v.message and "Tier" in v.message
    assert "--parameter" in v.message
    with_tier = _by([path], tmp_path, {"DBSnapshotIdentifier": "snap-1", "Tier": "gold"})
    h = with_tier["HA-02"]  # GoldReplica exists; its retention depends on the region
    assert h.status == "error" and "InHomeRegion" in h.message and "AWS::Region" in h.message, h.message
    assert with_tier["HA-01"].status == "pass", with_tier["HA-01"].message
    assert _by([path], tmp_path, {"DBSnapshotIdentifier": "snap-1", "Tier": "silver"})["HA-01"].status == "pass"


def test_the_json_form_reads_the_same(tmp_path):
    from asbuilt.static.engine import _CfnLoader

    yaml_path = _template(tmp_path)
    doc = yaml.load(yaml_path.read_text(), Loader=_CfnLoader)

    def long_form(v):
        if isinstance(v, dict):
            return {({"!Ref": "Ref", "!Condition": "Condition"}.get(k) or ("Fn::" + k[1:] if k.startswith("!") else k)):
                    long_form(x) for k, x in v.items()}
        return [long_form(x) for x in v] if isinstance(v, list) else v

    json_path = tmp_path / "json" / "database.json"
    json_path.parent.mkdir()
    json_path.write_text(json.dumps(long_form(doc), indent=2))
    for params in ({}, {"EnvironmentType": "prod"}):
        a, b = _by([yaml_path], tmp_path, params), _by([json_path], tmp_path, params)
        assert {c: v.status for c, v in a.items()} == {c: v.status for c, v in b.items()}


def test_the_command_line_and_the_target_give_parameters(tmp_path):
    from asbuilt.cli import main
    from asbuilt.static.engine import discover_target
    from asbuilt.target import load_target

    path = _template(tmp_path)
    report = tmp_path / "reports"
    assert main(["static", str(path), "--parameter", "EnvironmentType=staging", "--report-dir", str(report)]) == 1
    results = {c["id"]: c for c in json.loads((report / "results.json").read_text())["controls"]}
    assert results["HA-02"]["status"] == "pass" and results["HA-01"]["status"] == "fail"
    target = tmp_path / "target.yaml"
    target.write_text("name: stack\nstatic:\n  cloudformation: [cfn/database.yaml]\n"
                      "  cloudformation_parameters:\n    EnvironmentType: prod\n    Replicas: [a, b]\n")
    inputs = discover_target(load_target(target))
    assert inputs.cfn_parameters == {"EnvironmentType": "prod", "Replicas": "a,b"}


@pytest.mark.parametrize("bad", ["EnvironmentType", "Environment-Type=prod", "=prod"])
def test_a_malformed_parameter_is_one_line_and_exit_2(tmp_path, capsys, bad):
    from asbuilt.cli import main

    assert main(["static", str(_template(tmp_path)), "--parameter", bad, "--report-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--parameter" in err and "NAME=VALUE" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("form", ["create-stack", "template-configuration", "overrides", "mapping"])
def test_a_parameter_file_in_each_form_the_aws_tools_write(tmp_path, form):
    from asbuilt.cli import main

    docs = {
        "create-stack": [{"ParameterKey": "EnvironmentType", "ParameterValue": "staging"},
                         {"ParameterKey": "Other", "UsePreviousValue": True}],
        "template-configuration": {"Parameters": {"EnvironmentType": "staging"}, "Tags": {"team": "platform"}},
        "overrides": ["EnvironmentType=staging"],
        "mapping": {"EnvironmentType": "staging"},
    }
    params = tmp_path / "params.json"
    params.write_text(json.dumps(docs[form]))
    report = tmp_path / "reports"
    assert main(["static", str(_template(tmp_path)), "--parameter-file", str(params),
                 "--report-dir", str(report)]) == 1
    results = {c["id"]: c for c in json.loads((report / "results.json").read_text())["controls"]}
    assert results["HA-02"]["status"] == "pass" and results["HA-01"]["status"] == "fail"
    # --parameter given as well wins over the file
    assert main(["static", str(_template(tmp_path)), "--parameter-file", str(params), "--parameter",
                 "EnvironmentType=prod", "--report-dir", str(tmp_path / "r2")]) in (0, 1)
    prod = {c["id"]: c for c in json.loads((tmp_path / "r2" / "results.json").read_text())["controls"]}
    assert "ReadReplica" in prod["HA-01"]["message"]  # the replica exists only when IsProduction
    assert "ReadReplica" not in results["HA-01"]["message"]


def test_a_target_names_parameter_files_and_its_own_values_win(tmp_path):
    from asbuilt.static.engine import discover_target
    from asbuilt.target import load_target

    _template(tmp_path)
    (tmp_path / "prod.json").write_text(json.dumps({"Parameters": {"EnvironmentType": "staging", "Size": "2"}}))
    target = tmp_path / "target.yaml"
    target.write_text("name: stack\nstatic:\n  cloudformation: [cfn/database.yaml]\n"
                      "  cloudformation_parameter_files: [prod.json]\n"
                      "  cloudformation_parameters:\n    EnvironmentType: prod\n")
    assert discover_target(load_target(target)).cfn_parameters == {"EnvironmentType": "prod", "Size": "2"}


@pytest.mark.parametrize("text", ["{not json: [", "[1, 2]", '{"Parameters": [1]}', '"just a string"'])
def test_a_bad_parameter_file_is_one_line_and_exit_2(tmp_path, capsys, text):
    from asbuilt.cli import main

    params = tmp_path / "params.json"
    params.write_text(text)
    assert main(["static", str(_template(tmp_path)), "--parameter-file", str(params),
                 "--report-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--parameter-file" in err and len(err.splitlines()) == 1, err


# Mappings keyed by a parameter or by the region, as the AWS samples write them.
MAPPED = '''AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
Mappings:
  EnvConfig:
    dev: {{MultiAZ: "false", Retention: 1}}
    prod: {{MultiAZ: "true", Retention: 7}}
  RegionConfig:
    us-east-1: {{Retention: 7}}
Resources:
  DB:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      EngineVersion: "16.3"
      DBInstanceClass: db.r6g.large
      AllocatedStorage: 100
      MultiAZ: !FindInMap [EnvConfig, !Ref Env, MultiAZ]
      BackupRetentionPeriod: {retention}
      MasterUsername: admin
      ManageMasterUserPassword: true
'''


def test_find_in_map_takes_the_value_the_parameters_select(tmp_path):
    path = tmp_path / "cfn" / "mapped.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(MAPPED.format(retention="!FindInMap [EnvConfig, !Ref Env, Retention]"))
    dev = _by([path], tmp_path)  # the parameter's Default
    assert dev["HA-01"].status == "fail" and "MultiAZ is false" in dev["HA-01"].message, dev["HA-01"].message
    assert dev["HA-02"].status == "pass"
    prod = _by([path], tmp_path, {"Env": "prod"})
    assert prod["HA-01"].status == "pass", prod["HA-01"].message
    assert "7 day" in prod["HA-02"].message


def test_find_in_map_over_the_region_is_unknown_naming_it(tmp_path):
    path = tmp_path / "cfn" / "regional.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(MAPPED.format(retention="!FindInMap [RegionConfig, !Ref AWS::Region, Retention]"))
    v = _by([path], tmp_path, {"Env": "prod"})["HA-02"]
    assert v.status == "error", v.message
    assert "AWS::Region" in v.message and "FindInMap" in v.message, v.message


# A whole block under an Fn::If (ScalingConfig, SecurityGroupIngress, EncryptionInfo, the bucket's
# configurations), as the AWS samples switch production settings: undecided, it is an unknown block,
# never read as a block without settings (min size None, no ingress rules, TLS by default, no versioning).
BLOCKS = '''AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env: {Type: String, AllowedValues: [dev, prod]}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  SubA: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24, AvailabilityZone: eu-west-1a}}
  SubB: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.2.0/24, AvailabilityZone: eu-west-1b}}
  SubC: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.3.0/24, AvailabilityZone: eu-west-1c}}
  NodeSG: {Type: AWS::EC2::SecurityGroup, Properties: {GroupDescription: nodes, VpcId: !Ref Vpc}}
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Version: "1.31"
      RoleArn: arn:aws:iam::123456789012:role/eks
      ResourcesVpcConfig: {SubnetIds: [!Ref SubA, !Ref SubB, !Ref SubC], SecurityGroupIds: [!Ref NodeSG]}
  Nodes:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: !Ref Cluster
      NodeRole: arn:aws:iam::123456789012:role/node
      InstanceTypes: [m6i.xlarge]
      Subnets: [!Ref SubA, !Ref SubB, !Ref SubC]
      ScalingConfig: !If [IsProd, {MinSize: 3, DesiredSize: 3, MaxSize: 6}, {MinSize: 1, DesiredSize: 1, MaxSize: 1}]
  DBSG:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: db
      VpcId: !Ref Vpc
      SecurityGroupIngress: !If
        - IsProd
        - [{IpProtocol: tcp, FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: !GetAtt Cluster.ClusterSecurityGroupId}]
        - [{IpProtocol: tcp, FromPort: 5432, ToPort: 5432, CidrIp: 0.0.0.0/0}]
  DB:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      EngineVersion: "16.4"
      DBInstanceClass: db.r6g.large
      MultiAZ: true
      BackupRetentionPeriod: 7
      VPCSecurityGroups: [!GetAtt DBSG.GroupId]
  Kafka:
    Type: AWS::MSK::Cluster
    Properties:
      ClusterName: events
      KafkaVersion: 3.6.0
      NumberOfBrokerNodes: 3
      EncryptionInfo: !If [IsProd, {EncryptionInTransit: {ClientBroker: TLS}}, {EncryptionInTransit: {ClientBroker: PLAINTEXT}}]
      BrokerNodeGroupInfo: {InstanceType: kafka.m5.large, ClientSubnets: [!Ref SubA, !Ref SubB, !Ref SubC],
                            SecurityGroups: [!Ref KafkaSG]}
  KafkaSG:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: kafka
      VpcId: !Ref Vpc
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 9094, ToPort: 9094, SourceSecurityGroupId: !GetAtt Cluster.ClusterSecurityGroupId}
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: conncentric-bundles
      VersioningConfiguration: !If [IsProd, {Status: Enabled}, !Ref "AWS::NoValue"]
      BucketEncryption: !If
        - IsProd
        - {ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: "aws:kms"}}]}
        - !Ref "AWS::NoValue"
      PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true,
                                       RestrictPublicBuckets: true}
'''


def test_a_block_under_an_undecided_if_is_unknown_not_empty(tmp_path):
    path = tmp_path / "cfn" / "blocks.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(BLOCKS)
    by = _by([path], tmp_path)
    for control in ("HA-04", "SIZE-01", "NET-01", "NET-03", "NET-07", "S3-01", "S3-02"):
        assert by[control].status == "error", (control, by[control].status, by[control].message)
        assert "IsProd" in by[control].message and "Env" in by[control].message, (control, by[control].message)
    prod = _by([path], tmp_path, {"Env": "prod"})
    for control in ("HA-04", "SIZE-01", "NET-01", "NET-03", "NET-07", "S3-01", "S3-02"):
        assert prod[control].status == "pass", (control, prod[control].message)
    dev = _by([path], tmp_path, {"Env": "dev"})
    assert dev["NET-03"].status == "fail" and "0.0.0.0/0" in dev["NET-03"].message, dev["NET-03"].message
    assert dev["NET-07"].status in ("fail", "warn") and dev["HA-04"].status == "fail"
    assert dev["S3-01"].status == "fail"


def test_a_resource_false_by_default_is_judged_when_the_parameters_make_it_true(tmp_path):
    # checkov's graph drops a resource whose simple Condition is false with the defaults; --parameter
    # may make it true, and then it is deployed and judged
    path = tmp_path / "cfn" / "replica.yaml"
    path.parent.mkdir(parents=True)
    path.write_text('''AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  DB:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: postgres, EngineVersion: "16.4", DBInstanceClass: db.r6g.large, MultiAZ: true,
                 BackupRetentionPeriod: 7}
  Replica:
    Type: AWS::RDS::DBInstance
    Condition: IsProd
    Properties: {Engine: postgres, EngineVersion: "16.4", DBInstanceClass: db.t3.micro, MultiAZ: false}
''')
    assert _by([path], tmp_path)["HA-01"].status == "pass"  # dev: no replica
    v = _by([path], tmp_path, {"Env": "prod"})["HA-01"]
    assert v.status == "fail" and "replica.yaml:11 (Replica)" in v.message, v.message


def test_a_zone_known_only_at_deploy_says_why(tmp_path):
    # AWS's FindInMapAZs sample: the zones come from a RegionMap keyed by AWS::Region
    path = tmp_path / "cfn" / "azs.json"
    path.parent.mkdir(parents=True)
    select = {"Fn::Select": [0, {"Fn::FindInMap": ["RegionMap", {"Ref": "AWS::Region"}, "AZs"]}]}
    path.write_text(json.dumps({
        "Mappings": {"RegionMap": {"us-east-1": {"AZs": ["us-east-1a", "us-east-1b"]}}},
        "Parameters": {"Zone2": {"Type": "String"}},
        "Resources": {
            "VPC": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "S1": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "VPC"}, "CidrBlock": "10.0.1.0/24",
                                                             "AvailabilityZone": select}},
            "S2": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "VPC"}, "CidrBlock": "10.0.2.0/24",
                                                             "AvailabilityZone": {"Ref": "Zone2"}}},
            "ALB": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                    "Properties": {"Scheme": "internal", "Subnets": [{"Ref": "S1"}, {"Ref": "S2"}]}}}}, indent=2))
    v = _by([path], tmp_path)["HA-06"]
    assert v.status == "error" and "AWS::Region" in v.message and "Zone2" in v.message, v.message


def test_a_parameter_no_template_declares_or_outside_its_allowed_values_is_told(tmp_path):
    from asbuilt.catalogue import load_profile
    from asbuilt.static.engine import Scan, discover_paths

    inputs = discover_paths([_template(tmp_path)], [])
    inputs.cfn_parameters = {"EnviromentType": "prod", "EnvironmentType": "production"}
    notes = Scan(inputs, load_profile("conncentric-aws")).run().coverage["not_read"]
    assert any("EnviromentType" in n and "no scanned template declares it" in n for n in notes), notes
    assert any("EnvironmentType=production" in n and "AllowedValues (dev, staging, prod)" in n for n in notes), notes


def test_ssm_parameters_and_dynamic_references_are_known_only_at_deploy(tmp_path):
    # an SSM-typed parameter's Default is the SSM parameter's name, not its value; {{resolve:...}} is read at deploy
    path = tmp_path / "cfn" / "ssm.yaml"
    path.parent.mkdir(parents=True)
    path.write_text('''AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  DBClass: {Type: "AWS::SSM::Parameter::Value<String>", Default: /platform/rds/instance-class}
Resources:
  DB:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      EngineVersion: "{{resolve:ssm:/platform/rds/version}}"
      DBInstanceClass: !Ref DBClass
      MultiAZ: true
      BackupRetentionPeriod: 7
''')
    by = _by([path], tmp_path)
    assert by["VER-02"].status == "error" and "{{resolve:ssm:/platform/rds/version}}" in by["VER-02"].message, \
        by["VER-02"].message
    assert by["SIZE-02"].status == "error" and "SSM parameter /platform/rds/instance-class" in by["SIZE-02"].message, \
        by["SIZE-02"].message


INSTALLER = '''AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  BucketName: {Type: String, Default: conncentric-bundles}
  OIDCProvider: {Type: String}
Resources:
  Bundles:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Ref BucketName, VersioningConfiguration: {Status: Enabled}}
  InstallerRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: conncentric-installer
      AssumeRolePolicyDocument: !Sub |
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
          "Principal": {"Federated": "arn:aws:iam::${AWS::AccountId}:oidc-provider/${OIDCProvider}"},
          "Action": "sts:AssumeRoleWithWebIdentity",
          "Condition": {"StringEquals": {
            "${OIDCProvider}:sub": "system:serviceaccount:conncentric:conncentric-installer",
            "${OIDCProvider}:aud": "sts.amazonaws.com"}}}]}
      Policies:
        - PolicyName: bundles
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: s3:GetObject, Resource: !Sub "arn:aws:s3:::${BucketName}/*"}
              - {Effect: Allow, Action: s3:ListBucket, Resource: !GetAtt Bundles.Arn}
'''


def test_a_policy_over_a_parameter_is_judged_on_its_value_or_unknown(tmp_path):
    path = tmp_path / "cfn" / "installer.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(INSTALLER)
    by = _by([path], tmp_path)
    # the bucket named by the parameter is the bucket the policy names by the same parameter
    assert by["IAM-01"].status == "pass" and "arn:aws:s3:::conncentric-bundles" in by["IAM-01"].message, \
        by["IAM-01"].message
    # the trusted provider is a parameter given only at deploy: "only the cluster's OIDC provider" is not known
    assert by["IAM-03"].status == "error" and "parameter OIDCProvider" in by["IAM-03"].message, by["IAM-03"].message
    given = _by([path], tmp_path, {"OIDCProvider": "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"})
    assert given["IAM-03"].status == "pass", given["IAM-03"].message
