"""NET-08: EKS, RDS and MSK are in the same (or a peered) VPC (Terraform and CloudFormation).

Anchors: "aws_eks_cluster", "aws_db_instance", "aws_msk_cluster" / "AWS::EKS::Cluster", "AWS::RDS::DBInstance", "AWS::MSK::Cluster". Facts: asbuilt.static.facts.vpc_placement; rule: asbuilt.rules.network.
"""

from asbuilt.rules import network
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "NET-08"

control_check(
    CONTROL, "EKS, RDS and MSK are in the same (or a peered) VPC",
    scope="stack",
    terraform=["aws_eks_cluster", "aws_db_instance", "aws_msk_cluster"],
    cloudformation=["AWS::EKS::Cluster", "AWS::RDS::DBInstance", "AWS::MSK::Cluster"],
    aws=facts.vpc_placement,
    rule=lambda items, p, profile: network.same_vpc(items),
)
