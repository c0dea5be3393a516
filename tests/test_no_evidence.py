"""No evidence is never a pass: every control unit, given nothing to judge, says error (or
skipped, where the target says the part is not used). One assertion per control family, over
the units themselves, so a new unit is held to it too."""

from __future__ import annotations

import pytest

from asbuilt.catalogue import load_catalogue, load_profile
from asbuilt.controls import all_units

# Arguments that come from the target rather than the profile (see each unit's module).
CONTEXT = {
    "HA-05": {"namespace": "conncentric"},
    "K8S-01": {"namespace": "conncentric"},
    "K8S-06": {"ingress_classes": []},
    "IAM-02": {"namespace": "conncentric", "name": "conncentric-installer", "role_arns": []},
    "IAM-03": {"namespace": "conncentric", "service_account": "conncentric-installer", "oidc_providers": []},
    "IAM-04": {"irsa_configured": True},
}
# Controls that apply only "if the part is used": nothing found is skipped, never pass.
WHEN_USED = {"ECR-01", "IAM-06"}  # ECR not used; no bundle URL, so no pre-signed one


@pytest.mark.parametrize("control", sorted(all_units()))
def test_a_unit_with_nothing_to_judge_does_not_pass(control):
    profile = load_catalogue().by_id[control].profile  # each unit under its own profile's thresholds
    profile = "conncentric-aws" if profile in ("", "suite", None) else profile
    verdict = all_units()[control].decide([], load_profile(profile), **CONTEXT.get(control, {}))
    allowed = {"skipped"} if control in WHEN_USED else {"error", "fail"}
    assert verdict.status in allowed, (control, verdict.status, verdict.message)


def test_ecr_repositories_named_by_the_target_but_missing_fail():
    from asbuilt.rules.storage import ecr_repositories

    v = ecr_repositories([], named=["orchestrator", "adapter", "portal"])
    assert v.status == "fail" and "ECR repository orchestrator: named by the target, but it does not exist" in v.message
