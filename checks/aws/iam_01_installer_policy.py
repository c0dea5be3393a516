"""IAM-01: The installer policy grants exactly read access to the bundle bucket (Terraform and CloudFormation).

Anchors: "aws_iam_role" / "AWS::IAM::Role". Facts: asbuilt.static.facts.installer_policy; rule: asbuilt.rules.iam.

The control (rule, thresholds, judgement) is asbuilt/controls/iam.py: IAM_01.
"""

from asbuilt.controls.iam import IAM_01
from asbuilt.static.checkbase import control_check

CONTROL = "IAM-01"

control_check(
    IAM_01,
    terraform=["aws_iam_role"],
    cloudformation=["AWS::IAM::Role"],
)
