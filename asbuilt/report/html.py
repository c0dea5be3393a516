"""The HTML sign-off report: one self-contained file (inline CSS, no script, nothing fetched).

Rendered from a results document (results.json) by `asbuilt report RESULTS.json --html FILE`
and written as ``report.html`` by every `asbuilt run`. Everything shown comes from the results
file, so a report can be rebuilt later from the archived results; the report names the
SHA-256 of the results it was rendered from, so a signed copy can be tied to its data.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from asbuilt.report.results import STATUSES, utc_now

TEMPLATES = Path(__file__).parent / "templates"

AREA_TITLES = {
    "versions": "Versions", "sizing": "Sizing", "ha": "High availability", "network": "Networking",
    "iam": "IAM least privilege", "storage": "Storage (S3, ECR)", "sdk": "Plugin SDK registry",
    "k8s": "Kubernetes workloads", "helm": "Helm release", "installer": "Two-pass installer",
    "bundle": "Custom bundles", "messaging": "Messaging", "suite": "The suite itself",
    "cpx": "ComposeX (Connect, Control Center)", "cdk-db": "Conduktor: database", "cdk-ha": "Conduktor: availability",
    "cdk-network": "Conduktor: networking", "cdk-ops": "Conduktor: operations",
    "cdk-security": "Conduktor: security", "cdk-storage": "Conduktor: storage",
}

STATUS_LABELS = {
    "pass": "Pass", "fail": "Fail", "warn": "Warning", "waived": "Waived", "error": "Error",
    "skipped": "Skipped", "pending": "Not yet checked",
}

EVIDENCE_ROW_LIMIT = 100


def area_title(area: str) -> str:
    return AREA_TITLES.get(area, area.replace("-", " ").replace("_", " ").capitalize())


def _normalise_control(c: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": str(c.get("id", "?")), "title": str(c.get("title", "")), "severity": str(c.get("severity", "")),
        "area": str(c.get("area") or "other"), "status": str(c.get("status", "")), "source": str(c.get("source", "")),
        "message": str(c.get("message", "")), "requirement": str(c.get("requirement", "")),
        "remediation": str(c.get("remediation", "")), "evidence": c.get("evidence") or [],
        "waiver": c.get("waiver") if isinstance(c.get("waiver"), dict) else None,
        "where": c.get("where") or [],
    }
    out["anchor"] = "c-" + re.sub(r"[^A-Za-z0-9_-]", "_", out["id"])
    out["evidence_table"] = evidence_table(out["evidence"])
    return out


def _cell(value: Any) -> dict[str, Any]:
    """One evidence value for display: scalars as text, structures as compact JSON."""
    if value is None:
        return {"text": "—", "code": False, "muted": True}
    if isinstance(value, bool):
        return {"text": "true" if value else "false", "code": True, "muted": False}
    if isinstance(value, (int, float, str)):
        return {"text": str(value), "code": False, "muted": False}
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                                          for v in value):
        return {"text": ", ".join(str(v) for v in value), "code": False, "muted": False}
    if isinstance(value, (list, tuple, dict)) and not value:
        return {"text": "none", "code": False, "muted": True}
    return {"text": json.dumps(value, sort_keys=True, default=str), "code": True, "muted": False}


def evidence_table(evidence: list[Any]) -> dict[str, Any]:
    """Evidence items as a table: columns = union of keys (source and resource first)."""
    items = [e if isinstance(e, dict) else {"value": e} for e in evidence]
    columns: list[str] = []
    for key in ("source", "resource"):
        if any(key in i for i in items):
            columns.append(key)
    for i in items:
        for k in i:
            if k not in columns:
                columns.append(k)
    rows = [
        {"source": str(i.get("source", "")), "cells": [_cell(i.get(k)) if k in i else _cell(None) for k in columns]}
        for i in items[:EVIDENCE_ROW_LIMIT]
    ]
    # Wide items (many fields) of a few resources read better transposed: one row per field.
    transposed = len(columns) > 6 and 1 < len(rows) <= 4
    single = len(columns) > 4 and len(rows) == 1
    fields = [{"name": k, "cells": [r["cells"][j] for r in rows]} for j, k in enumerate(columns)] if transposed else []
    return {"columns": columns, "rows": rows, "omitted": max(0, len(items) - EVIDENCE_ROW_LIMIT),
            "transposed": transposed, "fields": fields,
            "pairs": _pairs(columns, rows[0]["cells"]) if single else []}


def _pairs(columns: list[str], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item as field/value pairs: its resource first, across the full width."""
    pairs = [{"name": k, "cell": c, "wide": k == "resource" or (c["code"] and len(c["text"]) > 70)}
             for k, c in zip(columns, cells)]
    return sorted(pairs, key=lambda p: p["name"] != "resource")


_ALSO = re.compile(r"^(live|static): (.*) \(also ((?:(?:live|static): \w+(?:, )?)+)\)$", re.S)


def source_verdicts(control: dict[str, Any], run: dict[str, Any]) -> list[dict[str, str]]:
    """The per-source verdicts of a control checked both live and static.

    `asbuilt run` records them in ``run.source_verdicts``; for older results files they are read
    back from the combined message ("live: <message> (also static: pass)").
    """
    recorded = (run.get("source_verdicts") or {}).get(control["id"])
    if isinstance(recorded, list) and recorded:
        return [{"source": str(v.get("source")), "status": str(v.get("status")), "message": str(v.get("message", ""))}
                for v in recorded if isinstance(v, dict)]
    m = _ALSO.match(control["message"])
    if not m:
        return []
    out = [{"source": m.group(1), "status": "", "message": m.group(2)}]
    for part in m.group(3).split(", "):
        src, _, status = part.partition(": ")
        out.append({"source": src, "status": status, "message": ""})
    # The worst verdict's status is the control's raw status (before should/info shaping).
    statuses = {"fail": 4, "error": 3, "pass": 2, "skipped": 1}
    others = [v["status"] for v in out[1:]]
    worst = control["status"] if control["status"] in statuses else ("fail" if control["status"] in ("warn", "waived") else "")
    out[0]["status"] = worst or max(others, key=lambda s: statuses.get(s, 0), default="")
    return out


def disagreements(controls: list[dict[str, Any]], run: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Controls with source `both` whose live and static verdicts differ; and how many agree."""
    out, agree = [], 0
    for c in controls:
        if c["source"] != "both":
            continue
        vs = source_verdicts(c, run)
        by_source: dict[str, list[dict[str, str]]] = {}
        for v in vs:
            by_source.setdefault(v["source"], []).append(v)
        live, static = by_source.get("live", []), by_source.get("static", [])
        live_status = {v["status"] for v in live}
        static_status = {v["status"] for v in static}
        if live and static and live_status == static_status:
            agree += 1
            continue
        side = {}
        for name, vlist in (("live", live), ("static", static)):
            side[name] = {
                "verdicts": vlist,
                "evidence": evidence_table([e for e in c["evidence"] if isinstance(e, dict) and e.get("source") == name]),
            }
        out.append({"control": c, "live": side["live"], "static": side["static"]})
    return out, agree


def verdict(controls: list[dict[str, Any]], run: dict[str, Any]) -> dict[str, str]:
    """The overall verdict, with the same rules as the exit code (results.exit_code)."""
    strict = bool(run.get("strict"))
    st = [c["status"] for c in controls]
    n_pending = st.count("pending")
    drift = (run.get("drift") or {}).get("drift")
    if "fail" in st or (strict and (n_pending or any(c["status"] == "warn" and c["severity"] == "should" for c in controls))):
        label, cls = "NOT CONFORMING", "fail"
        detail = f"{st.count('fail')} control(s) failed" + (" (strict: should-controls and pending controls count)" if strict else "")
    elif any(c["status"] == "error" and c["severity"] == "must" for c in controls):
        label, cls = "INCOMPLETE", "error"
        detail = f"{st.count('error')} control(s) could not be checked (errors)"
    elif n_pending:
        label, cls = "NO FAILURES", "pending"
        detail = f"no control failed, but {n_pending} control(s) are not yet checked by this suite version"
    else:
        label, cls = "CONFORMING", "pass"
        detail = "every checked control passed or is waived"
    if st.count("waived"):
        detail += f"; {st.count('waived')} waived"
    if st.count("warn"):
        detail += f"; {st.count('warn')} warning(s)"
    if drift:
        detail += "; DRIFT against the baseline"
    return {"label": label, "cls": cls, "detail": detail}


def summary(controls: list[dict[str, Any]]) -> dict[str, Any]:
    areas: list[str] = []
    for c in controls:
        if c["area"] not in areas:
            areas.append(c["area"])
    statuses = list(STATUSES) + sorted({c["status"] for c in controls} - set(STATUSES))
    rows = []
    for a in areas:
        in_area = [c for c in controls if c["area"] == a]
        rows.append({"area": a, "title": area_title(a), "total": len(in_area),
                     "counts": {s: sum(1 for c in in_area if c["status"] == s) for s in statuses}})
    totals = {s: sum(1 for c in controls if c["status"] == s) for s in statuses}
    return {"areas": areas, "statuses": statuses, "rows": rows, "totals": totals, "total": len(controls)}


def _duration(run: dict[str, Any]) -> str:
    try:
        a = datetime.fromisoformat(str(run["started"]).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(run["finished"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return ""
    secs = int((b - a).total_seconds())
    if secs < 0:
        return ""
    if secs >= 3600:
        return f"{secs // 3600} h {secs % 3600 // 60} min"
    return f"{secs // 60} min {secs % 60} s" if secs >= 60 else f"{secs} s"


def _waivers(run: dict[str, Any], controls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    listed = run.get("waivers")
    if isinstance(listed, list):
        return [w for w in listed if isinstance(w, dict)]
    # Older results files: read them back from the controls.
    return [{**c["waiver"], "applied_to": [c["id"]]} for c in controls if c["waiver"]]


def context(doc: dict[str, Any], results_sha256: str | None = None, results_path: str | None = None) -> dict[str, Any]:
    run = doc.get("run") or {}
    from asbuilt.errors import InputError

    for i, c in enumerate(doc.get("controls") or []):
        if not isinstance(c, dict):
            raise InputError(f"{results_path or 'results'}: controls[{i}] is not an object: not an asbuilt results file")
    controls = [_normalise_control(c) for c in doc.get("controls") or []]
    dis, agree = disagreements(controls, run)
    by_area: dict[str, list[dict[str, Any]]] = {}
    for c in controls:
        by_area.setdefault(c["area"], []).append(c)
    attention_order = {"fail": 0, "error": 1, "warn": 2}
    attention = sorted((c for c in controls if c["status"] in attention_order), key=lambda c: attention_order[c["status"]])
    return {
        "run": run,
        "controls": controls,
        "by_area": [(a, area_title(a), cs) for a, cs in by_area.items()],
        "summary": summary(controls),
        "verdict": verdict(controls, run),
        "attention": attention,
        "disagreements": dis,
        "agreements": agree,
        "both_count": sum(1 for c in controls if c["source"] == "both"),
        "waivers": _waivers(run, controls),
        "duration": _duration(run),
        "labels": STATUS_LABELS,
        "generated": utc_now(),
        "results_sha256": results_sha256,
        "results_path": results_path,
        "overrides": [o for o in run.get("threshold_overrides") or [] if isinstance(o, dict)],
        "drift": run.get("drift") if isinstance(run.get("drift"), dict) else None,
        "calls": run.get("aws_api_calls"),
    }


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "html.j2"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["area_title"] = area_title
    return env


def render_html(doc: dict[str, Any], results_sha256: str | None = None, results_path: str | None = None) -> str:
    return _env().get_template("signoff.html.j2").render(**context(doc, results_sha256, results_path))


def write_html(doc: dict[str, Any], path: Path, results_path: Path | None = None) -> None:
    sha = None
    if results_path is not None and Path(results_path).exists():
        sha = hashlib.sha256(Path(results_path).read_bytes()).hexdigest()
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(doc, sha, str(results_path) if results_path else None), encoding="utf-8")


def report_command(results: Path, html: Path) -> int:
    """`asbuilt report RESULTS.json --html FILE`: 0, or an InputError (exit 2) on a bad results file."""
    from asbuilt.errors import InputError
    from asbuilt.report.results import load_results_json

    doc = load_results_json(results)
    try:
        write_html(doc, html, results)
    except OSError as exc:
        raise InputError(f"{html}: cannot write the report: {exc.strerror or exc}") from None
    c = summary(context(doc)["controls"])["totals"]
    shown = ", ".join(f"{n} {s}" for s, n in c.items() if n)
    print(f"asbuilt: sign-off report written to {html} ({shown})")
    return 0
