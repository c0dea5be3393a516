"""CloudFormation nested stacks, as the AWS Quick Starts write them: a root template deploys its
parts with ``AWS::CloudFormation::Stack`` (``TemplateURL`` an S3 URL whose path ends with the
part's file name, or a local path for ``aws cloudformation package``) and passes them parameters,
some of them outputs of another nested stack. A part is read with the values its parent passes,
not with its own defaults; a nested stack whose template is not scanned may create anything, so no
control passes (or skips) over it."""

from __future__ import annotations

from pathlib import Path

from tests.static.test_cfn_conditions import _by

ROOT = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  QSS3BucketName: {{Type: String, Default: aws-quickstart}}
  NodeType: {{Type: String}}
  CreateDatabase: {{Type: String, Default: "false", AllowedValues: ["true", "false"]}}
Conditions:
  WithDatabase: !Equals [!Ref CreateDatabase, "true"]
Resources:
  VPCStack:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: !Sub https://${{QSS3BucketName}}.s3.amazonaws.com/quickstart-aws-vpc/templates/aws-vpc.template.yaml
  EKSStack:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: {eks_url}
      Parameters:
        KubernetesVersion: "1.25"
        NodeInstanceType: !Ref NodeType
        NumberOfNodes: 1
        PrivateSubnet1ID: !GetAtt VPCStack.Outputs.PrivateSubnet1AID
  DatabaseStack:
    Type: AWS::CloudFormation::Stack
    Condition: WithDatabase
    Properties:
      TemplateURL: !Sub https://${{QSS3BucketName}}.s3.amazonaws.com/templates/database.template.yaml
"""

EKS = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  KubernetesVersion: {Type: String, Default: "1.31"}
  NodeInstanceType: {Type: String, Default: m6i.xlarge}
  NumberOfNodes: {Type: Number, Default: 3}
  PrivateSubnet1ID: {Type: "AWS::EC2::Subnet::Id", Default: subnet-0a1}
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Version: !Ref KubernetesVersion
      RoleArn: arn:aws:iam::123456789012:role/eks
      ResourcesVpcConfig: {SubnetIds: [!Ref PrivateSubnet1ID]}
  Nodes:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: !Ref Cluster
      NodeRole: arn:aws:iam::123456789012:role/node
      InstanceTypes: [!Ref NodeInstanceType]
      ScalingConfig: {MinSize: !Ref NumberOfNodes, DesiredSize: !Ref NumberOfNodes, MaxSize: 6}
      Subnets: [!Ref PrivateSubnet1ID]
"""

DATABASE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  DB:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: mysql, EngineVersion: "8.0", DBInstanceClass: db.t3.micro, MultiAZ: false}
"""

VPC = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  VPC: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
Outputs:
  PrivateSubnet1AID: {Value: subnet-0a1}
"""


def _quickstart(tmp_path: Path, eks_url: str = "!Sub https://${QSS3BucketName}.s3.amazonaws.com/templates/eks.template.yaml",
                vpc: bool = True) -> Path:
    root = tmp_path / "quickstart"
    (root / "templates").mkdir(parents=True)
    (root / "templates" / "main.template.yaml").write_text(ROOT.format(eks_url=eks_url))
    (root / "templates" / "eks.template.yaml").write_text(EKS)
    (root / "templates" / "database.template.yaml").write_text(DATABASE)
    if vpc:
        (root / "submodules" / "quickstart-aws-vpc" / "templates").mkdir(parents=True)
        (root / "submodules" / "quickstart-aws-vpc" / "templates" / "aws-vpc.template.yaml").write_text(VPC)
    return root


def test_a_nested_stack_is_read_with_the_values_its_parent_passes(tmp_path):
    by = _by([_quickstart(tmp_path)], tmp_path, {"NodeType": "m6i.2xlarge"})
    # the parent's 1.25 and 1 node, not the part's defaults (1.31, 3 nodes)
    assert by["VER-01"].status == "fail" and "1.25" in by["VER-01"].message, by["VER-01"].message
    assert "eks.template.yaml" in by["VER-01"].message and "(Cluster)" in by["VER-01"].message
    assert by["HA-04"].status == "fail" and "min size is 1" in by["HA-04"].message, by["HA-04"].message
    # a root parameter given with --parameter reaches the part through the parent
    assert by["SIZE-01"].status != "pass" or "m6i.2xlarge" in by["SIZE-01"].message
    # the subnet is an output of another nested stack: unknown, not the part's default subnet-0a1
    assert "subnet-0a1" not in by["NET-08"].message
    assert by["NET-08"].status == "error" and "output PrivateSubnet1AID of nested stack VPCStack" \
        in by["NET-08"].message, by["NET-08"].message
    # DatabaseStack's Condition is false: its MySQL db.t3.micro is not deployed, not judged
    for v in by.values():
        assert "database.template.yaml" not in v.message, (v.control, v.message)


def test_a_root_parameter_without_a_value_is_unknown_in_the_nested_stack(tmp_path):
    v = _by([_quickstart(tmp_path)], tmp_path)["SIZE-01"]
    assert v.status == "error", v.message
    assert "NodeInstanceType is passed by nested stack" in v.message and "NodeType" in v.message, v.message
    assert "m6i.xlarge" not in v.message  # never the part's own default


def test_a_nested_stack_whose_template_is_not_scanned_decides_nothing(tmp_path):
    by = _by([_quickstart(tmp_path, vpc=False)], tmp_path, {"NodeType": "m6i.xlarge"})
    # no database in the scanned templates: the VPC part might hold one, so HA-01 is not skipped
    v = by["HA-01"]
    assert v.status == "error" and "VPCStack" in v.message and "aws-vpc.template.yaml" in v.message, v.message
    assert by["VER-01"].status == "fail"  # a known violation stands
    by = _by([_quickstart(tmp_path / "db", vpc=False)], tmp_path,
             {"NodeType": "m6i.xlarge", "CreateDatabase": "true"})
    assert by["VER-02"].status == "fail" and "mysql" in by["VER-02"].message, by["VER-02"].message


def test_a_local_template_path_as_aws_cloudformation_package_takes_it(tmp_path):
    by = _by([_quickstart(tmp_path, eks_url="./eks.template.yaml")], tmp_path, {"NodeType": "m6i.xlarge"})
    assert by["VER-01"].status == "fail" and "1.25" in by["VER-01"].message, by["VER-01"].message
    assert by["SIZE-01"].status != "pass"  # min 1 node


# Macros: the deployed template is what the macro makes of the one written.
FOREACH = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::LanguageExtensions
Resources:
  Primary:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: postgres, EngineVersion: "16.4", DBInstanceClass: db.r6g.large, MultiAZ: true,
                 BackupRetentionPeriod: 7}
  Fn::ForEach::Replicas:
    - Name
    - [A, B]
    - Replica${Name}:
        Type: AWS::RDS::DBInstance
        Properties: {Engine: postgres, EngineVersion: "16.4", DBInstanceClass: db.t3.micro, MultiAZ: false}
"""

MACRO = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: [AWS::Serverless-2016-10-31, Count]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: conncentric-bundles
      VersioningConfiguration: {Status: Enabled}
"""


def test_resources_an_fn_foreach_loop_creates_are_not_passed_unseen(tmp_path):
    path = tmp_path / "cfn" / "foreach.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(FOREACH)
    by = _by([path], tmp_path)
    v = by["HA-01"]  # Primary is Multi-AZ, but two replicas come out of the loop
    assert v.status == "error" and "Fn::ForEach::Replicas" in v.message and "foreach.yaml:8" in v.message, v.message
    assert "S3-01" not in by  # the loop creates DB instances only: nothing to judge for the bucket


def test_a_macro_transform_makes_the_template_unknown(tmp_path):
    path = tmp_path / "cfn" / "macro.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(MACRO)
    v = _by([path], tmp_path)["S3-01"]
    assert v.status == "error" and "Transform Count" in v.message and "Serverless" not in v.message, v.message
    path.write_text(MACRO.replace(", Count]", "]"))  # SAM alone: read as written
    assert _by([path], tmp_path)["S3-01"].status == "pass"


def test_self_managed_nodes_in_an_auto_scaling_group_are_not_skipped_as_no_node_group(tmp_path):
    # the older EKS Quick Starts run the nodes in an Auto Scaling group tagged for the cluster
    path = tmp_path / "cfn" / "nodes.yaml"
    path.parent.mkdir(parents=True)
    path.write_text('''AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties: {Version: "1.31", RoleArn: arn:aws:iam::123456789012:role/eks, ResourcesVpcConfig: {SubnetIds: [subnet-1]}}
  Bastion:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties: {MinSize: "1", MaxSize: "1", VPCZoneIdentifier: [subnet-1]}
  NodeGroup:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: "1"
      MaxSize: "1"
      VPCZoneIdentifier: [subnet-1]
      Tags: [{Key: !Sub "kubernetes.io/cluster/${Cluster}", Value: owned, PropagateAtLaunch: true}]
''')
    v = _by([path], tmp_path)["HA-04"]
    assert v.status == "error" and "nodes.yaml:9 (NodeGroup)" in v.message and "Bastion" not in v.message, v.message
