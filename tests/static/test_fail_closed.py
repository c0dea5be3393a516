"""What checkov alone would pass silently is an error here: exit 2 and one line on stderr."""

from __future__ import annotations

import os
import stat

import pytest

from tests.helpers import asbuilt, write_yaml
from tests.static.helpers import FLAVOURS, REFERENCE


def _one_line_error(res, *words):
    assert res.code == 2, res.stdout + res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("asbuilt: error: "), lines[0]
    assert "Traceback" not in res.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_missing_directory(tmp_path):
    _one_line_error(asbuilt("static", tmp_path / "nope", "--report-dir", tmp_path / "r"), "no such file or directory")


def test_nothing_to_scan(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hello")
    _one_line_error(asbuilt("static", tmp_path / "empty", "--report-dir", tmp_path / "r"), "nothing to scan")


def test_terraform_parse_error(tmp_path):
    paths, _ = FLAVOURS["terraform"].prepare(tmp_path)
    (paths[0] / "broken.tf").write_text('resource "aws_vpc" "x" {\n  cidr_block = \n}\n')
    _one_line_error(asbuilt("static", paths[0], "--report-dir", tmp_path / "r"), "broken.tf", "could not parse")


def test_cloudformation_parse_error(tmp_path):
    paths, _ = FLAVOURS["cloudformation-yaml"].prepare(tmp_path)
    paths[0].write_text(paths[0].read_text().replace("Resources:\n", "Resources:\n  Broken: [unclosed\n", 1))
    _one_line_error(asbuilt("static", paths[0].parent, "--report-dir", tmp_path / "r"), "conncentric.yaml",
                    "not valid YAML")


def test_json_parse_error(tmp_path):
    paths, _ = FLAVOURS["cloudformation-json"].prepare(tmp_path)
    paths[0].write_text(paths[0].read_text()[:-20])
    _one_line_error(asbuilt("static", paths[0], "--report-dir", tmp_path / "r"), "conncentric.json", "not valid JSON")


def test_helm_missing(tmp_path):
    paths, values = FLAVOURS["helm"].prepare(tmp_path)
    res = asbuilt("static", *paths, "--values", *values, "--report-dir", tmp_path / "r",
                  env={"ASBUILT_HELM": str(tmp_path / "no-helm")})
    _one_line_error(res, "helm >= 4.1 not found")
    assert not (tmp_path / "r" / "results.json").exists()


def test_helm_too_old(tmp_path):
    fake = tmp_path / "helm"
    fake.write_text("#!/bin/sh\necho v3.15.2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    paths, values = FLAVOURS["helm"].prepare(tmp_path)
    res = asbuilt("static", *paths, "--report-dir", tmp_path / "r", env={"ASBUILT_HELM": str(fake)})
    _one_line_error(res, "helm >= 4.1 not found", "3.15.2")


def test_helm_failing_to_render(tmp_path):
    paths, values = FLAVOURS["helm"].prepare(tmp_path)
    tpl = paths[0] / "templates" / "broken.yaml"
    tpl.write_text("{{ .Values.nothing.here }}\n")
    _one_line_error(asbuilt("static", *paths, "--report-dir", tmp_path / "r"), "helm template", "failed")


def test_values_without_chart(tmp_path):
    paths, _ = FLAVOURS["terraform"].prepare(tmp_path)
    values = tmp_path / "v.yaml"
    values.write_text("a: 1\n")
    _one_line_error(asbuilt("static", paths[0], "--values", values, "--report-dir", tmp_path / "r"), "--values")


def test_target_with_missing_static_path(tmp_path):
    target = write_yaml(tmp_path / "t.yaml", {"name": "t", "static": {"terraform": ["does/not/exist"]}})
    _one_line_error(asbuilt("run", "--target", target, "--static-only", "--report-dir", tmp_path / "r"),
                    "does/not/exist")


def test_target_repo_that_is_not_git(tmp_path):
    (tmp_path / "plain").mkdir()
    target = write_yaml(tmp_path / "t.yaml", {"name": "t", "static": {
        "terraform": [str(REFERENCE / "terraform")], "repos": [str(tmp_path / "plain")]}})
    _one_line_error(asbuilt("run", "--target", target, "--static-only", "--report-dir", tmp_path / "r"),
                    "not a Git repository")


def test_unreadable_gradle_file(tmp_path):
    paths, _ = FLAVOURS["gradle"].prepare(tmp_path)
    paths[0].write_text(paths[0].read_text() + "\ndependencies {\n")
    _one_line_error(asbuilt("static", paths[0], "--report-dir", tmp_path / "r"), "build.gradle.kts", "cannot parse")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_template(tmp_path):
    paths, _ = FLAVOURS["cloudformation-yaml"].prepare(tmp_path)
    paths[0].chmod(0)
    _one_line_error(asbuilt("static", paths[0], "--report-dir", tmp_path / "r"), "cannot read")


def test_a_check_that_breaks_is_an_error_not_a_pass(tmp_path, monkeypatch):
    """A defect in a facts function makes its control `error`, never `pass`."""
    from asbuilt.static import facts
    from tests.static.helpers import scan

    def broken(estate, ctx):
        raise KeyError("boom")

    monkeypatch.setattr(facts, "rds_multi_az", broken)
    from asbuilt.static.checkbase import DEFINITIONS, load_checks

    load_checks()
    monkeypatch.setattr(DEFINITIONS["HA-01"], "aws", broken)
    paths, values = FLAVOURS["terraform"].prepare(tmp_path)
    result = scan(paths, values, tmp_path / "r")
    v = {x.control: x for x in result.verdicts}["HA-01"]
    assert v.status == "error" and "boom" in v.message, v
