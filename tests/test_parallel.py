"""Parallel runs: `asbuilt run -n 2` (pytest-xdist) gives the same results as a serial run.

Workers send their verdicts to the controller with each scenario's report; deselected @mutating
scenarios, AWS call counts and the collection order travel at the end of each worker's session.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from asbuilt_sandbox import aws_reference
from tests.helpers import ROOT, asbuilt, reset_moto, write_yaml

pytest.importorskip("xdist")


def _estate(tmp_path: Path, endpoint: str) -> Path:
    """The reference estate with two violations, so the comparison covers failures too."""
    reset_moto(endpoint)
    ref = dataclasses.replace(aws_reference.Reference(), rds_multi_az=False, eks_version="1.29")
    ids = aws_reference.provision(endpoint, ref)
    return write_yaml(tmp_path / "target.yaml", {
        "name": "moto-estate", "profile": "conncentric-aws",
        "aws": {"region": "us-east-1", "endpoint_url": endpoint,
                "resources": {"eks_cluster": ids["eks_cluster"], "rds_instance": ids["rds_instance"]}},
    })


def _scenarios(cucumber: dict | list) -> dict[tuple[str, str], list[tuple[str, str]]]:
    return {(f["uri"], e["name"]): [(s["name"], s["result"]["status"]) for s in e["steps"]]
            for f in cucumber for e in f["elements"]}


def test_parallel_run_matches_serial_run(tmp_path, moto_endpoint):
    target = _estate(tmp_path, moto_endpoint)
    serial = asbuilt("run", "--target", target, "--live-only", "--report-dir", tmp_path / "serial")
    parallel = asbuilt("run", "--target", target, "--live-only", "--report-dir", tmp_path / "parallel", "-n", "2")
    assert serial.code == 1, serial.stdout + serial.stderr
    assert parallel.code == serial.code, parallel.stdout + parallel.stderr

    a = json.loads((tmp_path / "serial" / "results.json").read_text())
    b = json.loads((tmp_path / "parallel" / "results.json").read_text())
    assert a["controls"] == b["controls"]  # status, message, evidence, source: all of it
    statuses = {c["id"]: c["status"] for c in a["controls"]}
    assert statuses["HA-01"] == "fail" and statuses["VER-01"] == "fail"
    assert sum(1 for s in statuses.values() if s == "pass") >= 5, statuses
    assert b["run"]["workers"] == "2"

    # every AWS call is counted, also those made in the workers (each worker has its own cache)
    assert a["run"]["aws_api_calls"] > 0 and b["run"]["aws_api_calls"] >= a["run"]["aws_api_calls"]
    assert set(a["run"]["aws_api_calls_by_operation"]) == set(b["run"]["aws_api_calls_by_operation"])

    # the progress lines reach the user from the controller, one per scenario
    lines = lambda out: sorted(line for line in out.splitlines() if line.startswith(("  PASS", "  FAIL", "  ERROR", "  SKIP")))
    assert lines(parallel.stdout) == lines(serial.stdout) and lines(serial.stdout)

    # cucumber.json has every scenario with the same step results
    ca = _scenarios(json.loads((tmp_path / "serial" / "cucumber.json").read_text()))
    cb = _scenarios(json.loads((tmp_path / "parallel" / "cucumber.json").read_text()))
    assert ca == cb and ca


FEATURE = """\
Feature: plugin behaviour under xdist
  @VER_01
  Scenario: a passing control
    Then VER-01 passes

  @HA_01
  Scenario: a failing control
    Then HA-01 fails

  @HA_02
  Scenario: a step that blows up
    Then the step raises

  @VER_02
  Scenario: a scenario that skips
    Then the step skips

  @SIZE_01 @SIZE_02
  Scenario: two controls, one verdict
    Then SIZE-01 passes

  @mutating @BNDL_02
  Scenario: a writing scenario
    Then VER-01 passes
"""

STEPS = """\
import pytest
from pytest_bdd import scenarios, then, parsers
from asbuilt.rules import Verdict

scenarios("plugin.feature")


@then(parsers.parse("{control} passes"))
def passes(control, verdict):
    verdict(Verdict(control, "pass", f"{control} is fine", [{"resource": f"r-{control}", "ok": True}]))


@then(parsers.parse("{control} fails"))
def fails(control, verdict):
    verdict(Verdict(control, "fail", f"{control} is broken", [{"resource": f"r-{control}", "ok": False}]))


@then("the step raises")
def raises():
    raise RuntimeError("boom")


@then("the step skips")
def skips():
    pytest.skip("nothing to check here")
"""


def _plugin_run(tmp_path: Path, name: str, *extra: str) -> dict:
    out = tmp_path / f"{name}.json"
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "test_plugin.py", "-p", "no:cacheprovider", "-q",
         f"--asbuilt-target={tmp_path / 'target.yaml'}", f"--asbuilt-verdicts={out}", *extra],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.exists(), res.stdout + res.stderr
    return json.loads(out.read_text())


def test_plugin_sends_every_kind_of_verdict_from_workers(tmp_path):
    """The plugin on its own: pass, fail, error, skip, missing verdict and deselected @mutating."""
    (tmp_path / "plugin.feature").write_text(FEATURE)
    (tmp_path / "test_plugin.py").write_text(STEPS)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["asbuilt.pytest_plugin"]\n')
    write_yaml(tmp_path / "target.yaml", {"name": "plugin-test"})
    serial = _plugin_run(tmp_path, "serial")
    parallel = _plugin_run(tmp_path, "parallel", "-n", "2")
    assert serial["verdicts"] == parallel["verdicts"]
    got = [(v["control"], v["status"]) for v in serial["verdicts"]]
    assert got == [("BNDL-02", "skipped"), ("VER-01", "pass"), ("HA-01", "fail"), ("HA-02", "error"),
                   ("VER-02", "skipped"), ("SIZE-01", "pass"), ("SIZE-02", "error")], got
    assert parallel["crashed"] == []
