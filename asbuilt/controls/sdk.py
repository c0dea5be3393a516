"""SDK-*: the Conncentric Plugin SDK is not committed and comes from a private Maven registry.
One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.static import facts
from asbuilt.rules import sdk

SDK_01 = Unit("SDK-01", sdk.no_committed_jars,
              files={"git": facts.tracked_jars})

SDK_02 = Unit("SDK-02", sdk.sdk_from_registry,
              files={"gradle": facts.gradle_builds})
