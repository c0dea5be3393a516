"""VER-*: engine and tool versions meet the profile's minimums. One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import versions
from asbuilt.static import facts


VER_01 = Unit("VER-01", versions.eks_version, thresholds={"min_version": str}, evidence=facts.eks_versions)

VER_02 = Unit("VER-02", versions.rds_engine, thresholds={"engine": str, "min_version": str},
              evidence=facts.rds_engines)

VER_03 = Unit("VER-03", versions.msk_version, thresholds={"min_version": str}, evidence=facts.msk_versions)

VER_04 = Unit("VER-04", versions.helm_release_writer, thresholds={"min_version": str})
