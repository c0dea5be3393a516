"""IAM-03: The installer role trusts only its service account through the cluster's OIDC provider (Terraform and CloudFormation).

Anchors: "aws_iam_role" / "AWS::IAM::Role". Facts: asbuilt.static.facts.installer_trust; rule: asbuilt.rules.iam.
"""

from asbuilt.rules import iam
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "IAM-03"

control_check(
    CONTROL, "The installer role trusts only its service account through the cluster's OIDC provider",
    terraform=["aws_iam_role"],
    cloudformation=["AWS::IAM::Role"],
    aws=facts.installer_trust,
    rule=lambda items, p, profile: iam.installer_trust(items, facts.INSTALLER_NAMESPACE, facts.INSTALLER_SERVICE_ACCOUNT,
                                      sorted({o for i in items for o in i.get("oidc_providers", [])})),
)
