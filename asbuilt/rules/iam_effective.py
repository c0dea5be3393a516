"""IAM-04 and IAM-05: what the roles can actually do with the bundle bucket (live-only controls).

IAM-05 judges a set of request decisions, each made by ``iam:SimulatePrincipalPolicy`` where
the endpoint implements it, otherwise by evaluating the role's documents with
``asbuilt.rules.iam_eval``; the evidence names the method that decided. IAM-04 judges whether
the EKS node role can read the bundles (the bundle policy attached to it, or any grant that
amounts to it).
"""

from __future__ import annotations

from asbuilt.rules import Finding, Verdict, errored, summarise
from asbuilt.rules.iam_eval import combine, evaluate

PROBE_KEY = "asbuilt-probe/bundle.zip"  # an object name used only inside simulated requests
OTHER_BUCKET = "asbuilt-probe-not-the-bundle-bucket"

# Decisions as SimulatePrincipalPolicy names them -> ours.
SIMULATOR_DECISIONS = {"allowed": "allowed", "explicitdeny": "explicit_deny", "implicitdeny": "implicit_deny"}


def bundle_access_checks(bucket: str, kms_key_arn: str | None = None) -> list[dict]:
    """The requests IAM-05 decides: what the installer must be able to do, and must not."""
    obj = f"arn:aws:s3:::{bucket}/{PROBE_KEY}"
    bkt = f"arn:aws:s3:::{bucket}"
    other_obj = f"arn:aws:s3:::{OTHER_BUCKET}/{PROBE_KEY}"
    other = f"arn:aws:s3:::{OTHER_BUCKET}"
    checks = [
        ("s3:GetObject", obj, "allow", "read bundle objects"),
        ("s3:ListBucket", bkt, "allow", "list the bundle bucket"),
        ("s3:PutObject", obj, "deny", "write bundle objects"),
        ("s3:DeleteObject", obj, "deny", "delete bundle objects"),
        ("s3:DeleteObjectVersion", obj, "deny", "delete bundle object versions"),
        ("s3:PutObjectAcl", obj, "deny", "change bundle object ACLs"),
        ("s3:PutBucketPolicy", bkt, "deny", "change the bucket policy"),
        ("s3:DeleteBucket", bkt, "deny", "delete the bucket"),
        ("s3:GetObject", other_obj, "deny", "read objects of other buckets"),
        ("s3:ListBucket", other, "deny", "list other buckets"),
    ]
    if kms_key_arn:
        checks.append(("kms:Decrypt", kms_key_arn, "allow", "decrypt with the bucket key"))
    return [{"action": a, "resource": r, "expect": e, "meaning": m} for a, r, e, m in checks]


def decide_from_documents(checks: list[dict], statements: list[dict], boundary: list[dict] | None = None) -> list[dict]:
    """Each check with the decision of the policy documents (identity policies, boundary)."""
    out = []
    for c in checks:
        ev = evaluate(statements, c["action"], c["resource"])
        if boundary is not None:
            ev = combine(ev, evaluate(boundary, c["action"], c["resource"]))
        out.append({**c, "decision": ev.decision, "statements": ev.matched})
    return out


def decide_from_simulation(checks: list[dict], results: list[dict]) -> list[dict]:
    """Each check with the simulator's decision for its action and resource."""
    by = {(r["action"].lower(), r.get("resource")): r["decision"] for r in results}
    out = []
    for c in checks:
        raw = by.get((c["action"].lower(), c["resource"]))
        decision = SIMULATOR_DECISIONS.get(str(raw).lower().replace("_", ""), None) if raw else None
        out.append({**c, "decision": decision or "unknown", "simulator_decision": raw})
    return out


def installer_effective_access(roles: list[dict]) -> Verdict:
    """IAM-05. roles: [{"resource": role ARN, "method": "iam:SimulatePrincipalPolicy" | "policy documents ...",
    "checks": [{"action", "resource", "expect": "allow"|"deny", "meaning", "decision"}]}]

    A required read that is not ``allowed`` (``conditional`` counts as allowed, with a note in the
    evidence) and a forbidden action that is ``allowed`` or ``conditional`` are findings.
    """
    if not roles:
        return errored("IAM-05", "no installer role found on the target to check")
    findings, unknown = [], []
    for role in roles:
        for c in role.get("checks") or []:
            d = c.get("decision")
            if d not in ("allowed", "conditional", "explicit_deny", "implicit_deny"):
                unknown.append(f"{role['resource']}: no decision for {c['action']} on {c['resource']}")
            elif c["expect"] == "allow" and d not in ("allowed", "conditional"):
                findings.append(Finding(role['resource'], f"{role['resource']} cannot {c['meaning']} ({c['action']} on {c['resource']}: {d})"))
            elif c["expect"] == "deny" and d in ("allowed", "conditional"):
                how = "allowed" if d == "allowed" else "allowed under conditions"
                via = f" by {', '.join(c['statements'])}" if c.get("statements") else ""
                findings.append(Finding(role['resource'], f"{role['resource']} can {c['meaning']} ({c['action']} on {c['resource']} "
                                f"{how}{via})"))
    if unknown and not findings:
        return errored("IAM-05", "; ".join(unknown), roles)
    ok = ", ".join(
        f"{r['resource']}: reads bundles, cannot write/delete them or read other buckets (decided by {r.get('method')})"
        for r in roles)
    return summarise(
        "IAM-05", findings, ok, roles,
        "leave the installer role only the seed's read policy (s3:GetObject on <bucket>/*, s3:ListBucket on the "
        "bucket, kms:Decrypt/GenerateDataKey on its key): detach or narrow every other policy that grants "
        "s3:Put*/s3:Delete* or access to other buckets, and add the read grants if they are missing",
    )


def node_role_bundle_access(nodes: list[dict], irsa_configured: bool) -> Verdict:
    """IAM-04. nodes: [{"resource": node role ARN, "bundle_policies": [policy ARNs/names of the bundle
    policy attached to it], "reads_bundles": bool (its documents allow s3:GetObject on the bundle
    objects), "policies": [ARNs/names]}]"""
    if not nodes:
        return errored("IAM-04", "no EKS node role found on the target to check")
    findings = []
    for n in nodes:
        attached = n.get("bundle_policies") or []
        if attached or n.get("reads_bundles"):
            what = (f"the bundle policy {', '.join(attached)} is attached to it" if attached
                    else "its policies grant s3:GetObject on the bundle objects")
            if irsa_configured:
                findings.append(Finding(n['resource'], f"{what} although IRSA is configured for the installer, so every "
                                "pod on the nodes can read the bundles"))
            else:
                findings.append(Finding(n['resource'], f"{what} (node-role fallback: IRSA is not configured, every pod "
                                "on the nodes can read the bundles)"))
    ok = ", ".join(f"{n['resource']}: no access to the bundle bucket" for n in nodes)
    return summarise(
        "IAM-04", findings, ok, nodes,
        "detach the bundle policy from the node role (aws_iam_role_policy_attachment / ManagedPolicyArns of the "
        "node role) and let only the installer's IRSA role read the bucket",
    )
