"""Waivers: documented, approved, expiring exceptions to a control (`asbuilt run --waivers FILE`).

A waiver file is YAML (see ``examples/waivers.yaml``)::

    waivers:
      - control: HA-01
        resources: ["arn:aws:rds:*:*:db:conncentric-db"]   # optional scope (exact or glob)
        reason: single-AZ until the Q1 migration window
        approver: Jane Doe (platform owner)
        expires: 2027-01-31                                 # valid through that day (UTC)

Applying waivers after the control results are combined:

- A ``fail`` or ``warn`` result with an active (unexpired) waiver becomes ``waived``; its message
  keeps the original and adds "waived by <approver> until <date>: <reason>"; ``waiver`` is set.
- A waiver with ``resources`` applies only when every failing resource is covered by the
  resources of the control's active waivers (exact match or glob). The failing resources are the
  evidence items' ``resource`` values that the message names (all evidence resources when the
  message names none); a failure that names no resource at all cannot be matched to a scope.
- An expired waiver never waives: the control keeps its status and its message says the
  waiver expired (``waiver.state`` is ``expired``).
- Every waiver is reported in ``run.waivers`` with ``state`` ``active`` (applied), ``expired``
  or ``unused`` (nothing to waive: control passing, not failing on a covered resource, not in
  the profile, not selected), and a ``note`` saying why.

Errors in the file (unknown control ID, missing approver, a date that is not a date, unknown
keys) are input errors: one line, exit 2.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from asbuilt.errors import InputError
from asbuilt.validation import load_yaml_file, one_line

WAIVABLE = ("fail", "warn")


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    control: str
    resources: tuple[str, ...] = ()
    reason: str
    approver: str
    expires: date

    @field_validator("control")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()

    @field_validator("reason", "approver")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v.strip()

    @field_validator("resources", mode="before")
    @classmethod
    def _resource_list(cls, v: Any) -> Any:
        if isinstance(v, str):  # a single resource written without brackets
            v = [v]
        if isinstance(v, list):
            for item in v:
                if isinstance(item, str) and not item.strip():
                    raise ValueError("resource entries must not be empty")
        return v

    @field_validator("expires", mode="before")
    @classmethod
    def _a_date(cls, v: Any) -> date:
        if isinstance(v, datetime):
            raise ValueError("expected a date (YYYY-MM-DD), not a date and time")
        if isinstance(v, date):
            return v
        if isinstance(v, str):
            try:
                return date.fromisoformat(v.strip())
            except ValueError:
                pass
        shown = repr(v) if isinstance(v, (str, int, float)) else type(v).__name__
        raise ValueError(f"expected a date (YYYY-MM-DD), got {shown}")

    def expired(self, today: date) -> bool:
        return today > self.expires

    def covers(self, resource: str) -> bool:
        return any(resource == pat or fnmatch.fnmatchcase(resource, pat) for pat in self.resources)

    def as_json(self) -> dict[str, Any]:
        return {"control": self.control, "resources": list(self.resources), "reason": self.reason,
                "approver": self.approver, "expires": self.expires.isoformat()}


class _WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waivers: list[Waiver]


def load_waivers(path: Path) -> list[Waiver]:
    """Read and validate a waiver file; every problem is an InputError naming file and field."""
    try:
        data = load_yaml_file(path, what="waiver")
    except ValueError as exc:  # PyYAML builds dates itself: 2027-02-30 is a ValueError, not a YAMLError
        raise InputError(f"{path}: malformed YAML: {exc}") from None
    try:
        parsed = _WaiverFile.model_validate(data)
    except ValidationError as exc:
        # A misspelt key (`aprover:`) is better named as unknown than as a missing `approver`.
        extra = next((e for e in exc.errors() if e["type"] == "extra_forbidden"), None)
        if extra is not None:
            from asbuilt.validation import _location

            loc = _location(tuple(extra["loc"]), data)
            known = "control, resources, reason, approver, expires" if len(extra["loc"]) > 1 else "waivers"
            line = f"{path}: {loc}: unknown key (expected {known})"
        else:
            line = one_line(path, exc, data)
        raise InputError(_where(line, data)) from None
    from asbuilt.catalogue import load_catalogue

    catalogue = load_catalogue()
    for i, w in enumerate(parsed.waivers):
        if w.control not in catalogue.by_id:
            raise InputError(f"{path}: waivers.{i}.control: unknown control ID {w.control!r} (see `asbuilt controls`)")
    return parsed.waivers


def _where(line: str, data: Any) -> str:
    """Name the control of the waiver a validation error is about: waivers.1 -> waivers.1 (HA-01)."""
    m = re.search(r": waivers\.(\d+)", line)
    if not m:
        return line
    try:
        control = data["waivers"][int(m.group(1))].get("control")
    except Exception:
        return line
    if not isinstance(control, str):
        return line
    return line[: m.end()] + f" ({control})" + line[m.end():]


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def failing_resources(result: Any) -> list[str]:
    """The resources a failing result is about: its findings' resources (and the platform
    resources they affect); a failure with no resource-bound finding is about every resource
    of its evidence."""
    named: list[str] = []
    for f in getattr(result, "findings", None) or []:
        for res in [f.get("resource"), *(f.get("about") or [])] if isinstance(f, dict) else []:
            if isinstance(res, str) and res and res not in named:
                named.append(res)
    if named:
        return named
    seen: list[str] = []
    for item in getattr(result, "evidence", None) or []:
        res = item.get("resource") if isinstance(item, dict) else None
        if isinstance(res, str) and res and res not in seen:
            seen.append(res)
    return seen


def apply_waivers(results: list, waivers: list[Waiver], profile_name: str, today: date | None = None) -> list[dict]:
    """Turn waived failures into ``waived`` (in place); return the run's waiver report (run.waivers).

    results: the run's ControlResults (one per control of the profile).
    """
    today = today or today_utc()
    by_id = {r.id: r for r in results}
    report: list[dict[str, Any]] = [
        {**w.as_json(), "state": "unused", "note": "", "applied_to": []} for w in waivers
    ]
    per_control: dict[str, list[int]] = {}
    for i, w in enumerate(waivers):
        per_control.setdefault(w.control, []).append(i)

    for cid, idxs in per_control.items():
        r = by_id.get(cid)
        if r is None:
            for i in idxs:
                report[i]["note"] = f"{cid} is not a control of profile {profile_name}"
            continue
        active = [i for i in idxs if not waivers[i].expired(today)]
        expired = [i for i in idxs if waivers[i].expired(today)]
        if r.status not in WAIVABLE:
            why = (f"{cid} was not selected by this run" if r.status == "skipped" and r.message.startswith("not selected")
                   else f"{cid} is {r.status}: nothing to waive" if r.status in ("pass", "pending", "skipped")
                   else f"{cid} is {r.status}: only a failing check can be waived")
            for i in idxs:
                report[i]["note"] = why
            _mark_expired(report, waivers, expired)
            continue

        original = r.message
        chosen: list[int] = []
        notes: list[str] = []
        unscoped = [i for i in active if not waivers[i].resources]
        if unscoped:
            chosen = [unscoped[0]]
            for i in active:
                if i != unscoped[0]:
                    report[i]["note"] = f"{cid} already waived by another waiver in this file"
        elif active:
            failing = failing_resources(r)
            if not failing:
                for i in active:
                    report[i]["note"] = (f"{cid} failed without naming a resource, so a waiver scoped to "
                                         "resources cannot be matched")
                notes.append("a waiver scoped to resources exists, but the failure names no resource to match")
            else:
                covering = {res: [i for i in active if waivers[i].covers(res)] for res in failing}
                uncovered = [res for res, ws in covering.items() if not ws]
                used = sorted({i for ws in covering.values() for i in ws})
                if not uncovered:
                    chosen = used
                    for i in active:
                        if i not in chosen:
                            report[i]["note"] = f"its resources are not among {cid}'s failing resources"
                else:
                    for i in active:
                        report[i]["note"] = (f"does not cover every failing resource of {cid}: "
                                             f"not covered: {', '.join(uncovered)}")
                    notes.append(f"waiver scope does not cover {', '.join(uncovered)}: not waived")

        for i in expired:
            w = waivers[i]
            notes.append(f"waiver by {w.approver} expired on {w.expires.isoformat()}: {w.reason}; not waived")
        _mark_expired(report, waivers, expired)

        if chosen:
            before = r.status
            r.status = "waived"
            parts = [f"waived by {waivers[i].approver} until {waivers[i].expires.isoformat()}: {waivers[i].reason}"
                     for i in chosen]
            r.message = f"{original} ({'; '.join(parts)})"
            first = waivers[chosen[0]]
            r.waiver = {**first.as_json(), "state": "active", "original_status": before,
                        "also": [waivers[i].as_json() for i in chosen[1:]]}
            for i in chosen:
                report[i].update(state="active", note=f"waives {cid}", applied_to=[cid])
                days = (waivers[i].expires - today).days
                report[i]["days_left"] = days
        else:
            if notes:
                r.message = f"{original} ({'; '.join(notes)})"
            if expired:
                w = waivers[expired[0]]
                r.waiver = {**w.as_json(), "state": "expired"}
    return report


def _mark_expired(report: list[dict], waivers: list[Waiver], idxs: list[int]) -> None:
    for i in idxs:
        report[i]["state"] = "expired"
        w = waivers[i]
        note = report[i]["note"]
        report[i]["note"] = f"expired on {w.expires.isoformat()}" + (f"; {note}" if note else "")
