"""results.sarif: static findings for code scanning (SARIF 2.1.0).

One reporting rule per control of the profile that has a static check (id = the control ID, its
title, requirement, remediation and severity); one result per failing resource, located at the
file and line the finding names. checkov's built-in checks, when a run asked for them, appear as
extra rules ``checkov/<CKV id>`` tagged ``checkov-builtin``: they are not reference-architecture
controls. Controls that could not be checked are tool notifications, not results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asbuilt import __version__
from asbuilt.catalogue import Profile, load_catalogue, requirement_text

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"must": "error", "should": "warning", "info": "note"}


def _location(file: str, line: int | None) -> dict[str, Any]:
    path = Path(file)
    artifact = {"uri": path.as_uri()} if path.is_absolute() else {"uri": path.as_posix(), "uriBaseId": "SRCROOT"}
    phys: dict[str, Any] = {"artifactLocation": artifact}
    if line and int(line) > 0:
        phys["region"] = {"startLine": int(line)}
    return {"physicalLocation": phys}


def sarif_document(result: Any, profile: Profile) -> dict[str, Any]:
    """The SARIF log of a static ScanResult (see asbuilt.static.engine)."""
    catalogue = load_catalogue()
    from asbuilt.static.checkbase import DEFINITIONS

    controls = [c for c in catalogue.for_profile(profile.base) if c.static and c.id in DEFINITIONS]
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for c in controls:
        index[c.id] = len(rules)
        rules.append({
            "id": c.id,
            "name": c.id.replace("-", ""),
            "shortDescription": {"text": c.title},
            "fullDescription": {"text": requirement_text(c, profile)},
            "help": {"text": c.remediation},
            "defaultConfiguration": {"level": _LEVEL[c.severity]},
            "properties": {"severity": c.severity, "area": c.area, "profile": c.profile,
                           "tags": ["asbuilt", c.area, c.severity]},
        })
    results: list[dict[str, Any]] = []
    for a in result.anchors:
        if a["status"] != "fail" or a["control"] not in index:
            continue
        control = controls[index[a["control"]]]
        results.append({
            "ruleId": a["control"],
            "ruleIndex": index[a["control"]],
            "level": _LEVEL[control.severity],
            "message": {"text": a["message"]},
            "locations": [_location(a["file"], a["line"])],
            "properties": {"resource": a["resource"]},
        })
    for f in getattr(result, "builtin_findings", []) or []:
        rid = f"checkov/{f['check_id']}"
        if rid not in index:
            index[rid] = len(rules)
            rules.append({
                "id": rid,
                "name": f["check_id"],
                "shortDescription": {"text": f["check_name"]},
                "defaultConfiguration": {"level": "note"},
                "properties": {"tags": ["checkov-builtin"], "label": f["label"]},
            })
        results.append({
            "ruleId": rid,
            "ruleIndex": index[rid],
            "level": "note",
            "message": {"text": f"{f['check_name']} ({f['resource']}) [{f['label']}]"},
            "locations": [_location(f["file"], f["line"])],
            "properties": {"builtin": True, "framework": f["framework"]},
        })
    notifications = [
        {"level": "error", "message": {"text": v.message}, "descriptor": {"id": v.control}}
        for v in result.verdicts if v.status == "error"
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "asbuilt", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://github.com/asbuilt/asbuilt", "rules": rules}},
            "originalUriBaseIds": {"SRCROOT": {"uri": Path.cwd().resolve().as_uri() + "/"}},
            "invocations": [{"executionSuccessful": not notifications,
                             "toolExecutionNotifications": notifications}],
            "results": results,
            "properties": {"profile": profile.name, "inputs": result.inputs},
        }],
    }


def write_sarif(path: Path, result: Any, profile: Profile) -> None:
    from asbuilt.safeio import clean_tree

    doc = clean_tree(json.loads(json.dumps(sarif_document(result, profile), default=str)))
    path.write_text(json.dumps(doc, indent=2) + "\n")
