"""K8S-05 looks into structured values: a Keycloak realm export or a Spring application.yaml inside
a ConfigMap, the values a k3s/RKE2 HelmChart (``set:``, ``valuesContent``), a Flux HelmRelease or an
Argo CD Application give their chart. Each leaf is a fact under its path; a credential there fails,
a reference, a masked export or a Secret's name does not. No value reaches a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REALM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: keycloak-realm
  namespace: identity
data:
  realm.json: |
    {
      "realm": "conduktor",
      "enabled": true,
      "sslRequired": "external",
      "clients": [
        {
          "clientId": "conduktor-console",
          "enabled": true,
          "clientAuthenticatorType": "client-secret",
          "secret": "%s",
          "redirectUris": ["https://console.example.com/*"],
          "attributes": {"pkce.code.challenge.method": "S256"}
        }
      ]
    }
"""

SPRING = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: orchestrator-config
  namespace: platform
data:
  application.yaml: |
    server:
      port: 8080
    spring:
      datasource:
        url: jdbc:postgresql://platform-db:5432/platform
        username: platform
        password: %s
"""

HELMCHART = """\
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata:
  name: postgresql
  namespace: kube-system
spec:
  repo: https://charts.bitnami.com/bitnami
  chart: postgresql
  version: 15.5.20
  targetNamespace: data
  set:
    global.postgresql.auth.%s
    primary.persistence.size: "20Gi"
  valuesContent: |-
    auth:
      username: platform
      database: platform
    tls:
      enabled: true
      secret: postgresql-tls
"""

ARGO = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: gateway
  namespace: argocd
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: conduktor}
  source:
    repoURL: https://helm.conduktor.io
    chart: conduktor-gateway
    targetRevision: 3.5.0
    helm:
      parameters:
        - name: gateway.env.GATEWAY_ADMIN_API_USERS
          value: '[{"username":"admin","password":"%s"}]'
        - name: gateway.replicas
          value: "2"
"""

CASES = [
    ("realm-client-secret", REALM % "q8Vt3nX1bR7mK2pL9sD4fG6hJ0wZ5cYe", "fail", "realm.json.clients[0].secret"),
    ("realm-reference", REALM % "${CONSOLE_CLIENT_SECRET}", "pass", None),
    ("realm-masked-export", REALM % "**********", "pass", None),
    ("spring-password", SPRING % "Pr0d-Db-Pass!", "fail", "application.yaml.spring.datasource.password"),
    ("spring-placeholder", SPRING % "${DB_PASSWORD}", "pass", None),
    ("helmchart-set-password", HELMCHART % 'postgresPassword: "Zr8#pQ2vLm9x"', "fail",
     "global.postgresql.auth.postgresPassword"),
    ("helmchart-existing-secret", HELMCHART % "existingSecret: postgresql-auth", "pass", None),
    ("argo-parameter-json", ARGO % "Adm1n-Gw-2026", "fail", "gateway.env.GATEWAY_ADMIN_API_USERS[0].password"),
]


@pytest.mark.parametrize("case, text, status, key", CASES, ids=[c[0] for c in CASES])
def test_structured_values_are_looked_into(tmp_path: Path, case, text, status, key):
    from asbuilt import static
    from asbuilt.catalogue import load_profile

    path = tmp_path / "manifests" / f"{case}.yaml"
    path.parent.mkdir()
    path.write_text(text)
    result = static.scan([path], load_profile("conncentric-aws"), [], tmp_path / "r", controls={"K8S-05"})
    v = next(v for v in result.verdicts if v.control == "K8S-05")
    assert v.status == status, v.message
    if key:
        assert key in v.message and f"{case}.yaml:" in v.message
    written = json.dumps([v.message, [f.__dict__ for f in v.findings], v.evidence], default=str)
    for secret in ("q8Vt3nX1bR7", "Pr0d-Db-Pass", "Zr8#pQ2v", "Adm1n-Gw"):
        assert secret not in written


def test_a_secret_name_under_secret_is_a_setting():
    from asbuilt.model.k8s import values_settings
    from asbuilt.rules.k8s import no_literal_credentials

    facts = values_settings({"tls": {"secret": "postgresql-tls"}, "oidc": {"clientSecret": "${OIDC_SECRET}"}},
                            "values.yaml")
    assert no_literal_credentials(facts).status == "pass"
