"""CDK-* rules and the Conduktor model on constructed objects: how components are recognised,
configuration read as Conduktor reads it, the live-only rules (CDK-DB-01/02 over DatabaseServer,
CDK-SEC-05 over KafkaPrincipal), and that no secret value reaches a verdict."""

from __future__ import annotations

import json

import pytest

from asbuilt.catalogue import load_profile
from asbuilt.controls import unit
from asbuilt.controls.cdk import ITEMS
from asbuilt.model.conduktor import components, image_repository, sensitive
from asbuilt.model.facts import Unknown
from asbuilt.model.kafka import AclEntry, KafkaPrincipal
from asbuilt.model.postgres import DatabaseServer
from asbuilt.rules import conduktor as cdk
from asbuilt.rules.conduktor_acls import documented_acls

PROFILE = load_profile("conduktor-k8s")
SECRET = "Sup3r-Secret-Value-never-shown"


def decide(control: str, items):
    return unit(control).decide(items, PROFILE)


def deployment(name, image, env=None, env_from=None, replicas=2, labels=None, volumes=None, mounts=None,
               container="main", sc=None, pod_sc=None, resources=None, ns="conduktor"):
    c = {"name": container, "image": image, "env": env or [], "envFrom": env_from or [],
         "volumeMounts": mounts or []}
    if sc is not None:
        c["securityContext"] = sc
    if resources is not None:
        c["resources"] = resources
    spec = {"containers": [c], "volumes": volumes or []}
    if pod_sc is not None:
        spec["securityContext"] = pod_sc
    body = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"template": {"metadata": {"labels": {**(labels or {}), "app": name}}, "spec": spec}}}
    if replicas is not None:
        body["spec"]["replicas"] = replicas
    return body


def configmap(name, data, ns="conduktor"):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


def secret_keys(name, keys, ns="conduktor"):
    """A Secret as the live probe gives it: keys, no values."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
            "data": {k: "" for k in keys}}


# --------------------------------------------------------------------------- recognition


@pytest.mark.parametrize("image,repo", [
    ("conduktor/conduktor-console:1.32.0", "conduktor/conduktor-console"),
    ("docker.io/conduktor/conduktor-gateway:3.10.0", "conduktor/conduktor-gateway"),
    ("registry.example.internal:5000/conduktor/conduktor-console-cortex:1.32@sha256:abc", "conduktor/conduktor-console-cortex"),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/conduktor/conduktor-gateway:3", "conduktor/conduktor-gateway"),
    ("localhost/conduktor/conduktor-console", "conduktor/conduktor-console"),
])
def test_image_repository_with_or_without_a_registry(image, repo):
    assert image_repository(image) == repo


def test_recognised_by_image_or_by_the_charts_labels():
    objs = [deployment("a", "mirror.internal/conduktor/conduktor-console:1.32"),
            deployment("b", "my/own-build:1", labels={"app.kubernetes.io/component": "conduktor-platform-cortex"}),
            deployment("c", "my/gw:1", labels={"app.kubernetes.io/name": "conduktor-gateway"}),
            deployment("d", "nginx:1.27")]
    got = {c.name: (c.kind, c.recognised_by) for c in components(objs, "conduktor")}
    assert got["a"][0] == "console" and got["a"][1].startswith("image conduktor/conduktor-console")
    assert got["b"] == ("cortex", "label app.kubernetes.io/component=conduktor-platform-cortex")
    assert got["c"] == ("gateway", "label app.kubernetes.io/name=conduktor-gateway")
    assert "d" not in got


# --------------------------------------------------------------------------- configuration


def _console_with_config(config_yaml: str, env=None, extra=()):
    dep = deployment("console", "conduktor/conduktor-console:1.32",
                     env=[{"name": "CDK_IN_CONF_FILE", "value": "/conduktor/config/platform-config.yaml"},
                          *(env or [])],
                     volumes=[{"name": "config", "configMap": {"name": "console-config"}}],
                     mounts=[{"name": "config", "mountPath": "/conduktor/config/"}])
    return [dep, configmap("console-config", {"platform-config.yaml": config_yaml}), *extra]


def test_console_yaml_config_with_var_expansion_from_a_secret():
    objs = _console_with_config(
        "sso:\n  oauth2:\n    - name: okta\n      client-id: console\n      client-secret: ${OIDC_SECRET}\n"
        "      openid:\n        issuer: https://sso.example/realms/x\n",
        env=[{"name": "OIDC_SECRET", "valueFrom": {"secretKeyRef": {"name": "oidc", "key": "secret"}}}])
    (c,) = components(objs, "conduktor")
    s = c.setting("CDK_SSO_OAUTH2_0_CLIENTSECRET")
    assert s.source == "secretKeyRef" and s.where == "Secret conduktor/oidc key secret" and s.value is None
    assert "${OIDC_SECRET}" in s.via
    assert c.value("CDK_SSO_OAUTH2_0_OPENID_ISSUER") == "https://sso.example/realms/x"
    assert c.value("CDK_SSO_OAUTH2_0_CLIENTID") == "console"
    assert decide("CDK-SEC-02", ITEMS["CDK-SEC-02"](cdk.read(objs, "conduktor"))).status == "pass"
    assert decide("CDK-SEC-03", ITEMS["CDK-SEC-03"](cdk.read(objs, "conduktor"))).status == "fail"  # no root account


def test_env_overrides_the_config_file_and_a_literal_secret_in_the_file_fails_sec02():
    objs = _console_with_config(f"sso:\n  oauth2:\n    - name: okta\n      client-secret: {SECRET}\n"
                                "admin:\n  email: a@b.c\n",
                                env=[{"name": "CDK_ADMIN_EMAIL", "value": "root@example.com"}])
    (c,) = components(objs, "conduktor")
    assert c.value("CDK_ADMIN_EMAIL") == "root@example.com"
    v = decide("CDK-SEC-02", ITEMS["CDK-SEC-02"](cdk.read(objs, "conduktor")))
    assert v.status == "fail" and "CDK_SSO_OAUTH2_0_CLIENTSECRET" in v.message
    assert "sso.oauth2[0].client-secret" in v.message
    assert SECRET not in json.dumps(v.to_json())


def test_file_variables_from_a_secret_volume_and_from_a_configmap():
    dep = deployment("gw", "conduktor/conduktor-gateway:3.10",
                     env=[{"name": "GATEWAY_SSL_KEY_STORE_PASSWORD_FILE", "value": "/secrets/ks/password"},
                          {"name": "KAFKA_SASL_JAAS_CONFIG_FILE", "value": "/cfg/jaas.conf"}],
                     volumes=[{"name": "ks", "secret": {"secretName": "keystore-pw"}},
                              {"name": "cfg", "configMap": {"name": "gw-files"}}],
                     mounts=[{"name": "ks", "mountPath": "/secrets/ks"}, {"name": "cfg", "mountPath": "/cfg"}])
    jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="gw" password="{SECRET}";'
    objs = [dep, configmap("gw-files", {"jaas.conf": jaas})]
    (c,) = components(objs, "conduktor")
    assert c.setting("GATEWAY_SSL_KEY_STORE_PASSWORD").source == "secret-file"
    assert "Secret conduktor/keystore-pw key password" in c.setting("GATEWAY_SSL_KEY_STORE_PASSWORD").where
    assert c.setting("KAFKA_SASL_JAAS_CONFIG").source == "configmap-file"
    v = decide("CDK-SEC-02", ITEMS["CDK-SEC-02"](cdk.read(objs, "conduktor")))
    assert v.status == "fail" and "KAFKA_SASL_JAAS_CONFIG" in v.message and "ConfigMap conduktor/gw-files" in v.message
    assert SECRET not in json.dumps(v.to_json())


def test_envfrom_secret_and_configmap_sources_and_an_unread_configmap_is_unknown():
    dep = deployment("gw", "conduktor/conduktor-gateway:3.10",
                     env_from=[{"configMapRef": {"name": "gw-env"}}, {"secretRef": {"name": "gw-secrets"}}])
    objs = [dep, configmap("gw-env", {"GATEWAY_SECURITY_PROTOCOL": "SASL_SSL"}),
            secret_keys("gw-secrets", ["KAFKA_SASL_JAAS_CONFIG", "GATEWAY_ADMIN_API_USERS"])]
    (c,) = components(objs, "conduktor")
    assert c.setting("GATEWAY_SECURITY_PROTOCOL").where == "ConfigMap conduktor/gw-env key GATEWAY_SECURITY_PROTOCOL"
    assert c.setting("KAFKA_SASL_JAAS_CONFIG").source == "secret"
    v = decide("CDK-SEC-02", ITEMS["CDK-SEC-02"](cdk.read(objs, "conduktor")))
    assert v.status == "pass", v.message
    # the same Gateway whose ConfigMap is not among the objects read: its protocol is unknown
    v = decide("CDK-SEC-01", ITEMS["CDK-SEC-01"](cdk.read([dep], "conduktor")))
    assert v.status == "error" and "ConfigMap conduktor/gw-env" in v.message


def test_a_literal_in_a_configmap_is_a_leak_even_when_a_secret_overrides_it():
    """gateway.env renders into the Gateway's env ConfigMap; the chart's secretRef comes later in
    envFrom and wins at runtime, but the password stays readable in the ConfigMap."""
    dep = deployment("gw", "conduktor/conduktor-gateway:3.10",
                     env_from=[{"configMapRef": {"name": "gw-env"}}, {"secretRef": {"name": "gw-secrets"}}])
    jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="gw" password="{SECRET}";'
    objs = [dep, configmap("gw-env", {"GATEWAY_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_JAAS_CONFIG": jaas}),
            secret_keys("gw-secrets", ["KAFKA_SASL_JAAS_CONFIG", "GATEWAY_ADMIN_API_USERS"])]
    (c,) = components(objs, "conduktor")
    assert c.setting("KAFKA_SASL_JAAS_CONFIG").source == "secret"  # what the process reads
    assert [s.where for s in c.shadowed] == ["ConfigMap conduktor/gw-env key KAFKA_SASL_JAAS_CONFIG"]
    v = decide("CDK-SEC-02", ITEMS["CDK-SEC-02"](cdk.read(objs, "conduktor")))
    assert v.status == "fail", v.message
    (f,) = v.findings
    assert "KAFKA_SASL_JAAS_CONFIG" in f.what and "ConfigMap conduktor/gw-env key KAFKA_SASL_JAAS_CONFIG" in f.what
    assert "overridden at runtime by Secret conduktor/gw-secrets key KAFKA_SASL_JAAS_CONFIG" in f.what
    assert SECRET not in json.dumps(v.to_json()) and "password=" not in json.dumps(v.to_json())
    # an env literal overridden by a later secretKeyRef of the same name: the Deployment still holds it
    dep = deployment("gw", "conduktor/conduktor-gateway:3.10",
                     env=[{"name": "GATEWAY_LICENSE_KEY", "value": SECRET},
                          {"name": "GATEWAY_LICENSE_KEY", "valueFrom": {"secretKeyRef": {"name": "lic", "key": "k"}}},
                          {"name": "GATEWAY_ADMIN_API_USERS", "valueFrom": {"secretKeyRef": {"name": "a", "key": "u"}}}])
    v = decide("CDK-SEC-02", ITEMS["CDK-SEC-02"](cdk.read([dep], "conduktor")))
    assert v.status == "fail" and "GATEWAY_LICENSE_KEY is a literal in Deployment" in v.message, v.message
    assert SECRET not in json.dumps(v.to_json())
    # a non-secret key overridden by a Secret is nothing to report; the same objects without the
    # ConfigMap literal pass
    objs = [objs[0], configmap("gw-env", {"GATEWAY_SECURITY_PROTOCOL": "SASL_SSL"}), objs[2]]
    assert decide("CDK-SEC-02", ITEMS["CDK-SEC-02"](cdk.read(objs, "conduktor"))).status == "pass"


def test_gateway_without_admin_users_keeps_the_image_default():
    dep = deployment("gw", "conduktor/conduktor-gateway:3.10", env=[{"name": "GATEWAY_SECURITY_PROTOCOL",
                                                                    "value": "SASL_SSL"}])
    v = decide("CDK-SEC-02", ITEMS["CDK-SEC-02"](cdk.read([dep], "conduktor")))
    assert v.status == "fail" and "admin/conduktor" in v.message


def test_listener_keys_of_chart_320_and_the_legacy_keys():
    new = deployment("gw", "conduktor/conduktor-gateway:3.10", env=[
        {"name": "GATEWAY_LISTENER_NAMES", "value": "INTERNAL,EXTERNAL"},
        {"name": "GATEWAY_LISTENER_INTERNAL_SECURITY_PROTOCOL", "value": "PLAINTEXT"},
        {"name": "GATEWAY_LISTENER_EXTERNAL_SECURITY_PROTOCOL", "value": "SASL_SSL"},
        {"name": "GATEWAY_LISTENER_EXTERNAL_ROUTING", "value": "SNI"},
        {"name": "GATEWAY_SSL_KEY_STORE_PATH", "value": "/ks.jks"},
        {"name": "GATEWAY_HTTPS_KEY_STORE_PATH", "value": "/ks.jks"}])
    v = decide("CDK-SEC-01", ITEMS["CDK-SEC-01"](cdk.read([new], "conduktor")))
    assert v.status == "fail" and "listener INTERNAL" in v.message and "PLAINTEXT" in v.message
    legacy = deployment("gw", "conduktor/conduktor-gateway:3.10", env=[
        {"name": "GATEWAY_SECURITY_PROTOCOL", "value": "SASL_SSL"}, {"name": "GATEWAY_SSL_KEY_STORE_PATH", "value": "/k"}])
    e = cdk.read([legacy, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb", "namespace": "conduktor"},
                           "spec": {"type": "LoadBalancer", "selector": {"app": "gw"}}}], "conduktor")
    v = decide("CDK-NET-01", ITEMS["CDK-NET-01"](e))
    assert v.status == "fail" and "PORT" in v.message and "documented default" in v.message


# --------------------------------------------------------------------------- HA


def test_replicas_absent_is_the_kubernetes_default_and_unresolved_is_unknown():
    e = cdk.read([deployment("c", "conduktor/conduktor-console:1", replicas=None)], "conduktor")
    v = decide("CDK-HA-01", ITEMS["CDK-HA-01"](e))
    assert v.status == "fail" and "1 replica" in v.message and "Kubernetes default" in v.message
    e = cdk.read([deployment("c", "conduktor/conduktor-console:1", replicas="{{ .Values.replicas }}")], "conduktor")
    v = decide("CDK-HA-01", ITEMS["CDK-HA-01"](e))
    assert v.status == "error" and "not a number" in v.message


def test_hpa_floor_counts_for_ha():
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "c", "namespace": "conduktor"},
           "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "c"}, "minReplicas": 1, "maxReplicas": 4}}
    e = cdk.read([deployment("c", "conduktor/conduktor-console:1", replicas=3), hpa], "conduktor")
    v = decide("CDK-HA-01", ITEMS["CDK-HA-01"](e))
    assert v.status == "fail" and "HorizontalPodAutoscaler minReplicas of 1" in v.message


def test_cortex_disabled_is_a_finding_of_its_own_and_two_cortex_fail():
    e = cdk.read([deployment("console", "conduktor/conduktor-console:1")], "conduktor")
    v = decide("CDK-HA-03", ITEMS["CDK-HA-03"](e))
    assert v.status == "fail" and "Cortex is not deployed" in v.message and "no Cortex replica to count" in v.message
    e = cdk.read([deployment("cortex", "conduktor/conduktor-console-cortex:1", replicas=2)], "conduktor")
    assert decide("CDK-HA-03", ITEMS["CDK-HA-03"](e)).status == "fail"
    e = cdk.read([deployment("cortex", "conduktor/conduktor-console-cortex:1", replicas=1)], "conduktor")
    assert decide("CDK-HA-03", ITEMS["CDK-HA-03"](e)).status == "pass"


def test_nothing_found_is_error_not_pass():
    e = cdk.read([deployment("x", "nginx:1")], "conduktor")
    for control, build in ITEMS.items():
        assert decide(control, build(e)).status == "error", control


# --------------------------------------------------------------------------- CDK-DB-01 / 02


def _db(**kw):
    base = dict(resource="postgresql://db:5432/conduktor as conduktor", engine="postgres", version="15.8",
                session_ssl=True, non_tls_refused=True, non_tls_evidence="no pg_hba.conf entry ... no encryption")
    base.update(kw)
    return DatabaseServer(**base)


def test_db01_version_and_tls():
    assert decide("CDK-DB-01", cdk.database_items([_db()])).status == "pass"
    v = decide("CDK-DB-01", cdk.database_items([_db(version="12.19")]))
    assert v.status == "fail" and "older than 13" in v.message
    v = decide("CDK-DB-01", cdk.database_items([_db(non_tls_refused=False, non_tls_evidence="accepted")]))
    assert v.status == "fail" and "without TLS" in v.message
    v = decide("CDK-DB-01", cdk.database_items([_db(session_ssl=False)]))
    assert v.status == "fail" and "pg_stat_ssl" in v.message
    v = decide("CDK-DB-01", cdk.database_items([_db(version=Unknown("the server could not be reached", "db:5432"))]))
    assert v.status == "error" and "could not be reached" in v.message
    assert decide("CDK-DB-01", []).status == "error"


def test_db02_rds_and_self_hosted():
    ok = _db(rds_instance="conduktor-db", multi_az=True, backup_retention_days=7)
    assert decide("CDK-DB-02", cdk.database_items([ok])).status == "pass"
    v = decide("CDK-DB-02", cdk.database_items([_db(rds_instance="conduktor-db", multi_az=False, backup_retention_days=0)]))
    assert v.status == "fail" and "not Multi-AZ" in v.message and "no automated backups" in v.message
    assert decide("CDK-DB-02", cdk.database_items([_db(streaming_replicas=1,
                                                       backup_evidence="pgBackRest stanza conduktor")])).status == "pass"
    v = decide("CDK-DB-02", cdk.database_items([_db(streaming_replicas=0, backup_evidence="nightly pg_dump")]))
    assert v.status == "fail" and "pg_stat_replication" in v.message
    v = decide("CDK-DB-02", cdk.database_items([_db(streaming_replicas=1, backup_evidence=None)]))
    assert v.status == "error" and "backup evidence" in v.message


# --------------------------------------------------------------------------- CDK-SEC-05


def _principal(acls, **ctx):
    return KafkaPrincipal("User:conduktor-gateway", "User:conduktor-gateway", "gateway", "target",
                          tuple(acls), "kafka 127.0.0.1:9094 (DescribeAcls)", ctx)


def test_sec05_documented_set_passes_and_missing_or_broader_fail():
    p = "User:conduktor-gateway"
    acls = documented_acls(p)
    assert decide("CDK-SEC-05", cdk.principal_items([_principal(acls)])).status == "pass"
    v = decide("CDK-SEC-05", cdk.principal_items([_principal(acls[1:])]))
    assert v.status == "fail" and "missing: ALLOW READ on TOPIC prefixed '_conduktor_gateway_'" in v.message
    for extra, why in [(AclEntry(p, "CLUSTER", "kafka-cluster", "LITERAL", "ALL"), "ALL on cluster"),
                       (AclEntry(p, "TOPIC", "*", "LITERAL", "DELETE"), "DELETE on every topic"),
                       (AclEntry(p, "TOPIC", "", "PREFIXED", "ALTER"), "ALTER on every topic"),
                       (AclEntry(p, "CLUSTER", "kafka-cluster", "LITERAL", "ALTER"), "ALTER on the cluster")]:
        v = decide("CDK-SEC-05", cdk.principal_items([_principal([*acls, extra])]))
        assert v.status == "fail" and "broader than the Gateway needs" in v.message and why in v.message, v.message


def test_sec05_all_covers_what_is_needed_but_is_itself_a_finding():
    p = "User:conduktor-gateway"
    v = decide("CDK-SEC-05", cdk.principal_items([_principal([
        AclEntry(p, "TOPIC", "*", "LITERAL", "ALL"), AclEntry(p, "GROUP", "*", "LITERAL", "ALL"),
        AclEntry(p, "CLUSTER", "kafka-cluster", "LITERAL", "ALL")])]))
    whats = [f.what for f in v.findings]
    assert v.status == "fail" and not [w for w in whats if w.startswith("missing")], whats
    assert len([w for w in whats if "broader" in w]) == 3, whats


def test_sec05_cluster_id_and_group_from_the_deployment_and_unknown_acls():
    p = "User:gw"
    acls = documented_acls(p, "edge", "my-group")
    items = cdk.principal_items([_principal(acls, cluster_id="edge", group_id="my-group")])
    assert decide("CDK-SEC-05", items).status == "pass"
    items = cdk.principal_items([_principal(acls)])  # documented default cluster id "gateway": prefix differs
    assert decide("CDK-SEC-05", items).status == "fail"
    unknown = KafkaPrincipal("User:gw", "User:gw", "gateway", acls=Unknown("DescribeAcls refused: not authorized"))
    v = decide("CDK-SEC-05", cdk.principal_items([unknown]))
    assert v.status == "error" and "not authorized" in v.message
    # the rule itself names the unknown fact (no TypeError from iterating an Unknown)
    raw = cdk.gateway_principal(cdk.principal_items([unknown]))
    assert raw.status == "error" and "TypeError" not in raw.message, raw.message
    assert [u.fact for u in raw.unknowns] == ["the ACLs of User:gw"] and "not authorized" in raw.unknowns[0].reason
    # a known violation beside an unknown fact still fails
    both = cdk.principal_items([unknown, _principal(acls[1:])])
    assert decide("CDK-SEC-05", both).status == "fail"
    assert decide("CDK-SEC-05", []).status == "error"
    assert json.dumps(v.to_json())


def test_sensitive_keys():
    for k in ("CDK_ADMIN_PASSWORD", "CDK_DATABASE_URL", "CDK_SSO_OAUTH2_0_CLIENTSECRET", "KAFKA_SASL_JAAS_CONFIG",
              "GATEWAY_ADMIN_API_USERS", "GATEWAY_SSL_KEY_STORE_PASSWORD", "CDK_CLUSTERS_0_PROPERTIES"):
        assert sensitive(k), k
    for k in ("CDK_ADMIN_EMAIL", "GATEWAY_SECURITY_PROTOCOL", "CDK_DATABASE_PASSWORD_FILE", "CDK_ROOT_LOG_FORMAT"):
        assert not sensitive(k), k


# --------------------------------------------------------------------------- the real charts' defaults


def test_the_real_charts_defaults_fail_as_the_facts_say():
    """Conduktor's charts with their defaults (tests/cdk/fixtures/charts-defaults.yaml, written from
    their templates): each control fails for the documented reason; OPS-01 and HA-03 pass (the charts
    default requests/limits and one Cortex)."""
    import yaml
    from pathlib import Path

    docs = [d for d in yaml.safe_load_all((Path(__file__).parent / "fixtures" / "charts-defaults.yaml").read_text())
            if d]
    e = cdk.read(docs, "conduktor")
    assert {c.kind for c in e.components} == {"console", "cortex", "gateway"}
    got = {cid: decide(cid, build(e)) for cid, build in ITEMS.items()}
    expect = {
        "CDK-HA-01": ["1 replica", "fewer than 2"],
        "CDK-HA-02": ["2 replica", "fewer than 3"],
        "CDK-ST-01": ["requests no ephemeral-storage", "data: emptyDir without sizeLimit"],
        "CDK-SEC-01": ["plain HTTP", "GATEWAY_HTTPS_KEY_STORE_PATH", "listener INTERNAL", "PLAINTEXT"],
        "CDK-SEC-02": ["admin/conduktor"],
        "CDK-SEC-03": ["no SSO"],
        "CDK-SEC-04": ["container gateway", "runAsNonRoot is not true", "allowPrivilegeEscalation"],
        "CDK-OPS-02": ["no ServiceMonitor", "no PrometheusRule"],
        "CDK-OPS-03": ["CDK_ROOT_LOG_FORMAT", "documented default", "LOG4J2_APPENDER_LAYOUT"],
        "CDK-NET-01": ["routes by PORT", "no Service of type LoadBalancer"],
    }
    for cid, words in expect.items():
        v = got[cid]
        assert v.status == "fail", (cid, v.message)
        for w in words:
            assert w in v.message, (cid, w, v.message)
    assert got["CDK-OPS-01"].status == "pass", got["CDK-OPS-01"].message
    assert got["CDK-HA-03"].status == "pass", got["CDK-HA-03"].message
    # the Console's credentials come from the chart's Secret: not findings
    assert "CDK_ADMIN_PASSWORD" not in got["CDK-SEC-02"].message
    assert "placeholder" not in json.dumps([v.to_json() for v in got.values()])


def test_database_url_with_a_password_fails_without_one_passes():
    def console(url):
        return deployment("c", "conduktor/conduktor-console:1", env=[{"name": "CDK_DATABASE_URL", "value": url}])
    v = decide("CDK-SEC-02", ITEMS["CDK-SEC-02"](cdk.read([console(f"postgresql://conduktor:{SECRET}@db:5432/c")],
                                                          "conduktor")))
    assert v.status == "fail" and "CDK_DATABASE_URL" in v.message and SECRET not in json.dumps(v.to_json())
    v = decide("CDK-SEC-02", ITEMS["CDK-SEC-02"](cdk.read([console("jdbc:postgresql://db:5432/c?sslmode=require")],
                                                          "conduktor")))
    assert v.status == "pass", v.message


def test_live_reader_helpers_say_where_the_settings_are():
    import yaml
    from pathlib import Path

    docs = [d for d in yaml.safe_load_all((Path(__file__).parent / "fixtures" / "charts-defaults.yaml").read_text())
            if d]
    e = cdk.read(docs, "conduktor")
    (db,) = cdk.console_database_settings(e)
    assert db["host"]["value"] == "postgresql.db.svc.cluster.local" and db["name"]["value"] == "conduktor"
    assert db["user"]["where"] == "Secret conduktor/console-platform key CDK_DATABASE_USERNAME"
    assert db["user"]["value"] is None
    (gw,) = cdk.gateway_principal_context(e)
    assert gw["cluster_id"] == "gateway" and gw["group_id"] == "conduktor_gateway"
    assert "documented default" in gw["cluster_id_from"]


def test_gateway_pvc_is_fine_with_a_large_message_interceptor_in_its_mounted_file():
    dep = deployment("gw", "conduktor/conduktor-gateway:3.10",
                     env=[{"name": "GATEWAY_INTERCEPTOR_CONFIG_LOCATION", "value": "/etc/gw/interceptors.json"}],
                     volumes=[{"name": "cfg", "configMap": {"name": "gw-int"}},
                              {"name": "cache", "persistentVolumeClaim": {"claimName": "c"}}],
                     mounts=[{"name": "cfg", "mountPath": "/etc/gw"}, {"name": "cache", "mountPath": "/cache"}])
    plugin = '[{"name": "large", "pluginClass": "io.conduktor.gateway.interceptor.LargeMessageHandlingPlugin"}]'
    assert decide("CDK-ST-01", ITEMS["CDK-ST-01"](cdk.read([dep, configmap("gw-int", {"interceptors.json": plugin})],
                                                          "conduktor"))).status == "pass"
    v = decide("CDK-ST-01", ITEMS["CDK-ST-01"](cdk.read([dep, configmap("gw-int", {"interceptors.json": "[]"})],
                                                        "conduktor")))
    assert v.status == "fail" and "persistent volume(s) cache" in v.message
    v = decide("CDK-ST-01", ITEMS["CDK-ST-01"](cdk.read([dep], "conduktor")))
    assert v.status == "error" and "ConfigMap conduktor/gw-int" in v.message
