"""SIZE-01: EKS node group instance type and minimum size (Terraform and CloudFormation).

Anchors: "aws_eks_node_group" / "AWS::EKS::Nodegroup". Facts: asbuilt.static.facts.nodegroup_sizes; rule: asbuilt.rules.sizing.

The control (rule, thresholds, judgement) is asbuilt/controls/size.py: SIZE_01.
"""

from asbuilt.controls.size import SIZE_01
from asbuilt.static.checkbase import control_check

CONTROL = "SIZE-01"

control_check(
    SIZE_01,
    terraform=["aws_eks_node_group"],
    cloudformation=["AWS::EKS::Nodegroup"],
)
