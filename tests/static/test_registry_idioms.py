"""Idioms of public Terraform modules (cloudposse style): ``var.x == "" ? a : null`` conditionals,
``try(var.obj.attr, default)``, attributes left to RDS's defaults, a DB instance with no security
group. A value the code gives is judged on that value; one it does not give is unknown, never
"not set" and never the fallback of a try()."""

from __future__ import annotations

from pathlib import Path

from tests.static.helpers import scan


def _verdicts(tmp_path: Path, text: str) -> dict:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    (root / "main.tf").write_text(text)
    return {v.control: v for v in scan([root], [], tmp_path / "r").verdicts}


def _vars(**defaults: str | None) -> str:
    out = ""
    for name, default in defaults.items():
        out += f'variable "{name}" {{\n' + (f"  default = {default}\n" if default is not None else "") + "}\n"
    return out


DB = '''
resource "aws_security_group" "db" {{
  name   = "db"
  vpc_id = "vpc-1"
}}
resource "aws_db_instance" "main" {{
  vpc_security_group_ids  = [aws_security_group.db.id]
  instance_class          = "db.r6g.large"
{body}
}}
'''


def test_an_empty_string_condition_with_a_null_branch_is_evaluated_not_read_as_unset(tmp_path):
    # checkov renders `"" == "" ? 7 : null` to null; the module sets 7 days
    body = '''  engine                  = var.source_db == "" ? "postgres" : null
  engine_version          = var.source_db == "" ? "16.3" : null
  multi_az                = var.source_db == "" ? var.multi_az : null
  backup_retention_period = var.source_db == "" ? var.retention : null'''
    by = _verdicts(tmp_path, _vars(source_db='""', retention="7", multi_az="true") + DB.format(body=body))
    assert by["HA-02"].status == "pass" and "7 day(s)" in by["HA-02"].message, by["HA-02"].message
    assert by["HA-01"].status == "pass", by["HA-01"].message
    assert by["VER-02"].status == "pass", by["VER-02"].message


def test_the_value_a_conditional_gives_is_judged(tmp_path):
    body = '''  engine                  = var.source_db == "" ? "postgres" : "mysql"
  engine_version          = var.source_db != "" ? "8.0" : "16.3"
  backup_retention_period = var.source_db == "" ? var.retention : null'''
    by = _verdicts(tmp_path, _vars(source_db='""', retention="0") + DB.format(body=body))
    assert by["HA-02"].status == "fail" and "0 day(s)" in by["HA-02"].message, by["HA-02"].message
    assert by["VER-02"].status == "pass", by["VER-02"].message


def test_a_conditional_over_a_variable_without_value_is_unknown_and_names_that_variable(tmp_path):
    body = '''  engine                  = var.source_db == "" ? var.engine : null
  engine_version          = "16.3"
  backup_retention_period = var.restore == "" ? 7 : null'''
    by = _verdicts(tmp_path, _vars(source_db='""', engine=None, restore=None) + DB.format(body=body))
    assert by["HA-02"].status == "error", by["HA-02"].message
    assert "variable restore has no value" in by["HA-02"].message, by["HA-02"].message
    assert by["VER-02"].status == "error", by["VER-02"].message
    assert "variable engine has no value" in by["VER-02"].message, by["VER-02"].message
    assert "variable source_db" not in by["VER-02"].message


def test_try_over_a_variable_without_value_is_unknown_not_its_fallback(tmp_path):
    body = '''  engine                  = "postgres"
  engine_version          = "16.3"
  multi_az                = try(var.db.multi_az, true)
  backup_retention_period = try(var.db.retention, 7)'''
    by = _verdicts(tmp_path, _vars(db=None) + DB.format(body=body))
    for control in ("HA-01", "HA-02"):
        assert by[control].status == "error", by[control].message
        assert "variable db has no value" in by[control].message


def test_try_falls_back_when_the_known_object_lacks_the_attribute(tmp_path):
    body = '''  engine                  = "postgres"
  engine_version          = "16.3"
  multi_az                = try(var.db.multi_az, true)
  backup_retention_period = try(var.db.retention, 7)'''
    by = _verdicts(tmp_path, _vars(db='{ retention = 0 }') + DB.format(body=body))
    assert by["HA-01"].status == "pass", by["HA-01"].message
    assert by["HA-02"].status == "fail" and "0 day(s)" in by["HA-02"].message, by["HA-02"].message


def test_backup_retention_left_out_is_rds_default_of_one_day(tmp_path):
    body = '''  engine         = "postgres"
  engine_version = "16.3"
  multi_az       = true'''
    v = _verdicts(tmp_path, DB.format(body=body))["HA-02"]
    assert v.status == "pass" and "1 day(s)" in v.message, v.message
    assert "None" not in v.message


def test_backup_retention_left_out_on_a_read_replica_is_unknown(tmp_path):
    body = '''  engine                  = "postgres"
  engine_version          = "16.3"
  multi_az                = true
  backup_retention_period = 7
  identifier              = "primary"
}
resource "aws_db_instance" "replica" {
  vpc_security_group_ids = [aws_security_group.db.id]
  instance_class         = "db.r6g.large"
  multi_az               = true
  replicate_source_db    = aws_db_instance.main.identifier'''
    v = _verdicts(tmp_path, DB.format(body=body))["HA-02"]
    assert v.status == "error" and "aws_db_instance.replica" in v.message, v.message
    assert "read replica" in v.message


def test_a_db_instance_without_a_security_group_is_not_said_closed(tmp_path):
    text = '''
resource "aws_db_instance" "main" {
  engine                  = "postgres"
  engine_version          = "16.3"
  instance_class          = "db.r6g.large"
  multi_az                = true
  backup_retention_period = 7
}
'''
    v = _verdicts(tmp_path, text)["NET-03"]
    assert v.status == "error", v.message
    assert "default security group" in v.message and "aws_db_instance.main" in v.message, v.message
