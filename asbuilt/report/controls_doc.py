"""docs/controls.md: the controls reference, generated from the catalogue (one anchor per control).

SARIF rules link here (``helpUri``), so a code-scanning alert opens the control's requirement,
thresholds and remediation. Regenerate with ``python -m asbuilt.report.controls_doc > docs/controls.md``;
tests/test_controls_doc.py fails when the file is not current.
"""

from __future__ import annotations

import sys

from asbuilt.catalogue import SUITE_PROFILE, load_catalogue, load_profile, requirement_text

DOCS_URL = "https://github.com/asbuilt/asbuilt/blob/main/docs/controls.md"


def anchor(control_id: str) -> str:
    return control_id.lower()


def help_uri(control_id: str) -> str:
    return f"{DOCS_URL}#{anchor(control_id)}"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render() -> str:
    catalogue = load_catalogue()
    profiles = [*catalogue.profiles(), SUITE_PROFILE]
    out = ["# asbuilt controls reference", "",
           "Generated from `asbuilt/catalogue/controls.yaml` by `python -m asbuilt.report.controls_doc`; "
           "do not edit by hand. Thresholds are the built-in profile's (a profile file can override them).", ""]
    for p in profiles:
        controls = [c for c in catalogue.controls if c.profile == p]
        out += [f"- [{p}](#profile-{p}) ({len(controls)} controls)"]
    for p in profiles:
        profile = load_profile(p) if p != SUITE_PROFILE else None
        controls = [c for c in catalogue.controls if c.profile == p]
        out += ["", f'<a id="profile-{p}"></a>', "", f"## {p}", "",
                "| control | severity | checked | title |", "|---|---|---|---|"]
        out += [f"| [{c.id}](#{anchor(c.id)}) | {c.severity} | {', '.join(c.where)} | {_cell(c.title)} |"
                for c in controls]
        for c in controls:
            req = requirement_text(c, profile) if profile is not None else c.requirement
            out += ["", f'<a id="{anchor(c.id)}"></a>', "", f"### {c.id}: {c.title}", "",
                    f"- **Severity**: {c.severity} · **Area**: {c.area} · **Checked**: {', '.join(c.where)}",
                    f"- **Requirement**: {_cell(req)}", f"- **Remediation**: {_cell(c.remediation)}"]
            if c.references:
                out.append("- **References**: " + "; ".join(_cell(r) for r in c.references))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
