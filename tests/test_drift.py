"""Drift audits: `asbuilt drift --baseline OLD --current NEW` and `asbuilt run --baseline FILE`."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from asbuilt.report.drift import compare, markdown, text_summary
from asbuilt.rules import Verdict
from asbuilt_sandbox import aws_reference
from tests.helpers import ROOT, asbuilt, by_id, reset_moto, write_yaml
from tests.test_report_html import DB, EKS, doc_of, write_results


def _verdicts(multi_az=True, version="16.3", ver01="pass", extra_db=False) -> list[Verdict]:
    db = {"resource": DB, "engine": "postgres", "version": version, "multi_az": multi_az}
    ev = [db] + ([{"resource": DB.replace("conncentric-db", "reporting-db"), "multi_az": True}] if extra_db else [])
    return [
        Verdict("VER-01", ver01, f"{EKS}: EKS Kubernetes 1.31 (>= 1.30)", [{"resource": EKS, "version": "1.31"}], "live"),
        Verdict("VER-02", "pass", f"{DB}: postgres {version} (>= 15)", [db], "live"),
        Verdict("HA-01", "pass" if multi_az else "fail",
                f"{DB}: MultiAZ {'true' if multi_az else 'is false. Fix: enable Multi-AZ'}", ev, "live"),
    ]


def test_identical_runs_have_no_drift():
    a = doc_of(_verdicts())
    report = compare(a, copy.deepcopy(a))
    assert not report.drift
    assert report.status_changes == [] and report.evidence_changes == []
    assert text_summary(report).startswith("no drift")


def test_multi_az_true_to_false_is_newly_failing_with_changed_evidence():
    report = compare(doc_of(_verdicts()), doc_of(_verdicts(multi_az=False)))
    assert report.drift
    assert [(c.id, c.before, c.after, c.kind) for c in report.status_changes] == [("HA-01", "pass", "fail", "newly_failing")]
    changes = [(e.id, e.resource, e.change, e.fields) for e in report.evidence_changes]
    # matched by resource, in both controls that carry the database as evidence
    assert ("HA-01", DB, "changed", [{"field": "multi_az", "before": True, "after": False}]) in changes
    assert ("VER-02", DB, "changed", [{"field": "multi_az", "before": True, "after": False}]) in changes
    text = text_summary(report)
    assert "1 newly failing" in text and "multi_az: true -> false" in text
    md = markdown(report)
    assert "### Newly failing" in md and "**HA-01**" in md and "`multi_az`: `true` → `false`" in md


def test_newly_passing_other_changes_added_and_removed_resources():
    before = doc_of(_verdicts(multi_az=False, ver01="error", extra_db=True))
    after = doc_of(_verdicts(version="16.4"))
    report = compare(before, after)
    kinds = {c.id: c.kind for c in report.status_changes}
    assert kinds == {"HA-01": "newly_passing", "VER-01": "newly_passing"}
    by = {(e.id, e.resource): e for e in report.evidence_changes}
    reporting = DB.replace("conncentric-db", "reporting-db")
    assert by[("HA-01", reporting)].change == "removed"
    assert {"field": "version", "before": "16.3", "after": "16.4"} in by[("VER-02", DB)].fields
    # pass -> error is a status change, neither newly failing nor newly passing
    report = compare(doc_of(_verdicts()), doc_of(_verdicts(ver01="error")))
    assert [(c.id, c.kind) for c in report.status_changes] == [("VER-01", "changed")]


def test_controls_added_and_removed_and_unselected_ones_not_compared():
    a = doc_of(_verdicts())
    b = copy.deepcopy(a)
    removed = b["controls"].pop()  # the last control of the catalogue is gone
    b["controls"].append({**removed, "id": "NEW-01", "title": "a new control", "status": "pending"})
    report = compare(a, b)
    assert [r["id"] for r in report.removed] == [removed["id"]]
    assert [x["id"] for x in report.added] == ["NEW-01"]
    assert report.drift
    # a run restricted with --control: the others are not compared, not "changed"
    only = doc_of(_verdicts(), control_ids={"HA-01"})
    report = compare(a, only)
    assert not report.drift and "VER-01" in report.not_compared


def test_evidence_without_resource_is_compared_as_a_whole():
    a = doc_of([Verdict("VER-01", "pass", "ok", [{"version": "1.31"}], "live")])
    b = doc_of([Verdict("VER-01", "pass", "ok", [{"version": "1.32"}], "live")])
    report = compare(a, b)
    assert sorted(e.change for e in report.evidence_changes) == ["added", "removed"]


# -- the command ---------------------------------------------------------------------------

def test_drift_command_exit_codes_and_markdown(tmp_path):
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    same = tmp_path / "same.json"
    write_results(old, _verdicts())
    write_results(new, _verdicts(multi_az=False))
    write_results(same, _verdicts())

    res = asbuilt("drift", "--baseline", old, "--current", same)
    assert res.code == 0, res.stdout + res.stderr
    assert res.stdout.startswith("no drift")

    md = tmp_path / "drift.md"
    js = tmp_path / "drift.json"
    res = asbuilt("drift", "--baseline", old, "--current", new, "--markdown", md, "--json", js)
    assert res.code == 3, res.stdout + res.stderr
    assert "DRIFT" in res.stdout and "HA-01" in res.stdout and "multi_az: true -> false" in res.stdout
    text = md.read_text()
    assert text.startswith("## :warning: asbuilt drift")
    assert "| newly failing |" in text and "### Changed evidence" in text and DB in text
    doc = json.loads(js.read_text())
    assert doc["drift"] is True and doc["newly_failing"] == ["HA-01"]


@pytest.mark.parametrize(
    "content, words",
    [(None, ["nope.json", "not found"]), ("{oops", ["bad.json", "not valid JSON"]),
     ('{"controls": []}', ["bad.json", "not an asbuilt results file"]), ("[1, 2]", ["not an asbuilt results file"])],
    ids=["missing", "not-json", "no-run", "a-list"],
)
@pytest.mark.parametrize("side", ["baseline", "current"])
def test_drift_bad_input_is_exit_2_one_line(tmp_path, content, words, side):
    good = tmp_path / "good.json"
    write_results(good, _verdicts())
    bad = tmp_path / ("nope.json" if content is None else "bad.json")
    if content is not None:
        bad.write_text(content)
    args = ["--baseline", bad, "--current", good] if side == "baseline" else ["--baseline", good, "--current", bad]
    res = asbuilt("drift", *args)
    assert res.code == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("asbuilt: error: ") and "Traceback" not in res.stderr
    for w in words:
        assert w in lines[0], lines[0]


# -- run --baseline on a real moto estate ------------------------------------------------------

def _estate(tmp_path: Path, endpoint: str, **changes) -> Path:
    reset_moto(endpoint)
    ids = aws_reference.provision(endpoint, dataclasses.replace(aws_reference.Reference(), **changes))
    return write_yaml(tmp_path / "target.yaml", {
        "name": "moto-estate", "profile": "conncentric-aws",
        "aws": {"region": "us-east-1", "endpoint_url": endpoint,
                "resources": {"eks_cluster": ids["eks_cluster"], "rds_instance": ids["rds_instance"]}},
    })


def _run(target: Path, out: Path, *extra):
    return asbuilt("run", "--target", target, "--live-only", "--control", "VER-01", "--control", "VER-02",
                   "--control", "HA-01", "--report-dir", out, *extra)


def test_run_with_baseline(tmp_path, moto_endpoint):
    target = _estate(tmp_path, moto_endpoint)
    res = _run(target, tmp_path / "base")
    assert res.code == 0, res.stdout + res.stderr
    baseline = tmp_path / "base" / "results.json"

    # the same estate again: no drift, exit 0, drift.md says so
    res = _run(target, tmp_path / "same", "--baseline", baseline)
    assert res.code == 0, res.stdout + res.stderr
    assert (tmp_path / "same" / "drift.md").read_text().startswith("## :white_check_mark:")
    assert json.loads((tmp_path / "same" / "drift.json").read_text())["drift"] is False

    # a minor engine upgrade: VER-02 still passes, but the evidence changed -> drift, exit 3
    target = _estate(tmp_path, moto_endpoint, rds_version="16.4")
    res = _run(target, tmp_path / "minor", "--baseline", baseline)
    assert res.code == 3, res.stdout + res.stderr
    assert "version: 16.3 -> 16.4" in res.stdout
    doc = json.loads((tmp_path / "minor" / "results.json").read_text())
    assert doc["run"]["drift"]["drift"] is True and doc["run"]["drift"]["baseline"] == str(baseline)
    assert "DRIFT against the baseline" in (tmp_path / "minor" / "report.html").read_text()

    # Multi-AZ switched off: a must control fails -> exit 1 takes precedence over 3; drift still written
    target = _estate(tmp_path, moto_endpoint, rds_multi_az=False)
    res = _run(target, tmp_path / "single", "--baseline", baseline)
    assert res.code == 1, res.stdout + res.stderr
    md = (tmp_path / "single" / "drift.md").read_text()
    assert "### Newly failing" in md and "HA-01" in md and "`multi_az`: `true` → `false`" in md
    assert by_id(json.loads((tmp_path / "single" / "results.json").read_text()))["HA-01"]["status"] == "fail"


def test_run_with_a_bad_baseline_exits_2_before_running(tmp_path):
    bad = tmp_path / "baseline.json"
    bad.write_text("{}")
    res = asbuilt("run", "--target", ROOT / "examples/targets/reference-static.yaml", "--report-dir", tmp_path / "r",
                  "--baseline", bad)
    assert res.code == 2, res.stdout + res.stderr
    assert res.stderr.strip() == f"asbuilt: error: {bad}: not an asbuilt results file (expected 'run' and 'controls')"
    assert not (tmp_path / "r" / "results.json").exists()
