"""Evidence is shaped once: the same resource read from different sources gives equal model
objects, and a control gives the same verdict live and static on the same object."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.static.helpers import prepare_cfn_yaml, prepare_terraform, scan

PRESIGNED = ("https://bundles.s3.eu-west-1.amazonaws.com/custom/bundle.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=AKIAEXAMPLEKEYID1234%2F20261201%2Feu-west-1%2Fs3%2Faws4_request"
             "&X-Amz-Date=20261201T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "ab" * 32)

MANIFEST = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: orchestrator, namespace: conncentric}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: orchestrator}}}}
  template:
    metadata: {{labels: {{app: orchestrator}}}}
    spec:
      containers:
        - name: orchestrator
          image: example/orchestrator:1.0
          args: ["--log-format=json", "--cache-size=64"]
          env:
            - name: BUNDLE_URL
              value: "{PRESIGNED}"
            - name: DB_PASSWORD
              valueFrom: {{secretKeyRef: {{name: db, key: password}}}}
            - name: DB_PASSWORD_KEY
              value: password
"""


def _live_verdict(doc: dict):
    from asbuilt.catalogue import load_profile
    from asbuilt.controls import unit
    from asbuilt.probes import k8s as live_probe

    items = live_probe.env_settings(doc)  # what the live step reads from the API object
    return items, unit("K8S-05").decide(items, load_profile("conncentric-aws"))


def test_k8s_05_is_the_same_live_and_static_on_the_same_manifest(tmp_path):
    path = tmp_path / "deployment.yaml"
    path.write_text(MANIFEST)
    static = {v.control: v for v in scan([path], [], tmp_path / "r").verdicts}["K8S-05"]
    live_items, live = _live_verdict(yaml.safe_load(MANIFEST))
    assert static.status == live.status == "pass", (static.message, live.message)
    assert {i["key"]: i["value_kind"] for i in live_items}["BUNDLE_URL"] == "presigned-url"

    # and a literal credential fails both, naming the same key
    broken = MANIFEST.replace('- name: DB_PASSWORD_KEY\n              value: password',
                              '- name: API_TOKEN\n              value: "c0rrect-h0rse-battery"')
    path.write_text(broken)
    static = {v.control: v for v in scan([path], [], tmp_path / "r2").verdicts}["K8S-05"]
    _, live = _live_verdict(yaml.safe_load(broken))
    assert static.status == live.status == "fail"
    assert "API_TOKEN is a credential written as a literal" in static.message
    assert "API_TOKEN is a credential written as a literal" in live.message
    assert "c0rrect-h0rse-battery" not in static.message + live.message


def test_k8s_05_with_nothing_to_check_is_error_not_pass():
    from asbuilt.catalogue import load_profile
    from asbuilt.controls import unit

    v = unit("K8S-05").decide([], load_profile("conncentric-aws"))
    assert v.status == "error" and "no evidence" in v.message


def _estates(tmp_path: Path):
    from asbuilt.static import checkbase

    tf_paths, tf_values = prepare_terraform(tmp_path / "tf")
    cfn_paths, cfn_values = prepare_cfn_yaml(tmp_path / "cfn")
    captured = {}
    original = checkbase.ScanContext.add_stack

    def keep(self, stack):
        captured.setdefault(getattr(stack, "flavour", ""), stack)
        return original(self, stack)

    checkbase.ScanContext.add_stack = keep
    try:
        scan(tf_paths, tf_values, tmp_path / "r1")
        scan(cfn_paths, cfn_values, tmp_path / "r2")
    finally:
        checkbase.ScanContext.add_stack = original
    return captured["terraform"], captured["cloudformation"]


def _rules(estate, groups):
    out = set()
    for sg in estate.groups(groups):
        for r in sg["ingress"]:
            out.add((r["protocol"], r["from_port"], r["to_port"], len(r["groups"]), tuple(sorted(r["cidrs_v4"]))))
    return out


def test_terraform_and_cloudformation_give_equal_model_objects(tmp_path):
    """The reference written in Terraform and in CloudFormation: the same RDS instance, the same
    security group rules on it, the same node group, the same MSK cluster."""
    tf, cfn = _estates(tmp_path)
    (db_tf,), (db_cfn,) = tf.databases.values(), cfn.databases.values()
    fields = ("engine", "version", "instance_class", "multi_az", "backup_retention_days")
    assert {f: getattr(db_tf, f) for f in fields} == {f: getattr(db_cfn, f) for f in fields}
    assert _rules(tf, db_tf.security_groups) == _rules(cfn, db_cfn.security_groups)
    (ng_tf,), (ng_cfn,) = tf.nodegroups.values(), cfn.nodegroups.values()
    assert (ng_tf.instance_types, ng_tf.min_size, ng_tf.desired_size) == \
        (ng_cfn.instance_types, ng_cfn.min_size, ng_cfn.desired_size)
    assert len({tf.zone_of(s) for s in ng_tf.subnets}) == len({cfn.zone_of(s) for s in ng_cfn.subnets}) == 3
    (msk_tf,), (msk_cfn,) = tf.msk.values(), cfn.msk.values()
    fields = ("version", "broker_count", "instance_type", "client_broker")
    assert {f: getattr(msk_tf, f) for f in fields} == {f: getattr(msk_cfn, f) for f in fields}
    assert _rules(tf, msk_tf.security_groups) == _rules(cfn, msk_cfn.security_groups)


def test_policy_statements_are_read_one_way_from_api_and_code():
    """Principal "*" and NotPrincipal, from an IAM API document and from the static readers'
    statement reader (Terraform jsonencode / CloudFormation), give equal neutral statements."""
    from asbuilt.rules.iam_eval import normalise
    from asbuilt.static import hcl

    doc = {"Statement": [
        {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
        {"Sid": "AllBut", "Effect": "Allow", "NotPrincipal": {"AWS": ["arn:aws:iam::1:root"]},
         "Action": ["sts:AssumeRoleWithWebIdentity"], "Condition": {"StringEquals": {"x:sub": "a"}}},
    ]}
    live = normalise(doc, "role r")
    code = [hcl.neutral_statement({**raw, "__startline__": 3}, "role r") for raw in doc["Statement"]]
    strip = [{k: v for k, v in s.items() if k != "resource"} for s in live]
    assert strip == [{k: v for k, v in s.items() if k != "resource"} for s in code]
    assert live[0]["principals"] == {"AWS": ["*"]}
    assert live[1]["not_principals"] == {"AWS": ["arn:aws:iam::1:root"]} and live[1]["principals"] == {}


def test_iam_03_fails_a_trust_that_uses_not_principal():
    from asbuilt.catalogue import load_profile
    from asbuilt.controls import unit
    from asbuilt.rules.iam_eval import normalise

    trust = {"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"},
                            "Action": "sts:AssumeRoleWithWebIdentity"}]}
    items = [{"resource": "arn:aws:iam::1:role/installer", "statements": normalise(trust, "trust"),
              "oidc_providers": []}]
    v = unit("IAM-03").decide(items, load_profile("conncentric-aws"), namespace="conncentric",
                              service_account="conncentric-installer", oidc_providers=[])
    assert v.status == "fail" and "NotPrincipal trusts everyone except" in v.message
