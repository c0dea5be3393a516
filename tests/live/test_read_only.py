"""A full live run is read-only against AWS and economical: every operation recorded, each a read,
no request repeated (each resource fetched once per run), the count written to results.json."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml

from asbuilt.probes.aws import is_read_operation
from tests.helpers import asbuilt

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_a_full_live_run_only_reads_and_fetches_each_resource_once(sandbox, tmp_path):
    path = sandbox()
    target = yaml.safe_load(path.read_text())
    target["allow_mutating"] = False  # a read-only run: @mutating scenarios are reported skipped
    read_only = tmp_path / "target.yaml"
    read_only.write_text(yaml.safe_dump(target, sort_keys=False))
    log = tmp_path / "aws-calls.jsonl"
    res = asbuilt("run", "--target", read_only, "--live-only", "--report-dir", tmp_path / "out",
                  env={"ASBUILT_AWS_CALL_LOG": str(log)}, timeout=900)
    out = tmp_path / "out" / "results.json"
    assert out.exists(), res.stdout[-1500:] + res.stderr[-1500:]
    results = json.loads(out.read_text())
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls, res.stdout[-2000:]

    writes = sorted({c["op"] for c in calls if not is_read_operation(c["op"].split(":", 1)[1])})
    assert not writes, f"a read-only run wrote to AWS: {writes}"

    repeated = {k: n for k, n in Counter((c["op"], c["request"]) for c in calls).items() if n > 1}
    assert not repeated, "requests made more than once: " + "; ".join(f"{op} x{n}" for (op, _), n in repeated.items())

    run = results["run"]
    by_op = Counter(c["op"] for c in calls)
    by_op["sts:GetCallerIdentity"] -= 1  # the pre-flight check, made before the scenarios by its own probe
    assert run["aws_api_calls_by_operation"] == {k: v for k, v in by_op.items() if v}, run["aws_api_calls_by_operation"]
    assert run["aws_api_calls"] == sum(by_op.values())
