"""VER-01, VER-02 and HA-01 end to end: a real moto server, the real CLI, both verdicts.

Each control passes on the conforming estate and fails, alone, on an estate with exactly its
violation, with a message naming the resource and the fix.
"""

from __future__ import annotations

import dataclasses

import pytest

from asbuilt_sandbox import aws_reference
from tests.helpers import asbuilt, by_id, reset_moto, write_yaml

CONTROLS = ["VER-01", "VER-02", "HA-01"]


def _estate(tmp_path, endpoint: str, **changes) -> tuple:
    reset_moto(endpoint)
    key = "testing"
    ref = dataclasses.replace(aws_reference.Reference(), **changes)
    ids = aws_reference.provision(endpoint, ref)
    target = write_yaml(tmp_path / "target.yaml", {
        "name": "moto-estate",
        "profile": "conncentric-aws",
        "aws": {
            "region": "us-east-1",
            "endpoint_url": endpoint,
            "resources": {"eks_cluster": ids["eks_cluster"], "rds_instance": ids["rds_instance"]},
        },
    })
    return target, ids, key


def _run(tmp_path, target, key):
    args = ["run", "--target", target, "--live-only", "--report-dir", tmp_path / "reports"]
    for c in CONTROLS:
        args += ["--control", c]
    res = asbuilt(*args, env={"AWS_ACCESS_KEY_ID": key})
    return res, by_id(res.results(tmp_path / "reports"))


def test_conforming_estate_passes(tmp_path, moto_endpoint):
    target, _, key = _estate(tmp_path, moto_endpoint)
    res, results = _run(tmp_path, target, key)
    assert res.code == 0, res.stdout + res.stderr
    for c in CONTROLS:
        assert results[c]["status"] == "pass", results[c]
        assert results[c]["source"] == "live"
        assert results[c]["evidence"], f"{c} recorded no evidence"


@pytest.mark.parametrize(
    "change, control, words",
    [
        ({"eks_version": "1.29"}, "VER-01", ["1.29", "below the minimum 1.30", "upgrade"]),
        ({"rds_version": "14.10"}, "VER-02", ["14.10", "below the minimum 15", "PostgreSQL"]),
        ({"rds_engine": "mysql", "rds_version": "8.0.35"}, "VER-02", ["mysql", "not postgres"]),
        ({"rds_multi_az": False}, "HA-01", ["MultiAZ is false", "enable Multi-AZ"]),
    ],
)
def test_each_violation_fails_only_its_control(tmp_path, moto_endpoint, change, control, words):
    target, ids, key = _estate(tmp_path, moto_endpoint, **change)
    res, results = _run(tmp_path, target, key)
    assert res.code == 1, res.stdout + res.stderr
    failing = {c for c, r in results.items() if r["status"] == "fail"}
    assert failing == {control}, {c: results[c]["message"] for c in failing}
    message = results[control]["message"]
    resource = ids["eks_cluster"] if control == "VER-01" else ids["rds_instance"]
    assert resource in message, message  # names the resource (its ARN contains the id)
    for word in words:
        assert word in message, message
    assert "Fix:" in message
    assert f"FAIL  {control}" in res.stdout  # the progress line
