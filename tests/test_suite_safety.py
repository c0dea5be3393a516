"""SUITE-01..03: the suite's own safety, decided on every run (asbuilt.suite_controls)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from asbuilt import suite_controls
from asbuilt.rules.iam_eval import evaluate, normalise
from tests.helpers import ROOT, asbuilt, by_id


def test_a_write_outside_mutating_scenarios_fails_suite_01():
    v = suite_controls.read_only({"rds:DescribeDBInstances": {"read_only": 2},
                                  "s3:PutObject": {"read_only": 1}})
    assert v.status == "fail" and "s3:PutObject" in v.message and "Fix:" in v.message
    ok = suite_controls.read_only({"rds:DescribeDBInstances": {"read_only": 2}, "s3:PutObject": {"mutating": 1}})
    assert ok.status == "pass"


def test_an_operation_missing_from_the_shipped_policy_fails_suite_02():
    v = suite_controls.policy_coverage(["rds:DescribeDBInstances", "rds:DeleteDBInstance"], [])
    assert v.status == "fail" and "rds:DeleteDBInstance" in v.message
    assert suite_controls.policy_coverage(["rds:DescribeDBInstances", "elbv2:DescribeListeners"], []).status == "pass"
    # a write is only acceptable in @mutating scenarios, through the narrow mutating policy
    assert suite_controls.policy_coverage([], ["s3:PutObject"]).status == "pass"
    assert suite_controls.policy_coverage(["s3:PutObject"], []).status == "fail"


def test_shipped_policies_are_read_only_and_narrow():
    readonly = json.loads((ROOT / "deploy/aws/asbuilt-readonly-policy.json").read_text())
    for st in readonly["Statement"]:
        assert st["Effect"] == "Allow"
        for action in st["Action"]:
            assert "*" not in action, action
            assert suite_controls.is_read(action), f"{action} is not a read operation"
    text = (ROOT / "deploy/aws/asbuilt-mutating-policy.json").read_text().replace("${BundleBucket}", "bundles")
    mutating = normalise(json.loads(text))
    bucket = "arn:aws:s3:::bundles"
    assert evaluate(mutating, "s3:PutObject", f"{bucket}/asbuilt-selftest/b.zip").decision == "allowed"
    assert evaluate(mutating, "s3:PutObject", f"{bucket}/custom-bundle-v1.0.0.zip").decision != "allowed"
    assert evaluate(mutating, "s3:DeleteBucket", bucket).decision != "allowed"


def test_iam_action_names_follow_the_service_authorization_reference():
    assert suite_controls.iam_action("elbv2:DescribeListeners") == "elasticloadbalancing:DescribeListeners"
    assert suite_controls.iam_action("s3:GetBucketEncryption") == "s3:GetEncryptionConfiguration"
    assert suite_controls.iam_action("s3:HeadObject") == "s3:GetObject"


@pytest.mark.sandbox
def test_planted_secrets_never_reach_a_report(sandbox, tmp_path, monkeypatch):
    """Known secret values (database password, a Kafka SASL secret, the AWS secret key, the
    signature of a pre-signed URL) are planted in a full sandbox run; none may appear in any
    file the run writes, and SUITE-03 must pass."""
    target_file = sandbox()
    target = yaml.safe_load(Path(target_file).read_text())
    planted_sasl = "planted-kafka-sasl-Secret-9f81"
    monkeypatch.setenv("ASBUILT_PLANTED_SASL", planted_sasl)
    target["kafka"]["sasl_password"] = {"env": "ASBUILT_PLANTED_SASL"}
    planted_target = tmp_path / "target.yaml"
    planted_target.write_text(yaml.safe_dump(target))
    secrets = [planted_sasl,
               Path(target["postgres"]["password"]["file"]).read_text().strip(),
               Path(target["aws"]["credentials"]["secret_access_key"]["file"]).read_text().strip()]
    reports = tmp_path / "reports"
    res = asbuilt("run", "--target", planted_target, "--report-dir", reports,
                  env={"ASBUILT_PLANTED_SASL": planted_sasl})
    assert res.code in (0, 1, 2), res.stderr
    written = [p for p in reports.rglob("*") if p.is_file()]
    assert written
    for path in written:
        text = path.read_text(errors="replace")
        for s in secrets:
            assert s not in text, f"secret leaked into {path.name}"
        assert "X-Amz-Signature=" not in text or "X-Amz-Signature=[REDACTED]" in text, path.name
    for s in secrets:
        assert s not in res.stdout + res.stderr
    results = by_id(json.loads((reports / "results.json").read_text()))
    assert results["SUITE-03"]["status"] == "pass", results["SUITE-03"]["message"]


def test_kubernetes_requests_are_judged_too():
    assert suite_controls.read_only({"k8s:create:jobs": {"read_only": 1}}).status == "fail"
    assert suite_controls.read_only({"k8s:create:jobs": {"mutating": 1}, "k8s:list:pods": {"read_only": 3}}).status == "pass"
    assert suite_controls.policy_coverage(["k8s:list:deployments", "k8s:get:pods/log"], ["k8s:create:jobs"]).status == "pass"
    v = suite_controls.policy_coverage(["k8s:delete:namespaces"], [])
    assert v.status == "fail" and "k8s:delete:namespaces" in v.message
    assert suite_controls.policy_coverage(["k8s:create:jobs"], []).status == "fail"  # only @mutating may


@pytest.mark.sandbox
def test_full_sandbox_run_conforms_and_proves_its_own_safety(sandbox, tmp_path):
    """The main job: every implemented control of conncentric-aws against the conforming sandbox.
    Every AWS operation and Kubernetes request it made is allowed by deploy/, and nothing outside
    @mutating scenarios wrote."""
    sandbox()
    res = asbuilt("run", "--target", "sandbox", "--report-dir", tmp_path)
    results = by_id(json.loads((tmp_path / "results.json").read_text()))
    not_ok = {c: (r["status"], r["message"][:160]) for c, r in results.items()
              if r["status"] not in ("pass", "skipped")}
    assert not not_ok, not_ok
    # the one honest skip: a helm 4 release record cannot prove a 4.1 minimum
    assert {c for c, r in results.items() if r["status"] == "skipped"} <= {"VER-04"}
    assert res.code == 0, res.stdout[-1500:]
    for c in ("SUITE-01", "SUITE-02", "SUITE-03"):
        assert results[c]["status"] == "pass", results[c]["message"]
    ops = results["SUITE-02"]["evidence"][0]["checked_operations"]
    assert any(op.startswith("k8s:") for op in ops) and any(op.startswith("rds:") for op in ops)
