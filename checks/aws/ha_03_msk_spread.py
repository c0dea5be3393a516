"""HA-03: MSK brokers spread over distinct availability zones (Terraform and CloudFormation).

Anchors: "aws_msk_cluster" / "AWS::MSK::Cluster". Facts: asbuilt.static.facts.msk_spread; rule: asbuilt.rules.ha.

The control (rule, thresholds, judgement) is asbuilt/controls/ha.py: HA_03.
"""

from asbuilt.controls.ha import HA_03
from asbuilt.static.checkbase import control_check

CONTROL = "HA-03"

control_check(
    HA_03,
    terraform=["aws_msk_cluster"],
    cloudformation=["AWS::MSK::Cluster"],
)
