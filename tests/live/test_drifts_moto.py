"""The live AWS controls on a moto server of the test session (no sandbox: no network namespace,
Kafka or Kubernetes): the reference estate passes every one, and each AWS drift below (those of
the controls whose steps read the AWS API reader's model) makes exactly its controls not pass,
naming the resource. The full set of AWS drifts runs under the sandbox (tests/live/test_drifts.py)
and, without it, with benchmarks/live_on_moto.py."""

from __future__ import annotations

import json

import pytest

from asbuilt_sandbox.drifts import BY_NAME
from tests import moto_local
from tests.helpers import asbuilt, by_id
from tests.live.test_endpoint_errors import AWS_CONTROLS

DRIFTS = ("conforming", "msk-two-zones", "rds-other-vpc", "sg-msk-open-world-v6", "alb-http-forwards",
          "installer-policy-wildcard", "installer-trust-any-sa", "bundle-policy-on-node-role", "bucket-sse-s3",
          "ecr-missing-portal")


@pytest.mark.parametrize("name", DRIFTS)
def test_each_aws_drift_breaks_exactly_its_controls(name, moto_endpoint, tmp_path):
    changes = BY_NAME[name].aws if name != "conforming" else {}
    expected = set(BY_NAME[name].controls) & set(AWS_CONTROLS) if name != "conforming" else set()
    ids = moto_local.provision(moto_endpoint, **changes)
    target = moto_local.write_target(tmp_path / "target.yaml", moto_endpoint, ids)
    args = ["run", "--target", target, "--live-only", "--report-dir", tmp_path / "out"]
    for c in AWS_CONTROLS:
        args += ["--control", c]
    res = asbuilt(*args, timeout=300)
    results = by_id(json.loads((tmp_path / "out" / "results.json").read_text()))
    broken = {c for c in AWS_CONTROLS if results[c]["status"] != "pass"}
    assert broken == expected, {c: (results[c]["status"], results[c]["message"][:300]) for c in broken ^ expected}
    for c in expected:
        assert results[c]["status"] in ("fail", "warn") and results[c]["findings"], (c, results[c])
        assert "Fix:" in results[c]["message"]
    assert "Traceback" not in res.stdout + res.stderr
