"""BNDL-*: custom bundles: layout and size, round trip, applied state.
One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.static import facts
from asbuilt.rules import bundle

BNDL_01 = Unit("BNDL-01", bundle.bundle_layout,
               thresholds={"max_zip_bytes": int, "max_uncompressed_bytes": int, "max_entries": (int, 10000)},
               files={"bundle": facts.bundles})
