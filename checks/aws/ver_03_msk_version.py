"""VER-03: MSK Kafka version meets the minimum (Terraform and CloudFormation).

Anchors: "aws_msk_cluster" / "AWS::MSK::Cluster". Facts: asbuilt.static.facts.msk_versions; rule: asbuilt.rules.versions.
"""

from asbuilt.rules import versions
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "VER-03"

control_check(
    CONTROL, "MSK Kafka version meets the minimum",
    terraform=["aws_msk_cluster"],
    cloudformation=["AWS::MSK::Cluster"],
    aws=facts.msk_versions,
    rule=lambda items, p, profile: versions.msk_version(items, p["min_version"]),
)
