"""IAM-*: the installer's least-privilege access to the bundle bucket, IRSA, pre-signed URLs.

Policy statements are given in one neutral form (from GetPolicyVersion / GetRolePolicy, or from
Terraform / CloudFormation)::

    {"resource": "policy ARN/name or file:line", "sid": "AllowBundleDownload", "effect": "Allow",
     "actions": ["s3:GetObject"], "not_actions": [], "resources": ["arn:aws:s3:::bucket/*"],
     "not_resources": [], "principals": {"Federated": ["arn:...:oidc-provider/..."]},
     "conditions": {"StringEquals": {"oidc.eks...:sub": ["system:serviceaccount:ns:name"]}}}
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from asbuilt.rules import Finding, Verdict, errored, passed, skipped, summarise

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$")


def _lower(values) -> list[str]:
    return [str(v).lower() for v in (values or [])]


def installer_policy(roles: list[dict]) -> Verdict:
    """IAM-01. roles: [{"resource": the installer role,
        "statements": [statement...] (every policy attached to or inline in the role),
        "bucket": {"arn": "arn:aws:s3:::name", "sse": "aws:kms" | "AES256" | None,
                   "kms_key_arn": key ARN or None} or None when the bundle bucket is not known}]

    Exactly: s3:GetObject on <bucket>/*, s3:ListBucket on <bucket>, and (only with SSE-KMS)
    kms:Decrypt + kms:GenerateDataKey on the bucket's key. No other action, no wildcard.
    """
    if not roles:
        return errored("IAM-01", "no installer role found on the target to check")
    findings: list[str] = []
    unknown: list[str] = []
    for role in roles:
        bucket = role.get("bucket") or {}
        barn = bucket.get("arn")
        kms = str(bucket.get("sse") or "").lower().startswith("aws:kms")
        key = bucket.get("kms_key_arn")
        expected: dict[str, set[str]] = {}
        if barn:
            expected["s3:getobject"] = {f"{barn}/*"}
            expected["s3:listbucket"] = {barn}
            if kms and key:
                expected["kms:decrypt"] = {key}
                expected["kms:generatedatakey"] = {key}
        granted: dict[str, set[str]] = {}
        for st in role.get("statements") or []:
            if str(st.get("effect", "Allow")).lower() != "allow":
                continue
            where = st.get("resource") or role["resource"]
            if st.get("not_actions"):
                findings.append(Finding(where, f"NotAction grants everything except {', '.join(st['not_actions'])}"))
            if st.get("not_resources"):
                findings.append(Finding(where, "NotResource applies the grant to every other resource"))
            resources = [str(r) for r in st.get("resources") or []]
            for r in resources:
                if r == "*" or r.endswith(":::*") or r.endswith(":*"):
                    findings.append(Finding(where, f"wildcard resource {r!r}"))
            for action in st.get("actions") or []:
                a = str(action).lower()
                if "*" in a or "?" in a:
                    findings.append(Finding(where, f"wildcard action {action!r}"))
                    continue
                if a.startswith("kms:") and barn and not kms:
                    findings.append(Finding(where, f"{action} is granted but the bucket does not use SSE-KMS"))
                    continue
                if barn and a not in expected:
                    findings.append(Finding(where, f"action {action} is not needed to read bundles"))
                    continue
                granted.setdefault(a, set()).update(resources)
                if barn and a in expected:
                    extra = [r for r in resources if r not in expected[a] and r != "*"]
                    if extra:
                        findings.append(Finding(where, f"{action} on {', '.join(extra)}, expected only "
                                        f"{', '.join(sorted(expected[a]))}"))
        if not barn:
            unknown.append(f"{role['resource']}: the bundle bucket it should read is not known")
            continue
        for a, wanted in expected.items():
            if not wanted <= granted.get(a, set()):
                missing = ", ".join(sorted(wanted - granted.get(a, set())))
                name = {"s3:getobject": "s3:GetObject", "s3:listbucket": "s3:ListBucket", "kms:decrypt": "kms:Decrypt",
                        "kms:generatedatakey": "kms:GenerateDataKey"}[a]
                findings.append(Finding(role['resource'], f"{name} on {missing} is not granted"))
        if kms and not key:
            unknown.append(f"{role['resource']}: the bucket uses SSE-KMS but its key is not known")
    if unknown and not findings:
        return errored("IAM-01", "; ".join(unknown), roles)
    ok = ", ".join(f"{r['resource']}: exactly read access to {(r.get('bucket') or {}).get('arn')}" for r in roles)
    return summarise(
        "IAM-01", findings, ok, roles,
        "grant the installer role only s3:GetObject on arn:aws:s3:::<bucket>/*, s3:ListBucket on "
        "arn:aws:s3:::<bucket> and, with SSE-KMS, kms:Decrypt and kms:GenerateDataKey on the bucket's key "
        "(the seed's policy); remove every other action, wildcard and resource",
    )


def role_name(arn_or_name: str) -> str:
    m = ROLE_ARN.match(str(arn_or_name or ""))
    return m.group(1) if m else str(arn_or_name or "").rsplit("/", 1)[-1]


def irsa_service_account(accounts: list[dict], namespace: str, name: str, role_arns: list[str] | None = None) -> Verdict:
    """IAM-02. accounts: [{"resource", "namespace", "name", "role_arn": annotation value or None}]
    role_arns: the installer role's ARN(s) or name(s) when known (from IaC or the target)."""
    matching = [a for a in accounts if a.get("name") == name and (a.get("namespace") or namespace) == namespace]
    if not matching:
        others = ", ".join(f"{a.get('namespace')}/{a.get('name')}" for a in accounts) or "none"
        return summarise("IAM-02", [f"no service account {namespace}/{name} (service accounts: {others})"],
                         "", accounts, _irsa_fix(namespace, name))
    findings = []
    for a in matching:
        arn = a.get("role_arn")
        if not arn:
            findings.append(Finding(a['resource'], "no eks.amazonaws.com/role-arn annotation"))
        elif not ROLE_ARN.match(str(arn)):
            findings.append(Finding(a['resource'], f"eks.amazonaws.com/role-arn is {arn!r}, not an IAM role ARN"))
        elif role_arns and role_name(arn) not in {role_name(r) for r in role_arns}:
            findings.append(Finding(a['resource'], f"eks.amazonaws.com/role-arn names role {role_name(arn)!r}, "
                            f"not the installer role ({', '.join(sorted({role_name(r) for r in role_arns}))})"))
    ok = ", ".join(f"{a['resource']}: eks.amazonaws.com/role-arn = {a.get('role_arn')}" for a in matching)
    return summarise("IAM-02", findings, ok, matching, _irsa_fix(namespace, name))


def _irsa_fix(namespace: str, name: str) -> str:
    return (f"annotate service account {namespace}/{name} with eks.amazonaws.com/role-arn set to the installer "
            "role's ARN (chart value installer.roleArn, or kubectl annotate serviceaccount)")


def installer_trust(roles: list[dict], namespace: str, service_account: str, oidc_providers: list[str] | None = None) -> Verdict:
    """IAM-03. roles: [{"resource", "statements": [trust policy statements]}]
    oidc_providers: the cluster's OIDC provider ARN(s) / ids when known."""
    if not roles:
        return errored("IAM-03", "no installer role found on the target to check")
    subject = f"system:serviceaccount:{namespace}:{service_account}"
    providers = {str(p) for p in (oidc_providers or [])}
    findings = []
    for role in roles:
        allows = [s for s in role.get("statements") or [] if str(s.get("effect", "Allow")).lower() == "allow"]
        if not allows:
            findings.append(Finding(role['resource'], "the trust policy allows nobody"))
        for st in allows:
            where = st.get("resource") or role["resource"]
            actions = _lower(st.get("actions"))
            if actions != ["sts:assumerolewithwebidentity"]:
                findings.append(Finding(where, f"trust allows {', '.join(st.get('actions') or ['nothing'])}, "
                                "expected only sts:AssumeRoleWithWebIdentity"))
            principals = st.get("principals") or {}
            if st.get("not_principals"):
                # Allow + NotPrincipal trusts every principal except the ones named
                findings.append(Finding(where, f"NotPrincipal trusts everyone except {st['not_principals']}, "
                                        "expected only the cluster's OIDC provider"))
                continue
            federated = [str(p) for p in principals.get("Federated", []) or []]
            other = {k: v for k, v in principals.items() if k != "Federated" and v}
            if other or not federated:
                findings.append(Finding(where, f"trusted principal is {other or principals or 'nobody'}, expected only the "
                                "cluster's OIDC provider"))
            for p in federated:
                if providers and p not in providers:
                    findings.append(Finding(where, f"trusted provider {p} is not the cluster's OIDC provider"))
                elif not providers and "oidc-provider" not in p and not p.startswith("<"):
                    findings.append(Finding(where, f"trusted provider {p} is not an OIDC provider"))
            equals = {str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
                      for k, v in ((st.get("conditions") or {}).get("StringEquals") or {}).items()}
            sub = [v for k, v in equals.items() if k.endswith(":sub")]
            aud = [v for k, v in equals.items() if k.endswith(":aud")]
            if not sub:
                findings.append(Finding(where, "no StringEquals condition on <issuer>:sub"))
            elif any(v != [subject] for v in sub):
                findings.append(Finding(where, f":sub is {', '.join(sub[0])}, expected exactly {subject}"))
            if not aud:
                findings.append(Finding(where, "no StringEquals condition on <issuer>:aud"))
            elif any(v != ["sts.amazonaws.com"] for v in aud):
                findings.append(Finding(where, f":aud is {', '.join(aud[0])}, expected sts.amazonaws.com"))
    unknown = [r["oidc_providers_unknown"] for r in roles if r.get("oidc_providers_unknown")]
    if unknown and not findings:  # nothing wrong in the trust itself, but its provider cannot be confirmed
        return errored("IAM-03", unknown[0])
    ok = ", ".join(f"{r['resource']}: only {subject} through the cluster's OIDC provider" for r in roles)
    return summarise(
        "IAM-03", findings, ok, roles,
        f"let the trust policy allow only sts:AssumeRoleWithWebIdentity, principal Federated = the cluster's OIDC "
        f"provider ARN, with StringEquals <issuer>:sub = {subject} and <issuer>:aud = sts.amazonaws.com",
    )


def describe_url(url: str) -> dict:
    """Facts about a bundle URL without its secret parts (a pre-signed URL is a bearer credential).

    -> {"url": scheme://host/path (query dropped), "scheme", "host", "presigned": bool,
        "signature_version": "v4" | "v2" | None, "expires_seconds": int | None}
    """
    parts = urlsplit(str(url))
    query = {k.lower(): v for k, v in parse_qs(parts.query).items()}
    v4 = "x-amz-signature" in query or "x-amz-credential" in query or "x-amz-expires" in query
    v2 = not v4 and "signature" in query
    expires = None
    if "x-amz-expires" in query:
        try:
            expires = int(query["x-amz-expires"][0])
        except ValueError:
            expires = -1
    return {
        "url": f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}" if parts.scheme else str(url).split("?")[0],
        "scheme": parts.scheme.lower(),
        "host": (parts.hostname or "").lower(),
        "presigned": v4 or v2,
        "signature_version": "v4" if v4 else ("v2" if v2 else None),
        "expires_seconds": expires,
    }


_REFUSAL_CHECKS = (("tampered_signature", "a copy with a tampered signature"),
                   ("expired", "a pre-signed URL of the same object past its expiry"))
UNVERIFIED_FIX = ("serve bundles straight from S3, or make whatever is in front of it (a proxy, a CDN) pass the "
                  "signed request to S3 and cache nothing signed by query string: a URL that is not verified "
                  "never expires")


def presign_enforcement(where: str, checks: dict | None) -> tuple[list[Finding], str]:
    """What the refusal checks of a pre-signed URL prove (asbuilt.probes.bundle_store.refusals:
    {"tampered_signature": answer, "expired": answer | None, "custom_endpoint": bool}).

    Refused (HTTP 401/403) is evidence that the URL's signature, and so its expiry, is enforced.
    Accepted is a finding, except on a custom endpoint (an emulator: moto verifies neither, LocalStack
    only with S3_SKIP_SIGNATURE_VALIDATION=0), where it is said and proves nothing either way.
    -> (findings, a clause for the verdict's message: who answered what)"""
    if not checks:
        return [], ""
    findings: list[Finding] = []
    refused, unproven = [], []
    for key, what in _REFUSAL_CHECKS:
        ans = checks.get(key)
        if not ans:
            continue
        by = ans.get("answered_by") or "the endpoint"
        status = ans.get("status")
        if status in (401, 403):
            refused.append(f"{what} is refused (HTTP {status}{' ' + ans['code'] if ans.get('code') else ''}, {by})")
        elif status is not None and 200 <= status < 300:
            if checks.get("custom_endpoint"):
                unproven.append(f"{what} was accepted by {by} (HTTP {status}): this endpoint does not verify "
                                "pre-signed URLs, so their enforcement is not proven here")
            else:
                findings.append(Finding(where, f"{what} was accepted (HTTP {status} from {by}): pre-signed URLs are "
                                               "not verified there, so their expiry is not enforced"))
        else:
            unproven.append(f"{what} got {('HTTP ' + str(status)) if status else ans.get('problem') or 'no answer'} "
                            f"from {by}, not a refusal: enforcement not proven")
    return findings, "; ".join(refused + unproven)


def presigned_url_expiry(urls: list[dict], max_expiry_seconds: int) -> Verdict:
    """IAM-06. urls: [{"resource", **describe_url(url)}] (bundle URLs; only pre-signed ones are judged)."""
    if not urls:  # no bundle URL read at all: pre-signed URLs are not used here (HELM-01 judges the URLs)
        return skipped("IAM-06", "no bundle URL to judge: pre-signed URLs are not used")
    presigned = [u for u in urls if u.get("presigned")]
    if not presigned:
        return passed("IAM-06", f"no pre-signed bundle URLs among {len(urls)} URL(s) (IAM access is used)", urls)
    findings = []
    said = []
    for u in presigned:
        secs = u.get("expires_seconds")
        if u.get("signature_version") == "v2" or secs is None:
            findings.append(Finding(u['resource'], "a SigV2 pre-signed URL (Expires=<epoch>) whose lifetime cannot be "
                            "bounded; use SigV4 (X-Amz-Expires)"))
        elif secs < 0 or secs > max_expiry_seconds:
            findings.append(Finding(u['resource'], f"pre-signed URL valid for {secs} s, more than {max_expiry_seconds} s"))
        # live: whether what serves the URL verifies it (an expiry nobody checks is no expiry)
        enforced, clause = presign_enforcement(u["resource"], u.get("refusals"))
        findings += enforced
        said.append(f"{u['resource']}: pre-signed for {secs} s" + (f" ({clause})" if clause else ""))
    fix = (f"re-sign the bundle URL with an expiry of at most {max_expiry_seconds} seconds "
           f"(aws s3 presign --expires-in {max_expiry_seconds}) or use IRSA instead of pre-signed URLs")
    if any("not verified there" in f.what for f in findings):
        fix = f"{fix}; {UNVERIFIED_FIX}"
    return summarise("IAM-06", findings, ", ".join(said), presigned, fix)
