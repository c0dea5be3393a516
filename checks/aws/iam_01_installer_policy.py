"""IAM-01: The installer policy grants exactly read access to the bundle bucket (Terraform and CloudFormation).

Anchors: "aws_iam_role" / "AWS::IAM::Role". Facts: asbuilt.static.facts.installer_policy; rule: asbuilt.rules.iam.
"""

from asbuilt.rules import iam
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "IAM-01"

control_check(
    CONTROL, "The installer policy grants exactly read access to the bundle bucket",
    terraform=["aws_iam_role"],
    cloudformation=["AWS::IAM::Role"],
    aws=facts.installer_policy,
    rule=lambda items, p, profile: iam.installer_policy(items),
)
