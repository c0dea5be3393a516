"""The drift catalogue covers every live control the suite implements."""

from __future__ import annotations

import json

from asbuilt.catalogue import load_catalogue
from asbuilt_sandbox.drifts import DRIFTS
from asbuilt.suite import live_coverage
from tests.helpers import asbuilt


# Live controls proven to fail another way, and why.
PROVEN_OTHERWISE = {
    # the sandbox's installer refuses a malformed bundle outright, so its release cannot carry one:
    # the live failure is shown through the profile's bound (tests/platform/test_bundle_layout_live.py)
    "BNDL-01": "profile bound",
}


def test_every_implemented_live_control_has_a_drift():
    cat = load_catalogue()
    drifted = {c for d in DRIFTS for c in d.controls} | set(PROVEN_OTHERWISE)
    live = live_coverage()
    missing = [c.id for c in cat.for_profile("conncentric-aws")
               if c.live and c.id in live and c.profile != "suite" and c.id not in drifted]
    assert not missing, f"live controls no drift can break: {missing}"


def test_drift_names_are_unique_and_name_catalogue_controls():
    cat = load_catalogue()
    names = [d.name for d in DRIFTS]
    assert len(names) == len(set(names))
    for d in DRIFTS:
        assert d.controls and set(d.controls) <= set(cat.by_id), d.name


def test_drifts_json_lists_name_controls_description():
    res = asbuilt("sandbox", "drifts", "--format", "json")
    assert res.code == 0, res.stderr
    data = json.loads(res.stdout)
    assert {"name", "controls", "description"} <= set(data[0])
    assert any(d["name"] == "rds-single-az" and d["controls"] == ["HA-01", "CDK-DB-02"] for d in data)


def test_unknown_drift_is_an_input_error():
    res = asbuilt("sandbox", "up", "--drift", "no-such-drift")
    assert res.code == 2 and res.stderr.count("\n") == 1 and "unknown drift 'no-such-drift'" in res.stderr
