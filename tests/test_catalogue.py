"""The catalogue is the reference architecture, as data: same IDs, severities, where, thresholds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from asbuilt.catalogue import _PLACEHOLDER, builtin_profiles, load_catalogue, load_profile
from tests.helpers import ROOT, asbuilt

REFERENCE = ROOT.parent / "shared" / "reference-architecture.md"


def _reference_rows() -> dict[str, tuple[str, str]]:
    """ID -> (severity, where) parsed from the reference architecture's tables."""
    rows = {}
    for line in REFERENCE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"[A-Z0-9]+(?:-[A-Z0-9]+)*-\d+", cells[0]) and cells[1] in ("must", "should", "info"):
            where = cells[2] if re.fullmatch(r"[a-z+]+", cells[2]) else "live"  # SUITE rows have no where column
            rows[cells[0]] = (cells[1], where)
    return rows


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared/ is not beside the repository")
def test_every_reference_control_is_in_the_catalogue_with_the_same_facts():
    ref = _reference_rows()
    cat = load_catalogue()
    assert len(ref) == 72
    assert [c.id for c in cat.controls] == list(ref)
    for c in cat.controls:
        severity, where = ref[c.id]
        assert c.severity == severity, c.id
        assert set(c.where) == set(where.split("+")), c.id


def test_every_placeholder_has_a_threshold_and_every_threshold_is_used():
    cat = load_catalogue()
    for name in builtin_profiles():
        profile = load_profile(name)
        for control in cat.for_profile(name):
            used = set(_PLACEHOLDER.findall(control.requirement))
            given = set(profile.params(control.id))
            assert used == given, (name, control.id, used, given)


def test_controls_json_lists_the_contract_fields():
    res = asbuilt("controls", "--format", "json")
    assert res.code == 0, res.stderr
    data = json.loads(res.stdout)
    assert len(data) == 72
    for entry in data:
        assert {"id", "title", "severity", "profile", "where"} <= set(entry)
        assert entry["severity"] in ("must", "should", "info")
        assert set(entry["where"]) <= {"live", "static"}


def test_controls_by_profile_fills_in_thresholds():
    res = asbuilt("controls", "--profile", "conncentric-aws", "--format", "json")
    data = {c["id"]: c for c in json.loads(res.stdout)}
    assert len(data) == 48 + 3  # the profile's controls and the suite's own
    assert "1.30" in data["VER-01"]["requirement"]
    table = asbuilt("controls", "--profile", "conduktor-k8s")
    assert table.code == 0 and "CDK-HA-01" in table.stdout and "VER-01" not in table.stdout


def test_user_profile_overrides_are_applied_and_listed(tmp_path: Path):
    f = tmp_path / "stricter.yaml"
    f.write_text("name: stricter\nextends: conncentric-aws\nthresholds:\n  VER-01: {min_version: '1.32'}\n")
    profile = load_profile(str(f))
    assert profile.params("VER-01") == {"min_version": "1.32"}
    assert [(o.control, o.key, o.reference, o.value) for o in profile.overrides] == [("VER-01", "min_version", "1.30", "1.32")]
    assert profile.base == "conncentric-aws"


def test_example_target_files_are_valid():
    from asbuilt.target import load_target

    for path in (ROOT / "examples" / "targets").glob("*.yaml"):
        target = load_target(path)
        assert target.name
