"""Rules: one pure function per control, from plain evidence to a verdict.

The same rule is called by the live step (evidence read from the AWS / Kubernetes / Kafka /
PostgreSQL APIs) and by the static check (evidence read from Terraform, CloudFormation, charts),
so a control means the same thing in both places. A rule never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "error", "skipped"]


@dataclass
class Verdict:
    """What a rule (or a probe that could not answer) says about one control."""

    control: str
    status: Status
    message: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    source: Literal["live", "static"] = "live"

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "skipped")


def passed(control: str, message: str, evidence: list[dict] | None = None) -> Verdict:
    return Verdict(control, "pass", message, evidence or [])


def failed(control: str, message: str, evidence: list[dict] | None = None) -> Verdict:
    return Verdict(control, "fail", message, evidence or [])


def errored(control: str, message: str, evidence: list[dict] | None = None) -> Verdict:
    return Verdict(control, "error", message, evidence or [])


def skipped(control: str, message: str, evidence: list[dict] | None = None) -> Verdict:
    return Verdict(control, "skipped", message, evidence or [])


def summarise(control: str, findings: list[str], ok_message: str, evidence: list[dict], fix: str) -> Verdict:
    """Fail with every finding (each naming its resource) and the fix, or pass with ok_message."""
    if findings:
        return failed(control, "; ".join(findings) + f". Fix: {fix}", evidence)
    return passed(control, ok_message, evidence)
