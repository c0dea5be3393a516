"""VER-02 on RDS instances as real code writes them: a read replica takes its source's engine and
version (CloudFormation SourceDBInstanceIdentifier, Terraform replicate_source_db), an engine
version left out is RDS's default at creation (unknown, never "below the minimum"), and a wrong
engine fails whatever the version."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.static.helpers import scan

CFN = '''AWSTemplateFormatVersion: "2010-09-09"
Resources:
  MainDB:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: {engine}
{version}      DBInstanceClass: db.r6g.large
      AllocatedStorage: 100
      MultiAZ: true
      MasterUsername: admin
      ManageMasterUserPassword: true
  ReplicaDB:
    Type: AWS::RDS::DBInstance
    Properties:
      SourceDBInstanceIdentifier: !Ref MainDB
      DBInstanceClass: db.r6g.large
'''

TF = '''
resource "aws_db_instance" "main" {{
  identifier              = "platform"
  engine                  = "{engine}"
{version}  instance_class          = "db.r6g.large"
  multi_az                = true
  backup_retention_period = 7
}}

resource "aws_db_instance" "replica" {{
  identifier          = "platform-replica"
  replicate_source_db = aws_db_instance.main.identifier
  instance_class      = "db.r6g.large"
}}
'''


def _ver02(tmp_path: Path, kind: str, engine: str, version: str | None):
    root = tmp_path / kind
    root.mkdir()
    if kind == "cfn":
        (root / "db.yaml").write_text(CFN.format(engine=engine, version=f'      EngineVersion: "{version}"\n'
                                                 if version else ""))
    else:
        (root / "main.tf").write_text(TF.format(engine=engine, version=f'  engine_version          = "{version}"\n'
                                                if version else ""))
    result = scan([root], [], tmp_path / "r")
    return {v.control: v for v in result.verdicts}["VER-02"]


@pytest.mark.parametrize("kind", ["cfn", "tf"])
def test_a_read_replica_takes_its_source_s_engine(tmp_path, kind):
    v = _ver02(tmp_path, kind, "postgres", "16.3")
    assert v.status == "pass", v.message
    assert v.message.count("postgres 16.3") == 2, v.message
    (tmp_path / "old").mkdir()
    v = _ver02(tmp_path / "old", kind, "postgres", "13.4")
    assert v.status == "fail" and v.message.count("below the minimum") == 2, v.message


@pytest.mark.parametrize("kind", ["cfn", "tf"])
def test_an_engine_version_left_out_is_unknown_and_a_wrong_engine_still_fails(tmp_path, kind):
    v = _ver02(tmp_path, kind, "postgres", None)
    assert v.status == "error", v.message
    assert "RDS uses its default version at creation" in v.message, v.message
    (tmp_path / "mysql").mkdir()
    v = _ver02(tmp_path / "mysql", kind, "mysql", None)
    assert v.status == "fail" and "not postgres" in v.message, v.message


AURORA_CFN = '''AWSTemplateFormatVersion: "2010-09-09"
Resources:
  DBSecGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: Aurora
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 5432, ToPort: 5432, CidrIp: 0.0.0.0/0}
  Cluster:
    Type: AWS::RDS::DBCluster
    Properties:
      Engine: aurora-postgresql
      EngineVersion: "10.7"
      VpcSecurityGroupIds: [!GetAtt DBSecGroup.GroupId]
'''

AURORA_TF = '''
resource "aws_rds_cluster" "platform" {
  cluster_identifier = "platform"
  engine             = "aurora-postgresql"
  engine_version     = "10.7"
}
'''


@pytest.mark.parametrize("kind", ["cfn", "tf"])
def test_an_aurora_cluster_is_never_skipped_as_no_database(tmp_path, kind):
    """asbuilt models RDS DB instances; a stack whose database is a DB cluster makes the database
    controls error naming it, not skipped as if the stack had no database."""
    root = tmp_path / kind
    root.mkdir()
    (root / ("db.yaml" if kind == "cfn" else "main.tf")).write_text(AURORA_CFN if kind == "cfn" else AURORA_TF)
    by = {v.control: v for v in scan([root], [], tmp_path / "r").verdicts}
    for control in ("VER-02", "HA-01", "HA-02", "NET-03"):
        assert by[control].status == "error", (control, by[control].status, by[control].message)
        assert "RDS DB cluster" in by[control].message, by[control].message


def test_an_aurora_clusters_instances_are_not_judged_as_standalone_databases(tmp_path):
    # the AWS aurora-postgres sample: DB instances with DBClusterIdentifier (MultiAZ is always false on them;
    # engine, backups and security groups are the cluster's)
    root = tmp_path / "aurora"
    root.mkdir()
    (root / "db.yaml").write_text(AURORA_CFN + '''  Writer:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: aurora-postgresql, DBClusterIdentifier: !Ref Cluster, DBInstanceClass: db.r6g.large}
''')
    by = {v.control: v for v in scan([root], [], tmp_path / "r").verdicts}
    v = by["HA-01"]
    assert v.status == "error" and "Writer (AWS::RDS::DBInstance of DB cluster Cluster)" in v.message, v.message
    assert "MultiAZ is false" not in v.message
    assert by["VER-02"].status == "error" and "not postgres" not in by["VER-02"].message, by["VER-02"].message


@pytest.mark.parametrize("kind", ["cfn", "tf"])
def test_an_msk_serverless_cluster_is_never_skipped_as_no_kafka(tmp_path, kind):
    root = tmp_path / kind
    root.mkdir()
    if kind == "cfn":
        (root / "kafka.yaml").write_text('''AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Kafka:
    Type: AWS::MSK::ServerlessCluster
    Properties:
      ClusterName: events
      ClientAuthentication: {Sasl: {Iam: {Enabled: true}}}
      VpcConfigs: [{SubnetIds: [subnet-1, subnet-2]}]
''')
    else:
        (root / "main.tf").write_text('resource "aws_msk_serverless_cluster" "events" {\n  cluster_name = "events"\n}\n')
    by = {v.control: v for v in scan([root], [], tmp_path / "r").verdicts}
    for control in ("VER-03", "HA-03", "SIZE-03"):
        assert by[control].status == "error" and "MSK Serverless" in by[control].message, (control, by[control].message)
