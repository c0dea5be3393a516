"""Bad input: one line on stderr naming the file, the field and what was expected; exit 2."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.helpers import asbuilt

GOOD = """\
name: t
aws:
  region: us-east-1
"""


def _one_line_error(res, *words: str) -> str:
    assert res.code == 2, (res.code, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    line = lines[0]
    assert line.startswith("asbuilt: error: "), line
    for w in words:
        assert w in line, line
    return line


def _target(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "target.yaml"
    p.write_text(text)
    return p


def _run(target: Path, *extra: str):
    return asbuilt("run", "--target", target, "--report-dir", target.parent / "reports", *extra)


@pytest.mark.parametrize(
    "text, words",
    [
        ("name: t\naws: [unclosed\n", ["target.yaml", "line", "malformed YAML"]),
        ("name: t\naws:\n  region: us-east-1\n  regoin: eu-west-1\n", ["aws.regoin", "unknown key"]),
        ("name: t\naws:\n  region: 5\n", ["aws.region", "expected a string, got int"]),
        ("aws:\n  region: us-east-1\n", ["name", "required field is missing"]),
        ("name: t\npostgres: {host: h, dbname: d, user: u, password: hunter2}\n",
         ["postgres.password", "references", "not literals"]),
        ("name: t\naws:\n  region: us-east-1\n  timeouts: {read: 10000}\n", ["aws.timeouts.read", "less than or equal"]),
        ("", ["target.yaml", "empty"]),
        ("- a\n- b\n", ["expected a mapping"]),
        ("name: t\nkafka: {security_protocol: TLS}\n", ["kafka.security_protocol"]),
    ],
    ids=["malformed", "unknown-key", "wrong-type", "missing-field", "literal-secret", "out-of-range", "empty",
         "not-a-mapping", "bad-enum"],
)
def test_bad_target_file(tmp_path, text, words):
    line = _one_line_error(_run(_target(tmp_path, text)), *words)
    assert "hunter2" not in line  # a literal secret is refused without being echoed


def test_missing_target_file(tmp_path):
    _one_line_error(_run(tmp_path / "nope.yaml"), "nope.yaml", "not found")


def test_target_is_a_directory(tmp_path):
    _one_line_error(_run(tmp_path), "is a directory")


def test_unknown_profile(tmp_path):
    _one_line_error(_run(_target(tmp_path, GOOD), "--profile", "nope"), "unknown profile 'nope'", "conncentric-aws")


def test_unknown_control(tmp_path):
    _one_line_error(_run(_target(tmp_path, GOOD), "--control", "XX-99"), "unknown control ID 'XX-99'")


def test_control_of_another_profile(tmp_path):
    _one_line_error(_run(_target(tmp_path, GOOD), "--control", "CDK-HA-01"), "CDK-HA-01", "not in profile")


@pytest.mark.parametrize(
    "text, words",
    [
        ("name: p\nextends: conncentric-aws\nthresholds:\n  VER-01: {min_versoin: '1.31'}\n",
         ["thresholds.VER-01.min_versoin", "unknown threshold", "min_version"]),
        ("name: p\nextends: conncentric-aws\nthresholds:\n  HA-03: {brokers: three}\n",
         ["thresholds.HA-03.brokers", "expected int"]),
        ("name: p\nextends: nope\n", ["extends", "unknown profile 'nope'"]),
        ("name: p\nthresholds: {}\n", ["extends", "must extend"]),
        ("name: p\nextends: conncentric-aws\nthresholds:\n  ZZ-01: {a: 1}\n", ["ZZ-01", "unknown control"]),
    ],
    ids=["unknown-threshold", "wrong-type", "unknown-base", "no-base", "unknown-control"],
)
def test_bad_profile_file(tmp_path, text, words):
    profile = tmp_path / "profile.yaml"
    profile.write_text(text)
    _one_line_error(_run(_target(tmp_path, GOOD), "--profile", str(profile)), "profile.yaml", *words)


def test_unknown_option():
    res = asbuilt("run", "--tagret", "x")
    assert res.code == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 or "unrecognized arguments" in res.stderr


def test_sandbox_target_when_no_sandbox(tmp_path):
    res = asbuilt("run", "--target", "sandbox", env={"ASBUILT_STATE": str(tmp_path / "state")})
    _one_line_error(res, "sandbox is not up", "asbuilt sandbox up")


def test_unreachable_endpoint_is_bounded(tmp_path):
    # A loopback port where nothing listens: connection refused, fast, and never off the machine.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = _target(tmp_path, f"name: t\naws:\n  region: us-east-1\n  endpoint_url: http://127.0.0.1:{port}\n"
                               "  timeouts: {connect: 2, read: 2, max_attempts: 2}\n")
    started = time.monotonic()
    res = _run(target, "--live-only")
    _one_line_error(res, "cannot reach the AWS endpoint", f"127.0.0.1:{port}")
    assert time.monotonic() - started < 60
