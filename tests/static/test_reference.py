"""The conforming reference passes every static control with zero findings, through the real CLI."""

from __future__ import annotations

import json

import pytest

from asbuilt.catalogue import load_catalogue
from tests.helpers import asbuilt, by_id, write_yaml
from tests.static.helpers import REFERENCE, bundle_entries, write_zip

STATIC_IDS = sorted(c.id for c in load_catalogue().for_profile("conncentric-aws") if c.static)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """`asbuilt static` over the whole reference, its values file and a bundle zip built from it."""
    tmp = tmp_path_factory.mktemp("reference")
    bundle = write_zip(tmp / "custom-bundle-v1.0.0.zip", bundle_entries())
    reports = tmp / "reports"
    # examples/reference/conduktor is the conduktor-k8s profile's reference (tests/static/test_conduktor_static.py)
    parts = sorted(p for p in REFERENCE.iterdir() if p.name != "conduktor")
    res = asbuilt("static", *parts, bundle, "--values", REFERENCE / "values" / "production.yaml",
                  "--report-dir", reports)
    return res, reports


def test_reference_passes_every_static_control(reference_run):
    res, reports = reference_run
    assert res.code == 0, res.stdout + res.stderr
    results = by_id(res.results(reports))
    not_passing = {c: (results[c]["status"], results[c]["message"]) for c in STATIC_IDS if results[c]["status"] != "pass"}
    assert not not_passing, not_passing
    for c in STATIC_IDS:
        assert results[c]["source"] == "static"
        assert results[c]["evidence"], f"{c}: no evidence"


def test_reference_has_zero_findings(reference_run):
    _, reports = reference_run
    sarif = json.loads((reports / "results.sarif").read_text())
    assert sarif["runs"][0]["results"] == []
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_reference_covers_every_flavour(reference_run):
    res, reports = reference_run
    inputs = res.results(reports)["run"]["static_inputs"]
    assert inputs["terraform"] and inputs["charts"] and inputs["gradle"] and inputs["bundles"] and inputs["repos"]
    assert any(p.endswith("conncentric.yaml") for p in inputs["cloudformation"])
    assert any(p.endswith("conncentric.json") for p in inputs["cloudformation"])
    assert inputs["charts"][0]["values"][0].endswith("values/production.yaml")


def test_reference_target_file_static_only(tmp_path):
    """`asbuilt run --static-only` over examples/targets/reference-static.yaml (plus a bundle)."""
    bundle = write_zip(tmp_path / "bundle.zip", bundle_entries())
    target = write_yaml(tmp_path / "target.yaml", {
        "name": "reference-with-bundle",
        "profile": "conncentric-aws",
        "static": {
            "terraform": [str(REFERENCE / "terraform")],
            "cloudformation": [str(REFERENCE / "cloudformation")],
            "charts": [{"path": str(REFERENCE / "chart" / "conncentric"),
                        "values": [str(REFERENCE / "values" / "production.yaml")]}],
            "gradle": [str(REFERENCE / "plugin")],
            "bundles": [str(bundle)],
        },
    })
    res = asbuilt("run", "--target", target, "--static-only", "--report-dir", tmp_path / "reports")
    results = by_id(res.results(tmp_path / "reports"))
    assert res.code == 0, res.stdout + res.stderr
    assert {c: results[c]["status"] for c in STATIC_IDS} == {c: "pass" for c in STATIC_IDS}
    assert (tmp_path / "reports" / "results.sarif").exists()
