"""The report files of `asbuilt run` follow the contract in shared/interface.md."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from asbuilt.catalogue import load_catalogue
from tests.helpers import ROOT, asbuilt

STATUSES = {"pass", "fail", "warn", "waived", "error", "skipped", "pending"}


def test_results_json_has_one_entry_per_control_of_the_profile(tmp_path):
    res = asbuilt("run", "--target", ROOT / "examples/targets/reference-static.yaml", "--report-dir", tmp_path)
    assert res.code in (0, 1, 2), res.stderr
    doc = json.loads((tmp_path / "results.json").read_text())
    run = doc["run"]
    for key in ("target", "profile", "suite_version", "started", "finished"):
        assert run[key], key
    assert run["started"].endswith("Z") and run["finished"].endswith("Z")
    expected = [c.id for c in load_catalogue().for_profile("conncentric-aws")]
    assert [c["id"] for c in doc["controls"]] == expected
    for c in doc["controls"]:
        assert {"id", "status", "severity", "source", "message", "evidence"} <= set(c)
        assert c["status"] in STATUSES
        assert c["source"] in ("live", "static", "both", "none")
        assert c["message"]
    # junit: one testcase per control; cucumber.json is JSON
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert len(suite.findall("testcase")) == len(expected)
    assert isinstance(json.loads((tmp_path / "cucumber.json").read_text()), list)


def test_pending_is_never_a_pass_and_says_so(tmp_path):
    res = asbuilt("run", "--target", ROOT / "examples/targets/reference-static.yaml", "--report-dir", tmp_path,
                  "--static-only")
    doc = json.loads((tmp_path / "results.json").read_text())
    pending = [c for c in doc["controls"] if c["status"] == "pending"]
    # live-only controls in a run without a live target are skipped with that reason, never pending
    for c in doc["controls"]:
        if c["where"] == ["live"] and c["status"] == "skipped":
            assert c["message"] == "live only; this run had no live target", c
    for c in pending:
        assert "not implemented" in c["message"]
    if pending:
        assert "CONFORMING" not in res.stdout.splitlines()[-1] or "NOT YET CHECKED" in res.stdout


def test_strict_fails_on_pending(tmp_path):
    res = asbuilt("run", "--target", ROOT / "examples/targets/reference-static.yaml", "--report-dir", tmp_path,
                  "--strict")
    doc = json.loads((tmp_path / "results.json").read_text())
    if any(c["status"] == "pending" for c in doc["controls"]):
        assert res.code == 1


def test_control_selection_marks_the_rest_not_selected(tmp_path):
    res = asbuilt("run", "--target", ROOT / "examples/targets/reference-static.yaml", "--report-dir", tmp_path,
                  "--control", "HA-01")
    doc = json.loads((tmp_path / "results.json").read_text())
    others = [c for c in doc["controls"] if c["id"] != "HA-01"]
    assert all(c["status"] == "skipped" and "not selected" in c["message"] for c in others)
    assert doc["run"]["selected_controls"] == ["HA-01"]


def test_a_run_that_examines_nothing_is_not_a_pass(tmp_path):
    """A target with nothing but a name examines nothing: exit 2 with one line, never CONFORMING."""
    target = tmp_path / "t.yaml"
    target.write_text("name: only-a-name\n")
    for mode in ((), ("--static-only",), ("--live-only",)):
        res = asbuilt("run", "--target", target, "--report-dir", tmp_path / "r", *mode)
        assert res.code == 2, (mode, res.stdout, res.stderr)
        assert "nothing to examine" in res.stderr and len(res.stderr.strip().splitlines()) == 1
        assert "CONFORMING" not in res.stdout


def test_static_run_over_the_reference_is_conforming_with_strict(tmp_path):
    res = asbuilt("run", "--target", ROOT / "examples/targets/reference-static.yaml", "--report-dir", tmp_path,
                  "--static-only", "--strict")
    assert res.code == 0, res.stdout[-2000:] + res.stderr
    doc = json.loads((tmp_path / "results.json").read_text())
    assert not [c for c in doc["controls"] if c["status"] == "pending"]
    by = {c["id"]: c for c in doc["controls"]}
    assert by["SUITE-03"]["status"] == "pass"
    assert by["SUITE-01"]["message"] == "live only; this run had no live target"
    assert doc["run"]["coverage"]["static"]["files_read"] > 0


def test_two_identical_baseline_runs_do_not_drift(tmp_path):
    """SUITE-03 is decided before drift is computed: the second run equals the first, exit 0."""
    first, second = tmp_path / "a", tmp_path / "b"
    target = ROOT / "examples/targets/reference-static.yaml"
    assert asbuilt("run", "--target", target, "--report-dir", first, "--static-only").code == 0
    res = asbuilt("run", "--target", target, "--report-dir", second, "--static-only",
                  "--baseline", first / "results.json")
    assert res.code == 0, res.stdout[-3000:] + res.stderr
    drift = json.loads((second / "drift.json").read_text())
    assert not drift.get("drift"), drift
