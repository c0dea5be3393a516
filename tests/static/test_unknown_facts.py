"""Unknown is not a value: a fact the code does not give makes its control `error` naming the
fact, where and why; a known violation still fails whatever the unknown facts are; and an
unknown is never judged as if its unresolved text were the value.

Each case edits the conforming reference the way real-world code is written (a variable with
no default and no value, a security group list from a module output, a CloudFormation
parameter without a default, a registry module that is not on disk) and scans it in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.static.helpers import append, prepare_cfn_yaml, prepare_terraform, replace, scan


def _scan_tf(tmp_path: Path, *edits):
    paths, values = prepare_terraform(tmp_path)
    for edit in edits:
        edit(paths[0])
    result = scan(paths, values, tmp_path / "reports")
    return {v.control: v for v in result.verdicts}


def _unset(var: str) -> str:
    return f'\nvariable "{var}" {{\n  type = string\n}}\n'


def test_a_variable_without_a_value_is_unknown_not_its_text(tmp_path):
    by = _scan_tf(tmp_path,
                  replace("rds.tf", "multi_az                = true", "multi_az                = var.db_multi_az"),
                  append("variables.tf", _unset("db_multi_az")))
    v = by["HA-01"]
    assert v.status == "error", v.message
    assert "variable db_multi_az has no value" in v.message
    assert "aws_db_instance.main" in v.message and "rds.tf" in v.message
    assert "var.db_multi_az" not in v.message.split("(")[0]  # never judged as the text 'var.db_multi_az'
    assert v.unknowns and v.unknowns[0].reason.startswith("variable db_multi_az")
    # the other RDS controls still decide on what is known
    assert by["HA-02"].status == "pass" and by["VER-02"].status == "pass"


def test_an_unresolved_security_group_list_cannot_pass_net_03(tmp_path):
    by = _scan_tf(tmp_path,
                  replace("rds.tf", "vpc_security_group_ids = [aws_security_group.rds.id]",
                          "vpc_security_group_ids = module.security.database_group_ids"),
                  append("main.tf", '\nmodule "security" {\n  source = "terraform-aws-modules/security-group/aws"\n'
                                    '  version = "5.1.0"\n}\n'))
    assert by["NET-03"].status == "error", by["NET-03"].message
    assert "module security" in by["NET-03"].message or "module.security" in by["NET-03"].message
    assert "terraform-aws-modules/security-group/aws" in by["NET-03"].message
    assert by["NET-01"].status == "error"


def test_a_known_violation_fails_whatever_is_unknown(tmp_path):
    # two brokers: HA-03 fails even though the client subnets come from an unset variable
    by = _scan_tf(tmp_path,
                  replace("msk.tf", "number_of_broker_nodes = var.kafka_broker_count", "number_of_broker_nodes = 2"),
                  replace("msk.tf", "client_subnets  = local.private_subnet_ids", "client_subnets  = var.msk_subnets"),
                  append("variables.tf", '\nvariable "msk_subnets" {\n  type = list(string)\n}\n'))
    v = by["HA-03"]
    assert v.status == "fail", v.message
    assert "2 broker node(s), fewer than 3" in v.message


def test_an_internet_open_rule_fails_net_03_beside_an_unknown_group(tmp_path):
    by = _scan_tf(tmp_path,
                  replace("rds.tf", "vpc_security_group_ids = [aws_security_group.rds.id]",
                          "vpc_security_group_ids = [aws_security_group.rds.id, aws_security_group.open.id, "
                          "var.extra_group_id]"),
                  append("rds.tf", '\nresource "aws_security_group" "open" {\n  name = "open"\n'
                                   '  vpc_id = aws_vpc.main.id\n  ingress {\n    from_port = 5432\n'
                                   '    to_port = 5432\n    protocol = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n'),
                  append("variables.tf", _unset("extra_group_id")))
    v = by["NET-03"]
    assert v.status == "fail", v.message
    assert "0.0.0.0/0" in v.message and "aws_security_group.open" in v.message


def test_a_registry_module_makes_what_it_may_create_error_not_skipped(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(
        'module "db" {\n  source  = "terraform-aws-modules/rds/aws"\n  version = "6.10.0"\n'
        '  identifier = "platform"\n  engine = "postgres"\n  multi_az = true\n}\n'
        'module "eks" {\n  source  = "terraform-aws-modules/eks/aws"\n  version = "20.31.0"\n}\n'
        'resource "aws_s3_bucket" "logs" {\n  bucket = "platform-logs"\n}\n')
    result = scan([root], [], tmp_path / "reports")
    by = {v.control: v for v in result.verdicts}
    for control in ("HA-01", "VER-01", "HA-04", "NET-03"):
        assert by[control].status == "error", (control, by[control].message)
        assert "module.db" in by[control].message and "terraform-aws-modules/rds/aws" in by[control].message
        assert "plan file" in by[control].message
    assert result.coverage["modules_unresolved"][0]["module"] == "module.db"


def test_cloudformation_parameter_without_default_is_unknown(tmp_path):
    paths, values = prepare_cfn_yaml(tmp_path)
    template = paths[0] if paths[0].is_file() else next(paths[0].glob("*.yaml"))
    text = template.read_text()
    start = text.index("  EksVersion:")
    end = text.index("\n  ", text.index("Default", start)) if "Default" in text[start:start + 300] else None
    block = text[start:text.index("\n  ", start + 3)] if end is None else text[start:end]
    # drop the parameter's default: the version is now given only at deploy time
    lines = [ln for ln in text[start:].split("\n")[:8] if "Default" in ln]
    assert lines, block
    template.write_text(text.replace(lines[0] + "\n", "", 1))
    result = scan(paths, values, tmp_path / "reports")
    v = {x.control: x for x in result.verdicts}["VER-01"]
    assert v.status == "error", v.message
    assert "parameter EksVersion has no default" in v.message
    assert "given only when the stack is deployed" in v.message


@pytest.mark.parametrize("control, items, expect", [
    # version family: unknown version is error, a known old one fails beside it
    ("VER-03", [{"resource": "a", "version": "UNKNOWN"}], "error"),
    ("VER-03", [{"resource": "a", "version": "2.8.1"}, {"resource": "b", "version": "UNKNOWN"}], "fail"),
    # sizing family
    ("SIZE-02", [{"resource": "a", "instance_class": "UNKNOWN"}], "error"),
    ("SIZE-02", [{"resource": "a", "instance_class": "db.t3.micro"}, {"resource": "b", "instance_class": "UNKNOWN"}],
     "fail"),
    # HA family: zones partially unknown are the rule's to judge
    ("HA-06", [{"resource": "a", "zones": ["us-east-1a", "UNKNOWN"]}], "error"),
    ("HA-06", [{"resource": "a", "zones": ["us-east-1a", "us-east-1b", "UNKNOWN"]}], "pass"),
    ("HA-01", [{"resource": "a", "multi_az": "UNKNOWN"}], "error"),
    ("HA-01", [{"resource": "a", "multi_az": False}, {"resource": "b", "multi_az": "UNKNOWN"}], "fail"),
    # network family
    ("NET-07", [{"resource": "a", "client_broker": "UNKNOWN"}], "error"),
    ("NET-08", [{"resource": "a", "kind": "eks", "vpc": "vpc-1", "peered_vpcs": []},
                {"resource": "b", "kind": "rds", "vpc": "UNKNOWN", "peered_vpcs": []}], "error"),
    ("NET-08", [{"resource": "a", "kind": "eks", "vpc": "vpc-1", "peered_vpcs": []},
                {"resource": "b", "kind": "rds", "vpc": "vpc-2", "peered_vpcs": []},
                {"resource": "c", "kind": "msk", "vpc": "UNKNOWN", "peered_vpcs": []}], "fail"),
    # storage family
    ("S3-01", [{"resource": "a", "name": "b", "versioning": "UNKNOWN"}], "error"),
])
def test_three_way_judgement_per_family(control, items, expect):
    """The judgement every static check and live step goes through (asbuilt.judge)."""
    from asbuilt.catalogue import load_profile
    from asbuilt.model.facts import Unknown
    from asbuilt.static.checkbase import DEFINITIONS, load_checks

    load_checks()
    unknown = Unknown("variable x has no value", "main.tf:3 (aws_x.y)")

    def sub(v):
        if v == "UNKNOWN":
            return unknown
        if isinstance(v, list):
            return [sub(x) for x in v]
        return v

    verdict = DEFINITIONS[control].judge([{k: sub(v) for k, v in i.items()} for i in items],
                                         load_profile("conncentric-aws"))
    assert verdict.status == expect, verdict.message
    if expect == "error":
        assert "variable x has no value" in verdict.message and "main.tf:3" in verdict.message
        assert "UNKNOWN" not in verdict.message


def test_unknown_refuses_to_be_judged_as_a_value():
    from asbuilt.model.facts import Unknown, UnknownUsedAsValue

    with pytest.raises(UnknownUsedAsValue):
        bool(Unknown("variable x has no value"))


def test_a_policy_the_code_does_not_give_is_unknown_not_an_action(tmp_path):
    """IAM family: an installer policy from an unset variable, and an AWS-managed policy attached
    by ARN, are unknown statements: IAM-01 is error naming them, never judged on their text."""
    by = _scan_tf(tmp_path,
                  append("iam.tf", '\nresource "aws_iam_role_policy_attachment" "extra" {\n'
                                   '  role       = aws_iam_role.installer.name\n'
                                   '  policy_arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"\n}\n'))
    v = by["IAM-01"]
    assert v.status == "error", v.message
    assert "AmazonS3ReadOnlyAccess is not defined in this stack" in v.message
    assert "every action" not in v.message


def _dynamic_root(tmp_path: Path, cidr: str, known: bool = False) -> Path:
    root = tmp_path / f"dyn-{cidr.replace('/', '_')}-{known}"
    root.mkdir(exist_ok=True)
    rules = f'{{ postgres = {{ port = 5432, cidr = "{cidr}" }} }}'
    (root / "main.tf").write_text(f'''
variable "extra" {{
  type = map(any)
}}

locals {{
  db_rules = {rules if known else f"merge({rules}, var.extra)"}
}}

resource "aws_security_group" "db" {{
  name   = "db"
  vpc_id = "vpc-0123456789abcdef0"
  dynamic "ingress" {{
    for_each = local.db_rules
    content {{
      from_port   = ingress.value.port
      to_port     = ingress.value.port
      protocol    = "tcp"
      cidr_blocks = [ingress.value.cidr]
    }}
  }}
}}

resource "aws_db_instance" "main" {{
  engine                  = "postgres"
  engine_version          = "16.3"
  instance_class          = "db.r6g.large"
  multi_az                = true
  backup_retention_period = 7
  vpc_security_group_ids  = [aws_security_group.db.id]
}}
''')
    return root


def test_a_dynamic_block_does_not_crash_and_is_never_passed_unseen(tmp_path):
    """checkov keeps a dynamic block's content unexpanded (its iterator references unresolved):
    the scan must not crash on it, and NET-03 must not pass on rules it could not read. A
    collection asbuilt can evaluate (a literal local) is expanded and judged."""
    for cidr in ("10.0.0.0/16", "0.0.0.0/0"):
        result = scan([_dynamic_root(tmp_path, cidr)], [], tmp_path / "r")
        by = {v.control: v for v in result.verdicts}
        assert by["HA-01"].status == "pass"  # the rest of the module is judged as usual
        v = by["NET-03"]
        assert v.status == "error", v.message
        assert 'dynamic "ingress" block' in v.message and "aws_security_group.db" in v.message
        known = {v.control: v for v in scan([_dynamic_root(tmp_path, cidr, known=True)], [], tmp_path / "k").verdicts}
        assert known["NET-03"].status == ("pass" if cidr == "10.0.0.0/16" else "fail"), known["NET-03"].message


@pytest.mark.parametrize("version, ok", [("3.9.x", True), ("3.7.x.kraft", True), ("2.8.2.tiered", False),
                                         ("3.6.0", True), ("3.4.0", False)])
def test_msk_version_strings_are_versions(version, ok):
    """MSK's own version names (a release line, KRaft mode, tiered storage) compare as versions."""
    from asbuilt.rules.versions import msk_version

    v = msk_version([{"resource": "arn:aws:kafka:::cluster/x", "version": version}], "3.5")
    assert v.status == ("pass" if ok else "fail"), v.message
    assert "not a version number" not in v.message
