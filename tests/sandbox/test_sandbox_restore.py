"""`sandbox up` always gives the conforming reference (issue 14, item 6).

A drifted run, then state added by hand the way a user or a test would (a ConfigMap holding a
literal password in ``conncentric``, a namespace and a ClusterRole of their own, a Kafka topic
and ACL, a row and a table in the platform database, an S3 bucket): a plain ``up`` removes every
bit of it and K8S-05 passes again, on a warm sandbox and after ``down`` + ``up``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from asbuilt_sandbox import manager
from tests.helpers import asbuilt, by_id

pytestmark = pytest.mark.sandbox

NS = "conncentric"
CONFIGMAP = "hand-made-settings"
SCRATCH_NS = "hand-made-scratch"
CLUSTER_ROLE = "hand-made-reader"
TOPIC = "hand-made.topic"
PRINCIPAL = "User:hand-made-intruder"
TABLE = "hand_made_notes"
ITEM = "hand-made-adapter"
BUCKET = "hand-made-bucket"


def _facts() -> dict:
    from asbuilt_sandbox.parts.base import state_dir

    return json.loads((state_dir() / "sandbox.json").read_text())["facts"]


def _kube(facts):
    from kubernetes import client

    from asbuilt_sandbox.agent import api_client

    api = api_client(facts["kube"]["kubeconfig"], facts["kube"]["context"])
    return client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)


def _pg(facts):
    import psycopg

    pg = facts["postgres"]
    return psycopg.connect(host=pg["host"], port=pg["port"], dbname=pg["dbname"], user=pg["user"],
                           password=Path(pg["password_file"]).read_text().strip(), sslmode="verify-full",
                           sslrootcert=pg["ca_file"], connect_timeout=10, autocommit=True)


def _s3(facts):
    import boto3

    from asbuilt_sandbox.parts.base import state_dir

    return boto3.client("s3", region_name="us-east-1", endpoint_url=facts["moto"]["endpoint_url"],
                        aws_access_key_id=(state_dir() / "aws_access_key_id").read_text().strip(),
                        aws_secret_access_key=(state_dir() / "aws_secret_access_key").read_text().strip())


def _add_by_hand(facts) -> None:
    """What a user does with kubectl, kafka-acls/kafka-topics, psql and the aws CLI."""
    from asbuilt_sandbox.parts.kafka import KafkaPart

    core, rbac = _kube(facts)
    password = "hand-made-" + "literal"
    core.create_namespaced_config_map(NS, {"metadata": {"name": CONFIGMAP},
                                           "data": {"ADMIN_PASSWORD": password, "LOG_LEVEL": "debug"}})
    core.create_namespace({"metadata": {"name": SCRATCH_NS}})
    core.create_namespaced_config_map(SCRATCH_NS, {"metadata": {"name": CONFIGMAP, "finalizers": ["example.com/keep"]},
                                                   "data": {"note": "left behind"}})
    core.create_namespaced_config_map("kube-system", {"metadata": {"name": CONFIGMAP}, "data": {"note": "x"}})
    rbac.create_cluster_role({"metadata": {"name": CLUSTER_ROLE},
                              "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]})
    kafka = KafkaPart()
    kafka.create_topic(TOPIC, partitions=1, replication_factor=3)
    kafka.create_acls(PRINCIPAL, "TOPIC", TOPIC, ["READ", "WRITE"])
    with _pg(facts) as conn:
        conn.execute(f"CREATE TABLE {TABLE} (note text)")
        conn.execute(f"INSERT INTO {TABLE} VALUES ('left behind')")
        conn.execute("INSERT INTO adapter_configurations (name, content, sha256) VALUES (%s, %s, %s)",
                     (ITEM, '{"hand": "made"}', "0" * 64))
    _s3(facts).create_bucket(Bucket=BUCKET)


def _assert_reference(facts) -> None:
    from kubernetes.client.exceptions import ApiException

    from asbuilt_sandbox.parts.kafka import KafkaPart

    core, rbac = _kube(facts)
    names = [c.metadata.name for c in core.list_namespaced_config_map(NS).items]
    assert CONFIGMAP not in names, names
    assert CONFIGMAP not in [c.metadata.name for c in core.list_namespaced_config_map("kube-system").items]
    with pytest.raises(ApiException) as gone:
        core.read_namespace(SCRATCH_NS)
    assert gone.value.status == 404
    with pytest.raises(ApiException) as gone:
        rbac.read_cluster_role(CLUSTER_ROLE)
    assert gone.value.status == 404
    # the release is back, fresh: revision 1 of a new install, its installer Job run
    assert facts["platform"]["revision"] == 1, facts["platform"]

    kafka = KafkaPart()
    with kafka.admin() as admin:
        topics = {t for t in admin.list_topics() if not t.startswith("__")}
    assert topics == set(manager.PLATFORM_TOPICS), topics
    # the ACLs are exactly the references' principals' (Conduktor Gateway, ComposeX), a hand-made one is gone
    acls = {(a.principal, a.resource_pattern.resource_type.name, a.resource_pattern.resource_name,
             a.resource_pattern.pattern_type.name, a.operation.name) for a in kafka.describe_acls()}
    assert not any(a[0] == PRINCIPAL for a in acls), acls
    assert {a[0] for a in acls} == {p["principal"] for p in facts["kafka"]["principals"]}, acls
    assert set(kafka.scram_users_on()) == {p["principal"].split(":", 1)[1] for p in facts["kafka"]["principals"]}
    assert kafka.topic_configs("conncentric.events")["min.insync.replicas"] == "2"

    with _pg(facts) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert TABLE not in tables and "adapter_configurations" in tables, tables
        items = [r[0] for r in conn.execute("SELECT name FROM adapter_configurations")]
        assert ITEM not in items and items, items  # the installer filled it anew
    buckets = [b["Name"] for b in _s3(facts).list_buckets()["Buckets"]]
    assert BUCKET not in buckets and facts["aws"]["bundle_bucket"] in buckets, buckets


def _k8s_05(tmp_path: Path) -> dict:
    res = asbuilt("run", "--target", "sandbox", "--live-only", "--control", "K8S-05", "--report-dir", tmp_path,
                  timeout=600)
    return {"code": res.code, **by_id(res.results(tmp_path))["K8S-05"], "out": res.stdout[-1500:]}


def test_up_restores_the_reference_after_a_drift_and_changes_by_hand(sandbox, tmp_path):
    sandbox("literal-password-env", "kafka-client-read-only")
    facts = _facts()
    _add_by_hand(facts)
    before = _k8s_05(tmp_path / "drifted")
    assert before["status"] == "fail" and f"{CONFIGMAP} key ADMIN_PASSWORD" in json.dumps(before), before

    t0 = time.monotonic()
    manager.up([])  # what `asbuilt sandbox up` runs (the CLI would wait for the lock this test holds)
    warm = time.monotonic() - t0
    facts = _facts()
    _assert_reference(facts)
    after = _k8s_05(tmp_path / "restored")
    assert after["status"] == "pass" and after["code"] == 0, after
    assert warm < 60, f"a warm up took {warm:.0f}s"

    # the same after down + up: etcd, PostgreSQL and Kafka kept their data directories
    _add_by_hand(facts)
    manager.down()
    manager.up([])
    facts = _facts()
    _assert_reference(facts)
    again = _k8s_05(tmp_path / "after-down")
    assert again["status"] == "pass" and again["code"] == 0, again
