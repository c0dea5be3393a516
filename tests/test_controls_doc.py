"""docs/controls.md (the page SARIF's helpUri points at) is generated from the catalogue and current."""

from asbuilt.catalogue import load_catalogue
from asbuilt.report.controls_doc import anchor, help_uri, render
from tests.helpers import ROOT


def test_controls_reference_is_current():
    assert (ROOT / "docs" / "controls.md").read_text() == render(), (
        "docs/controls.md is stale: python -m asbuilt.report.controls_doc > docs/controls.md")


def test_every_control_has_its_anchor():
    text = (ROOT / "docs" / "controls.md").read_text()
    for c in load_catalogue().controls:
        assert f'<a id="{anchor(c.id)}"></a>' in text
        assert help_uri(c.id).endswith(f"docs/controls.md#{anchor(c.id)}")
