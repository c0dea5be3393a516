"""IAM-02: service account conncentric/conncentric-installer carries eks.amazonaws.com/role-arn
naming the installer role (the role found in the Terraform / CloudFormation of the same scan,
when there is one). A rendered chart without that service account fails.
"""

from asbuilt.rules import iam
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "IAM-02"

control_check(
    CONTROL, "The installer service account carries the IRSA role annotation",
    scope="stack",
    required=("helm",),
    kubernetes=["ServiceAccount"],
    k8s=facts.service_accounts,
    rule=lambda items, p, profile: iam.irsa_service_account(
        items, facts.INSTALLER_NAMESPACE, facts.INSTALLER_SERVICE_ACCOUNT,
        sorted({r for i in items for r in i.get("installer_roles", [])})),
)
