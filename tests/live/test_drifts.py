"""Every live AWS control of issue 5 proven able to fail, on the real sandbox.

For each drift of the catalogue that touches these controls: bring the sandbox up with it, run
`asbuilt run --target sandbox --live-only` restricted to these controls (one run per drift), and
assert that exactly the drift's controls (among these) fail — `fail` for must controls, `warn`
for should/info ones — each with a message that names the resource and the fix, while every
other control still passes. One test proves the conforming sandbox passes them all.
"""

from __future__ import annotations

import pytest

from asbuilt.catalogue import load_catalogue
from asbuilt_sandbox.drifts import DRIFTS
from tests.helpers import asbuilt, by_id

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

CONTROLS = (
    "VER-01", "VER-02", "VER-03", "SIZE-01", "SIZE-02", "SIZE-03",
    "HA-01", "HA-02", "HA-03", "HA-04", "HA-06", "HA-07",
    "NET-01", "NET-02", "NET-03", "NET-04", "NET-05", "NET-06", "NET-07", "NET-08",
    "IAM-01", "IAM-02", "IAM-03", "IAM-04", "IAM-05", "IAM-06",
    "S3-01", "S3-02", "ECR-01",
)
MINE = [d for d in DRIFTS if set(d.controls) & set(CONTROLS)]
SEVERITY = {c.id: c.severity for c in load_catalogue().controls}
# what a finding names: an ARN, a security group, a topic, a Kubernetes object, a release, an image
RESOURCE_MARKS = ("arn:aws:", "sg-", "topic ", "ServiceAccount ", "helm release ", "image '")


def _run(tmp_path):
    args = ["run", "--target", "sandbox", "--live-only", "--report-dir", tmp_path]
    for c in CONTROLS:
        args += ["--control", c]
    res = asbuilt(*args, timeout=600)
    assert (tmp_path / "results.json").exists(), res.stdout[-2000:] + res.stderr[-2000:]
    return res, by_id(res.results(tmp_path))


def _failing_status(control: str) -> str:
    return "fail" if SEVERITY[control] == "must" else "warn"


def test_conforming_sandbox_passes_every_live_aws_control(sandbox, tmp_path):
    sandbox()
    res, results = _run(tmp_path)
    bad = {c: (results[c]["status"], results[c]["message"][:200]) for c in CONTROLS if results[c]["status"] != "pass"}
    assert not bad, bad
    assert res.code == 0, res.stdout[-1500:]
    for c in CONTROLS:
        assert results[c]["source"] == "live" and results[c]["evidence"], c


@pytest.mark.parametrize("drift", MINE, ids=[d.name for d in MINE])
def test_drift_fails_exactly_its_controls(sandbox, tmp_path, drift):
    sandbox(drift.name)
    res, results = _run(tmp_path)
    expected = set(drift.controls) & set(CONTROLS)
    failing = {c for c in CONTROLS if results[c]["status"] in ("fail", "warn")}
    errors = {c: results[c]["message"][:200] for c in CONTROLS if results[c]["status"] == "error"}
    assert not errors, f"{drift.name}: controls in error: {errors}"
    assert failing == expected, (
        f"{drift.name}: expected {sorted(expected)} to fail, got {sorted(failing)}: "
        + "; ".join(f"{c}: {results[c]['message'][:160]}" for c in sorted(failing ^ expected)))
    for c in expected:
        r = results[c]
        assert r["status"] == _failing_status(c), (c, r["status"])
        assert "Fix:" in r["message"], (c, r["message"])
        assert any(m in r["message"] for m in RESOURCE_MARKS), (c, r["message"])
    assert res.code == (1 if any(SEVERITY[c] == "must" for c in expected) else 0), res.stdout[-1500:]
