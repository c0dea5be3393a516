"""Waivers: a waived failure is `waived`; expired and unmatched waivers are reported; bad files exit 2."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from asbuilt.errors import InputError
from asbuilt.report.results import exit_code
from asbuilt.rules import Verdict
from asbuilt_sandbox import aws_reference
from asbuilt.waivers import Waiver, apply_waivers, failing_resources, load_waivers
from tests.helpers import ROOT, asbuilt, by_id, reset_moto, write_yaml
from tests.test_report_html import DB, TODAY, fabricate, parse

OTHER_DB = "arn:aws:rds:eu-west-1:123456789012:db:reporting-db"


def _multi_az_fail(*dbs: str, passing: tuple[str, ...] = ()) -> list[Verdict]:
    """HA-01's own rule over failing and passing databases: its findings name the failing ones."""
    from asbuilt.rules.ha import rds_multi_az

    evidence = [{"resource": d, "multi_az": False} for d in dbs] + [{"resource": d, "multi_az": True} for d in passing]
    return [rds_multi_az(evidence)]


def _w(control="HA-01", resources=(), expires=date(2027, 1, 31), reason="migration window", approver="Dana W"):
    return Waiver(control=control, resources=tuple(resources), reason=reason, approver=approver, expires=expires)


def _apply(verdicts, waivers, today=TODAY, **kw):
    run, results = fabricate(verdicts, waivers, today=today, **kw)
    return {r.id: r for r in results}, run["waivers"], results


# -- applying ------------------------------------------------------------------------------

def test_an_unscoped_waiver_waives_the_failure_and_keeps_the_finding():
    res, report, results = _apply(_multi_az_fail(DB), [_w()])
    r = res["HA-01"]
    assert r.status == "waived"
    assert r.message.startswith(f"{DB}: MultiAZ is false. Fix:"), r.message  # the original finding
    assert "waived by Dana W until 2027-01-31: migration window" in r.message
    assert r.waiver["approver"] == "Dana W" and r.waiver["expires"] == "2027-01-31" and r.waiver["state"] == "active"
    assert r.waiver["original_status"] == "fail"
    assert report[0]["state"] == "active" and report[0]["applied_to"] == ["HA-01"]
    assert exit_code(results) == 0  # waived is not failing
    assert exit_code(results, strict=True) == 1  # (strict still fails on the pending controls)


def test_the_expiry_day_is_still_valid_and_the_day_after_is_not():
    res, _, _ = _apply(_multi_az_fail(DB), [_w(expires=TODAY)])
    assert res["HA-01"].status == "waived"
    res, report, results = _apply(_multi_az_fail(DB), [_w(expires=TODAY - timedelta(days=1))])
    r = res["HA-01"]
    assert r.status == "fail", r.message
    assert "waiver by Dana W expired on 2026-11-19: migration window; not waived" in r.message
    assert r.waiver["state"] == "expired"
    assert report[0]["state"] == "expired"
    assert exit_code(results) == 1


def test_a_scoped_waiver_covers_only_its_resources():
    # covers the one failing database (glob), the passing one does not need covering
    res, report, _ = _apply(_multi_az_fail(DB, passing=(OTHER_DB,)), [_w(resources=["arn:aws:rds:*:*:db:conncentric-db"])])
    assert res["HA-01"].status == "waived", res["HA-01"].message
    assert res["HA-01"].waiver["resources"] == ["arn:aws:rds:*:*:db:conncentric-db"]
    # two failing databases, the waiver names one: not waived, and both the result and the report say why
    res, report, results = _apply(_multi_az_fail(DB, OTHER_DB), [_w(resources=[DB])])
    assert res["HA-01"].status == "fail"
    assert f"waiver scope does not cover {OTHER_DB}: not waived" in res["HA-01"].message
    assert report[0]["state"] == "unused" and OTHER_DB in report[0]["note"]
    assert exit_code(results) == 1
    # two scoped waivers together cover both
    res, report, _ = _apply(_multi_az_fail(DB, OTHER_DB), [_w(resources=[DB]), _w(resources=[OTHER_DB], approver="Kim")])
    assert res["HA-01"].status == "waived"
    assert "waived by Dana W" in res["HA-01"].message and "waived by Kim" in res["HA-01"].message
    assert [w["state"] for w in report] == ["active", "active"]
    # a waiver for another resource only
    res, report, _ = _apply(_multi_az_fail(DB), [_w(resources=[OTHER_DB])])
    assert res["HA-01"].status == "fail" and report[0]["state"] == "unused"


def test_a_scoped_waiver_cannot_match_a_failure_that_names_no_resource():
    v = [Verdict("HA-01", "fail", "no standby found. Fix: enable Multi-AZ", [], "live")]
    res, report, _ = _apply(v, [_w(resources=[DB])])
    assert res["HA-01"].status == "fail"
    assert "names no resource" in res["HA-01"].message
    assert report[0]["state"] == "unused"


def test_failing_resources_are_the_resources_of_the_findings():
    res, _, _ = _apply(_multi_az_fail(DB, passing=(OTHER_DB,)), [])
    assert failing_resources(res["HA-01"]) == [DB]


def test_unmatched_waivers_are_reported():
    verdicts = [Verdict("VER-01", "pass", "fine", [], "live")]
    waivers = [_w(control="VER-01"), _w(control="CPX-06"), _w(control="HA-02")]
    res, report, _ = _apply(verdicts, waivers)
    assert res["VER-01"].status == "pass"
    states = {w["control"]: (w["state"], w["note"]) for w in report}
    assert states["VER-01"] == ("unused", "VER-01 is pass: nothing to waive")
    assert states["CPX-06"] == ("unused", "CPX-06 is not a control of profile conncentric-aws")
    assert states["HA-02"] == ("unused", "HA-02 is pending: nothing to waive")
    _, report, _ = _apply(verdicts, [_w(control="HA-02")], control_ids={"VER-01"})
    assert report[0]["note"] == "HA-02 was not selected by this run"


def test_a_should_warning_is_waivable_and_an_error_is_not():
    verdicts = [Verdict("SIZE-01", "fail", "ng: m6i.large is smaller. Fix: bigger", [], "live"),
                Verdict("HA-02", "error", "timed out", [], "live")]
    res, report, _ = _apply(verdicts, [_w(control="SIZE-01"), _w(control="HA-02")])
    assert res["SIZE-01"].status == "waived" and res["SIZE-01"].waiver["original_status"] == "warn"
    assert res["HA-02"].status == "error"
    assert report[1]["note"] == "HA-02 is error: only a failing check can be waived"
    res, _, _ = _apply(verdicts, [_w(control="SIZE-01")], strict=True)
    assert res["SIZE-01"].status == "waived" and res["SIZE-01"].waiver["original_status"] == "fail"


def test_waivers_appear_in_the_html_report():
    from tests.test_report_html import doc_of
    from asbuilt.report.html import render_html

    doc = doc_of(_multi_az_fail(DB), [_w(resources=[DB]), _w(control="VER-01", expires=date(2026, 1, 1))])
    html = render_html(doc)
    page = parse(html)
    states = {m["data-control"]: m["data-state"] for m in page.marks if m["tag"] == "tr" and "data-state" in m}
    assert states == {"HA-01": "active", "VER-01": "expired"}
    assert 'data-control="HA-01" data-status="waived"' in html
    assert "approved by <strong>Dana W</strong>" in html


# -- the file ------------------------------------------------------------------------------

def test_the_example_file_is_valid():
    waivers = load_waivers(ROOT / "examples" / "waivers.yaml")
    assert [w.control for w in waivers] == ["CPX-06"]
    assert waivers[0].approver and waivers[0].reason and waivers[0].expires > date(2026, 1, 1)


@pytest.mark.parametrize(
    "text, words",
    [
        ("waivers:\n  - {control: HA-99, reason: r, approver: a, expires: 2027-01-31}\n",
         ["waivers.0.control", "unknown control ID 'HA-99'"]),
        ("waivers:\n  - {control: HA-01, reason: r, expires: 2027-01-31}\n",
         ["waivers.0 (HA-01).approver", "required field is missing"]),
        ("waivers:\n  - {control: HA-01, reason: r, approver: '  ', expires: 2027-01-31}\n",
         ["waivers.0 (HA-01).approver", "must not be empty"]),
        ("waivers:\n  - {control: HA-01, reason: r, approver: a, expires: soon}\n",
         ["waivers.0 (HA-01).expires", "expected a date (YYYY-MM-DD), got 'soon'"]),
        ("waivers:\n  - {control: HA-01, reason: r, approver: a, expires: 31/01/2027}\n",
         ["expires", "expected a date"]),
        ("waivers:\n  - {control: HA-01, reason: r, approver: a, expires: 2027-02-30}\n",
         ["waivers.yaml", "day is out of range"]),
        ("waivers:\n  - {control: HA-01, reason: r, approver: a, expires: 2027-01-31T10:00:00}\n",
         ["expires", "not a date and time"]),
        ("waivers:\n  - {control: HA-01, reason: r, approver: a, expires: 2027-01-31, owner: me}\n",
         ["waivers.0 (HA-01).owner", "unknown key"]),
        ("waivers:\n  - {control: HA-01, resources: [''], reason: r, approver: a, expires: 2027-01-31}\n",
         ["resources", "must not be empty"]),
        ("waiver:\n  - {control: HA-01}\n", ["waiver", "unknown key"]),
        ("waivers: {control: HA-01}\n", ["waivers", "expected a list"]),
        ("waivers:\n  - [oops\n", ["malformed YAML"]),
        ("", ["waivers.yaml", "empty"]),
    ],
    ids=["unknown-control", "missing-approver", "blank-approver", "date-word", "date-format", "date-impossible",
         "datetime", "unknown-key", "blank-resource", "wrong-top-key", "not-a-list", "malformed", "empty"],
)
def test_bad_waiver_files_are_one_line_input_errors(tmp_path, text, words):
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_waivers(path)
    line = str(exc.value)
    assert "\n" not in line
    for w in words:
        assert w in line, line


@pytest.mark.parametrize("case", ["bad", "missing"])
def test_run_with_a_bad_waiver_file_exits_2_before_running(tmp_path, case):
    path = tmp_path / "waivers.yaml"
    if case == "bad":
        path.write_text("waivers:\n  - {control: HA-01, reason: r, expires: 2027-01-31}\n")
    res = asbuilt("run", "--target", ROOT / "examples/targets/reference-static.yaml", "--report-dir", tmp_path / "r",
                  "--waivers", path)
    assert res.code == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("asbuilt: error: "), res.stderr
    assert "waivers.yaml" in lines[0]
    assert ("approver: required field is missing" if case == "bad" else "waiver file not found") in lines[0]
    assert not (tmp_path / "r" / "results.json").exists()


# -- end to end: a real moto estate, the real CLI ------------------------------------------------

def _single_az_estate(tmp_path: Path, endpoint: str) -> tuple[Path, str]:
    reset_moto(endpoint)
    ids = aws_reference.provision(endpoint, dataclasses.replace(aws_reference.Reference(), rds_multi_az=False))
    target = write_yaml(tmp_path / "target.yaml", {
        "name": "moto-estate", "profile": "conncentric-aws",
        "aws": {"region": "us-east-1", "endpoint_url": endpoint,
                "resources": {"eks_cluster": ids["eks_cluster"], "rds_instance": ids["rds_instance"]}},
    })
    return target, ids["rds_instance"]


def test_run_with_waivers_end_to_end(tmp_path, moto_endpoint):
    target, db = _single_az_estate(tmp_path, moto_endpoint)
    good = write_yaml(tmp_path / "waivers.yaml", {"waivers": [
        {"control": "HA-01", "resources": [f"arn:aws:rds:*:*:db:{db}"], "reason": "single-AZ until the migration",
         "approver": "Dana W", "expires": (date.today() + timedelta(days=30)).isoformat()},
        {"control": "VER-01", "reason": "not needed", "approver": "Kim", "expires": "2027-01-31"},
        {"control": "CPX-06", "reason": "Control Center needs cluster-admin", "approver": "Sec", "expires": "2027-06-30"},
    ]})
    args = ["run", "--target", target, "--live-only", "--control", "HA-01", "--control", "VER-01"]
    res = asbuilt(*args, "--report-dir", tmp_path / "a", "--waivers", good)
    assert res.code == 0, res.stdout + res.stderr
    doc = json.loads((tmp_path / "a" / "results.json").read_text())
    ha = by_id(doc)["HA-01"]
    assert ha["status"] == "waived" and "MultiAZ is false" in ha["message"] and "waived by Dana W until" in ha["message"]
    assert ha["waiver"]["approver"] == "Dana W"
    assert [(w["control"], w["state"]) for w in doc["run"]["waivers"]] == [
        ("HA-01", "active"), ("VER-01", "unused"), ("CPX-06", "unused")]
    assert doc["run"]["counts"]["waived"] == 1
    assert "waiver CPX-06" in res.stdout and "not a control of profile conncentric-aws" in res.stdout
    html = (tmp_path / "a" / "report.html").read_text()
    assert 'data-control="HA-01" data-state="active"' in html

    expired = write_yaml(tmp_path / "expired.yaml", {"waivers": [
        {"control": "HA-01", "reason": "single-AZ until the migration", "approver": "Dana W", "expires": "2026-01-31"}]})
    res = asbuilt(*args, "--report-dir", tmp_path / "b", "--waivers", expired)
    assert res.code == 1, res.stdout + res.stderr
    ha = by_id(json.loads((tmp_path / "b" / "results.json").read_text()))["HA-01"]
    assert ha["status"] == "fail" and "expired on 2026-01-31" in ha["message"]
