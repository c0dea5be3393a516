"""BNDL-01: a bundle zip holds only manifests/ (JSON), plugins/ (JARs), artifacts/ at the top,
no absolute paths, no '..', no links, within the profile's size limits.

The judgement is pure logic over the zip's entry list (asbuilt.rules.bundle); reading the list is
asbuilt.static.files.read_entries.

The control (rule, thresholds, judgement) is asbuilt/controls/bndl.py: BNDL_01.
"""

from asbuilt.controls.bndl import BNDL_01
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "BNDL-01"

control_check(
    BNDL_01,
    files={"bundle": facts.bundles},
)
