"""BNDL-01: a bundle zip holds only manifests/ (JSON), plugins/ (JARs), artifacts/ at the top,
no absolute paths, no '..', no links, within the profile's size limits.

The judgement is pure logic over the zip's entry list (asbuilt.rules.bundle); reading the list is
asbuilt.static.files.read_entries.
"""

from asbuilt.rules import bundle
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "BNDL-01"

control_check(
    CONTROL, "Custom bundle layout and size",
    files={"bundle": facts.bundles},
    rule=lambda items, p, profile: bundle.bundle_layout(items, int(p["max_zip_bytes"]), int(p["max_uncompressed_bytes"]),
                                                        int(p["max_entries"])),
)
