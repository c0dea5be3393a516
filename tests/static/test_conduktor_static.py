"""CDK-* static checks on the Conduktor reference (examples/reference/conduktor): the reference
passes every static CDK control; each broken variant (a fresh copy with one edit, the way real
deployments go wrong) fails exactly its control, naming the resource (file:line) and the fix;
an unknown fact gives error, not pass.

Two flavours: the umbrella chart rendered with the real helm (release/namespace ``conduktor``,
values/production.yaml), and the hand-written Gateway manifests (no chart)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.static.helpers import REFERENCE, Edit, replace

CDK = REFERENCE / "conduktor"
V = "values/production.yaml"
M = "manifests/gateway-edge.yaml"
CONSOLE_T = "charts/console/templates/platform/deployment.yaml"
CORTEX_T = "charts/console/templates/platform-cortex/deployment.yaml"
GATEWAY_T = "charts/conduktor-gateway/templates/deployment.yaml"
STATIC_CDK = ("CDK-HA-01", "CDK-HA-02", "CDK-HA-03", "CDK-ST-01", "CDK-SEC-01", "CDK-SEC-02", "CDK-SEC-03",
              "CDK-SEC-04", "CDK-OPS-01", "CDK-OPS-02", "CDK-OPS-03", "CDK-NET-01")


@dataclass
class Case:
    id: str
    control: str
    flavour: str              # chart | manifests
    edits: list[Edit]
    file: str                 # the file the message names with a line
    anchor: str               # text on that line
    words: list[str] = field(default_factory=list)
    status: str = "fail"

    def __str__(self) -> str:
        return self.id


_GATEWAY_SC = """    securityContext:
      runAsNonRoot: true
      runAsUser: 1001
      privileged: false
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
    volumes:"""
_JAAS = ('      KAFKA_SASL_JAAS_CONFIG: \'org.apache.kafka.common.security.scram.ScramLoginModule required '
         'username="conduktor-gateway" password="gw-Jaas-Passw0rd-in-values";\'\n')

CASES = [
    # the chart defaults a real deployment keeps by mistake
    Case("chart-console-default-1-replica", "CDK-HA-01", "chart",
         [replace(V, "    replicaCount: 2\n", "")], CONSOLE_T, "kind: Deployment", ["1 replica", "fewer than 2",
                                                                                       "platform.replicaCount"]),
    Case("chart-gateway-default-2-replicas", "CDK-HA-02", "chart",
         [replace(V, "    replicas: 3\n", "")], GATEWAY_T, "kind: Deployment", ["2 replica", "fewer than 3",
                                                                                   "gateway.replicas"]),
    Case("chart-cortex-scaled-to-2", "CDK-HA-03", "chart",
         [replace(V, "    replicaCount: 1\n", "    replicaCount: 2\n")], CORTEX_T, "kind: Deployment",
         ["2 replicas", "single instance", "platformCortex.replicaCount: 1"]),
    Case("chart-cortex-disabled", "CDK-HA-03", "chart",
         [replace(V, "  platformCortex:\n    enabled: true\n", "  platformCortex:\n    enabled: false\n")],
         CONSOLE_T, "kind: Deployment", ["Cortex is not deployed", "no Cortex replica to count"]),
    Case("chart-console-no-ephemeral-request", "CDK-ST-01", "chart",
         [replace(V, "requests: {cpu: 1000m, memory: 2Gi, ephemeral-storage: 2Gi}", "requests: {cpu: 1000m, memory: 2Gi}"),
          replace(V, "limits: {cpu: 3000m, memory: 4Gi, ephemeral-storage: 4Gi}", "limits: {cpu: 3000m, memory: 4Gi}")],
         CONSOLE_T, "kind: Deployment", ["requests no ephemeral-storage", "2Gi"]),
    Case("chart-gateway-pvc-without-interceptor", "CDK-ST-01", "chart",
         [replace(V, "      - name: tmp\n        emptyDir: {sizeLimit: 512Mi}\n",
                  "      - name: tmp\n        emptyDir: {sizeLimit: 512Mi}\n      - name: cache\n"
                  "        persistentVolumeClaim: {claimName: gateway-cache}\n")],
         GATEWAY_T, "kind: Deployment", ["persistent volume(s) cache", "LargeMessageHandlingPlugin"]),
    Case("chart-internal-listener-plaintext-default", "CDK-SEC-01", "chart",
         [replace(V, "      internal:\n        securityProtocol: SASL_SSL\n", "      internal:\n")],
         GATEWAY_T, "kind: Deployment", ["listener INTERNAL", "PLAINTEXT", "not SASL_SSL"]),
    Case("chart-console-plain-http", "CDK-SEC-01", "chart",
         [replace(V, "      https:\n        existingSecret: conduktor-console-tls\n", "      https: {}\n")],
         CONSOLE_T, "kind: Deployment", ["plain HTTP", "config.platform.https.existingSecret"]),
    Case("chart-jaas-password-in-gateway-env", "CDK-SEC-02", "chart",
         [replace(V, "      KAFKA_SASL_MECHANISM: SCRAM-SHA-512\n", "      KAFKA_SASL_MECHANISM: SCRAM-SHA-512\n" + _JAAS)],
         GATEWAY_T, "kind: Deployment", ["KAFKA_SASL_JAAS_CONFIG", "ConfigMap conduktor/conduktor-gateway",
                                         "gateway.secretRef"]),
    Case("chart-oidc-client-secret-in-console-config", "CDK-SEC-02", "chart",
         [replace(V, 'client-secret: "${OIDC_CLIENT_SECRET}"', 'client-secret: "oidc-Client-Secret-written-here"')],
         CONSOLE_T, "kind: Deployment", ["CDK_SSO_OAUTH2_0_CLIENTSECRET", "sso.oauth2[0].client-secret",
                                         "not from a Secret"]),
    Case("chart-ldap-only", "CDK-SEC-03", "chart",
         [replace(V, "      oauth2:\n", "      ldap:\n")], CONSOLE_T, "kind: Deployment", ["LDAP only", "OIDC"]),
    Case("chart-gateway-securitycontext-default", "CDK-SEC-04", "chart",
         [replace(V, _GATEWAY_SC, "    securityContext: {}\n    volumes:")], GATEWAY_T, "kind: Deployment",
         ["container gateway", "allowPrivilegeEscalation", "readOnlyRootFilesystem", "gateway.securityContext"]),
    Case("chart-console-no-limits", "CDK-OPS-01", "chart",
         [replace(V, "      limits: {cpu: 3000m, memory: 4Gi, ephemeral-storage: 4Gi}\n", "      limits: null\n")],
         CONSOLE_T, "kind: Deployment", ["limits.cpu", "limits.memory", "platform.resources"]),
    Case("chart-gateway-no-servicemonitor", "CDK-OPS-02", "chart",
         [replace(V, "    prometheus:\n      enable: true\n", "    prometheus:\n      enable: false\n")],
         GATEWAY_T, "kind: Deployment", ["no ServiceMonitor or PodMonitor selects the Gateway",
                                         "metrics.prometheus.enable"]),
    Case("chart-console-text-logs", "CDK-OPS-03", "chart",
         [replace(V, "      - name: CDK_ROOT_LOG_FORMAT\n        value: JSON\n", "")], CONSOLE_T, "kind: Deployment",
         ["CDK_ROOT_LOG_FORMAT", "documented default", "TEXT"]),
    Case("chart-external-listener-port-routing", "CDK-NET-01", "chart",
         [replace(V, "        routing: sni\n        ports: [\"9092\"]", "        routing: port\n        ports: [\"9092\"]")],
         GATEWAY_T, "kind: Deployment", ["listener EXTERNAL", "not SNI", "routing: sni"]),
    # hand-written manifests (legacy single-listener env keys)
    Case("manifest-legacy-port-routing", "CDK-NET-01", "manifests",
         [replace(M, "value: host\n", "value: port\n")], M, "kind: Deployment",
         ["routes by PORT", "GATEWAY_ROUTING_MECHANISM"]),
    Case("manifest-gateway-default-admin-user", "CDK-SEC-02", "manifests",
         [replace(M, "            - name: GATEWAY_ADMIN_API_USERS\n              valueFrom:\n                secretKeyRef:\n"
                     "                  name: gateway-edge-admin\n                  key: users\n", "")],
         M, "kind: Deployment", ["admin/conduktor", "GATEWAY_ADMIN_API_USERS"]),
    Case("manifest-no-load-balancer", "CDK-NET-01", "manifests",
         [replace(M, "  type: LoadBalancer\n", "  type: ClusterIP\n")], M, "kind: Deployment",
         ["no Service of type LoadBalancer"]),
    # unknown facts: error, never pass
    Case("manifest-replicas-unresolved", "CDK-HA-02", "manifests",
         [replace(M, "  replicas: 3\n", "  replicas: \"${GATEWAY_REPLICAS}\"\n")], M, "kind: Deployment",
         ["spec.replicas", "GATEWAY_REPLICAS", "not a number"], status="error"),
    Case("manifest-protocol-from-unread-configmap", "CDK-SEC-01", "manifests",
         [replace(M, "            - name: GATEWAY_SECURITY_PROTOCOL\n              value: SASL_SSL\n", ""),
          replace(M, "          ports:\n            - name: kafka\n",
                  "          envFrom:\n            - configMapRef:\n                name: gateway-edge-settings\n"
                  "          ports:\n            - name: kafka\n")],
         M, "kind: Deployment", ["GATEWAY_LISTENER_NAMES", "ConfigMap conduktor/gateway-edge-settings", "not among them"],
         status="error"),
]


def _prepare(tmp: Path, flavour: str) -> tuple[Path, list[Path]]:
    root = tmp / "conduktor"
    shutil.copytree(CDK, root)
    return root, ([root / "chart"] if flavour == "chart" else [root / "manifests"])


def _scan(root: Path, paths: list[Path], flavour: str, report_dir: Path):
    from asbuilt.catalogue import load_profile
    from asbuilt.static import write_sarif
    from asbuilt.static.engine import Scan, discover_paths

    values = [root / V] if flavour == "chart" else []
    profile = load_profile("conduktor-k8s")
    result = Scan(discover_paths(paths, values, "conduktor", "conduktor"), profile, None, False).run()
    write_sarif(result, profile, report_dir)
    return result


_BASE: dict[str, dict[str, str]] = {}


def _baseline(flavour: str, tmp_path_factory) -> dict[str, str]:
    if flavour not in _BASE:
        tmp = tmp_path_factory.mktemp(f"cdk-{flavour}")
        root, paths = _prepare(tmp, flavour)
        result = _scan(root, paths, flavour, tmp / "reports")
        found = {v.control: v.status for v in result.verdicts}
        bad = {v.control: v.message for v in result.verdicts if v.status != "pass"}
        assert not bad, bad
        _BASE[flavour] = found
    return _BASE[flavour]


def test_reference_passes_every_static_cdk_control(tmp_path_factory):
    chart = _baseline("chart", tmp_path_factory)
    manifests = _baseline("manifests", tmp_path_factory)
    assert set(STATIC_CDK) <= set(chart), sorted(set(STATIC_CDK) - set(chart))
    assert {"CDK-HA-02", "CDK-SEC-01", "CDK-SEC-02", "CDK-SEC-04", "CDK-OPS-01", "CDK-OPS-02", "CDK-OPS-03",
            "CDK-NET-01", "CDK-ST-01"} <= set(manifests)


def _points_at(message: str, root: Path, file: str, anchor: str) -> None:
    hits = re.findall(rf"([^\s(;,]*{re.escape(file)}):(\d+)", message)
    assert hits, f"no {file}:<line> in: {message}"
    for _name, line in hits:
        lines = (root / ("chart/" + file if not file.startswith("manifests") else file)).read_text().splitlines()
        if 0 < int(line) <= len(lines) and anchor in lines[int(line) - 1]:
            return
    raise AssertionError(f"none of {hits} holds {anchor!r}: {message}")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_broken_variant_fails_only_its_control(case: Case, tmp_path, tmp_path_factory):
    base = _baseline(case.flavour, tmp_path_factory)
    root, paths = _prepare(tmp_path, case.flavour)
    for edit in case.edits:
        edit(root)
    result = _scan(root, paths, case.flavour, tmp_path / "reports")
    found = {v.control: v for v in result.verdicts}
    verdict = found.get(case.control)
    assert verdict is not None and verdict.status == case.status, verdict
    message = verdict.message
    for word in case.words:
        assert word in message, f"{word!r} not in: {message}"
    if case.status == "fail":
        _points_at(message, root, case.file, case.anchor)
        assert "Fix: " in message, message
    else:
        assert verdict.unknowns, verdict
    changed = {c: (base.get(c), v.status) for c, v in found.items() if c != case.control and base.get(c) != v.status
               and not (case.status == "error" and v.status == "error")}  # an unread source is unread for all
    assert not changed, f"other controls changed verdict: {changed}"
    if case.status == "fail":  # the SARIF result points at a file
        import json

        sarif = json.loads((tmp_path / "reports" / "results.sarif").read_text())
        results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == case.control]
        assert results and all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
    # no secret written in the edit reaches a report
    for f in (tmp_path / "reports").rglob("*"):
        if f.is_file():
            text = f.read_text(errors="replace")
            assert "gw-Jaas-Passw0rd-in-values" not in text and "oidc-Client-Secret-written-here" not in text
    assert "gw-Jaas-Passw0rd-in-values" not in str([v.to_json() for v in result.verdicts])
    assert "oidc-Client-Secret-written-here" not in str([v.to_json() for v in result.verdicts])
