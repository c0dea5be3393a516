"""IAM-03: The installer role trusts only its service account through the cluster's OIDC provider (Terraform and CloudFormation).

Anchors: "aws_iam_role" / "AWS::IAM::Role". Facts: asbuilt.static.facts.installer_trust; rule: asbuilt.rules.iam.

The control (rule, thresholds, judgement) is asbuilt/controls/iam.py: IAM_03.
"""

from asbuilt.controls.iam import IAM_03
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "IAM-03"

control_check(
    IAM_03,
    terraform=["aws_iam_role"],
    cloudformation=["AWS::IAM::Role"],
    context=lambda items: {"namespace": facts.INSTALLER_NAMESPACE,
                           "service_account": facts.INSTALLER_SERVICE_ACCOUNT,
                           "oidc_providers": sorted({o for i in items for o in i.get("oidc_providers", [])})},
)
