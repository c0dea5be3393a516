"""A chart with ``dependencies:`` (a bitnami PostgreSQL subchart, as umbrella charts declare it)
whose charts/ folder was never filled: helm cannot render it, and the scan says so. Every control
over the rendered chart is ``error`` naming `helm dependency build`; nothing passes and the run
does not stop. Once the dependency is in charts/ the chart is rendered and judged."""

from __future__ import annotations

import json
from pathlib import Path

CHART = """\
apiVersion: v2
name: platform
description: The platform and its database
type: application
version: 1.4.0
appVersion: "2.3.1"
dependencies:
  - name: postgresql
    version: 15.5.20
    repository: oci://registry-1.docker.io/bitnamicharts
    condition: postgresql.enabled
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-portal
  labels:
    app.kubernetes.io/name: portal
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: portal
  template:
    metadata:
      labels:
        app.kubernetes.io/name: portal
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: portal
          image: "registry.example.com/portal:2.3.1"
          securityContext:
            allowPrivilegeEscalation: false
            privileged: false
            readOnlyRootFilesystem: true
          resources:
            requests: {cpu: 250m, memory: 512Mi}
            limits: {cpu: "1", memory: 1Gi}
"""


def _chart(tmp_path: Path) -> Path:
    chart = tmp_path / "platform"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "values.yaml").write_text("postgresql:\n  enabled: true\n")
    (chart / "templates" / "deployment.yaml").write_text(DEPLOYMENT)
    return chart


def test_missing_dependencies_are_an_error_naming_helm_dependency_build(tmp_path):
    from asbuilt.cli import main

    chart = _chart(tmp_path)
    report = tmp_path / "r"
    code = main(["static", str(chart), "--report-dir", str(report)])
    assert code in (1, 2)  # never conforming (exit 0), never a crash (HELM-01 judges the values it has)
    results = {c["id"]: c for c in json.loads((report / "results.json").read_text())["controls"]}
    for control in ("K8S-03", "K8S-04", "K8S-05"):
        c = results[control]
        assert c["status"] == "error", (control, c["message"])
        assert "helm dependency build" in c["message"] and "postgresql 15.5.20" in c["message"]
    assert any("helm dependency build" in n for n in json.loads((report / "results.json").read_text())
               ["run"]["coverage"]["static"]["not_read"])


def test_a_vendored_dependency_is_rendered(tmp_path):
    from asbuilt.static.kubernetes import missing_dependencies

    chart = _chart(tmp_path)
    assert missing_dependencies(chart) == ["postgresql 15.5.20 (oci://registry-1.docker.io/bitnamicharts)"]
    sub = chart / "charts" / "postgresql"
    (sub / "templates").mkdir(parents=True)
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: postgresql\nversion: 15.5.20\n")
    assert missing_dependencies(chart) == []
    from tests.static.helpers import scan

    by = {v.control: v for v in scan([chart], [], tmp_path / "r").verdicts}
    assert by["K8S-03"].status == "pass", by["K8S-03"].message
