"""Every live AWS control of issue 5 proven able to fail, on the real sandbox.

For each drift of the catalogue that touches these controls: bring the sandbox up with it, run
`asbuilt run --target sandbox --live-only` restricted to these controls, and assert that exactly
the drift's controls (among these) fail — `fail` for must controls, `warn` for should/info ones —
each with a message that names the resource and the fix, while every other control still passes.
One test proves the conforming sandbox passes them all.

CI time: the drifts are applied in batches (one `up` and one run per batch, not per drift).
Within a batch no two drifts break the same control or change the same field of the reference,
so a failing control is exactly one drift's, and "exactly the expected controls fail" over the
batch is still "each drift fails exactly its controls" (test_batches_do_not_overlap holds it).
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


BATCH_SIZE = 5


def _fields(drift) -> set[str]:
    """What a drift changes: the reference fields of each part, and the installer's fault."""
    out = {f"{part}.{key}" for part in ("aws", "kafka", "kube", "postgres", "composex")
           for key in getattr(drift, part)}
    if drift.name.startswith("sg-"):  # the same security group's rules: one drift could hide another's
        out.add("security-group " + drift.name.split("-")[1])
    return out | ({"installer_fault"} if drift.installer_fault else set())


def _batches(drifts) -> list[list]:
    """Greedy packing: a drift joins the first batch it shares no control and no field with."""
    batches: list[list] = []
    for d in drifts:
        mine = set(d.controls) & set(CONTROLS)
        for batch in batches:
            taken_controls = {c for other in batch for c in other.controls}
            taken_fields = {f for other in batch for f in _fields(other)}
            if len(batch) < BATCH_SIZE and not mine & taken_controls and not _fields(d) & taken_fields:
                batch.append(d)
                break
        else:
            batches.append([d])
    return batches


BATCHES = _batches(MINE)


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


def test_batches_do_not_overlap():
    assert sorted(d.name for b in BATCHES for d in b) == sorted(d.name for d in MINE)
    for batch in BATCHES:
        controls = [c for d in batch for c in set(d.controls) & set(CONTROLS)]
        fields = [f for d in batch for f in _fields(d)]
        assert len(controls) == len(set(controls)) and len(fields) == len(set(fields)), [d.name for d in batch]


@pytest.mark.parametrize("batch", BATCHES, ids=["+".join(d.name for d in b) for b in BATCHES])
def test_drift_fails_exactly_its_controls(sandbox, tmp_path, batch):
    sandbox(*[d.name for d in batch])
    res, results = _run(tmp_path)
    names = "+".join(d.name for d in batch)
    expected = {c for d in batch for c in set(d.controls) & set(CONTROLS)}
    failing = {c for c in CONTROLS if results[c]["status"] in ("fail", "warn")}
    errors = {c: results[c]["message"][:200] for c in CONTROLS if results[c]["status"] == "error"}
    assert not errors, f"{names}: controls in error: {errors}"
    assert failing == expected, (
        f"{names}: expected {sorted(expected)} to fail, got {sorted(failing)}: "
        + "; ".join(f"{c}: {results[c]['message'][:160]}" for c in sorted(failing ^ expected)))
    for c in expected:
        r = results[c]
        assert r["status"] == _failing_status(c), (c, r["status"])
        assert "Fix:" in r["message"], (c, r["message"])
        assert any(m in r["message"] for m in RESOURCE_MARKS), (c, r["message"])
    assert res.code == (1 if any(SEVERITY[c] == "must" for c in expected) else 0), res.stdout[-1500:]
