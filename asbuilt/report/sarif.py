"""results.sarif: static findings for code scanning (SARIF 2.1.0).

One reporting rule per control of the profile that has a static check (id = the control ID, its
title, requirement, remediation and severity); one result per failing resource, located at the
file and line the finding names. checkov's built-in checks, when a run asked for them, appear as
extra rules ``checkov/<CKV id>`` tagged ``checkov-builtin``: they are not reference-architecture
controls. Controls that could not be checked are tool notifications, not results.

What code-scanning consumers (GitHub, GitLab, DefectDojo) read:

* each rule's ``helpUri`` is the control's anchor in docs/controls.md (asbuilt.report.controls_doc),
  ``properties.security-severity`` maps the severity (must 8.0 high, should 5.0 medium, info 2.0 low);
* one result per finding, at the file and line the finding names (its message names the same line);
* ``partialFingerprints["asbuilt/v1"]``: control, file and resource name, no line: stable across
  runs and when code moves;
* URIs are relative to ``SRCROOT``: ``--source-root`` when given, else the git top level of the
  scanned code (of the current directory when the code is inside it), else the current directory;
  a file outside SRCROOT keeps its absolute ``file:`` URI;
* ``automationDetails.id`` = ``asbuilt/<profile>/<UTC time>`` (category ``asbuilt/<profile>``).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from asbuilt import __version__
from asbuilt.catalogue import Profile, load_catalogue, requirement_text
from asbuilt.report.controls_doc import help_uri

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"must": "error", "should": "warning", "info": "note"}
SECURITY_SEVERITY = {"must": "8.0", "should": "5.0", "info": "2.0"}
FINGERPRINT = "asbuilt/v1"
_LINE = re.compile(r":\d+(?=\b|\s|\)|$)")


@cache
def git_top_level(folder: Path) -> Path | None:
    """The git work tree holding folder (``git rev-parse --show-toplevel``), None outside one."""
    try:
        out = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()).resolve() if out.returncode == 0 and out.stdout.strip() else None


def source_root(files: list[str], given: Path | None = None) -> Path:
    """SRCROOT (see the module docstring)."""
    if given is not None:
        return Path(given).resolve()
    cwd = Path.cwd().resolve()
    absolute = [Path(f).resolve() for f in files if f]
    top = git_top_level(cwd)
    if top is not None and all(a.is_relative_to(top) for a in absolute):
        return top
    for a in absolute:
        found = git_top_level(a.parent if not a.is_dir() else a)
        if found is not None:
            return found
    return cwd


class _Locator:
    def __init__(self, root: Path):
        self.root = root

    def uri(self, file: str) -> dict[str, Any]:
        path = Path(file).resolve()
        if path.is_relative_to(self.root):
            return {"uri": path.relative_to(self.root).as_posix(), "uriBaseId": "SRCROOT"}
        return {"uri": path.as_uri()}

    def location(self, file: str, line: int | None) -> dict[str, Any]:
        phys: dict[str, Any] = {"artifactLocation": self.uri(file)}
        if line and int(line) > 0:
            phys["region"] = {"startLine": int(line)}
        return {"physicalLocation": phys}


def fingerprint(rule: str, artifact_uri: str, resource: str) -> str:
    """Control + file + the resource's name, without line numbers (stable when code moves)."""
    name = re.search(r"\(([^()]*)\)\s*$", resource or "")
    key = name.group(1) if name else _LINE.sub("", resource or "")
    return hashlib.sha256(f"{rule}\0{artifact_uri}\0{key}".encode()).hexdigest()[:32] + ":1"


def _finding_message(f: Any, fix: str) -> str:
    text = f.text() if hasattr(f, "text") else str(f)
    return text + (f". Fix: {fix}" if fix else "")


def _failures(anchor: dict[str, Any]) -> list[tuple[str, int | None, str, str]]:
    """(file, line, message, resource) per finding of a failing anchor; its own place otherwise."""
    out = []
    for f in anchor.get("findings") or []:
        loc = getattr(f, "location", None) or {}
        if loc.get("file"):
            out.append((loc["file"], loc.get("line"), _finding_message(f, anchor.get("fix", "")), f.resource))
    return out or [(anchor["file"], anchor["line"], anchor["message"], anchor["resource"])]


def sarif_document(result: Any, profile: Profile, root: Path | None = None) -> dict[str, Any]:
    """The SARIF log of a static ScanResult (see asbuilt.static.engine); root: --source-root."""
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
            "help": {"text": c.remediation, "markdown": f"{c.remediation}\n\n[{c.id} in the controls reference]"
                                                        f"({help_uri(c.id)})"},
            "helpUri": help_uri(c.id),
            "defaultConfiguration": {"level": _LEVEL[c.severity]},
            "properties": {"severity": c.severity, "security-severity": SECURITY_SEVERITY[c.severity],
                           "area": c.area, "profile": c.profile,
                           "tags": ["asbuilt", "security", c.area, c.severity]},
        })
    failing = [(a, f) for a in result.anchors if a["status"] == "fail" and a["control"] in index
               for f in _failures(a)]
    builtin = list(getattr(result, "builtin_findings", []) or [])
    where = _Locator(source_root([f[0] for _, f in failing] + [b["file"] for b in builtin] + list(
        _input_paths(result)), root))
    results: list[dict[str, Any]] = []
    for a, (file, line, message, resource) in failing:
        control = controls[index[a["control"]]]
        loc = where.location(file, line)
        results.append({
            "ruleId": a["control"],
            "ruleIndex": index[a["control"]],
            "level": _LEVEL[control.severity],
            "message": {"text": message},
            "locations": [loc],
            "partialFingerprints": {FINGERPRINT: fingerprint(a["control"], loc["physicalLocation"]
                                                             ["artifactLocation"]["uri"], resource)},
            "properties": {"resource": resource},
        })
    for f in builtin:
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
        loc = where.location(f["file"], f["line"])
        results.append({
            "ruleId": rid,
            "ruleIndex": index[rid],
            "level": "note",
            "message": {"text": f"{f['check_name']} ({f['resource']}) [{f['label']}]"},
            "locations": [loc],
            "partialFingerprints": {FINGERPRINT: fingerprint(rid, loc["physicalLocation"]["artifactLocation"]["uri"],
                                                             f"({f['resource']})")},
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
            "originalUriBaseIds": {"SRCROOT": {"uri": where.root.as_uri() + "/"}},
            "automationDetails": {"id": f"asbuilt/{profile.name}/"
                                        f"{datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}"},
            "invocations": [{"executionSuccessful": not notifications,
                             "toolExecutionNotifications": notifications}],
            "results": results,
            "properties": {"profile": profile.name, "inputs": result.inputs},
        }],
    }


def _input_paths(result: Any) -> list[str]:
    inputs = getattr(result, "inputs", None) or {}
    return [p for v in inputs.values() if isinstance(v, list) for p in v if isinstance(p, str)] \
        if isinstance(inputs, dict) else []


def write_sarif(path: Path, result: Any, profile: Profile, root: Path | None = None) -> None:
    from asbuilt.safeio import clean_tree

    doc = clean_tree(json.loads(json.dumps(sarif_document(result, profile, root), default=str)))
    path.write_text(json.dumps(doc, indent=2) + "\n")
