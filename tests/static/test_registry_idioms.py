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


def _scan_with(tmp_path: Path, text: str, name: str, tf_vars: list[str] | None = None,
               var_files: list[Path] | None = None) -> dict:
    from asbuilt.catalogue import load_profile
    from asbuilt.static.engine import Scan, discover_paths

    root = tmp_path / name
    root.mkdir(exist_ok=True)
    (root / "main.tf").write_text(text)
    inputs = discover_paths([root], [])
    inputs.tf_vars = list(tf_vars or [])
    inputs.tf_var_files = list(var_files or [])
    return {v.control: v for v in Scan(inputs, load_profile("conncentric-aws")).run().verdicts}


ENV_DB = _vars(environment=None) + DB.format(body='''  engine                  = "postgres"
  engine_version          = "16.3"
  multi_az                = true
  backup_retention_period = var.environment == "production" ? 7 : 1''')


def test_a_conditional_over_a_variable_without_value_is_not_checkovs_pick_of_a_branch(tmp_path):
    # checkov takes `var.environment == "production" ? 7 : 1` for 1 when environment has no value
    v = _scan_with(tmp_path, ENV_DB, "none")["HA-02"]
    assert v.status == "error" and "variable environment has no value" in v.message, v.message


def test_var_file_and_var_values_reach_the_conditionals_asbuilt_evaluates(tmp_path):
    (tmp_path / "prod.tfvars").write_text('environment = "production"\n')
    v = _scan_with(tmp_path, ENV_DB, "prod", var_files=[tmp_path / "prod.tfvars"])["HA-02"]
    assert v.status == "pass" and "7 day(s)" in v.message, v.message
    v = _scan_with(tmp_path, ENV_DB, "staging", tf_vars=["environment=staging"])["HA-02"]
    assert v.status == "pass" and "1 day(s)" in v.message, v.message
    root = tmp_path / "auto"
    root.mkdir()
    (root / "terraform.tfvars").write_text('environment = "production"\n')
    v = _scan_with(tmp_path, ENV_DB, "auto")["HA-02"]
    assert v.status == "pass" and "7 day(s)" in v.message, v.message


def test_a_module_input_that_is_a_reference_is_not_compared_as_a_string(tmp_path):
    root = tmp_path / "mod"
    (root / "db").mkdir(parents=True)
    (root / "db" / "main.tf").write_text(_vars(env='"dev"') + DB.format(body='''  engine                  = "postgres"
  engine_version          = "16.3"
  multi_az                = true
  backup_retention_period = var.env == "production" ? 7 : 0'''))
    (root / "main.tf").write_text('module "db" {\n  source = "./db"\n  env    = aws_vpc.main.tags.env\n}\n'
                                  'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n')
    v = {x.control: x for x in scan([root], [], tmp_path / "r").verdicts}["HA-02"]
    assert v.status == "error", v.message


def test_a_conditional_over_each_value_in_a_nested_block_is_evaluated(tmp_path):
    # checkov substitutes each.value.versioning_enabled but leaves `false ? "Enabled" : "Disabled"`
    text = '''
variable "buckets" {
  default = {
    "acme-bundles" = { versioning_enabled = false }
  }
}
resource "aws_s3_bucket" "this" {
  for_each = var.buckets
  bucket   = each.key
}
resource "aws_s3_bucket_versioning" "this" {
  for_each = var.buckets
  bucket   = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = each.value.versioning_enabled ? "Enabled" : "Disabled"
  }
}
'''
    v = _verdicts(tmp_path, text)["S3-01"]
    assert v.status == "fail", v.message
    assert "versioning is Disabled" in v.message and 'aws_s3_bucket_versioning.this["acme-bundles"]' in v.message


SG_RULE = '''
variable "allowed_security_group_ids" {{
  type = list(string)
}}
variable "allowed_cidr" {{
  type = string
}}
resource "aws_security_group" "db" {{
  name   = "db"
  vpc_id = "vpc-1"
}}
resource "aws_vpc_security_group_ingress_rule" "db" {{
  for_each                     = toset(var.allowed_security_group_ids)
  security_group_id            = aws_security_group.db.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = {port}
  to_port                      = {port}
}}
{extra}
resource "aws_db_instance" "main" {{
  vpc_security_group_ids = [aws_security_group.db.id]
  engine                 = "postgres"
}}
'''

CIDR_RULE = '''
resource "aws_vpc_security_group_ingress_rule" "cidr" {
  security_group_id = aws_security_group.db.id
  cidr_ipv4         = var.allowed_cidr
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
}
'''


def test_an_unknown_source_security_group_is_not_the_internet(tmp_path):
    # the group ids come from the caller: whichever they are, 5432 from a security group is NET-03's pass
    by = _verdicts(tmp_path, SG_RULE.format(port=5432, extra=""))
    assert by["NET-03"].status == "pass", by["NET-03"].message
    assert by["NET-01"].status == "error", by["NET-01"].message  # which group: not known


def test_another_port_from_an_unknown_security_group_fails(tmp_path):
    by = _verdicts(tmp_path, SG_RULE.format(port=22, extra=""))
    assert by["NET-03"].status == "fail", by["NET-03"].message
    assert "tcp 22" in by["NET-03"].message and "aws_vpc_security_group_ingress_rule.db" in by["NET-03"].message


def test_an_unknown_cidr_source_could_be_the_internet(tmp_path):
    by = _verdicts(tmp_path, SG_RULE.format(port=5432, extra=CIDR_RULE))
    assert by["NET-03"].status == "error", by["NET-03"].message
    assert "allowed_cidr" in by["NET-03"].message, by["NET-03"].message
