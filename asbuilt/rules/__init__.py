"""Rules: one pure function per control, from model evidence to a verdict.

The same rule is called by the live step (evidence read from the AWS / Kubernetes / Kafka /
PostgreSQL APIs) and by the static check (evidence read from Terraform, CloudFormation, charts),
so a control means the same thing in both places. A rule never does I/O. A rule reports each
violation as a ``Finding`` naming its resource, and each fact it needed but could not know as
an unknown (``asbuilt.verdict``): fail on known violations, error on unknowns, else pass.
"""

from __future__ import annotations

from asbuilt.verdict import (  # noqa: F401  (the rules' vocabulary, re-exported)
    Finding, Judgement, Status, UnknownFact, Verdict, errored, failed, passed, skipped,
)
from asbuilt.verdict import summarise as _summarise


def summarise(control: str, findings: list, ok_message: str, evidence: list[dict], fix: str,
              unknowns: list[UnknownFact] | None = None) -> Verdict:
    """Fail with every finding (each naming its resource) and the fix; error on unknown facts; else pass.

    A finding given as plain text (a finding about the whole target, not one resource, such as
    "no Deployment for Portal") becomes a Finding without a resource.
    """
    structured = [f if isinstance(f, Finding) else Finding("", str(f)) for f in findings]
    return _summarise(control, structured, ok_message, evidence, fix, unknowns)
