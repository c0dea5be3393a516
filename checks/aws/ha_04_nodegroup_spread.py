"""HA-04: EKS node group spans availability zones with enough nodes (Terraform and CloudFormation).

Anchors: "aws_eks_node_group" / "AWS::EKS::Nodegroup". Facts: asbuilt.static.facts.nodegroup_spread; rule: asbuilt.rules.ha.

The control (rule, thresholds, judgement) is asbuilt/controls/ha.py: HA_04.
"""

from asbuilt.controls.ha import HA_04
from asbuilt.static.checkbase import control_check

CONTROL = "HA-04"

control_check(
    HA_04,
    terraform=["aws_eks_node_group"],
    cloudformation=["AWS::EKS::Nodegroup"],
)
