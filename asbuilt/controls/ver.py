"""VER-*: engine and tool versions meet the profile's minimums. One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import versions
from asbuilt.static import facts


VER_01 = Unit("VER-01", versions.eks_version, thresholds={"min_version": str}, evidence=facts.eks_versions,
              terraform=("aws_eks_cluster",),
              cloudformation=("AWS::EKS::Cluster",))

VER_02 = Unit("VER-02", versions.rds_engine, thresholds={"engine": str, "min_version": str},
              evidence=facts.rds_engines, partial=("version",),  # a wrong engine fails whatever the version
              terraform=("aws_db_instance",),
              cloudformation=("AWS::RDS::DBInstance",))

VER_03 = Unit("VER-03", versions.msk_version, thresholds={"min_version": str}, evidence=facts.msk_versions,
              terraform=("aws_msk_cluster",),
              cloudformation=("AWS::MSK::Cluster",))

VER_04 = Unit("VER-04", versions.helm_release_writer, thresholds={"min_version": str})
