"""BNDL-*: custom bundles: layout and size, round trip, applied state.
One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.model.platform import PlatformState
from asbuilt.rules import Verdict, bundle, bundle_roundtrip, errored
from asbuilt.static import facts

BNDL_01 = Unit("BNDL-01", bundle.bundle_layout,
               thresholds={"max_zip_bytes": int, "max_uncompressed_bytes": int, "max_entries": (int, 10000)},
               files={"bundle": facts.bundles})


def _round_trip(items: list[dict], max_expiry_seconds: int) -> Verdict:
    """BNDL-02. items: [the upload/download facts of the selftest bundle (steps/platform.py)]"""
    if not items:
        return errored("BNDL-02", "no bundle upload and download to check")
    return bundle_roundtrip.round_trip(items[0], max_expiry_seconds)


def _in_state(items: list[dict]) -> Verdict:
    """BNDL-03. items: [{"resource", "bundle": {"resource", "entries": [...]}, "state": PlatformState}]"""
    if not items:
        return errored("BNDL-03", "no custom bundle found on the target to check")
    item = items[0]
    state = item["state"]
    return bundle_roundtrip.bundle_in_state(item["bundle"], state.tables if isinstance(state, PlatformState) else state)


# The pre-signed URL's lifetime is IAM-06's threshold: the round trip uses a URL IAM-06 would accept.
BNDL_02 = Unit("BNDL-02", _round_trip,
               bind=lambda profile: {"max_expiry_seconds": int(profile.params("IAM-06").get("max_expiry_seconds",
                                                                                            604800))})

BNDL_03 = Unit("BNDL-03", _in_state)
