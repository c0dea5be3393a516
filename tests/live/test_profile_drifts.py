"""The conduktor-k8s and composex-ecs profiles on the real sandbox: conforming, and every live
control proven able to fail through its drift.

CI time: one conforming `up` serves both profiles' conforming runs; the drifts are batched so that
within a batch no two drifts touch the same control (so a failing control is exactly one drift's
doing) and the two profiles' drifts, which share nothing, ride in the same `up`. Three `up`s and
six `asbuilt run --live-only` in all. A drift that breaks another profile's controls too (the RDS
ones: HA-01 / HA-02 in conncentric-aws) is judged here only on this profile's controls.
"""

from __future__ import annotations

import pytest

from asbuilt.catalogue import load_catalogue
from asbuilt_sandbox.drifts import BY_NAME
from tests.helpers import asbuilt, by_id

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

PROFILES = ("conduktor-k8s", "composex-ecs")
CATALOGUE = load_catalogue()
SEVERITY = {c.id: c.severity for c in CATALOGUE.controls}
LIVE = {p: sorted(c.id for c in CATALOGUE.for_profile(p) if c.live and c.profile == p) for p in PROFILES}

# Each batch: drifts whose controls do not overlap (checked below), of both profiles.
BATCHES = {
    "a": ("console-single-replica", "gateway-two-replicas", "cortex-two-replicas", "console-data-unbounded",
          "console-db-without-tls", "rds-no-backups", "gateway-internal-plaintext", "gateway-jaas-in-env",
          "console-no-sso", "gateway-default-security-context", "gateway-principal-all-on-cluster",
          "gateway-no-alerts", "console-plain-logs",
          "cpx-literal-jaas", "cpx-seed-blog-acls"),
    "b": ("console-no-limits", "gateway-port-routing", "console-oidc-secret-in-config",
          "gateway-principal-no-group-read", "rds-single-az",
          "cpx-missing-secret"),
}


def _in_profile(drift: str, profile: str) -> set[str]:
    return set(BY_NAME[drift].controls) & set(LIVE[profile])


def _run(tmp_path, profile: str):
    out = tmp_path / profile
    res = asbuilt("run", "--target", "sandbox", "--profile", profile, "--live-only", "--report-dir", out, timeout=600)
    assert (out / "results.json").exists(), res.stdout[-2000:] + res.stderr[-2000:]
    return res, by_id(res.results(out))


def test_batches_cover_every_drift_of_the_profiles_and_do_not_overlap():
    wanted = {d for d in BY_NAME if any(_in_profile(d, p) for p in PROFILES)}
    batched = [d for names in BATCHES.values() for d in names]
    assert sorted(batched) == sorted(wanted), set(batched) ^ wanted
    for name, drifts in BATCHES.items():
        for profile in PROFILES:
            seen: dict[str, str] = {}
            for d in drifts:
                for c in _in_profile(d, profile):
                    assert c not in seen, f"batch {name}: {d} and {seen[c]} both break {c}"
                    seen[c] = d
    drifted = {c for d in batched for p in PROFILES for c in _in_profile(d, p)}
    for profile in PROFILES:
        assert set(LIVE[profile]) - {"CPX-06"} <= drifted, f"{profile}: live controls no drift breaks: " \
            f"{sorted(set(LIVE[profile]) - drifted)}"


def test_conforming_sandbox_passes_both_profiles(sandbox, tmp_path):
    sandbox()
    for profile in PROFILES:
        res, results = _run(tmp_path, profile)
        bad = {c: (results[c]["status"], results[c]["message"][:200]) for c in LIVE[profile]
               if results[c]["status"] not in ("pass", "warn" if SEVERITY[c] == "info" else "pass")}
        assert not bad, (profile, bad)
        assert res.code == 0, res.stdout[-1500:]
        for c in LIVE[profile]:
            assert results[c]["evidence"], (profile, c)


@pytest.mark.parametrize("batch", sorted(BATCHES))
def test_each_drift_fails_exactly_its_controls(sandbox, tmp_path, batch):
    drifts = BATCHES[batch]
    sandbox(*drifts)
    for profile in PROFILES:
        expected = {c for d in drifts for c in _in_profile(d, profile)}
        res, results = _run(tmp_path, profile)
        failing = {c for c in LIVE[profile] if results[c]["status"] in ("fail", "warn")
                   and not (SEVERITY[c] == "info" and c not in expected)}
        errors = {c: results[c]["message"][:200] for c in LIVE[profile] if results[c]["status"] == "error"}
        assert not errors, f"batch {batch} {profile}: controls in error: {errors}"
        assert failing == expected, (
            f"batch {batch} {profile}: expected {sorted(expected)} to fail, got {sorted(failing)}: "
            + "; ".join(f"{c}: {results[c]['message'][:160]}" for c in sorted(failing ^ expected)))
        for c in expected:
            assert "Fix:" in results[c]["message"] or results[c]["status"] == "warn", (c, results[c]["message"])
        assert res.code == (1 if any(SEVERITY[c] == "must" for c in expected) else 0), res.stdout[-1500:]
