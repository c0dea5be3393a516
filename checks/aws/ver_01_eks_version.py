"""VER-01: EKS Kubernetes version meets the minimum (Terraform and CloudFormation).

Anchors: "aws_eks_cluster" / "AWS::EKS::Cluster". Facts: asbuilt.static.facts.eks_versions; rule: asbuilt.rules.versions.
"""

from asbuilt.rules import versions
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "VER-01"

control_check(
    CONTROL, "EKS Kubernetes version meets the minimum",
    terraform=["aws_eks_cluster"],
    cloudformation=["AWS::EKS::Cluster"],
    aws=facts.eks_versions,
    rule=lambda items, p, profile: versions.eks_version(items, p["min_version"]),
)
