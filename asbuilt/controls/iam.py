"""IAM-*: the installer's least-privilege access to the bundle bucket.
One unit per control (see asbuilt.controls). IAM-02 and IAM-03 take the installer's identity
(namespace, service account, the roles or OIDC providers found) as context from the caller:
the target names them live, the scanned code statically."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import iam, iam_effective
from asbuilt.static import facts

# The seed's installer identity: "the installer's service account in the conncentric namespace".
INSTALLER_NAMESPACE = facts.INSTALLER_NAMESPACE
INSTALLER_SERVICE_ACCOUNT = facts.INSTALLER_SERVICE_ACCOUNT


IAM_01 = Unit("IAM-01", iam.installer_policy, evidence=facts.installer_policy,
              terraform=("aws_iam_role",),
              cloudformation=("AWS::IAM::Role",))

IAM_02 = Unit("IAM-02", iam.irsa_service_account, partial=("installer_roles",),
              scope="stack",
              required=("helm",),
              kubernetes=("ServiceAccount",),
              k8s=facts.service_accounts,
              context=lambda items: {"namespace": facts.INSTALLER_NAMESPACE, "name": facts.INSTALLER_SERVICE_ACCOUNT,
                           "role_arns": sorted({r for i in items for r in i.get("installer_roles", [])})})

IAM_03 = Unit("IAM-03", iam.installer_trust, evidence=facts.installer_trust,
              terraform=("aws_iam_role",),
              cloudformation=("AWS::IAM::Role",),
              context=lambda items: {"namespace": facts.INSTALLER_NAMESPACE,
                           "service_account": facts.INSTALLER_SERVICE_ACCOUNT,
                           "oidc_providers": sorted({o for i in items for o in i.get("oidc_providers", [])})})

IAM_04 = Unit("IAM-04", iam_effective.node_role_bundle_access)  # context: irsa_configured

IAM_05 = Unit("IAM-05", iam_effective.installer_effective_access)

IAM_06 = Unit("IAM-06", iam.presigned_url_expiry, thresholds={"max_expiry_seconds": int},
              files={"values": facts.bundle_urls})
