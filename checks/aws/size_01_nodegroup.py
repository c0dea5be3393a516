"""SIZE-01: EKS node group instance type and minimum size (Terraform and CloudFormation).

Anchors: "aws_eks_node_group" / "AWS::EKS::Nodegroup". Facts: asbuilt.static.facts.nodegroup_sizes; rule: asbuilt.rules.sizing.
"""

from asbuilt.rules import sizing
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "SIZE-01"

control_check(
    CONTROL, "EKS node group instance type and minimum size",
    terraform=["aws_eks_node_group"],
    cloudformation=["AWS::EKS::Nodegroup"],
    aws=facts.nodegroup_sizes,
    rule=lambda items, p, profile: sizing.eks_nodegroup_size(items, p["instance_type"], int(p["min_size"])),
)
