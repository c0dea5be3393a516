"""The benchmark's corpus root (benchmarks/corpus.py: a local module with null defaults,
coalesce/try/merge, a for_each subnet map keyed by zone, count = 0, a dynamic ingress over a caller's
variable) conforms for every control it decides, and each broken version fails exactly its control."""

from __future__ import annotations

import pytest

from benchmarks.corpus import BROKEN, write_root
from tests.static.helpers import scan

DECIDED = ("VER-02", "SIZE-02", "HA-01", "HA-02", "NET-03", "NET-08")


def _statuses(tmp_path, broken=None) -> dict:
    root = write_root(tmp_path / "root", 7, broken)
    return {v.control: v for v in scan([root], [], tmp_path / "r").verdicts}


def test_the_corpus_root_conforms(tmp_path):
    by = _statuses(tmp_path)
    for control in DECIDED:
        assert by[control].status == "pass", (control, by[control].message)
    assert "replica" not in by["HA-01"].message  # count = 0: not created, not judged


@pytest.mark.parametrize("control", sorted(BROKEN))
def test_each_broken_root_fails_exactly_its_control(tmp_path, control):
    by = _statuses(tmp_path, control)
    bad = {c for c in DECIDED if by[c].status in ("fail", "warn")}
    assert bad == {control}, {c: by[c].message for c in DECIDED}
    assert "module.database" in by[control].message
