"""VER-01: EKS Kubernetes version meets the minimum (Terraform and CloudFormation).

Anchors: "aws_eks_cluster" / "AWS::EKS::Cluster". Facts: asbuilt.static.facts.eks_versions; rule: asbuilt.rules.versions.

The control (rule, thresholds, judgement) is asbuilt/controls/ver.py: VER_01.
"""

from asbuilt.controls.ver import VER_01
from asbuilt.static.checkbase import control_check

CONTROL = "VER-01"

control_check(
    VER_01,
    terraform=["aws_eks_cluster"],
    cloudformation=["AWS::EKS::Cluster"],
)
