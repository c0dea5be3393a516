"""ECR-01: One ECR repository per platform image (Terraform and CloudFormation).

Anchors: "aws_ecr_repository" / "AWS::ECR::Repository". Facts: asbuilt.static.facts.ecr_repositories; rule: asbuilt.rules.storage.

The control (rule, thresholds, judgement) is asbuilt/controls/ecr.py: ECR_01.
"""

from asbuilt.controls.ecr import ECR_01
from asbuilt.static.checkbase import control_check

CONTROL = "ECR-01"

control_check(
    ECR_01,
    scope="stack",
    terraform=["aws_ecr_repository"],
    cloudformation=["AWS::ECR::Repository"],
)
