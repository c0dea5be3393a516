"""The rule functions the static checks (and the live steps) share, on plain evidence."""

from __future__ import annotations

import pytest

from asbuilt.rules import bundle, ha, helm, iam, k8s, network, sdk, sizing, storage


@pytest.mark.parametrize("actual, reference, same_family, ok", [
    ("m6i.xlarge", "m6i.xlarge", True, True),
    ("m6i.4xlarge", "m6i.xlarge", True, True),
    ("m6i.large", "m6i.xlarge", True, False),
    ("m7i.xlarge", "m6i.xlarge", True, False),  # "larger in the same family"
    ("db.r7g.large", "db.r6g.large", False, True),
    ("db.r6i.xlarge", "db.r6g.large", False, True),
    ("db.t3.large", "db.r6g.large", False, False),
    ("db.r5.large", "db.r6g.large", False, False),
    ("kafka.m5.2xlarge", "kafka.m5.large", False, True),
    ("express.m7g.large", "kafka.m5.large", False, True),
])
def test_instance_sizes(actual, reference, same_family, ok):
    assert sizing.meets(actual, reference, same_family) is ok


def _sg(*rules):
    return {"id": "sg-db", "resource": "sg-db", "ingress": list(rules)}


def _rule(**kw):
    base = {"resource": "rule", "protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidrs_v4": [], "cidrs_v6": [],
            "groups": [], "prefix_lists": []}
    return {**base, **kw}


def test_rds_admits_nodes_by_group_or_cidr():
    db = {"resource": "db", "node_security_groups": ["sg-nodes"], "node_cidrs": ["10.0.0.0/19"]}
    assert network.rds_admits_nodes([{**db, "security_groups": [_sg(_rule(groups=["sg-nodes"]))]}], 5432).ok
    assert network.rds_admits_nodes([{**db, "security_groups": [_sg(_rule(cidrs_v4=["10.0.0.0/16"]))]}], 5432).ok
    v = network.rds_admits_nodes([{**db, "security_groups": [_sg(_rule(groups=["sg-alb"]))]}], 5432)
    assert v.status == "fail" and "db:" in v.message
    v = network.rds_admits_nodes([{"resource": "db", "security_groups": [], "node_security_groups": [],
                                   "node_cidrs": []}], 5432)
    assert v.status == "error"


def test_no_open_ingress():
    item = {"resource": "db", "allowed_ports": [5432]}
    assert network.no_open_ingress([{**item, "security_groups": [_sg(_rule(groups=["sg-nodes"]))]}]).ok
    for bad in (_rule(cidrs_v4=["0.0.0.0/0"]), _rule(cidrs_v6=["::/0"]), _rule(from_port=0, to_port=65535),
                _rule(protocol="-1", from_port=None, to_port=None), _rule(protocol="udp")):
        assert network.no_open_ingress([{**item, "security_groups": [_sg(bad)]}]).status == "fail", bad


def test_alb_posture():
    good = {"resource": "alb", "scheme": "internal", "https_sources": ["10.0.0.0/16"], "listeners": [
        {"port": 443, "protocol": "HTTPS", "action": "forward"},
        {"port": 80, "protocol": "HTTP", "action": "redirect", "redirect_protocol": "HTTPS"}]}
    assert network.alb_posture([good], "internal").ok
    assert network.alb_posture([good], "internet-facing").status == "fail"
    forward80 = {**good, "listeners": [good["listeners"][0], {"port": 80, "protocol": "HTTP", "action": "forward"}]}
    assert "instead of redirecting" in network.alb_posture([forward80], "internal").message
    assert network.alb_posture([{**good, "https_sources": []}], "internal").status == "fail"


def test_same_vpc_and_peering():
    eks = {"resource": "eks", "kind": "eks", "vpc": "vpc-a", "peered_vpcs": []}
    rds = {"resource": "rds", "kind": "rds", "vpc": "vpc-b", "peered_vpcs": []}
    assert network.same_vpc([eks, rds]).status == "fail"
    assert network.same_vpc([{**eks, "peered_vpcs": ["vpc-b"]}, rds]).ok
    assert network.same_vpc([eks, {**rds, "vpc": None}]).status == "error"


def _bucket(sse="aws:kms"):
    return {"arn": "arn:aws:s3:::b", "sse": sse, "kms_key_arn": "key"}


def _allow(actions, resources):
    return {"resource": "p", "effect": "Allow", "actions": actions, "resources": resources}


SEED_POLICY = [_allow(["s3:GetObject"], ["arn:aws:s3:::b/*"]), _allow(["s3:ListBucket"], ["arn:aws:s3:::b"]),
               _allow(["kms:Decrypt", "kms:GenerateDataKey"], ["key"])]


def test_installer_policy_exactly_the_seed():
    assert iam.installer_policy([{"resource": "role", "statements": SEED_POLICY, "bucket": _bucket()}]).ok
    # SSE-S3: the KMS statement is not needed (the seed: remove AllowKMSDecrypt).
    v = iam.installer_policy([{"resource": "role", "statements": SEED_POLICY, "bucket": _bucket("AES256")}])
    assert v.status == "fail" and "does not use SSE-KMS" in v.message
    assert iam.installer_policy([{"resource": "role", "statements": SEED_POLICY[:2], "bucket": _bucket("AES256")}]).ok
    for extra in (_allow(["s3:*"], ["arn:aws:s3:::b/*"]), _allow(["s3:GetObject"], ["*"]),
                  _allow(["s3:GetObject"], ["arn:aws:s3:::other/*"]), _allow(["s3:PutObject"], ["arn:aws:s3:::b/*"])):
        v = iam.installer_policy([{"resource": "role", "statements": SEED_POLICY + [extra], "bucket": _bucket()}])
        assert v.status == "fail", extra
    v = iam.installer_policy([{"resource": "role", "statements": SEED_POLICY[1:], "bucket": _bucket()}])
    assert "s3:GetObject on arn:aws:s3:::b/* is not granted" in v.message


def test_installer_trust():
    st = {"resource": "trust", "effect": "Allow", "actions": ["sts:AssumeRoleWithWebIdentity"],
          "principals": {"Federated": ["arn:aws:iam::1:oidc-provider/oidc.eks"]},
          "conditions": {"StringEquals": {"oidc.eks:sub": ["system:serviceaccount:conncentric:conncentric-installer"],
                                          "oidc.eks:aud": ["sts.amazonaws.com"]}}}
    assert iam.installer_trust([{"resource": "r", "statements": [st]}], "conncentric", "conncentric-installer").ok
    like = {**st, "conditions": {"StringLike": {"oidc.eks:sub": ["system:serviceaccount:conncentric:*"]}}}
    assert iam.installer_trust([{"resource": "r", "statements": [like]}], "conncentric",
                               "conncentric-installer").status == "fail"
    aws = {**st, "principals": {"AWS": ["*"]}}
    assert iam.installer_trust([{"resource": "r", "statements": [aws]}], "conncentric",
                               "conncentric-installer").status == "fail"


def test_presigned_urls_never_keep_their_signature():
    url = ("https://b.s3.amazonaws.com/x.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F"
           "&X-Amz-Expires=604800&X-Amz-Signature=deadbeef")
    facts = iam.describe_url(url)
    assert facts == {"url": "https://b.s3.amazonaws.com/x.zip", "scheme": "https", "host": "b.s3.amazonaws.com",
                     "presigned": True, "signature_version": "v4", "expires_seconds": 604800}
    assert iam.presigned_url_expiry([{"resource": "v:1", **facts}], 604800).ok
    assert iam.presigned_url_expiry([{"resource": "v:1", **{**facts, "expires_seconds": 604801}}], 604800).status == "fail"
    assert "deadbeef" not in iam.presigned_url_expiry([{"resource": "v:1", **facts}], 1).message


def test_irsa_annotation():
    sa = {"resource": "sa", "namespace": "conncentric", "name": "conncentric-installer",
          "role_arn": "arn:aws:iam::123456789012:role/conncentric-installer-s3-read"}
    assert iam.irsa_service_account([sa], "conncentric", "conncentric-installer").ok
    assert iam.irsa_service_account([sa], "conncentric", "conncentric-installer", ["conncentric-installer-s3-read"]).ok
    assert iam.irsa_service_account([sa], "conncentric", "conncentric-installer", ["other"]).status == "fail"
    assert iam.irsa_service_account([], "conncentric", "conncentric-installer").status == "fail"


def test_credentials_and_values():
    assert k8s.credential_key("DB_PASSWORD") and k8s.credential_key("apiToken") and k8s.credential_key("JWT_SECRET")
    assert not k8s.credential_key("passwordKey") and not k8s.credential_key("existingSecret")
    assert not k8s.credential_key("secretArn") and not k8s.credential_key("DB_USER")
    assert k8s.classify_value("${TOKEN}") == "reference"
    assert k8s.classify_value("AKIAABCDEFGHIJKLMNOP") == "secret-pattern"
    v = k8s.no_literal_credentials([{"resource": "x", "key": "DB_PASSWORD", "value_kind": "literal"}])
    assert v.status == "fail" and "DB_PASSWORD" in v.message


def test_release_values():
    base = {"resource": "rel", "installer_enabled": {"value": True},
            "bundle_urls": [{"resource": "v:3", **iam.describe_url("https://b.s3.us-east-1.amazonaws.com/x.zip")}],
            "bootstrap_servers": {"value": "b-1:9094,b-2:9094"}, "expected_brokers": None, "tls_only_brokers": True}
    assert helm.release_values([base], [9092, 9094]).ok
    v = helm.release_values([{**base, "bootstrap_servers": {"value": "b-1:9092"}}], [9092, 9094])
    assert v.status == "fail" and "TLS" in v.message
    v = helm.release_values([{**base, "expected_brokers": ["b-3:9094"]}], [9092, 9094])
    assert v.status == "fail" and "does not match" in v.message
    other = {**base, "bundle_urls": [{"resource": "v:3", **iam.describe_url("https://example.com/x.zip")}]}
    assert "neither an S3 object URL" in helm.release_values([other], [9092, 9094]).message


def test_gradle_rule():
    build = {"resource": "b", "sdk_dependencies": [{"resource": "b:3", "configuration": "compileOnly",
                                                    "notation": "com.connamara:conncentric-sdk:1.0.0"}],
             "local_jars": [], "repositories": [{"resource": "b:9", "kind": "maven", "url": "https://x",
                                                 "credentials": {"username": {"source": "literal"},
                                                                 "password": {"source": "env"}}}]}
    assert sdk.sdk_from_registry([build]).ok
    dyn = {**build, "sdk_dependencies": [{**build["sdk_dependencies"][0], "notation": "com.connamara:conncentric-sdk:1.+"}]}
    assert "not pinned" in sdk.sdk_from_registry([dyn]).message
    assert sdk.sdk_from_registry([{"resource": "other", "sdk_dependencies": [], "local_jars": [],
                                   "repositories": []}]).ok


def test_bundle_entries():
    ok = [{"name": "manifests/a.json", "size": 10, "json_valid": True}, {"name": "plugins/p.jar", "size": 10},
          {"name": "artifacts/x.xml", "size": 10}, {"name": "manifests/", "is_dir": True, "size": 0}]
    assert bundle.entry_problems(ok, 100, 1000, 1000, 10) == []
    assert bundle.entry_problems([], 100, 1000, 1000, 10) == ["the bundle holds no files"]
    assert any("duplicate" in p for p in bundle.entry_problems(ok + [ok[0]], 100, 1000, 1000, 10))
    assert any("over the limit" in p for p in bundle.entry_problems(ok, 5000, 1000, 1000, 10))


def test_ha_zones_unknown_is_an_error_not_a_pass():
    v = ha.msk_broker_spread([{"resource": "msk", "broker_count": 3, "zones": [None, None, None]}], 3, 3)
    assert v.status == "error"
    v = ha.alb_spread([{"resource": "alb", "zones": ["a", None]}], 2)
    assert v.status == "error"
    assert ha.alb_spread([{"resource": "alb", "zones": ["a", "b", None]}], 2).ok


def test_s3_and_ecr():
    assert storage.bucket_protection([{"resource": "b", "sse": "AES256", "public_access_block": {
        f: True for f in storage.PUBLIC_ACCESS_FLAGS}}]).status == "fail"  # SSE-S3: warn (should)
    assert storage.ecr_repositories([]).ok
    two = [{"resource": "r1", "name": "orchestrator"}, {"resource": "r2", "name": "team/orchestrator"},
           {"resource": "r3", "name": "adapter"}, {"resource": "r4", "name": "portal"}]
    assert "2 repositories" in storage.ecr_repositories(two).message
