"""The sandbox end to end for the first controls: conforming passes, each drift fails its control."""

from __future__ import annotations

import pytest

from tests.helpers import asbuilt, by_id

pytestmark = pytest.mark.sandbox


def _run(tmp_path, *controls):
    args = ["run", "--target", "sandbox", "--live-only", "--report-dir", tmp_path]
    for c in controls:
        args += ["--control", c]
    res = asbuilt(*args)
    return res, by_id(res.results(tmp_path))


def test_conforming_sandbox_passes(sandbox, tmp_path):
    sandbox()
    res, results = _run(tmp_path, "VER-01", "VER-02", "HA-01")
    assert res.code == 0, res.stdout + res.stderr
    assert {results[c]["status"] for c in ("VER-01", "VER-02", "HA-01")} == {"pass"}


def test_drift_rds_single_az_fails_ha_01(sandbox, tmp_path):
    sandbox("rds-single-az")
    res, results = _run(tmp_path, "VER-01", "VER-02", "HA-01")
    assert res.code == 1
    assert results["HA-01"]["status"] == "fail"
    assert "conncentric-db" in results["HA-01"]["message"] and "Multi-AZ" in results["HA-01"]["message"]
    assert results["VER-01"]["status"] == results["VER-02"]["status"] == "pass"
