"""The Conduktor layer of the sandbox: the Conduktor reference (examples/reference/conduktor/,
described by ``asbuilt_sandbox.conduktor_reference``) installed with the real helm CLI into
namespace ``conduktor`` of the sandbox's kube-apiserver, on every ``sandbox up``.

Runs after the platform layer (whose ``kube_reset`` already emptied the cluster, CRDs included),
so each ``up`` is a fresh install:

1. Namespace ``conduktor`` and the Secrets the chart references but does not render (what a
   secret manager creates in a real cluster), filled with the sandbox's own generated values
   (0600 files under ``state_dir()/conduktor``, kept across ups): the Console's admin account,
   its database settings (``CDK_DATABASE_URL`` = the sandbox PostgreSQL's ``conduktor`` database,
   TLS verify-full; user ``conduktor``; its password), a license and the OIDC client secret
   placeholders, the Gateway's JAAS config for its SCRAM principal on the sandbox Kafka's SASL_SSL
   listener, its admin API users, and the TLS material (a PEM pair for the Console, a PKCS#12
   keystore for the Gateway) issued by a CA of the sandbox.
2. ``helm upgrade --install conduktor <chart> -n conduktor -f values/production.yaml
   -f values/sandbox.yaml -f <generated>``: the generated values point the Gateway at the sandbox
   Kafka's SASL_SSL bootstrap. The chart's ``crds/`` (ServiceMonitor, PrometheusRule) are
   installed by helm before the release's objects.
3. Drifts (``Drift.kube``): ``conduktor_values`` merged into the generated values,
   ``conduktor_patches`` (strategic merge patches after helm, as ``kubectl edit``) and
   ``conduktor_secret_drop`` ({Secret: [keys]} left out of the Secrets the sandbox makes).

No container runs: the platform agent (``asbuilt_sandbox.agent``) keeps the Deployments' Pod
objects and statuses, as for the platform release.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import yaml

from asbuilt_sandbox import pki
from asbuilt_sandbox.parts.base import PartError, state_dir, write_private

PART = "conduktor"
CA_NAME = "asbuilt sandbox Conduktor CA"
ADMIN_EMAIL = "admin@asbuilt.sandbox"


def home() -> Path:
    path = state_dir() / "conduktor"
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _generated(name: str) -> str:
    """A generated secret value of the sandbox, kept in a 0600 file (never printed)."""
    path = home() / f"{name}.secret"
    if not path.is_file():
        write_private(path, secrets.token_urlsafe(24).encode())
    return path.read_text().strip()


def _tls_material() -> dict[str, bytes]:
    """Console TLS pair (PEM) and Gateway keystore (PKCS#12, keytool's default type), one CA."""
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    ca = pki.CA.ensure(home() / "ca.crt", home() / "ca.key", CA_NAME)
    cert, key = ca.issue("conduktor-console.conduktor.svc", server=True,
                         dns=["conduktor-console", "conduktor-console.conduktor.svc", "console.example.internal"])
    gcert, gkey = ca.issue("gateway.kafka.example.internal", server=True,
                           dns=["gateway.kafka.example.internal", "*.gateway.kafka.example.internal",
                                "conduktor-gateway-internal.conduktor.svc"])
    password = _generated("gateway-keystore-password")
    keystore = pkcs12.serialize_key_and_certificates(b"gateway", gkey, gcert, [ca.cert],
                                                     BestAvailableEncryption(password.encode()))
    return {"tls.crt": pki.cert_pem(cert) + pki.cert_pem(ca.cert), "tls.key": pki.key_pem(key),
            "keystore.jks": keystore, "ca.crt": pki.cert_pem(ca.cert)}


def secret_data(ref, pg: dict, kafka: dict, gateway_user: str) -> dict[str, dict[str, bytes]]:
    """name -> {key: value} for every Secret the reference chart references (ref.SECRET_ENV and
    ref.SECRET_FILES): the sandbox's own values."""
    db = pg["conduktor"]
    db_password = Path(db["password_file"]).read_text().strip()
    gw_password = Path(next(p["password_file"] for p in kafka.get("principals", [])
                            if p["principal"] == f"User:{gateway_user}")).read_text().strip()
    url = f"postgresql://{pg['host']}:{pg['port']}/{db['dbname']}?sslmode=verify-full"
    values = {
        "CDK_ADMIN_EMAIL": ADMIN_EMAIL,
        "CDK_ADMIN_PASSWORD": _generated("console-admin-password"),
        "CDK_DATABASE_URL": url,
        "CDK_DATABASE_USERNAME": db["user"],
        "CDK_DATABASE_PASSWORD": db_password,
        "CDK_LICENSE": "sandbox-no-license-" + _generated("console-license")[:8],
        "client-secret": _generated("oidc-client-secret"),
        "KAFKA_SASL_JAAS_CONFIG": ('org.apache.kafka.common.security.scram.ScramLoginModule required '
                                   f'username="{gateway_user}" password="{gw_password}";'),
        "GATEWAY_ADMIN_API_USERS": json.dumps([{"username": "admin", "password": _generated("gateway-admin-password"),
                                                "admin": True}]),
        "GATEWAY_USER_POOL_SECRET_KEY": _generated("gateway-user-pool-key"),
        "GATEWAY_LICENSE_KEY": "sandbox-no-license-" + _generated("gateway-license")[:8],
        "password": _generated("gateway-keystore-password"),
    }
    out: dict[str, dict[str, bytes]] = {}
    for name, keys in ref.SECRET_ENV.items():
        missing = [k for k in keys if k not in values]
        if missing:
            raise PartError(PART, f"no sandbox value for {name} key(s) {', '.join(missing)}")
        out[name] = {k: values[k].encode() for k in keys}
    files = _tls_material()
    for name, keys in ref.SECRET_FILES.items():
        missing = [k for k in keys if k not in files]
        if missing:
            raise PartError(PART, f"no sandbox file for {name} key(s) {', '.join(missing)}")
        out[name] = {k: files[k] for k in keys}
    return out


def generated_values(kafka: dict) -> dict:
    """The values the sandbox adds over values/sandbox.yaml: the Gateway reaches the sandbox
    Kafka's SASL_SSL listener (the brokers' own addresses)."""
    return {"conduktor-gateway": {"gateway": {"env": {
        "KAFKA_BOOTSTRAP_SERVERS": kafka["bootstrap_sasl_ssl"], "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": kafka.get("sasl_mechanism", "SCRAM-SHA-512")}}}}


def deploy(kube_part, facts: dict, drifts: list) -> dict:
    """Install the Conduktor reference (see the module docstring); returns its facts."""
    from asbuilt_sandbox import conduktor_reference as ref
    from asbuilt_sandbox.platform import _kube, _patch, _wait_settled, deep_merge, helm

    kube_facts, pg, kafka = facts["kube"], facts["postgres"], facts["kafka"]
    kdrift: dict[str, Any] = {}
    for d in drifts:
        for key in ("conduktor_values",):
            if key in (d.kube or {}):
                kdrift[key] = deep_merge(kdrift.get(key, {}), d.kube[key])
        kdrift.setdefault("conduktor_patches", []).extend((d.kube or {}).get("conduktor_patches", []))
        for secret, keys in (d.kube or {}).get("conduktor_secret_drop", {}).items():
            kdrift.setdefault("conduktor_secret_drop", {}).setdefault(secret, []).extend(keys)
    kube = _kube(kube_facts["kubeconfig"], kube_facts["context"])
    from asbuilt_sandbox.platform import _apply

    _apply(kube, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ref.NAMESPACE}})
    gateway_user = ref.GATEWAY_PRINCIPAL.split(":", 1)[1]
    dropped = kdrift.get("conduktor_secret_drop", {})
    for name, data in secret_data(ref, pg, kafka, gateway_user).items():
        data = {k: v for k, v in data.items() if k not in dropped.get(name, ())}
        _apply(kube, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": {"name": name, "namespace": ref.NAMESPACE,
                                   "labels": {"app.kubernetes.io/managed-by": "asbuilt-sandbox"},
                                   "annotations": {"sandbox.asbuilt.dev/stands-in-for":
                                                   "a Secret a secret manager syncs (External Secrets)"}},
                      "data": {k: base64.b64encode(v).decode() for k, v in data.items()}})

    values = deep_merge(generated_values(kafka), kdrift.get("conduktor_values", {}))
    values_file = home() / "values-generated.yaml"
    values_file.write_text("# Written by `asbuilt sandbox up`: the Conduktor reference pointed at the sandbox.\n"
                           + yaml.safe_dump(values, sort_keys=False))
    values_file.chmod(0o600)
    args = ["upgrade", "--install", ref.RELEASE, str(ref.CHART), "-n", ref.NAMESPACE]
    for v in ref.VALUES:
        args += ["-f", str(v)]
    args += ["-f", str(values_file), "--timeout", "120s"]
    res = helm(kube_part, *args, timeout=180)
    if res.returncode != 0:
        raise PartError(PART, f"helm upgrade --install {ref.RELEASE} failed: {' '.join(res.stderr.split())[-400:]}")
    for p in kdrift.get("conduktor_patches", []):
        _patch(kube, p["kind"], p.get("namespace", ref.NAMESPACE), p["name"], p["patch"])
    _wait_settled(kube, [ref.NAMESPACE], 60)
    return {"release": ref.RELEASE, "namespace": ref.NAMESPACE, "ca_file": str(home() / "ca.crt"),
            "console_deployment": ref.CONSOLE_DEPLOYMENT, "gateway_deployment": ref.GATEWAY_DEPLOYMENT,
            "simulated": "Pods are API objects with statuses set by the sandbox agent; no container runs"}
