"""Where the live suite lives (features/, steps/) and what it covers (the tags of its scenarios)."""

from __future__ import annotations

import re
from pathlib import Path

from asbuilt.paths import suite_root

# features/ and steps/: the repository's top level in a checkout, asbuilt/_suite/ in a wheel.
ROOT = suite_root()
FEATURES = ROOT / "features"
STEPS = ROOT / "steps"
SCENARIO_MODULE = STEPS / "test_scenarios.py"

_TAG = re.compile(r"(?<![\w@])@([A-Za-z][\w-]*)")


def feature_files() -> list[Path]:
    return sorted(FEATURES.rglob("*.feature"))


def feature_tags() -> dict[str, list[str]]:
    """Every tag used in features/, mapped to the files:lines that use it."""
    tags: dict[str, list[str]] = {}
    for path in feature_files():
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip()
            if not stripped.startswith("@"):
                continue
            for tag in _TAG.findall(stripped):
                tags.setdefault(tag, []).append(f"{path.relative_to(ROOT)}:{lineno}")
    return tags


# Tags that are not control IDs: the profile tags and behaviour tags.
NON_CONTROL_TAGS = {"mutating", "conncentric_aws", "conduktor_k8s", "composex_ecs", "slow"}


def live_coverage() -> set[str]:
    """Catalogue control IDs covered by at least one scenario."""
    from asbuilt.catalogue import load_catalogue

    cat = load_catalogue()
    return {cat.by_marker[t].id for t in feature_tags() if t in cat.by_marker}
