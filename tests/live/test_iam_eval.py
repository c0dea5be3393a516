"""The IAM policy evaluator (asbuilt.rules.iam_eval) and the IAM-04 / IAM-05 rules built on it."""

from __future__ import annotations

import pytest

from asbuilt.rules import iam_effective
from asbuilt.rules.iam_eval import action_matches, combine, condition_holds, evaluate, normalise, resource_matches

BUCKET = "conncentric-bundles"
OBJ = f"arn:aws:s3:::{BUCKET}/bundles/v1.zip"
KEY = "arn:aws:kms:us-east-1:123456789012:key/abcd"


def seed_policy():
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowBundleDownload", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        {"Sid": "AllowBucketListing", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
        {"Sid": "AllowKMSDecrypt", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": KEY},
    ]}


def decide(doc, action, resource, context=None):
    return evaluate(normalise(doc, "policy"), action, resource, context).decision


def test_seed_policy_reads_and_nothing_else():
    doc = seed_policy()
    assert decide(doc, "s3:GetObject", OBJ) == "allowed"
    assert decide(doc, "S3:getobject", OBJ) == "allowed"  # actions are case-insensitive
    assert decide(doc, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}") == "allowed"
    assert decide(doc, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}/x") == "implicit_deny"
    assert decide(doc, "s3:PutObject", OBJ) == "implicit_deny"
    assert decide(doc, "s3:GetObject", "arn:aws:s3:::other/x") == "implicit_deny"
    assert decide(doc, "kms:Decrypt", KEY) == "allowed"
    assert decide(doc, "kms:Decrypt", KEY + "x") == "implicit_deny"


def test_wildcards_in_actions_and_resources():
    assert action_matches("s3:*", "s3:DeleteObject")
    assert action_matches("s3:Get*", "s3:GetObjectVersion")
    assert action_matches("s3:?etObject", "s3:GetObject")
    assert not action_matches("s3:Get*", "kms:GetKeyPolicy")
    assert resource_matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c.zip")  # * spans '/'
    assert resource_matches("arn:aws:s3:::b*", "arn:aws:s3:::bucket/x")
    assert not resource_matches("arn:aws:s3:::B/*", "arn:aws:s3:::b/x")  # resources are case-sensitive
    assert resource_matches("arn:aws:s3:::b/[x]", "arn:aws:s3:::b/[x]")  # brackets are literal in IAM
    assert resource_matches("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/alice/f", {"aws:username": "alice"})
    assert not resource_matches("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/alice/f")


def test_explicit_deny_wins_and_not_action_not_resource():
    doc = {"Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"},
    ]}
    assert decide(doc, "s3:GetObject", OBJ) == "allowed"
    assert decide(doc, "s3:PutObject", OBJ) == "explicit_deny"
    doc = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": f"arn:aws:s3:::{BUCKET}/*"}]}
    assert decide(doc, "s3:GetObject", OBJ) == "implicit_deny"
    assert decide(doc, "s3:GetObject", "arn:aws:s3:::other/x") == "allowed"
    doc = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert decide(doc, "s3:DeleteObject", OBJ) == "allowed"
    assert decide(doc, "iam:CreateUser", "*") == "implicit_deny"


def test_conditions_are_three_valued():
    doc = {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*",
                          "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}]}
    assert decide(doc, "s3:PutObject", OBJ) == "conditional"  # unknown context: not a guess
    assert decide(doc, "s3:PutObject", OBJ, {"aws:SourceVpce": "vpce-1"}) == "allowed"
    assert decide(doc, "s3:PutObject", OBJ, {"aws:SourceVpce": "vpce-2"}) == "implicit_deny"
    assert condition_holds({"StringLike": {"k": "a*"}}, {"k": "abc"}) is True
    assert condition_holds({"StringNotEquals": {"k": "a"}}, {"k": "b"}) is True
    assert condition_holds({"StringEqualsIfExists": {"k": "a"}}, {}) is True
    assert condition_holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}) is False
    assert condition_holds({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}) is True
    assert condition_holds({"Null": {"k": "true"}}, {}) is None
    assert condition_holds({"ForAnyValue:StringEquals": {"k": ["a", "b"]}}, {"k": ["c", "b"]}) is True
    assert condition_holds({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {"k": ["c", "b"]}) is False
    # a conditional Deny makes an Allow conditional too
    doc = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                         {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
                          "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    assert decide(doc, "s3:GetObject", OBJ) == "conditional"
    assert decide(doc, "s3:GetObject", OBJ, {"aws:SecureTransport": "false"}) == "explicit_deny"


def test_permissions_boundary_intersects():
    identity = normalise({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    boundary = normalise({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    assert combine(evaluate(identity, "s3:GetObject", OBJ), evaluate(boundary, "s3:GetObject", OBJ)).decision == "allowed"
    assert combine(evaluate(identity, "s3:PutObject", OBJ), evaluate(boundary, "s3:PutObject", OBJ)).decision \
        == "implicit_deny"


def test_normalise_neutral_form():
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"},
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {"StringEquals": {"x:sub": "system:serviceaccount:a:b"}}}]}
    (st,) = normalise(trust, "role trust")
    assert st["principals"] == {"Federated": ["arn:aws:iam::1:oidc-provider/x"]}
    assert st["conditions"] == {"StringEquals": {"x:sub": ["system:serviceaccount:a:b"]}}
    assert st["actions"] == ["sts:AssumeRoleWithWebIdentity"] and st["resource"] == "role trust statement 1"
    # "Principal": "*" is read as AWS reads it, {"AWS": "*"}: one form for the API and the static readers
    assert normalise({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}})[0][
        "principals"] == {"AWS": ["*"]}


@pytest.mark.parametrize("extra, finding", [
    (None, None),
    ({"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": f"arn:aws:s3:::{BUCKET}/*"},
     "can write bundle objects"),
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, "can read objects of other buckets"),
    ({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}, "cannot read bundle objects"),
])
def test_installer_effective_access_rule(extra, finding):
    doc = seed_policy()
    if extra:
        doc["Statement"].append(extra)
    checks = iam_effective.decide_from_documents(iam_effective.bundle_access_checks(BUCKET, KEY),
                                                 normalise(doc, "arn:aws:iam::1:policy/p"))
    v = iam_effective.installer_effective_access([{"resource": "arn:aws:iam::1:role/installer",
                                                   "method": "documents", "checks": checks}])
    if finding is None:
        assert v.status == "pass", v.message
    else:
        assert v.status == "fail" and finding in v.message and "Fix:" in v.message, v.message
        assert "arn:aws:iam::1:role/installer" in v.message


def test_simulation_results_are_mapped():
    checks = iam_effective.bundle_access_checks(BUCKET)
    results = [{"action": c["action"], "resource": c["resource"],
                "decision": "allowed" if c["expect"] == "allow" else "implicitDeny"} for c in checks]
    decided = iam_effective.decide_from_simulation(checks, results)
    assert {d["decision"] for d in decided} == {"allowed", "implicit_deny"}
    v = iam_effective.installer_effective_access([{"resource": "r", "method": "iam:SimulatePrincipalPolicy",
                                                   "checks": decided}])
    assert v.status == "pass" and "iam:SimulatePrincipalPolicy" in v.message
    decided[0]["decision"] = "unknown"
    decided[0]["simulator_decision"] = None
    v = iam_effective.installer_effective_access([{"resource": "r", "method": "sim", "checks": decided[:1]}])
    assert v.status == "error"


def test_node_role_rule():
    clean = {"resource": "arn:aws:iam::1:role/node", "bundle_policies": [], "reads_bundles": False}
    assert iam_effective.node_role_bundle_access([clean], True).status == "pass"
    dirty = {**clean, "bundle_policies": ["arn:aws:iam::1:policy/bundle-read"], "reads_bundles": True}
    v = iam_effective.node_role_bundle_access([dirty], True)
    assert v.status == "fail" and "IRSA is configured" in v.message and "arn:aws:iam::1:role/node" in v.message
    v = iam_effective.node_role_bundle_access([dirty], False)
    assert v.status == "fail" and "node-role fallback" in v.message
