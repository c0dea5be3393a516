"""ECR-01: One ECR repository per platform image (Terraform and CloudFormation).

Anchors: "aws_ecr_repository" / "AWS::ECR::Repository". Facts: asbuilt.static.facts.ecr_repositories; rule: asbuilt.rules.storage.
"""

from asbuilt.rules import storage
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "ECR-01"

control_check(
    CONTROL, "One ECR repository per platform image",
    scope="stack",
    terraform=["aws_ecr_repository"],
    cloudformation=["AWS::ECR::Repository"],
    aws=facts.ecr_repositories,
    rule=lambda items, p, profile: storage.ecr_repositories(items),
)
