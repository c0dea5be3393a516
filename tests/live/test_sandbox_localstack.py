"""The whole sandbox with its AWS side on LocalStack (`asbuilt sandbox up --aws localstack`):
provisioned from the same reference where LocalStack can hold it, the platform installed from
LocalStack's bucket through the HTTPS front, and `asbuilt run` judging it. What LocalStack
emulates passes as on moto, and its real pre-signed URL checks are the evidence of BNDL-02 and
IAM-06; what it answers 501 for is `error` naming the service; the drifts it holds fail.
Skipped (with the reason) only when the machine has no Python 3.13."""

from __future__ import annotations

import json

import pytest
import yaml

from asbuilt_sandbox.parts import localstack as ls
from tests.helpers import asbuilt, by_id

pytestmark = [pytest.mark.sandbox, pytest.mark.localstack, pytest.mark.slow]

EMULATED = ("S3-01", "S3-02", "IAM-01", "IAM-02", "IAM-04", "IAM-05", "IAM-06", "HELM-01", "BNDL-01", "BNDL-02",
            "INST-01")
NOT_EMULATED = {"NET-01": "rds", "HA-03": "kafka", "VER-01": "eks", "HA-06": "elbv2", "ECR-01": "ecr"}


def _run(target, tmp_path, controls) -> dict:
    args = ["run", "--target", target, "--report-dir", tmp_path / "out"]
    for c in controls:
        args += ["--control", c]
    res = asbuilt(*args, timeout=600)
    assert "Traceback" not in res.stdout + res.stderr, res.stderr[-2000:]
    return by_id(json.loads((tmp_path / "out" / "results.json").read_text()))


@pytest.fixture
def on_localstack(sandbox):
    if ls.python313() is None:
        pytest.skip("LocalStack's runtime needs Python 3.13; none under ~/.pyenv/versions/3.13* (ASBUILT_PYTHON313)")
    return lambda *drifts: sandbox(*drifts, aws="localstack")


def test_the_reference_on_localstack_is_judged_where_it_gives_evidence(on_localstack, tmp_path):
    from asbuilt_sandbox import manager

    target = on_localstack()
    doc = yaml.safe_load(target.read_text())
    assert doc["aws"]["endpoint_url"].startswith("http://198.19.") and doc["aws"]["ca_bundle"]
    status = manager.status()
    assert status["localstack"]["up"] and "moto" not in status, status
    results = _run(target, tmp_path, (*EMULATED, *NOT_EMULATED))
    for c in EMULATED:
        assert results[c]["status"] == "pass", (c, results[c]["message"])
    for c, svc in NOT_EMULATED.items():
        assert results[c]["status"] == "error", (c, results[c]["message"])
        assert f"LocalStack community edition does not emulate {svc}" in results[c]["message"]
    # LocalStack verifies pre-signed URLs: the refusals are the evidence, and say who answered
    bndl = results["BNDL-02"]["message"]
    assert "a copy with a tampered signature is refused (HTTP 403 SignatureDoesNotMatch, LocalStack)" in bndl, bndl
    assert "past its expiry is refused (HTTP 403" in bndl, bndl
    (live,) = [e for e in results["IAM-06"]["evidence"] if e.get("source") == "live"]
    assert live["refusals"]["tampered_signature"]["status"] == 403, live
    assert live["refusals"]["tampered_signature"]["answered_by"] == "LocalStack", live


def test_drifts_localstack_holds_fail_their_controls(on_localstack, tmp_path):
    target = on_localstack("bucket-unversioned", "presigned-url-14-days")
    results = _run(target, tmp_path, EMULATED)
    failing = {c for c in EMULATED if results[c]["status"] == "fail"}
    assert failing == {"S3-01", "BNDL-02", "IAM-06"}, {c: results[c]["message"][:200] for c in EMULATED}
    assert "valid for 1209600 s" in results["IAM-06"]["message"]
    assert "did not keep the previous version" in results["BNDL-02"]["message"]
