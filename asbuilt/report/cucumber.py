"""cucumber.json as results.json says it: pytest-bdd writes it from pytest outcomes, where a
scenario whose step skipped the control ("the target has no kubernetes section") or recorded an
``error`` can look *passed*. After the controls are combined, each scenario's steps are set from
the results of the controls it is tagged with, so a Cucumber dashboard shows what results.json
says:

* any tagged control ``fail`` or ``error``: the scenario is failed (its last step, when no step
  failed already, carries the control's status and message);
* every tagged control ``skipped``: every step ``skipped``; ``pending`` among them: ``undefined``;
* otherwise (pass, warn, waived) pytest's outcome is kept.

Control characters in names and messages are escaped (asbuilt.safeio.clean).

The document is then shaped as cucumber-js writes it (the schema ``@cucumber/cucumber-json-converter``
ships for cucumber-js; what multiple-cucumber-html-reporter and most dashboards read): no
``language`` key (pytest-bdd's own), every step with ``arguments``, every feature and scenario with
``tags``. One file cannot also match the cucumber-jvm schema: it wants tags without ``line`` on
scenarios and location objects on features, where cucumber-js requires ``line``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asbuilt.report.results import ControlResult
from asbuilt.safeio import clean_tree


def _tag_names(element: dict[str, Any]) -> set[str]:
    return {str(t.get("name", "")).lstrip("@") for t in element.get("tags") or [] if isinstance(t, dict)}


def scenario_status(statuses: list[str]) -> str | None:
    """The Cucumber status a scenario must show for its controls' statuses; None: keep pytest's."""
    if not statuses:
        return None
    if any(s in ("fail", "error") for s in statuses):
        return "failed"
    if all(s in ("skipped", "pending") for s in statuses):
        return "undefined" if "pending" in statuses else "skipped"
    return None


def align(doc: Any, results: list[ControlResult]) -> Any:
    """doc (pytest-bdd's cucumber.json, a list of features) with scenario steps set from results."""
    by_marker = {r.id.replace("-", "_"): r for r in results}
    if not isinstance(doc, list):
        return []
    for feature in doc:
        for element in (feature.get("elements") or []) if isinstance(feature, dict) else []:
            if not isinstance(element, dict):
                continue
            controls = [by_marker[t] for t in sorted(_tag_names(element)) if t in by_marker]
            want = scenario_status([r.status for r in controls])
            steps = [s for s in element.get("steps") or [] if isinstance(s, dict)]
            if want is None or not steps:
                continue
            if want == "failed":
                if any((s.get("result") or {}).get("status") == "failed" for s in steps):
                    continue
                bad = [r for r in controls if r.status in ("fail", "error")]
                message = "; ".join(f"{r.id} {r.status}: {r.message}" for r in bad)[:2000]
                for s in steps[:-1]:
                    s.setdefault("result", {})
                steps[-1]["result"] = {**(steps[-1].get("result") or {}), "status": "failed",
                                       "error_message": message}
            else:
                why = "; ".join(f"{r.id} {r.status}: {r.message}" for r in controls)[:2000]
                for s in steps:
                    s["result"] = {**(s.get("result") or {}), "status": want}
                    s["result"].pop("error_message", None)
                element["description"] = (element.get("description") or "") + (
                    "\n" if element.get("description") else "") + why
    return doc


def cucumber_js_shape(doc: Any) -> Any:
    """doc with the keys cucumber-js's JSON formatter writes (see the module docstring)."""
    for feature in doc if isinstance(doc, list) else []:
        if not isinstance(feature, dict):
            continue
        feature.pop("language", None)
        feature.setdefault("tags", [])
        for element in feature.get("elements") or []:
            if not isinstance(element, dict):
                continue
            element.setdefault("tags", [])
            for step in element.get("steps") or []:
                if isinstance(step, dict):
                    step.setdefault("arguments", [])
    return doc


def rewrite(path: Path, results: list[ControlResult]) -> None:
    """Align the cucumber.json at path with results (nothing to do when it is missing or unreadable)."""
    from asbuilt.safeio import read_text

    try:
        doc = json.loads(read_text(path, "cucumber", "results"))
    except Exception:  # noqa: BLE001 - pytest-bdd did not write it: leave an empty report
        doc = []
    Path(path).write_text(json.dumps(clean_tree(cucumber_js_shape(align(doc, results))), indent=2) + "\n")
