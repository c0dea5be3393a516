"""Every scenario tag names a catalogue control; every control is covered or listed as pending."""

from __future__ import annotations

from asbuilt import static, suite_controls
from asbuilt.catalogue import load_catalogue
from asbuilt.suite import NON_CONTROL_TAGS, feature_tags, live_coverage


def test_every_tag_names_a_catalogue_control():
    cat = load_catalogue()
    unknown = {t: where for t, where in feature_tags().items() if t not in cat.by_marker and t not in NON_CONTROL_TAGS}
    assert not unknown, f"tags that name no catalogue control: {unknown}"


def test_every_control_is_covered_or_pending():
    cat = load_catalogue()
    covered = live_coverage() | static.covered_controls() | set(suite_controls.COVERED)
    pending = [c.id for c in cat.controls if c.id not in covered]
    # The count is printed so a run of the tests shows how much is left.
    print(f"\ncoverage: {len(covered)} of {len(cat.controls)} controls covered, {len(pending)} pending: {' '.join(pending)}")
    assert set(covered) | set(pending) == set(cat.by_id)
    assert covered <= set(cat.by_id)


def test_every_scenario_is_tagged_with_a_control():
    import re

    from asbuilt.suite import feature_files

    cat = load_catalogue()
    for path in feature_files():
        lines = path.read_text().splitlines()
        feature_tags_line = ""
        for i, line in enumerate(lines):
            s = line.strip()
            if s.startswith("Feature:"):
                feature_tags_line = lines[i - 1] if i else ""
            if s.startswith(("Scenario:", "Scenario Outline:")):
                tags = set(re.findall(r"@(\w+)", (lines[i - 1] if i else "") + " " + feature_tags_line))
                assert tags & set(cat.by_marker), f"{path}:{i + 1}: scenario has no control tag"
