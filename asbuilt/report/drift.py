"""Drift audits: compare a run's results.json with a stored baseline (`asbuilt drift`, `run --baseline`).

What counts as drift (any of it makes ``asbuilt drift`` exit 3):

- a control **newly failing** (now ``fail``/``warn``, before anything else), **newly passing**
  (now ``pass``, before anything else), or any other **status change** (e.g. pass -> error,
  fail -> waived);
- **changed evidence**: evidence items are matched by (``source``, ``resource``); a field whose value
  changed (``multi_az: true -> false``), an item that appeared or disappeared. Items without a
  ``resource`` key are compared as a whole;
- controls **added** to or **removed** from the results (catalogue or profile changes).

Controls that either run did not select (``--control``) are left out of the comparison and
listed as not compared. A different target or profile is noted but is not drift by itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FAILING = ("fail", "warn")
MARKDOWN_EVIDENCE_ROWS = 60  # a CI comment stays readable (and under the forges' size limits)
TEXT_EVIDENCE_LINES = 20


@dataclass
class StatusChange:
    id: str
    title: str
    severity: str
    before: str
    after: str
    kind: str  # newly_failing | newly_passing | changed
    message_before: str
    message_after: str


@dataclass
class EvidenceChange:
    id: str
    source: str
    resource: str
    change: str  # changed | added | removed
    fields: list[dict[str, Any]] = field(default_factory=list)  # [{"field", "before", "after"}]
    item: Any = None  # the whole item, for added / removed

    def describe(self) -> str:
        where = f"{self.resource}" + (f" ({self.source})" if self.source else "")
        if self.change == "changed":
            return f"{where}: " + ", ".join(f"{f['field']}: {_v(f['before'])} -> {_v(f['after'])}" for f in self.fields)
        return f"{where}: evidence item {self.change}" + (f" {_compact(self.item)}" if self.resource == "-" else "")


@dataclass
class DriftReport:
    baseline: dict[str, Any]
    current: dict[str, Any]
    status_changes: list[StatusChange] = field(default_factory=list)
    evidence_changes: list[EvidenceChange] = field(default_factory=list)
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def newly_failing(self) -> list[StatusChange]:
        return [c for c in self.status_changes if c.kind == "newly_failing"]

    @property
    def newly_passing(self) -> list[StatusChange]:
        return [c for c in self.status_changes if c.kind == "newly_passing"]

    @property
    def other_changes(self) -> list[StatusChange]:
        return [c for c in self.status_changes if c.kind == "changed"]

    @property
    def drift(self) -> bool:
        return bool(self.status_changes or self.evidence_changes or self.added or self.removed)

    def summary_counts(self) -> dict[str, int]:
        return {
            "newly_failing": len(self.newly_failing),
            "newly_passing": len(self.newly_passing),
            "status_changes": len(self.status_changes),
            "evidence_changes": len(self.evidence_changes),
            "controls_with_evidence_changes": len({e.id for e in self.evidence_changes}),
            "added": len(self.added),
            "removed": len(self.removed),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "drift": self.drift,
            "baseline": self.baseline,
            "current": self.current,
            "counts": self.summary_counts(),
            "newly_failing": [c.id for c in self.newly_failing],
            "newly_passing": [c.id for c in self.newly_passing],
            "status_changes": [asdict(c) for c in self.status_changes],
            "evidence_changes": [asdict(e) for e in self.evidence_changes],
            "added": self.added,
            "removed": self.removed,
            "not_compared": self.not_compared,
            "notes": self.notes,
        }


def _v(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return _compact(value)
    return str(value)


def _compact(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _run_ref(doc: dict[str, Any], path: str | None) -> dict[str, Any]:
    run = doc.get("run", {})
    return {"path": path, "target": run.get("target_name") or run.get("target"), "profile": run.get("profile"),
            "started": run.get("started"), "suite_version": run.get("suite_version")}


def _controls(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for c in doc.get("controls", []):
        if isinstance(c, dict) and isinstance(c.get("id"), str):
            out[c["id"]] = c
    return out


def _not_selected(c: dict[str, Any]) -> bool:
    return c.get("status") == "skipped" and str(c.get("message", "")).startswith("not selected")


def _kind(before: str, after: str) -> str:
    if after in FAILING and before not in FAILING:
        return "newly_failing"
    if after == "pass" and before != "pass":
        return "newly_passing"
    return "changed"


def _index(evidence: list[Any]) -> tuple[dict[tuple[str, str, int], dict], list[str]]:
    """Evidence keyed by (source, resource, n-th occurrence); items without a resource as canonical JSON."""
    keyed: dict[tuple[str, str, int], dict] = {}
    loose: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for item in evidence or []:
        if isinstance(item, dict) and isinstance(item.get("resource"), str):
            base = (str(item.get("source", "")), item["resource"])
            n = seen.get(base, 0)
            seen[base] = n + 1
            keyed[(*base, n)] = item
        else:
            loose.append(json.dumps(item, sort_keys=True, default=str))
    return keyed, loose


def diff_evidence(cid: str, before: list[Any], after: list[Any]) -> list[EvidenceChange]:
    old, old_loose = _index(before)
    new, new_loose = _index(after)
    changes: list[EvidenceChange] = []
    for key in [*old, *(k for k in new if k not in old)]:
        src, res, _ = key
        a, b = old.get(key), new.get(key)
        if a is None:
            changes.append(EvidenceChange(cid, src, res, "added", item=b))
        elif b is None:
            changes.append(EvidenceChange(cid, src, res, "removed", item=a))
        else:
            fields = []
            for k in [*a, *(k for k in b if k not in a)]:
                if k in ("source", "resource"):
                    continue
                if k not in b:
                    fields.append({"field": k, "before": a[k], "after": None})
                elif k not in a:
                    fields.append({"field": k, "before": None, "after": b[k]})
                elif _canon(a[k]) != _canon(b[k]):
                    fields.append({"field": k, "before": a[k], "after": b[k]})
            if fields:
                changes.append(EvidenceChange(cid, src, res, "changed", fields=fields))
    remaining = list(new_loose)
    for item in old_loose:
        if item in remaining:
            remaining.remove(item)
        else:
            changes.append(EvidenceChange(cid, "", "-", "removed", item=json.loads(item)))
    for item in remaining:
        changes.append(EvidenceChange(cid, "", "-", "added", item=json.loads(item)))
    return changes


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def compare(baseline: dict[str, Any], current: dict[str, Any], baseline_path: str | None = None,
            current_path: str | None = None) -> DriftReport:
    """Compare two results documents (as loaded by ``load_results_json``)."""
    report = DriftReport(_run_ref(baseline, baseline_path), _run_ref(current, current_path))
    old, new = _controls(baseline), _controls(current)
    for key in ("target", "profile"):
        if report.baseline.get(key) != report.current.get(key):
            report.notes.append(f"{key} differs: baseline {report.baseline.get(key)!r}, current {report.current.get(key)!r}")
    if baseline.get("run", {}).get("threshold_overrides") != current.get("run", {}).get("threshold_overrides"):
        report.notes.append("threshold overrides differ between the two runs")
    for cid, c in new.items():
        if cid not in old:
            report.added.append({"id": cid, "title": c.get("title", ""), "status": c.get("status", "")})
    for cid, c in old.items():
        if cid not in new:
            report.removed.append({"id": cid, "title": c.get("title", ""), "status": c.get("status", "")})
    for cid, b in new.items():
        a = old.get(cid)
        if a is None:
            continue
        if _not_selected(a) or _not_selected(b):
            report.not_compared.append(cid)
            continue
        sa, sb = str(a.get("status")), str(b.get("status"))
        if sa != sb:
            report.status_changes.append(StatusChange(
                cid, b.get("title", ""), b.get("severity", ""), sa, sb, _kind(sa, sb),
                str(a.get("message", "")), str(b.get("message", "")),
            ))
        if cid in SUITE_BOOKKEEPING:
            continue  # the suite's own run (how many reports it wrote) is not the deployment drifting
        report.evidence_changes += diff_evidence(cid, a.get("evidence") or [], b.get("evidence") or [])
    return report


# Controls whose evidence describes the run itself (files scanned, AWS calls made), not the
# deployment: their status is compared, their evidence is not (a run with --baseline writes two
# more files than the first run of a schedule).
SUITE_BOOKKEEPING = ("SUITE-01", "SUITE-02", "SUITE-03")


def text_summary(report: DriftReport) -> str:
    lines = []
    c = report.summary_counts()
    if not report.drift:
        lines.append(f"no drift: {report.current.get('target')} matches the baseline of {report.baseline.get('started')}")
    else:
        lines.append(
            f"DRIFT against the baseline of {report.baseline.get('started')}: {c['newly_failing']} newly failing, "
            f"{c['newly_passing']} newly passing, {len(report.other_changes)} other status changes, "
            f"{c['evidence_changes']} evidence changes in {c['controls_with_evidence_changes']} controls, "
            f"{c['added']} controls added, {c['removed']} removed"
        )
    for s in report.status_changes:
        label = {"newly_failing": "newly failing", "newly_passing": "newly passing"}.get(s.kind, "changed")
        lines.append(f"  {s.id:<10} {s.before} -> {s.after:<8} {label}: {_short(s.message_after)}")
    for e in report.evidence_changes[:TEXT_EVIDENCE_LINES]:
        lines.append(f"  {e.id:<10} evidence   {_short(e.describe(), 120)}")
    if len(report.evidence_changes) > TEXT_EVIDENCE_LINES:
        lines.append(f"  ... and {len(report.evidence_changes) - TEXT_EVIDENCE_LINES} more evidence changes "
                     "(drift.md / --markdown, --json)")
    for a in report.added:
        lines.append(f"  {a['id']:<10} added      ({a['status']})")
    for r in report.removed:
        lines.append(f"  {r['id']:<10} removed    (was {r['status']})")
    for n in report.notes:
        lines.append(f"  note: {n}")
    return "\n".join(lines)


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _md(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    s = " ".join(str(text).split()).replace("|", "\\|")
    for ch in ("<", ">"):
        s = s.replace(ch, {"<": "&lt;", ">": "&gt;"}[ch])
    return s


def markdown(report: DriftReport) -> str:
    b, cur = report.baseline, report.current
    c = report.summary_counts()
    out = []
    if report.drift:
        out.append(f"## :warning: asbuilt drift: {cur.get('target')} ({cur.get('profile')})")
    else:
        out.append(f"## :white_check_mark: asbuilt: no drift on {cur.get('target')} ({cur.get('profile')})")
    out.append("")
    out.append(f"Baseline: run of {b.get('started')} (suite {b.get('suite_version')})"
               f"{' `' + str(b['path']) + '`' if b.get('path') else ''}  ")
    out.append(f"Current: run of {cur.get('started')} (suite {cur.get('suite_version')})"
               f"{' `' + str(cur['path']) + '`' if cur.get('path') else ''}")
    out.append("")
    out.append("| newly failing | newly passing | other status changes | evidence changes | added | removed |")
    out.append("|---:|---:|---:|---:|---:|---:|")
    out.append(f"| {c['newly_failing']} | {c['newly_passing']} | {len(report.other_changes)} | "
               f"{c['evidence_changes']} | {c['added']} | {c['removed']} |")
    for title, items in (("Newly failing", report.newly_failing), ("Newly passing", report.newly_passing),
                         ("Other status changes", report.other_changes)):
        if not items:
            continue
        out += ["", f"### {title}", "", "| control | severity | before | after | message now |", "|---|---|---|---|---|"]
        for s in items:
            out.append(f"| **{_md(s.id)}** {_md(s.title)} | {_md(s.severity)} | {_md(s.before)} | {_md(s.after)} | "
                       f"{_md(_short(s.message_after, 300))} |")
    if report.evidence_changes:
        out += ["", "### Changed evidence", "", "| control | source | resource | change |", "|---|---|---|---|"]
        for e in report.evidence_changes[:MARKDOWN_EVIDENCE_ROWS]:
            if e.change == "changed":
                what = "; ".join(f"`{_md(f['field'])}`: `{_md(_v(f['before']))}` → `{_md(_v(f['after']))}`"
                                 for f in e.fields)
            else:
                what = f"item {e.change}" + (f": `{_md(_compact(e.item))}`" if e.item is not None else "")
            out.append(f"| {_md(e.id)} | {_md(e.source or '-')} | `{_md(e.resource)}` | {what} |")
        if len(report.evidence_changes) > MARKDOWN_EVIDENCE_ROWS:
            out += ["", f"… and {len(report.evidence_changes) - MARKDOWN_EVIDENCE_ROWS} more evidence changes "
                        "(full list in the JSON report: drift.json of the run, or `asbuilt drift --json FILE`)."]
    if report.added or report.removed:
        out += ["", "### Controls added / removed", "", "| control | change | status |", "|---|---|---|"]
        for a in report.added:
            out.append(f"| {_md(a['id'])} {_md(a['title'])} | added | {_md(a['status'])} |")
        for r in report.removed:
            out.append(f"| {_md(r['id'])} {_md(r['title'])} | removed | was {_md(r['status'])} |")
    if report.not_compared:
        out += ["", f"Not compared (not selected in one of the runs): {', '.join(report.not_compared)}"]
    if report.notes:
        out += [""] + [f"> Note: {_md(n)}" for n in report.notes]
    return "\n".join(out) + "\n"


def write_files(report: DriftReport, markdown_path: Path | None = None, json_path: Path | None = None) -> None:
    from asbuilt.safeio import clean, clean_tree

    if markdown_path is not None:
        Path(markdown_path).write_text(clean(markdown(report)))
    if json_path is not None:
        doc = clean_tree(json.loads(json.dumps(report.as_json(), default=str)))
        Path(json_path).write_text(json.dumps(doc, indent=2) + "\n")


def compare_files(baseline: Path, current: Path) -> DriftReport:
    """Load two results files (InputError, exit 2, on a missing/non-JSON/non-results file) and compare."""
    from asbuilt.report.results import load_results_json

    old = load_results_json(baseline)
    new = load_results_json(current)
    return compare(old, new, str(baseline), str(current))
