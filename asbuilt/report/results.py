"""From verdicts to one result per catalogue control, and the contract's results.json / junit.xml.

A control's result combines every verdict recorded for it (live scenarios, static checks):
the worst wins (fail > error > pass > skipped); ``source`` says where the verdicts came from.
Severity then shapes the status: a failing ``should`` control is a ``warn`` (a ``fail`` with
--strict), a failing ``info`` control is a ``warn``. A control with no scenario or check is
``pending`` and never counts as a pass.
"""

from __future__ import annotations

import getpass
import json
import platform
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from asbuilt import __version__
from asbuilt.catalogue import Catalogue, Control, Profile, requirement_text
from asbuilt.rules import Verdict

STATUSES = ("pass", "fail", "warn", "waived", "error", "skipped", "pending")
_WORST = {"fail": 4, "error": 3, "pass": 2, "skipped": 1}


@dataclass
class Selection:
    """What a run was asked to do."""

    control_ids: set[str] | None = None  # None: every control of the profile
    live: bool = True
    static: bool = True
    strict: bool = False

    def selects(self, control: Control) -> bool:
        return self.control_ids is None or control.id in self.control_ids


@dataclass
class ControlResult:
    id: str
    title: str
    severity: str
    profile: str
    area: str
    status: str
    source: str
    message: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    requirement: str = ""
    remediation: str = ""
    where: list[str] = field(default_factory=list)
    waiver: dict[str, Any] | None = None
    # the structure behind message: each finding {resource, what, fix, location, about, source};
    # each unknown fact {fact, where, reason, source}
    findings: list[dict[str, Any]] = field(default_factory=list)
    unknowns: list[dict[str, Any]] = field(default_factory=list)


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def combine(
    catalogue: Catalogue,
    profile: Profile,
    verdicts: list[Verdict],
    selection: Selection,
    implemented: dict[str, set[str]],
) -> list[ControlResult]:
    """One ControlResult per control of the profile, in catalogue order.

    implemented: control ID -> the sources ("live", "static") that have a scenario or check.
    """
    by_control: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_control.setdefault(v.control, []).append(v)
    results = []
    for control in catalogue.for_profile(profile.base):
        results.append(_one(control, profile, by_control.get(control.id, []), selection, implemented.get(control.id, set())))
    return results


def _one(control: Control, profile: Profile, verdicts: list[Verdict], selection: Selection, impl: set[str]) -> ControlResult:
    base = dict(
        id=control.id, title=control.title, severity=control.severity, profile=control.profile,
        area=control.area, requirement=requirement_text(control, profile), remediation=control.remediation,
        where=list(control.where),
    )
    modes = {m for m, on in (("live", selection.live), ("static", selection.static)) if on}
    if not selection.selects(control):
        return ControlResult(**base, status="skipped", source="none", message="not selected by this run (--control)")
    if not verdicts:
        runnable = impl & modes & set(control.where)
        if not impl:
            return ControlResult(**base, status="pending", source="none",
                                 message="not implemented yet: no scenario or static check covers this control")
        if not runnable:
            wanted = " or ".join(sorted(impl))
            return ControlResult(**base, status="skipped", source="none",
                                 message=f"checked only {wanted}; this run did not include {wanted} checks")
        return ControlResult(**base, status="skipped", source="none",
                             message="no scenario or check ran for it (the target does not describe the part it needs)")
    worst = max(verdicts, key=lambda v: _WORST[v.status])
    sources = {v.source for v in verdicts}
    source = "both" if sources == {"live", "static"} else next(iter(sources))
    status = worst.status
    if status == "fail" and control.severity == "should" and not selection.strict:
        status = "warn"
    elif status == "fail" and control.severity == "info":
        status = "warn"
    evidence = []
    for v in verdicts:
        for item in v.evidence:
            evidence.append({"source": v.source, **item})
    findings = [{**f.to_json(), "source": v.source} for v in verdicts if v.status == "fail" for f in v.findings]
    unknowns = [{**u.to_json(), "source": v.source} for v in verdicts if v.status == "error" for u in v.unknowns]
    message = worst.message
    if len(verdicts) > 1:
        others = [f"{v.source}: {v.status}" for v in verdicts if v is not worst]
        message = f"{worst.source}: {worst.message}" + (f" (also {', '.join(others)})" if others else "")
    return ControlResult(**base, status=status, source=source, message=message, evidence=evidence,
                         findings=findings, unknowns=unknowns)


def exit_code(results: list[ControlResult], strict: bool = False) -> int:
    """0 conforming; 1 a must control failed (or, with --strict, a should/pending); 2 a must control errored."""
    statuses = [r.status for r in results]
    if "fail" in statuses:
        return 1
    if strict and ("pending" in statuses or any(r.status == "warn" and r.severity == "should" for r in results)):
        return 1
    if any(r.status == "error" and r.severity == "must" for r in results):
        return 2
    return 0


def counts(results: list[ControlResult]) -> dict[str, int]:
    out = {s: 0 for s in STATUSES}
    for r in results:
        out[r.status] += 1
    return out


def run_info(target: str, profile: Profile, started: str, **extra: Any) -> dict[str, Any]:
    return {
        "target": target,
        "profile": profile.name,
        "profile_base": profile.base,
        "profile_source": profile.source,
        "threshold_overrides": [asdict(o) for o in profile.overrides],
        "suite_version": __version__,
        "started": started,
        "finished": utc_now(),
        "run_by": _who(),
        "host": platform.node(),
        **extra,
    }


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def write_results_json(path: Path, run: dict[str, Any], results: list[ControlResult]) -> dict[str, Any]:
    """Write results.json; return the document as written (what load_results_json would read)."""
    from asbuilt.safeio import clean_tree

    doc = {"run": {**run, "counts": counts(results)}, "controls": [asdict(r) for r in results]}
    # control characters / escape sequences from scanned names are made visible, never written raw
    written = clean_tree(json.loads(json.dumps(doc, default=str)))
    path.write_text(json.dumps(written, indent=2) + "\n")
    return written


SCHEMA_FILE = Path(__file__).with_name("results.schema.json")


def _schema_problem(doc: Any) -> str | None:
    """The first way doc breaks the results.json contract (results.schema.json), in words, or None.
    Values are not echoed (a results file may carry anything); the place and the rule are."""
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    # the controls first (they are what a report signs), then the run; shallow before deep
    errors = sorted(validator.iter_errors(doc), key=lambda e: (
        list(e.absolute_path)[:1] != ["controls"], len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return None
    err = errors[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(".") or "(top level)"
    kind = err.validator
    if kind == "required":
        missing = [k for k in err.validator_value if isinstance(err.instance, dict) and k not in err.instance]
        return f"{where}: missing {', '.join(repr(k) for k in missing)}"
    if kind == "enum":
        return f"{where}: expected one of {', '.join(map(str, err.validator_value))}"
    if kind == "type":
        return f"{where}: expected {err.validator_value if isinstance(err.validator_value, str) else ' or '.join(err.validator_value)}"
    return f"{where}: does not match the results contract ({kind})"


def load_results_json(path: Path) -> dict[str, Any]:
    """A results file, validated against the contract's schema: InputError (exit 2, one line) otherwise."""
    from asbuilt.errors import InputError
    from asbuilt.safeio import read_text

    text = read_text(Path(path).expanduser(), "results", "results")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not valid JSON: {type(exc).__name__}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("controls"), list) or not isinstance(doc.get("run"), dict):
        raise InputError(f"{path}: not an asbuilt results file (expected 'run' and 'controls')")
    problem = _schema_problem(doc)
    if problem is not None:
        raise InputError(f"{path}: not a valid asbuilt results file: {problem}")
    return doc


def _seconds_between(start: Any, end: Any) -> str:
    """JUnit's ``time`` (seconds, 3 decimals) of the run; 0 when a timestamp is missing."""
    try:
        a = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except ValueError:
        return "0.000"
    return f"{max((b - a).total_seconds(), 0):.3f}"


def write_junit(path: Path, run: dict[str, Any], results: list[ControlResult]) -> None:
    """One testcase per control: fail -> failure, error -> error, skipped/pending -> skipped.
    Control characters (not allowed in XML 1.0) are escaped, so the file stays well-formed."""
    from asbuilt.safeio import clean

    run = {k: clean(v) if isinstance(v, str) else v for k, v in run.items()}
    results = [ControlResult(**{**asdict(r), "message": clean(r.message), "title": clean(r.title)}) for r in results]
    c = counts(results)
    suite = ET.Element(
        "testsuite",
        name=f"asbuilt.{run.get('profile')}",
        tests=str(len(results)),
        failures=str(c["fail"]),
        errors=str(c["error"]),
        skipped=str(c["skipped"] + c["pending"]),
        timestamp=run.get("started", ""),
        time=_seconds_between(run.get("started"), run.get("finished")),
    )
    props = ET.SubElement(suite, "properties")
    for key in ("target", "profile", "suite_version"):
        ET.SubElement(props, "property", name=key, value=str(run.get(key, "")))
    for r in results:
        # per control there is no separate clock (one scan judges every static control at once): 0
        case = ET.SubElement(suite, "testcase", classname=f"{r.profile}.{r.area}", name=f"{r.id} {r.title}",
                             time="0.000")
        if r.status == "fail":
            ET.SubElement(case, "failure", message=r.message[:500], type=r.severity).text = r.message
        elif r.status == "error":
            ET.SubElement(case, "error", message=r.message[:500]).text = r.message
        elif r.status in ("skipped", "pending"):
            ET.SubElement(case, "skipped", message=f"{r.status}: {r.message}"[:500])
        ET.SubElement(case, "system-out").text = f"[{r.status}] {r.message}"
    root = ET.Element("testsuites", name="asbuilt", tests=suite.get("tests"), failures=suite.get("failures"),
                      errors=suite.get("errors"), skipped=suite.get("skipped"), time=suite.get("time"))
    root.append(suite)
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
