"""NET-08: EKS, RDS and MSK are in the same (or a peered) VPC (Terraform and CloudFormation).

Anchors: "aws_eks_cluster", "aws_db_instance", "aws_msk_cluster" / "AWS::EKS::Cluster", "AWS::RDS::DBInstance", "AWS::MSK::Cluster". Facts: asbuilt.static.facts.vpc_placement; rule: asbuilt.rules.network.

The control (rule, thresholds, judgement) is asbuilt/controls/net.py: NET_08.
"""

from asbuilt.controls.net import NET_08
from asbuilt.static.checkbase import control_check

CONTROL = "NET-08"

control_check(
    NET_08,
    scope="stack",
    terraform=["aws_eks_cluster", "aws_db_instance", "aws_msk_cluster"],
    cloudformation=["AWS::EKS::Cluster", "AWS::RDS::DBInstance", "AWS::MSK::Cluster"],
)
