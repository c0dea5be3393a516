"""results.json, junit.xml and results.sarif of `asbuilt static`; built-in checkov checks; no network."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from tests.helpers import asbuilt, by_id
from tests.static.helpers import FIXTURES, FLAVOURS, REFERENCE, scan
from tests.static.variants import TERRAFORM

SCHEMA = json.loads((FIXTURES / "sarif-2.1.0-subset.schema.json").read_text())


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    """A Terraform copy with two violations (HA-01, NET-07) through the real CLI."""
    tmp = tmp_path_factory.mktemp("broken")
    paths, _ = FLAVOURS["terraform"].prepare(tmp)
    for v in TERRAFORM:
        if v.id in ("tf-ha01", "tf-net07"):
            for edit in v.edits:
                edit(paths[0])
    reports = tmp / "reports"
    res = asbuilt("static", paths[0], "--report-dir", reports)
    return res, reports


def test_exit_code_and_results_json(broken_run):
    res, reports = broken_run
    assert res.code == 1, res.stdout + res.stderr
    doc = res.results(reports)
    assert doc["run"]["mode"] == "static"
    assert doc["run"]["static_inputs"]["terraform"]
    results = by_id(doc)
    assert results["HA-01"]["status"] == "fail" and results["HA-01"]["source"] == "static"
    assert results["NET-07"]["status"] == "warn"  # a `should` control
    ev = results["HA-01"]["evidence"][0]
    assert ev["source"] == "static" and ev["file"].endswith("rds.tf") and ev["line"] > 0
    assert "rds.tf:" in ev["resource"]
    assert not any(k.startswith("_") for c in doc["controls"] for e in c["evidence"] for k in e)
    # Controls checked only live are skipped, never passed.
    assert results["NET-04"]["status"] in ("skipped", "pending")


def test_sarif_validates_and_locates_findings(broken_run):
    _, reports = broken_run
    sarif = json.loads((reports / "results.sarif").read_text())
    jsonschema.validate(sarif, SCHEMA)
    run = sarif["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(rules) == len(set(rules))
    assert "HA-01" in rules and "VER-01" in rules and "NET-04" not in rules  # one rule per static control
    by_rule = {}
    for r in run["results"]:
        by_rule.setdefault(r["ruleId"], []).append(r)
        assert rules[r["ruleIndex"]] == r["ruleId"]
    assert set(by_rule) == {"HA-01", "NET-07"}
    loc = by_rule["HA-01"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("terraform/rds.tf")
    assert loc["region"]["startLine"] == int(
        next(i for i, ln in enumerate((REFERENCE / "terraform" / "rds.tf").read_text().splitlines(), 1)
             if ln.startswith('resource "aws_db_instance"')))
    assert by_rule["HA-01"][0]["level"] == "error" and by_rule["NET-07"][0]["level"] == "warning"


def test_junit(broken_run):
    _, reports = broken_run
    root = ET.parse(reports / "junit.xml").getroot()
    cases = {c.get("name").split()[0]: c for c in root.iter("testcase")}
    assert cases["HA-01"].find("failure") is not None
    assert cases["VER-01"].find("failure") is None and cases["VER-01"].find("skipped") is None


def test_checkov_builtins_are_extra_labelled_findings(tmp_path):
    paths, _ = FLAVOURS["cloudformation-yaml"].prepare(tmp_path)
    reports = tmp_path / "reports"
    res = asbuilt("static", paths[0], "--with-checkov-builtins", "--report-dir", reports)
    assert res.code == 0, res.stdout + res.stderr  # built-in findings never fail the gate
    doc = res.results(reports)
    extra = doc["extra_findings"]
    assert extra, "checkov's built-in checks found nothing on the template"
    assert all(f["check_id"].startswith("CKV") and "not a reference-architecture control" in f["label"] for f in extra)
    assert {c["id"] for c in doc["controls"]}.isdisjoint({f["check_id"] for f in extra})
    sarif = json.loads((reports / "results.sarif").read_text())
    jsonschema.validate(sarif, SCHEMA)
    builtin = [r for r in sarif["runs"][0]["results"] if r["ruleId"].startswith("checkov/")]
    assert builtin and all(r["level"] == "note" for r in builtin)
    # Off by default.
    res = asbuilt("static", paths[0], "--report-dir", tmp_path / "r2")
    assert "extra_findings" not in res.results(tmp_path / "r2")


def test_no_network_during_a_scan(tmp_path, monkeypatch):
    """Every connection attempt fails the test: a scan must not need (or try) the network."""
    attempts = []

    def refuse(self, address, *a, **k):
        attempts.append(address)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))
    tf, _ = FLAVOURS["terraform"].prepare(tmp_path)
    cfn, _ = FLAVOURS["cloudformation-yaml"].prepare(tmp_path)
    chart, values = FLAVOURS["helm"].prepare(tmp_path)
    result = scan(tf + cfn + chart, values, tmp_path / "reports")
    assert result.verdicts and all(v.status == "pass" for v in result.verdicts)
    assert attempts == []


def test_only_selected_controls(tmp_path):
    paths, _ = FLAVOURS["terraform"].prepare(tmp_path)
    res = asbuilt("static", paths[0], "--control", "HA-01", "--report-dir", tmp_path / "r")
    results = by_id(res.results(tmp_path / "r"))
    assert results["HA-01"]["status"] == "pass"
    assert results["VER-01"]["status"] == "skipped"
