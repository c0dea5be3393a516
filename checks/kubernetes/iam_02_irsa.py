"""IAM-02: service account conncentric/conncentric-installer carries eks.amazonaws.com/role-arn
naming the installer role (the role found in the Terraform / CloudFormation of the same scan,
when there is one). A rendered chart without that service account fails.

The control (rule, thresholds, judgement) is asbuilt/controls/iam.py: IAM_02.
"""

from asbuilt.controls.iam import IAM_02
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "IAM-02"

control_check(
    IAM_02,
    scope="stack",
    required=("helm",),
    kubernetes=["ServiceAccount"],
    k8s=facts.service_accounts,
    context=lambda items: {"namespace": facts.INSTALLER_NAMESPACE, "name": facts.INSTALLER_SERVICE_ACCOUNT,
                           "role_arns": sorted({r for i in items for r in i.get("installer_roles", [])})},
)
