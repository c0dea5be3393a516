"""Flavour details: Terraform modules, tfvars and count; CloudFormation intrinsics; plain checkov."""

from __future__ import annotations

import json
import subprocess

from tests.helpers import ROOT
from tests.static.helpers import FLAVOURS, REFERENCE, scan

MODULE_ROOT = """
variable "azs" {
  default = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

module "network" {
  source = "./modules/network"
  azs    = var.azs
}

resource "aws_msk_cluster" "kafka" {
  cluster_name           = "kafka"
  kafka_version          = "3.6.0"
  number_of_broker_nodes = 3

  broker_node_group_info {
    instance_type   = "kafka.m5.large"
    client_subnets  = module.network.subnet_ids
    security_groups = [aws_security_group.msk.id]
  }
}

resource "aws_security_group" "msk" {
  vpc_id = module.network.vpc_id
}
"""

MODULE_NETWORK = """
variable "azs" {}

resource "aws_vpc" "this" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "this" {
  count             = length(var.azs)
  vpc_id            = aws_vpc.this.id
  availability_zone = var.azs[count.index]
  cidr_block        = "10.0.${count.index}.0/24"
}

output "subnet_ids" {
  value = aws_subnet.this[*].id
}

output "vpc_id" {
  value = aws_vpc.this.id
}
"""


def _module_tree(tmp_path, azs: str | None = None):
    root = tmp_path / "stack"
    (root / "modules" / "network").mkdir(parents=True)
    (root / "main.tf").write_text(MODULE_ROOT if azs is None else MODULE_ROOT.replace(
        '["eu-west-1a", "eu-west-1b", "eu-west-1c"]', azs))
    (root / "modules" / "network" / "main.tf").write_text(MODULE_NETWORK)
    return root


def test_module_outputs_and_count_resolve_to_zones(tmp_path):
    root = _module_tree(tmp_path)
    result = scan([root], [], tmp_path / "r")
    by_id = {v.control: v for v in result.verdicts}
    assert by_id["HA-03"].status == "pass", by_id["HA-03"].message
    assert "3 AZs" in by_id["HA-03"].message
    assert by_id["NET-08"].status == "pass"


def test_module_variables_reach_the_zones(tmp_path):
    root = _module_tree(tmp_path, '["eu-west-1a", "eu-west-1a", "eu-west-1b"]')
    result = scan([root], [], tmp_path / "r")
    v = {v.control: v for v in result.verdicts}["HA-03"]
    assert v.status == "fail" and "2 availability zone(s)" in v.message and "main.tf:" in v.message, v.message


def test_tfvars_are_applied(tmp_path):
    paths, _ = FLAVOURS["terraform"].prepare(tmp_path)
    (paths[0] / "terraform.tfvars").write_text('eks_version = "1.28"\n')
    result = scan(paths, [], tmp_path / "r")
    v = {v.control: v for v in result.verdicts}["VER-01"]
    assert v.status == "fail" and "1.28" in v.message, v.message


def test_cloudformation_intrinsics_resolve(tmp_path):
    """!Sub of a JSON trust policy, !GetAtt of the bucket ARN and key, !Select of !GetAZs."""
    paths, _ = FLAVOURS["cloudformation-yaml"].prepare(tmp_path)
    result = scan(paths, [], tmp_path / "r")
    by_id = {v.control: v for v in result.verdicts}
    assert {c: v.status for c, v in by_id.items() if v.status != "pass"} == {}
    iam01 = next(e for e in by_id["IAM-01"].evidence)
    assert iam01["bucket"]["arn"] == "arn:aws:s3:::conncentric-bundles-reference"
    assert iam01["bucket"]["kms_key_arn"] == "<kms-key BundleKey>"
    grants = {a: s["resources"] for s in iam01["statements"] for a in s["actions"]}
    assert grants["s3:GetObject"] == ["arn:aws:s3:::conncentric-bundles-reference/*"]
    assert grants["kms:Decrypt"] == ["<kms-key BundleKey>"]
    ha03 = next(e for e in by_id["HA-03"].evidence)
    assert sorted(ha03["zones"]) == ["az#0", "az#1", "az#2"]


def test_plain_checkov_runs_the_same_checks(tmp_path):
    """checkov's own CLI loads checks/ as external checks (per resource, without the whole-set model)."""
    out = tmp_path / "checkov.json"
    res = subprocess.run(
        [str((ROOT / ".venv" / "bin" / "checkov") if (ROOT / ".venv" / "bin" / "checkov").exists() else "checkov"),
         "-d", str(REFERENCE / "terraform"), "--framework", "terraform", "--external-checks-dir", str(ROOT / "checks" / "aws"),
         "--check", "ASB_VER_01,ASB_HA_01", "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr[-2000:]
    doc = json.loads(res.stdout)
    records = doc["results"]["passed_checks"] + doc["results"]["failed_checks"]
    ids = {r["check_id"] for r in records}
    assert ids == {"ASB_VER_01", "ASB_HA_01"}, ids
    assert all(r["check_name"].startswith(("VER-01:", "HA-01:")) for r in records)
    assert {r["check_id"] for r in doc["results"]["passed_checks"]} == {"ASB_VER_01", "ASB_HA_01"}
