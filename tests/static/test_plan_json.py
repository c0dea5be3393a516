"""Terraform plan and state JSON (`terraform show -json`): a root that calls registry modules,
undecidable from its HCL alone, is decided from its plan or state.

The fixtures (tests/static/fixtures/plan/) follow Terraform's documented JSON output format:
``planned_values`` with nested ``child_modules`` (module.db.module.db_instance...),
``resource_changes`` with ``after`` / ``after_unknown`` / ``after_sensitive``, ``prior_state``
holding a database that the plan destroys, and ``configuration`` with the references of each
expression (through module inputs and outputs), as terraform-aws-modules' vpc,
security-group and rds modules produce them. registry-root/ is the HCL the plan came from.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.static.helpers import FIXTURES, scan

PLANS = FIXTURES / "plan"
DB = "module.db.module.db_instance.aws_db_instance.this[0]"
SECRETS = ("s3cr3t-Pa55w0rd-xyz", "legacy-Secret-99")


def _plan() -> dict:
    return json.loads((PLANS / "registry-root.plan.json").read_text())


def _write(tmp_path: Path, doc: dict, name: str = "tfplan.json") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def _planned(doc: dict, address: str) -> dict:
    def walk(module: dict):
        for r in module.get("resources", []):
            if r["address"] == address:
                return r
        for c in module.get("child_modules", []):
            found = walk(c)
            if found:
                return found
        return None

    return walk(doc["planned_values"]["root_module"])


def _change(doc: dict, address: str) -> dict:
    return next(rc for rc in doc["resource_changes"] if rc["address"] == address)["change"]


def _by(result) -> dict:
    return {v.control: v for v in result.verdicts}


def test_registry_module_root_errors_from_hcl_alone(tmp_path):
    by = _by(scan([PLANS / "registry-root"], [], tmp_path / "r"))
    v = by["HA-01"]
    assert v.status == "error", v.message
    assert "module.db" in v.message and "terraform-aws-modules/rds/aws" in v.message and "plan" in v.message


@pytest.mark.parametrize("name", ["registry-root.plan.json", "registry-root.state.json"])
def test_the_same_root_is_decided_from_its_plan_and_its_state(tmp_path, name):
    result = scan([PLANS / name], [], tmp_path / "r")
    by = _by(result)
    for control in ("HA-01", "HA-02", "VER-02", "SIZE-02"):
        assert by[control].status == "pass", (control, by[control].message)
        assert DB in by[control].message and f"{name}:" in by[control].message
    # the database's security group and subnets are tied across modules: through module inputs and
    # outputs in the plan (the ids exist only after apply), by id in the state
    assert by["NET-08"].status == "pass", by["NET-08"].message
    assert "module.vpc.aws_vpc.this[0]" in by["NET-08"].message
    assert result.coverage["resources"]["Database"] == 1
    assert {"module.db", "module.db.module.db_instance", "module.vpc"} <= set(result.coverage["modules_resolved"])


def test_a_known_violation_in_the_plan_fails_naming_the_instance(tmp_path):
    doc = _plan()
    _planned(doc, DB)["values"]["multi_az"] = False
    _change(doc, DB)["after"]["multi_az"] = False
    by = _by(scan([_write(tmp_path, doc)], [], tmp_path / "r"))
    v = by["HA-01"]
    assert v.status == "fail", v.message
    assert DB in v.message and "tfplan.json:" in v.message
    assert by["HA-02"].status == "pass"


def test_a_value_known_only_after_apply_is_an_error_naming_the_attribute(tmp_path):
    doc = _plan()
    del _planned(doc, DB)["values"]["multi_az"]  # planned_values omit unknown values
    del _change(doc, DB)["after"]["multi_az"]
    _change(doc, DB)["after_unknown"]["multi_az"] = True
    by = _by(scan([_write(tmp_path, doc)], [], tmp_path / "r"))
    v = by["HA-01"]
    assert v.status == "error", v.message
    assert "multi_az" in v.message and "known only after apply" in v.message and DB in v.message
    assert by["VER-02"].status == "pass"


def test_a_resource_being_destroyed_is_not_judged(tmp_path):
    # prior_state holds aws_db_instance.legacy (single-AZ, no backups, PostgreSQL 11); the plan deletes it
    doc = _plan()
    assert _change(doc, "aws_db_instance.legacy")["actions"] == ["delete"]
    result = scan([_write(tmp_path, doc)], [], tmp_path / "r")
    by = _by(result)
    for control in ("HA-01", "HA-02", "VER-02", "SIZE-02"):
        assert by[control].status == "pass", by[control].message
        assert "legacy" not in by[control].message
    assert result.coverage["resources"]["Database"] == 1


def test_a_replaced_resource_is_judged_as_planned(tmp_path):
    doc = _plan()
    change = _change(doc, DB)
    change["actions"] = ["delete", "create"]
    _planned(doc, DB)["values"]["backup_retention_period"] = 0
    change["after"]["backup_retention_period"] = 0
    assert _by(scan([_write(tmp_path, doc)], [], tmp_path / "r"))["HA-02"].status == "fail"


def test_sensitive_values_are_never_read_into_a_report(tmp_path):
    from asbuilt.cli import main

    report = tmp_path / "reports"
    code = main(["static", str(PLANS / "registry-root.plan.json"), "--report-dir", str(report)])
    assert code in (0, 1, 2)
    written = "".join(p.read_text(errors="replace") for p in report.rglob("*") if p.is_file())
    assert "module.db.module.db_instance.aws_db_instance.this[0]" in written
    for secret in SECRETS:
        assert secret not in written


def test_for_each_instances_are_resources_of_their_own(tmp_path):
    """A root with for_each subnets keyed by zone and an ALB over them: the subnet ids exist only
    after apply, the configuration's reference (`[for s in aws_subnet.private : s.id]`) ties them."""
    zones = {"us-east-1a": "10.0.1.0/24", "us-east-1b": "10.0.2.0/24"}
    subnets = [{"address": f'aws_subnet.private["{z}"]', "mode": "managed", "type": "aws_subnet", "name": "private",
                "index": z, "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 1,
                "values": {"availability_zone": z, "cidr_block": c, "tags": {"Tier": "private"}},
                "sensitive_values": {"tags": {}}} for z, c in zones.items()]
    lb = {"address": "aws_lb.main", "mode": "managed", "type": "aws_lb", "name": "main",
          "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0,
          "values": {"name": "platform", "internal": True, "load_balancer_type": "application",
                     "enable_deletion_protection": False}, "sensitive_values": {"subnets": []}}
    changes = [{"address": r["address"], "mode": "managed", "type": r["type"], "name": r["name"],
                **({"index": r["index"]} if "index" in r else {}), "provider_name": r["provider_name"],
                "change": {"actions": ["create"], "before": None, "after": copy.deepcopy(r["values"]),
                           "after_unknown": {"id": True, "arn": True, "vpc_id": True,
                                             **({"subnets": True, "dns_name": True} if r is lb else {})},
                           "before_sensitive": False, "after_sensitive": r["sensitive_values"]}}
               for r in [*subnets, lb]]
    doc = {
        "format_version": "1.2", "terraform_version": "1.9.8",
        "variables": {"zones": {"value": zones}},
        "planned_values": {"root_module": {"resources": [*subnets, lb]}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": [
            {"address": "aws_subnet.private", "mode": "managed", "type": "aws_subnet", "name": "private",
             "provider_config_key": "aws", "expressions": {
                 "availability_zone": {"references": ["each.key"]}, "cidr_block": {"references": ["each.value"]},
                 "vpc_id": {"references": ["aws_vpc.main.id", "aws_vpc.main"]}},
             "schema_version": 1, "for_each_expression": {"references": ["var.zones"]}},
            {"address": "aws_lb.main", "mode": "managed", "type": "aws_lb", "name": "main",
             "provider_config_key": "aws", "expressions": {
                 "name": {"constant_value": "platform"}, "internal": {"constant_value": True},
                 "load_balancer_type": {"constant_value": "application"},
                 "subnets": {"references": ["aws_subnet.private"]}},
             "schema_version": 0}],
            "variables": {"zones": {}}}},
    }
    by = _by(scan([_write(tmp_path, doc)], [], tmp_path / "r"))
    v = by["HA-06"]
    assert v.status == "pass" and "2 AZs" in v.message, v.message
    # one zone fewer is a known violation
    doc["planned_values"]["root_module"]["resources"] = [subnets[0], lb]
    doc["resource_changes"] = [changes[0], changes[2]]
    assert _by(scan([_write(tmp_path, doc)], [], tmp_path / "r2"))["HA-06"].status == "fail"


def test_a_plan_is_found_by_content_in_a_folder_and_other_json_is_left_alone(tmp_path):
    from asbuilt.static.engine import discover_paths

    folder = tmp_path / "ci"
    folder.mkdir()
    (folder / "plan-output.json").write_text((PLANS / "registry-root.plan.json").read_text())
    (folder / "settings.json").write_text('{"format_version": "1.0", "editor": "vim"}')
    inputs = discover_paths([folder], [])
    assert [p.name for p in inputs.terraform_plans] == ["plan-output.json"]
    assert any("settings.json" in i for i in inputs.ignored)


def test_a_target_names_its_plan(tmp_path):
    from asbuilt.static.engine import discover_target
    from asbuilt.target import load_target

    plan = _write(tmp_path, _plan())
    target = tmp_path / "target.yaml"
    target.write_text(f"name: ci\nstatic:\n  terraform_plan: [{plan.relative_to(tmp_path)}]\n")
    inputs = discover_target(load_target(target))
    assert inputs.terraform_plans == [plan.resolve()]


@pytest.mark.parametrize("doc, words", [
    ({"format_version": "2.0", "terraform_version": "9.0.0", "planned_values": {}, "configuration": {}},
     "format_version 2.0 is not supported"),
    ({"format_version": "1.0", "terraform_version": "1.9.8"}, "has no resources"),
    ({"hello": "world"}, "not Terraform plan or state JSON"),
])
def test_a_named_file_that_is_not_a_usable_plan_is_one_line(tmp_path, doc, words):
    from asbuilt.errors import RunError
    from asbuilt.static.tfplan import build_estate

    with pytest.raises(RunError) as exc:
        build_estate(_write(tmp_path, doc))
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_inline_rules_known_in_the_plan_are_judged_and_unknown_ones_are_not_no_rules(tmp_path):
    sg = "module.db_sg.aws_security_group.this_name_prefix[0]"
    doc = _plan()
    change = _change(doc, sg)
    change["after"]["ingress"] = [{"from_port": 5432, "to_port": 5432, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"],
                                   "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False,
                                   "description": ""}]
    change["after_unknown"]["ingress"] = [{"cidr_blocks": [False], "ipv6_cidr_blocks": [], "prefix_list_ids": [],
                                           "security_groups": []}]
    v = _by(scan([_write(tmp_path, doc)], [], tmp_path / "r"))["NET-03"]
    assert v.status == "fail" and "0.0.0.0/0" in v.message and sg in v.message, v.message
    # ingress known only after apply (the fixture as written): the group's rules are unknown, never none
    v = _by(scan([PLANS / "registry-root.plan.json"], [], tmp_path / "r2"))["NET-03"]
    assert v.status == "error", v.message
