"""HA-04: EKS node group spans availability zones with enough nodes (Terraform and CloudFormation).

Anchors: "aws_eks_node_group" / "AWS::EKS::Nodegroup". Facts: asbuilt.static.facts.nodegroup_spread; rule: asbuilt.rules.ha.
"""

from asbuilt.rules import ha
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "HA-04"

control_check(
    CONTROL, "EKS node group spans availability zones with enough nodes",
    terraform=["aws_eks_node_group"],
    cloudformation=["AWS::EKS::Nodegroup"],
    aws=facts.nodegroup_spread,
    rule=lambda items, p, profile: ha.eks_nodegroup_spread(items, int(p["min_zones"]), int(p["min_nodes"])),
)
