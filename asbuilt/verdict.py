"""The verdict of one control: a structure, never a string to parse.

A rule (or a probe that could not answer) says ``status`` and, for a failure, the *findings*
(each: the resource, where it is written or lives, what is wrong, the fix); for an ``error``
the *unknown facts* it could not decide on (the fact, where, why). Reports, waivers, SARIF and
drift read these fields; ``message`` is only the human sentence made from them.

Three-way judgement (``Judgement``): a rule records the known violations (``fail``), the facts
it needed but could not know (``unknown``), and what conformed (``ok``); the verdict is ``fail``
when a known fact already violates the control, else ``error`` naming every unknown fact, else
``pass``. An unknown fact is never judged as if its unresolved text were the value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Literal

from asbuilt.model.facts import Unknown, is_unknown

Status = Literal["pass", "fail", "error", "skipped"]


@dataclass
class Finding:
    """One known violation: the resource, what is wrong, where, and what to change."""

    resource: str
    what: str
    fix: str = ""
    location: dict[str, Any] | None = None  # {"file", "line"} for code; None for API objects
    about: list[str] = field(default_factory=list)  # platform resources it affects (the database a rule opens)

    def text(self) -> str:
        # "X is in VPC a but Y ..." reads as a sentence that starts with its resource already
        if not self.resource or self.what.startswith(self.resource):
            return self.what
        return f"{self.resource}: {self.what}"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", [])}


@dataclass
class UnknownFact:
    """A fact the control needed that the code or the API did not give."""

    fact: str
    where: str
    reason: str

    def text(self) -> str:
        if self.where and self.where not in self.fact:
            return f"{self.fact} unknown at {self.where} ({self.reason})"
        return f"{self.fact} unknown ({self.reason})"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Verdict:
    """What a rule says about one control (see the module docstring)."""

    control: str
    status: Status
    message: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    source: Literal["live", "static"] = "live"
    findings: list[Finding] = field(default_factory=list)
    unknowns: list[UnknownFact] = field(default_factory=list)
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "skipped")

    def resources(self) -> list[str]:
        """The resources this verdict is about: its findings', else every evidence item's."""
        named = [r for f in self.findings for r in [f.resource, *f.about] if r]
        return list(dict.fromkeys(named))

    def to_json(self) -> dict[str, Any]:
        return {"control": self.control, "status": self.status, "message": self.message,
                "evidence": self.evidence, "source": self.source, "fix": self.fix,
                "findings": [f.to_json() for f in self.findings],
                "unknowns": [u.to_json() for u in self.unknowns]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Verdict":
        return cls(d["control"], d["status"], d.get("message", ""), d.get("evidence") or [],
                   d.get("source", "live"),
                   [Finding(**{"resource": "", "what": "", **f}) for f in d.get("findings") or []],
                   [UnknownFact(**u) for u in d.get("unknowns") or []], d.get("fix", ""))


def fail_message(findings: list[Finding], fix: str) -> str:
    text = "; ".join(f.text() for f in findings)
    return text + (f". Fix: {fix}" if fix else "")


def error_message(unknowns: list[UnknownFact]) -> str:
    return "cannot decide: " + "; ".join(u.text() for u in unknowns)


def passed(control: str, message: str, evidence: list[dict] | None = None) -> Verdict:
    return Verdict(control, "pass", message, evidence or [])


def failed(control: str, message: str | Iterable[Finding], evidence: list[dict] | None = None,
           fix: str = "") -> Verdict:
    """A failure. ``message`` may be the findings themselves (preferred) or, for a failure that
    is about the run rather than a resource, a sentence."""
    if isinstance(message, str):
        return Verdict(control, "fail", message, evidence or [], fix=fix)
    findings = _located(list(message), evidence or [], fix)
    return Verdict(control, "fail", fail_message(findings, fix), evidence or [], findings=findings, fix=fix)


def errored(control: str, message: str | Iterable[UnknownFact], evidence: list[dict] | None = None) -> Verdict:
    if isinstance(message, str):
        return Verdict(control, "error", message, evidence or [])
    unknowns = list(message)
    return Verdict(control, "error", error_message(unknowns), evidence or [], unknowns=unknowns)


def skipped(control: str, message: str, evidence: list[dict] | None = None) -> Verdict:
    return Verdict(control, "skipped", message, evidence or [])


def _located(findings: list[Finding], evidence: list[dict], fix: str) -> list[Finding]:
    """Give each finding the fix and the file:line of the evidence item about its resource."""
    where = {}
    for item in evidence:
        if isinstance(item, dict) and item.get("resource") and item.get("file"):
            where.setdefault(str(item["resource"]), {"file": item["file"], "line": item.get("line")})
    for f in findings:
        if not f.fix:
            f.fix = fix
        if f.location is None and f.resource in where:
            f.location = where[f.resource]
    return findings


def summarise(control: str, findings: list[Finding], ok_message: str, evidence: list[dict], fix: str,
              unknowns: list[UnknownFact] | None = None) -> Verdict:
    """fail with every finding and the fix; else error naming every unknown fact; else pass."""
    if findings:
        return failed(control, findings, evidence, fix)
    if unknowns:
        return errored(control, unknowns, evidence)
    return passed(control, ok_message, evidence)


class Judgement:
    """Collects what a rule found over its items, then gives the three-way verdict."""

    def __init__(self, control: str, fix: str):
        self.control = control
        self.fix = fix
        self.findings: list[Finding] = []
        self.unknowns: list[UnknownFact] = []

    def fail(self, resource: str, what: str) -> None:
        self.findings.append(Finding(str(resource), what))

    def unknown(self, fact: str, where: str, reason: str) -> None:
        self.unknowns.append(UnknownFact(fact, str(where), reason))

    def known(self, value: Any, fact: str, where: str) -> bool:
        """True when value is known; otherwise records it as an unknown fact and returns False."""
        if is_unknown(value):
            u: Unknown = value
            self.unknown(fact, u.where or where, u.reason)
            return False
        return True

    def verdict(self, ok_message: str, evidence: list[dict]) -> Verdict:
        return summarise(self.control, self.findings, ok_message, evidence, self.fix, self.unknowns)
