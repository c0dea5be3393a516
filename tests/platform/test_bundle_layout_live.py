"""BNDL-01, live: the bundle the release installs is read back and judged by the same verifier as
`asbuilt bundle verify` and the static check. The conforming sandbox passes; a profile whose
bound the release's bundle exceeds makes it fail, alone, naming the release and the fix (the
sandbox's installer would refuse a malformed bundle outright, so the live failure is shown
through the profile's bound)."""

from __future__ import annotations

import pytest

from tests.helpers import asbuilt, by_id

pytestmark = pytest.mark.sandbox

CONTROLS = ("BNDL-01", "BNDL-03", "HELM-01")


def _run(tmp_path, *extra):
    args = ["run", "--target", "sandbox", "--live-only", "--report-dir", tmp_path / "r", *extra]
    for c in CONTROLS:
        args += ["--control", c]
    res = asbuilt(*args)
    return res, by_id(res.results(tmp_path / "r"))


def test_release_bundle_is_well_formed(sandbox, tmp_path):
    sandbox()
    res, results = _run(tmp_path)
    assert {results[c]["status"] for c in CONTROLS} == {"pass"}, {c: results[c]["message"] for c in CONTROLS}


def test_release_bundle_over_the_profile_bound_fails_bndl_01_only(sandbox, tmp_path):
    sandbox()
    profile = tmp_path / "tight.yaml"
    profile.write_text("name: tight\nextends: conncentric-aws\nthresholds:\n  BNDL-01: {max_entries: 2}\n")
    res, results = _run(tmp_path, "--profile", profile)
    assert results["BNDL-01"]["status"] == "fail"
    message = results["BNDL-01"]["message"]
    assert "helm release conncentric/conncentric" in message and "customBundleUrls[0]" in message
    assert "Fix:" in message
    assert results["BNDL-03"]["status"] == results["HELM-01"]["status"] == "pass"
    assert res.code == 1
