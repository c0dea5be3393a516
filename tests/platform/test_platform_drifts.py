"""The platform controls against the sandbox: the conforming sandbox passes all of them, and each
drift makes exactly the controls it names fail (``warn`` for a ``should`` control), with a message
naming the resource and the fix, while the others still pass.

Controls: HA-05, K8S-01..06, HELM-01 (live), INST-01..04, BNDL-02, BNDL-03, MSG-01. Every run is
restricted to these with --control, so a drift's effect on other areas is not judged here.

CI time: drifts are applied in batches (one `up` and one run per batch) of drifts that break
different controls and change different fields of the sandbox (at most one installer fault), so
each failing control is exactly one drift's and each drift's message is still checked.
"""

from __future__ import annotations

import pytest

from asbuilt_sandbox.drifts import BY_NAME
from tests.helpers import asbuilt, by_id

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

MINE = ("HA-05", "K8S-01", "K8S-02", "K8S-03", "K8S-04", "K8S-05", "K8S-06", "HELM-01",
        "INST-01", "INST-02", "INST-03", "INST-04", "BNDL-02", "BNDL-03", "MSG-01")
SHOULD = {"HA-05", "K8S-03", "K8S-04"}

# drift -> {control: a text its message must contain (the resource it names)}
DRIFTS = {
    "orchestrator-single-replica": {"HA-05": "Deployment conncentric/orchestrator"},
    "portal-deployment-deleted": {"K8S-01": "no Deployment for portal", "HA-05": "no Deployment for portal"},
    "ingress-without-tls": {"K8S-02": "Ingress conncentric/conncentric"},
    "portal-no-limits": {"K8S-03": "Deployment conncentric/portal container portal"},
    "adapter-privileged": {"K8S-04": "Deployment conncentric/adapter container adapter"},
    "literal-password-env": {"K8S-05": "env ADMIN_PASSWORD"},
    "no-lb-controller": {"K8S-06": "aws-load-balancer-controller"},
    "bootstrap-wrong-port": {"HELM-01": "env.KAFKA_BOOTSTRAP_SERVERS"},
    "bundle-url-plain-http": {"HELM-01": "installer.customBundleUrls[0]"},
    "installer-skips-pass-2": {"INST-01": "Pass 2: Downloading Custom Bundle", "INST-03": "asbuilt-selftest-inst03",
                               "BNDL-03": "adapter_configurations/fix-gateway"},
    "installer-not-idempotent": {"INST-02": "essentials-audit-log: version", "INST-03": "other item(s) changed"},
    "installer-ignores-modified": {"INST-03": "adapter_configurations/asbuilt-selftest-inst03: not updated"},
    "platform-recreates-schema": {"INST-04": "gone after the restart"},
    "bucket-unversioned": {"BNDL-02": "did not keep the previous version"},
    "kafka-client-read-only": {"MSG-01": "topic conncentric.events"},
    # drifts of other areas that touch the same objects: none of these controls may fail
    "sa-no-irsa-annotation": {},
    "presigned-url-14-days": {},
}


def _run(tmp_path):
    args = ["run", "--target", "sandbox", "--live-only", "--report-dir", tmp_path]
    for c in MINE:
        args += ["--control", c]
    res = asbuilt(*args, timeout=900)
    return res, by_id(res.results(tmp_path))


def test_conforming_sandbox_passes_every_platform_control(sandbox, tmp_path):
    sandbox()
    res, results = _run(tmp_path)
    assert res.code == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert {c: results[c]["status"] for c in MINE} == {c: "pass" for c in MINE}
    # the @mutating scenarios cleaned up what they wrote
    for c in ("BNDL-02", "INST-03"):
        cleanup = [e for e in results[c]["evidence"] if e.get("resource") == "clean-up (SUITE-01)"]
        assert cleanup, results[c]["evidence"]
        assert not cleanup[0].get("s3_left") and not (cleanup[0].get("platform_items") or {}).get("left"), cleanup


BATCH_SIZE = 4


def _fields(name: str) -> set[str]:
    d = BY_NAME[name]
    out = {f"{part}.{key}" for part in ("aws", "kafka", "kube", "postgres", "composex") for key in getattr(d, part)}
    return out | ({"installer_fault"} if d.installer_fault else set())


def _batches() -> list[list[str]]:
    batches: list[list[str]] = []
    for name in sorted(DRIFTS):
        for batch in batches:
            if (len(batch) < BATCH_SIZE and not set(DRIFTS[name]) & {c for b in batch for c in DRIFTS[b]}
                    and not _fields(name) & {f for b in batch for f in _fields(b)}):
                batch.append(name)
                break
        else:
            batches.append([name])
    return batches


BATCHES = _batches()


def test_batches_cover_every_drift_and_do_not_overlap():
    assert sorted(n for b in BATCHES for n in b) == sorted(DRIFTS)
    for batch in BATCHES:
        controls = [c for n in batch for c in DRIFTS[n]]
        fields = [f for n in batch for f in _fields(n)]
        assert len(controls) == len(set(controls)) and len(fields) == len(set(fields)), batch


@pytest.mark.parametrize("batch", BATCHES, ids=["+".join(b) for b in BATCHES])
def test_drift_fails_exactly_its_platform_controls(batch, sandbox, tmp_path):
    for drift in batch:
        assert set(DRIFTS[drift]) == set(BY_NAME[drift].controls) & set(MINE), \
            f"{drift}: the drift catalogue and this test disagree"
    expected = {c: text for drift in batch for c, text in DRIFTS[drift].items()}
    sandbox(*batch)
    res, results = _run(tmp_path)
    failing = {c for c in MINE if results[c]["status"] not in ("pass",)}
    assert failing == set(expected), {c: (results[c]["status"], results[c]["message"][:300]) for c in failing | set(expected)}
    for control, text in expected.items():
        r = results[control]
        assert r["status"] == ("warn" if control in SHOULD else "fail"), r
        assert text in r["message"], r["message"]
        assert "Fix:" in r["message"], r["message"]
    must_fail = any(c not in SHOULD for c in expected)
    assert res.code == (1 if must_fail else 0), res.stdout[-2000:]
