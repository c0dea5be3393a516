"""VER-03: MSK Kafka version meets the minimum (Terraform and CloudFormation).

Anchors: "aws_msk_cluster" / "AWS::MSK::Cluster". Facts: asbuilt.static.facts.msk_versions; rule: asbuilt.rules.versions.

The control (rule, thresholds, judgement) is asbuilt/controls/ver.py: VER_03.
"""

from asbuilt.controls.ver import VER_03
from asbuilt.static.checkbase import control_check

CONTROL = "VER-03"

control_check(
    VER_03,
    terraform=["aws_msk_cluster"],
    cloudformation=["AWS::MSK::Cluster"],
)
