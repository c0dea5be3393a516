"""VER-04 on the sandbox: the release record of helm 4 cannot prove a 4.1 minimum (skipped, with
the reason: never a hollow pass); a record as Helm 3 writes it fails it, alone."""

from __future__ import annotations

import pytest

from tests.helpers import asbuilt, by_id

pytestmark = pytest.mark.sandbox

CONTROLS = ("VER-01", "VER-02", "VER-03", "VER-04")


def _run(tmp_path):
    args = ["run", "--target", "sandbox", "--live-only", "--report-dir", tmp_path]
    for c in CONTROLS:
        args += ["--control", c]
    res = asbuilt(*args)
    return res, by_id(res.results(tmp_path))


def test_helm_4_release_is_not_claimed_to_be_4_1(sandbox, tmp_path):
    sandbox()
    res, results = _run(tmp_path)
    assert results["VER-04"]["status"] == "skipped", results["VER-04"]
    assert "cannot be proven" in results["VER-04"]["message"]
    assert {results[c]["status"] for c in CONTROLS[:3]} == {"pass"}


def test_helm_3_release_record_fails_only_ver_04(sandbox, tmp_path):
    sandbox("release-written-by-helm-3")
    res, results = _run(tmp_path)
    assert results["VER-04"]["status"] == "warn"  # a should control
    message = results["VER-04"]["message"]
    assert "helm release conncentric/conncentric" in message and "Helm 3" in message and "Fix:" in message
    assert {results[c]["status"] for c in CONTROLS[:3]} == {"pass"}
