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
