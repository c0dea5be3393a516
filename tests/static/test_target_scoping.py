"""Charts and manifests scoped to the profiles that judge them (``static.charts[].profiles``,
``static.manifests[].profiles``), on the shape of the sandbox's target file without the sandbox:
``asbuilt_sandbox.manager.static_section()`` (what ``sandbox up`` writes) pointing at examples/,
run with ``--static-only`` for each profile through the real CLI.

* conncentric-aws: exactly the verdicts of the sandbox target before the Conduktor chart was
  listed; the Conduktor chart is left out, with a note.
* conduktor-k8s: every static CDK control passes on the Conduktor chart as the sandbox installs it.
* A target that says nothing keeps today's behaviour: every chart is judged by every profile's
  chart controls (and so the Conncentric chart controls fail on the Conduktor chart).
"""

from __future__ import annotations

import copy

import pytest

from tests.helpers import asbuilt, by_id, write_yaml
from tests.static.test_conduktor_static import STATIC_CDK

CONNCENTRIC_CHART_CONTROLS = ("HELM-01", "K8S-02", "IAM-02")


def _shape() -> dict:
    from asbuilt_sandbox.manager import static_section

    return static_section()


def _run(tmp_path, name: str, static: dict, profile: str) -> tuple[int, dict, str]:
    target = write_yaml(tmp_path / f"{name}.yaml", {"name": f"sandbox-shape-{name}", "profile": profile,
                                                    "static": static})
    reports = tmp_path / f"reports-{name}-{profile}"
    res = asbuilt("run", "--target", target, "--profile", profile, "--static-only", "--report-dir", reports)
    assert res.code in (0, 1), res.stderr
    return res.code, res.results(reports), res.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scoping")
    new = _shape()
    before = copy.deepcopy(new)  # the sandbox's static section before: the Conncentric chart only, unscoped
    before["charts"] = [{k: v for k, v in new["charts"][0].items() if k != "profiles"}]
    unscoped = copy.deepcopy(new)
    for c in unscoped["charts"]:
        c.pop("profiles")
    return {
        ("before", "conncentric-aws"): _run(tmp, "before", before, "conncentric-aws"),
        ("new", "conncentric-aws"): _run(tmp, "new", new, "conncentric-aws"),
        ("new", "conduktor-k8s"): _run(tmp, "new", new, "conduktor-k8s"),
        ("unscoped", "conncentric-aws"): _run(tmp, "unscoped", unscoped, "conncentric-aws"),
    }


def test_the_sandbox_shape_lists_the_conduktor_chart_for_its_profile():
    charts = {c["path"].rsplit("examples/reference/", 1)[-1]: c for c in _shape()["charts"]}
    cdk = charts["conduktor/chart"]
    assert cdk["profiles"] == ["conduktor-k8s"] and cdk["release"] == "conduktor" and cdk["namespace"] == "conduktor"
    assert [v.rsplit("/", 1)[-1] for v in cdk["values"]] == ["production.yaml", "sandbox.yaml"]
    assert charts["chart/conncentric"]["profiles"] == ["conncentric-aws"]


def test_conncentric_aws_stays_as_it_was(runs):
    code_before, before, _ = runs[("before", "conncentric-aws")]
    code_new, new, _ = runs[("new", "conncentric-aws")]
    assert code_new == code_before == 0
    assert {c["id"]: c["status"] for c in new["controls"]} == {c["id"]: c["status"] for c in before["controls"]}
    notes = " ".join(new["run"].get("notes") or [])
    assert "conduktor/chart: not judged by profile conncentric-aws" in notes, notes


def test_conduktor_k8s_judges_the_conduktor_chart_and_passes(runs):
    code, results, _ = runs[("new", "conduktor-k8s")]
    got = by_id(results)
    assert code == 0, {i: (c["status"], c["message"][:200]) for i, c in got.items() if c["status"] != "pass"}
    for control in STATIC_CDK:
        assert got[control]["status"] == "pass", (control, got[control]["message"])
        assert got[control]["source"] in ("static", "both")
    notes = " ".join(results["run"].get("notes") or [])
    assert "chart/conncentric: not judged by profile conduktor-k8s" in notes, notes


def test_a_target_that_scopes_nothing_keeps_todays_behaviour(runs):
    code, results, _ = runs[("unscoped", "conncentric-aws")]
    got = by_id(results)
    assert code == 1
    for control in CONNCENTRIC_CHART_CONTROLS:
        assert got[control]["status"] == "fail" and "conduktor" in got[control]["message"], got[control]


def test_profiles_are_validated_and_manifests_take_paths_or_entries(tmp_path):
    from asbuilt.errors import InputError
    from asbuilt.target import load_target

    bad = write_yaml(tmp_path / "bad.yaml", {"name": "t", "static": {"charts": [
        {"path": "c", "profiles": ["conduktor-k9s"]}]}})
    with pytest.raises(InputError) as exc:
        load_target(bad)
    assert "conduktor-k9s" in str(exc.value) and "\n" not in str(exc.value)
    res = asbuilt("run", "--target", bad, "--static-only", "--report-dir", tmp_path / "r")
    assert res.code == 2 and "unknown profile 'conduktor-k9s'" in res.stderr and "Traceback" not in res.stderr
    ok = write_yaml(tmp_path / "ok.yaml", {"name": "t", "static": {"manifests": [
        "m1", {"path": "m2", "profiles": ["conduktor-k8s"]}]}})
    t = load_target(ok)
    assert [m.path.name for m in t.static.manifests] == ["m1", "m2"]
    assert [m.profiles for m in t.static.manifests] == [[], ["conduktor-k8s"]]


def test_scoped_manifests_are_left_out_of_other_profiles(tmp_path):
    from asbuilt.catalogue import load_profile
    from asbuilt.static.engine import discover_target
    from asbuilt.target import load_target
    from tests.static.helpers import REFERENCE

    t = load_target(write_yaml(tmp_path / "t.yaml", {"name": "t", "static": {"manifests": [
        {"path": str(REFERENCE / "conduktor" / "manifests"), "profiles": ["conduktor-k8s"]}]}}))
    assert discover_target(t, load_profile("conduktor-k8s")).manifests
    left = discover_target(t, load_profile("conncentric-aws"))
    assert not left.manifests and left.empty()
    assert any("not judged by profile conncentric-aws" in n for n in left.skipped)
    assert discover_target(t).manifests  # no profile given: every entry, as before


def test_a_run_left_with_nothing_by_scoping_says_so(tmp_path):
    from tests.static.helpers import REFERENCE

    static = {"charts": [{"path": str(REFERENCE / "conduktor" / "chart"), "release": "conduktor",
                          "namespace": "conduktor", "profiles": ["conduktor-k8s"]}]}
    target = write_yaml(tmp_path / "t.yaml", {"name": "t", "static": static})
    res = asbuilt("run", "--target", target, "--profile", "conncentric-aws", "--static-only",
                  "--report-dir", tmp_path / "r")
    assert res.code == 2 and "nothing to examine" in res.stderr and "scoped to other profiles" in res.stderr
    assert "Traceback" not in res.stderr
