"""The platform layer of the sandbox: the reference release installed with the real helm CLI.

``asbuilt sandbox up`` calls ``setup()`` once kube-apiserver runs. Each ``up`` deploys the
platform anew, the way a user does with the seed's chapters 2 to 4:

1. **Chapter 2, the bundle.** ``examples/reference/bundle`` plus a tiny real plugin JAR
   (``my-custom-processor-1.0.0.jar``, compiled with ``javac`` once and cached; a JAR holding only
   its manifest when no JDK is there) is zipped with ``asbuilt.bundle.build``, uploaded to the
   bundle bucket in moto (``custom-bundle-v1.0.0.zip``) and pre-signed for 604800 s (the seed's
   ``aws s3 presign --expires-in 604800``). The URL points at the sandbox's **HTTPS** front for
   the bucket (``asbuilt_sandbox.agent``: TLS on 127.0.0.1 with the sandbox's own CA, in front of
   moto's plain HTTP), so the release carries an ``https`` pre-signed URL, as HELM-01 requires.
2. **The cluster's prerequisites.** Namespace ``conncentric``; the Secret ``conncentric-db``
   with the database password (what External Secrets would sync from the RDS-managed secret);
   the AWS Load Balancer Controller's objects in ``kube-system`` (its ServiceAccount,
   Deployment and the ``alb`` IngressClass; no controller process runs: the sandbox has no ALB
   to make, the ALB exists as an API object in moto).
3. **Chapter 3, helm.** ``helm upgrade --install conncentric examples/reference/chart/conncentric
   -n conncentric -f examples/reference/values/production.yaml -f <sandbox values>``, the
   sandbox values pointing at the sandbox: ``env.KAFKA_BOOTSTRAP_SERVERS`` = the brokers' TLS
   listeners (9094), ``database.*`` = the PostgreSQL of the sandbox, ``installer.customBundleUrls``
   = the pre-signed URL, ``installer.roleArn`` = the installer role in moto. The previous release
   is uninstalled first, then every object kube-apiserver did not make itself is deleted
   (``asbuilt_sandbox.kube_reset``: what a drift, a test or ``kubectl create`` added goes too)
   and the platform tables emptied: every ``up`` is a fresh deployment.
4. **Chapter 4, the installer Job.** helm creates the post-install hook Job
   ``conncentric-installer-<revision>`` and waits for it; the agent (``asbuilt_sandbox.agent``)
   runs the reference installer (``asbuilt_sandbox.installer``) with that Job's container inputs,
   ships its log lines to CloudWatch Logs in moto (group ``/conncentric/installer``), and marks
   the Job Complete. The Deployments' Pods are API objects whose status the agent sets as the
   Deployment controller and a kubelet would: **no container runs**. That is stated in the
   evidence of the controls that look at them and in the module docstring of the agent.

Drifts (``asbuilt_sandbox.drifts``) act here through ``Drift.kube``::

    {"values": {...}}                    merged over the sandbox values before helm runs
    {"patches": [{"kind", "namespace", "name", "patch"}]}   merge patches after helm ("kubectl edit")
    {"delete": [{"kind", "namespace", "name"}]}             objects removed after helm
    {"lb_controller": False}             the AWS Load Balancer Controller is not installed
    {"kafka_client": "name"}             the target's Kafka client certificate is for User:<name>,
                                         with read-only ACLs on the platform topics
    {"bundle_url_scheme": "http"}        the release's bundle URL is pre-signed for moto's plain HTTP
    {"presign_seconds": N}               the release's bundle URL is pre-signed for N seconds
    {"helm3_record": True}               the release record is rewritten as Helm 3 writes it (VER-04)

and ``Drift.installer_fault`` (the reference installer's faulty modes) is handed to the agent,
so the release's installer Job and every later run of the sandbox's installer carry it.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import yaml

from asbuilt.suite import ROOT  # the tree holding examples/reference (the checkout)
from asbuilt_sandbox.parts.base import PartError, Process, cache_dir, free_port, port_open, state_dir

PART = "platform"
CHART = ROOT / "examples" / "reference" / "chart" / "conncentric"
PRODUCTION_VALUES = ROOT / "examples" / "reference" / "values" / "production.yaml"
BUNDLE_SOURCE = ROOT / "examples" / "reference" / "bundle"
NAMESPACE = "conncentric"
RELEASE = "conncentric"
BUNDLE_KEY = "custom-bundle-v1.0.0.zip"
PRESIGN_SECONDS = 604800  # the seed's `aws s3 presign --expires-in 604800`
PLUGIN_JAR = "my-custom-processor-1.0.0.jar"
LB_CONTROLLER = "aws-load-balancer-controller"
INSTALLER_TIMEOUT = 300  # the profile's installer_timeout_seconds
SETTLE_TIMEOUT = 60.0
PLATFORM_TABLES = ("adapter_configurations", "pipeline_definitions", "plugin_records", "artifacts")


def _say(msg: str) -> None:
    print(f"sandbox: platform: {msg}", file=sys.stderr, flush=True)


def home() -> Path:
    d = state_dir() / "platform"
    d.mkdir(parents=True, exist_ok=True)
    return d


def agent_config_file() -> Path:
    return home() / "agent.json"


def agent_process(config: Path | None = None) -> Process:
    return Process(PART, "agent", [sys.executable, "-m", "asbuilt_sandbox.agent", "--config",
                                   str(config or agent_config_file())], cwd=ROOT)


def load_agent_config() -> dict:
    try:
        return json.loads(agent_config_file().read_text())
    except (OSError, ValueError):
        raise PartError(PART, "the sandbox platform is not set up (no agent config): "
                              "run `asbuilt sandbox up`") from None


# --------------------------------------------------------------------------- TLS for the S3 front


def ensure_tls(address: str = "127.0.0.1") -> dict[str, str]:
    """A CA and a server certificate for ``address`` (IP SAN), kept across runs."""
    from asbuilt_sandbox import pki

    d = home() / "tls"
    files = {"ca": d / "ca.crt", "ca_key": d / "ca.key", "cert": d / "s3-front.crt", "key": d / "s3-front.key"}
    if all(f.is_file() for f in files.values()):
        return {k: str(v) for k, v in files.items()}
    ca = pki.CA.create("asbuilt sandbox S3 front CA")
    ca.write(files["ca"], files["ca_key"])
    ca.issue_files(files["cert"], files["key"], address, server=True, ips=[address])
    return {k: str(v) for k, v in files.items()}


# --------------------------------------------------------------------------- the bundle (chapter 2)

PLUGIN_SOURCE = """package com.example.conncentric;

/** The reference custom processor of the sandbox's bundle (a stand-in built against no SDK). */
public final class MyCustomProcessor {
    public String process(String message) {
        return message;
    }
}
"""


def _jar_from_manifest_only(out: Path) -> None:
    info = zipfile.ZipInfo("META-INF/MANIFEST.MF", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(info, "Manifest-Version: 1.0\r\nCreated-By: asbuilt sandbox\r\n"
                          "Implementation-Title: my-custom-processor\r\nImplementation-Version: 1.0.0\r\n\r\n")


def plugin_jar() -> Path:
    """The tiny real plugin JAR: compiled once with javac + jar and cached by source digest."""
    digest = hashlib.sha256(PLUGIN_SOURCE.encode()).hexdigest()[:12]
    out = cache_dir() / f"sandbox-plugin-{digest}" / PLUGIN_JAR
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    javac, jar = shutil.which("javac"), shutil.which("jar")
    with tempfile.TemporaryDirectory(prefix="asbuilt-plugin-") as tmp:
        tmp_jar = Path(tmp) / PLUGIN_JAR
        built = False
        if javac and jar:
            src = Path(tmp) / "src" / "com" / "example" / "conncentric" / "MyCustomProcessor.java"
            src.parent.mkdir(parents=True)
            src.write_text(PLUGIN_SOURCE)
            classes = Path(tmp) / "classes"
            try:
                subprocess.run([javac, "--release", "17", "-d", str(classes), str(src)], check=True,
                               capture_output=True, timeout=180)
                subprocess.run([jar, "--create", "--file", str(tmp_jar), "--date", "1980-01-01T00:00:02Z",
                                "-C", str(classes), "."], check=True, capture_output=True, timeout=120)
                built = True
            except (subprocess.SubprocessError, OSError):
                built = False
        if not built:
            _jar_from_manifest_only(tmp_jar)
        shutil.copyfile(tmp_jar, out.with_suffix(".partial"))
        out.with_suffix(".partial").replace(out)
    return out


def build_reference_bundle(dest_zip: Path) -> dict:
    """examples/reference/bundle + the plugin JAR, zipped with asbuilt.bundle.build."""
    from asbuilt import bundle

    with tempfile.TemporaryDirectory(prefix="asbuilt-bundle-src-") as tmp:
        src = Path(tmp) / "custom-bundle"
        shutil.copytree(BUNDLE_SOURCE, src)
        shutil.copyfile(plugin_jar(), src / "plugins" / PLUGIN_JAR)
        result = bundle.build(src, dest_zip)
    return {"path": str(result.path), "sha256": result.sha256, "size": result.size,
            "entries": [e.as_dict() for e in result.entries if e.kind != "directory"]}


def _s3(endpoint: str, aws_creds: dict):
    import boto3
    from botocore.config import Config

    from asbuilt.probes.aws import without_expect_continue

    return without_expect_continue(boto3.client(
        "s3", region_name="us-east-1", endpoint_url=endpoint,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      connect_timeout=5, read_timeout=20, retries={"max_attempts": 3}),
        **aws_creds))


# --------------------------------------------------------------------------- kubernetes objects


def _kube(kubeconfig: str, context: str):
    from asbuilt_sandbox.agent import Kube, api_client

    return Kube(api_client(kubeconfig, context))


def _apply(kube, body: dict) -> None:
    """Create or replace one object (namespaced kinds used here only)."""
    from kubernetes import client as k
    from kubernetes.client.exceptions import ApiException

    kind, meta = body["kind"], body["metadata"]
    ns, name = meta.get("namespace"), meta["name"]
    core, apps = kube.core, kube.apps
    net = k.NetworkingV1Api(kube.api)
    ops = {
        "Namespace": (lambda: core.create_namespace(body), lambda: core.patch_namespace(name, body)),
        "Secret": (lambda: core.create_namespaced_secret(ns, body),
                   lambda: core.replace_namespaced_secret(name, ns, body)),
        "ServiceAccount": (lambda: core.create_namespaced_service_account(ns, body),
                           lambda: core.patch_namespaced_service_account(name, ns, body)),
        "Deployment": (lambda: apps.create_namespaced_deployment(ns, body),
                       lambda: apps.replace_namespaced_deployment(name, ns, body)),
        "IngressClass": (lambda: net.create_ingress_class(body), lambda: net.replace_ingress_class(name, body)),
    }[kind]
    try:
        ops[0]()
    except ApiException as exc:
        if exc.status != 409:
            raise
        ops[1]()


def _rewrite_as_helm3_record(kube) -> None:
    """VER-04 drift: the release record as Helm 3 writes it (Helm 4 adds ``apply_method``).
    No Helm 3 binary is built for the sandbox; the record is what VER-04 reads."""
    import gzip

    for secret in kube.core.list_namespaced_secret(NAMESPACE, label_selector="owner=helm").items:
        raw = base64.b64decode(base64.b64decode(secret.data["release"]))
        release = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
        release.pop("apply_method", None)
        packed = base64.b64encode(base64.b64encode(gzip.compress(json.dumps(release).encode()))).decode()
        kube.core.patch_namespaced_secret(secret.metadata.name, NAMESPACE, {"data": {"release": packed}})


def _delete(kube, kind: str, ns: str | None, name: str) -> bool:
    from kubernetes import client as k
    from kubernetes.client.exceptions import ApiException

    net = k.NetworkingV1Api(kube.api)
    fn = {
        "Deployment": lambda: kube.apps.delete_namespaced_deployment(name, ns),
        "Job": lambda: kube.batch.delete_namespaced_job(name, ns, propagation_policy="Background"),
        "Ingress": lambda: net.delete_namespaced_ingress(name, ns),
        "IngressClass": lambda: net.delete_ingress_class(name),
        "ServiceAccount": lambda: kube.core.delete_namespaced_service_account(name, ns),
        "Service": lambda: kube.core.delete_namespaced_service(name, ns),
        "Pod": lambda: kube.core.delete_namespaced_pod(name, ns, grace_period_seconds=0),
        "ConfigMap": lambda: kube.core.delete_namespaced_config_map(name, ns),
    }[kind]
    try:
        fn()
        return True
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise


def _patch(kube, kind: str, ns: str, name: str, patch: dict) -> None:
    from kubernetes import client as k

    net = k.NetworkingV1Api(kube.api)
    fn = {
        "Deployment": kube.apps.patch_namespaced_deployment,
        "Ingress": net.patch_namespaced_ingress,
        "ServiceAccount": kube.core.patch_namespaced_service_account,
        "ConfigMap": kube.core.patch_namespaced_config_map,
        "Service": kube.core.patch_namespaced_service,
    }[kind]
    # A strategic merge patch, as `kubectl patch` does: lists of containers and env merge by name,
    # and a null removes a field.
    fn(name, ns, patch, _content_type="application/strategic-merge-patch+json")


def lb_controller_objects() -> list[dict]:
    """What the eks/aws-load-balancer-controller chart installs that the checks look at."""
    labels = {"app.kubernetes.io/name": LB_CONTROLLER, "app.kubernetes.io/instance": LB_CONTROLLER}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": LB_CONTROLLER, "namespace": "kube-system", "labels": labels,
                      "annotations": {"eks.amazonaws.com/role-arn":
                                      "arn:aws:iam::123456789012:role/AmazonEKSLoadBalancerControllerRole"}}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": LB_CONTROLLER, "namespace": "kube-system", "labels": labels},
         "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {
                      "serviceAccountName": LB_CONTROLLER,
                      "securityContext": {"runAsNonRoot": True, "fsGroup": 65534},
                      "containers": [{
                          "name": LB_CONTROLLER,
                          "image": "public.ecr.aws/eks/aws-load-balancer-controller:v2.13.0",
                          "args": ["--cluster-name=conncentric", "--ingress-class=alb"],
                          "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                        "limits": {"cpu": "200m", "memory": "256Mi"}},
                          "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                                              "readOnlyRootFilesystem": True, "privileged": False,
                                              "capabilities": {"drop": ["ALL"]}},
                      }]}}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": "alb", "labels": labels},
         "spec": {"controller": "ingress.k8s.aws/alb"}},
    ]


# --------------------------------------------------------------------------- helm


def helm(kube_part, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, **kube_part.helm_env()}
    try:
        return subprocess.run([str(kube_part.helm_bin()), *args], capture_output=True, text=True, env=env,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise PartError(PART, f"helm {args[0]} did not finish within {timeout:.0f}s") from exc


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def sandbox_values(kafka: dict, pg: dict, bundle_url: str, installer_role_arn: str) -> dict:
    """The values a sandbox user would write: the sandbox's endpoints instead of AWS host names."""
    return {
        "env": {"KAFKA_BOOTSTRAP_SERVERS": kafka["bootstrap_tls"], "KAFKA_SECURITY_PROTOCOL": "SSL"},
        "database": {"host": pg["host"], "port": int(pg["port"]), "name": pg["dbname"], "username": pg["user"],
                     "passwordSecretRef": {"name": "conncentric-db", "key": "password"}},
        "installer": {"enabled": True, "roleArn": installer_role_arn, "customBundleUrls": [bundle_url]},
    }


# --------------------------------------------------------------------------- setup


def _truncate_platform(pg: dict) -> None:
    import psycopg

    with psycopg.connect(host=pg["host"], port=pg["port"], dbname=pg["dbname"], user=pg["user"],
                         password=Path(pg["password_file"]).read_text().strip(), sslmode="verify-full",
                         sslrootcert=pg["ca_file"], connect_timeout=10) as conn:
        conn.execute("TRUNCATE " + ", ".join(PLATFORM_TABLES))


def _wait_settled(kube, namespaces: list[str], timeout: float) -> dict:
    """Until every Deployment's status is for its current generation (the agent caught up)."""
    deadline = time.monotonic() + timeout
    pending: list[str] = []
    while time.monotonic() < deadline:
        pending = []
        for ns in namespaces:
            for d in kube.list("deployments", ns):
                st = d.get("status") or {}
                if st.get("observedGeneration") != d["metadata"].get("generation") or \
                        st.get("updatedReplicas", 0) != (d.get("spec") or {}).get("replicas", 1) or \
                        st.get("replicas", 0) != st.get("updatedReplicas", 0):
                    pending.append(f"{ns}/{d['metadata']['name']}")
        if not pending:
            return {"settled": True}
        time.sleep(0.3)
    raise PartError(PART, f"deployments not settled within {timeout:.0f}s: {', '.join(pending)}",
                    agent_process().logfile)


def _start_agent(config: dict) -> Process:
    path = agent_config_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2))
    tmp.replace(path)
    proc = agent_process(path)
    proc.stop()
    proc.start()
    front = config["s3_front"]
    deadline = time.monotonic() + 30
    while not port_open(front["listen"], int(front["port"])):
        if not proc.running():
            raise PartError(PART, f"the platform agent exited: {proc.log_tail(3)!r}", proc.logfile)
        if time.monotonic() > deadline:
            raise PartError(PART, "the platform agent's S3 HTTPS front did not listen within 30s", proc.logfile)
        time.sleep(0.2)
    return proc


class PlatformPart:
    """The platform layer as a sandbox part: ``start`` = ``setup``, ``stop`` ends the agent."""

    name = PART

    def start(self, kube_part, facts: dict, drifts: list, aws_key_file: Path, aws_secret_file: Path) -> dict:
        try:
            return setup(kube_part, facts, drifts, aws_key_file, aws_secret_file)
        except BaseException:
            self.stop()  # no agent left behind by a failed set-up
            raise

    def stop(self) -> None:
        agent_process().stop()

    def status(self) -> dict:
        proc = agent_process()
        front = ""
        with contextlib.suppress(PartError, KeyError):
            front = f"https://127.0.0.1:{load_agent_config()['s3_front']['port']}"
        return {"up": proc.running(), "address": front}


def setup(kube_part, facts: dict, drifts: list, aws_key_file: Path, aws_secret_file: Path) -> dict:
    """Deploy the reference release into the sandbox's kube-apiserver (see the module docstring)."""
    kube_facts, pg, kafka, aws_ids = facts["kube"], facts["postgres"], facts["kafka"], facts["aws"]
    if kube_facts.get("controllers"):
        # The agent IS the Deployment/Job controller of the sandbox; with kube-controller-manager
        # running both would write the same statuses. Say so rather than show a fight.
        raise PartError(PART, "the platform layer expects the kube part without kube-controller-manager "
                              "(unset ASBUILT_KUBE_CONTROLLERS): its agent stands in for the controllers")
    moto_endpoint = facts["moto"]["endpoint_url"]
    kdrift: dict[str, Any] = {}
    for d in drifts:
        for key, value in (d.kube or {}).items():
            if isinstance(value, list):
                kdrift.setdefault(key, []).extend(value)
            elif isinstance(value, dict):
                kdrift[key] = deep_merge(kdrift.get(key, {}), value)
            else:
                kdrift[key] = value
    faults = [d.installer_fault for d in drifts if d.installer_fault]
    fault = faults[-1] if faults else None
    kube = _kube(kube_facts["kubeconfig"], kube_facts["context"])
    tls = ensure_tls()
    aws_creds = {"aws_access_key_id": Path(aws_key_file).read_text().strip(),
                 "aws_secret_access_key": Path(aws_secret_file).read_text().strip()}

    # -- a fresh start: agent off, previous release and its leftovers gone, state emptied --------
    proc = agent_process()
    proc.stop()
    res = helm(kube_part, "uninstall", RELEASE, "-n", NAMESPACE, "--ignore-not-found", "--timeout", "60s")
    if res.returncode != 0:
        raise PartError(PART, f"helm uninstall failed: {res.stderr.strip()[-300:]}")
    # Everything an earlier release, a drift, a test or a user left in the cluster goes: etcd keeps
    # its data across `sandbox down`, so only this makes `up` the reference again (kube_reset).
    from asbuilt_sandbox import kube_reset

    removed = kube_reset.reset(kube.api)
    if removed:
        _say("removed from the cluster: " + ", ".join(f"{n} {k}" for k, n in sorted(removed.items())))
    _truncate_platform(pg)

    # -- chapter 2: the bundle in the bucket, pre-signed through the HTTPS front -----------------
    front_port = _front_port()
    bundle_dir = home() / "bundle"
    bundle_dir.mkdir(exist_ok=True)
    built = build_reference_bundle(bundle_dir / BUNDLE_KEY)
    s3 = _s3(moto_endpoint, aws_creds)
    bucket = aws_ids["bundle_bucket"]
    with open(built["path"], "rb") as fh:
        put = s3.put_object(Bucket=bucket, Key=BUNDLE_KEY, Body=fh, ContentType="application/zip")
    front_url = f"https://127.0.0.1:{front_port}"
    signer = moto_endpoint if kdrift.get("bundle_url_scheme") == "http" else front_url
    url = _s3(signer, aws_creds).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": BUNDLE_KEY},
        ExpiresIn=int(kdrift.get("presign_seconds", PRESIGN_SECONDS)))

    # -- the cluster's prerequisites ------------------------------------------------------------
    _apply(kube, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    password = Path(pg["password_file"]).read_text().strip()
    _apply(kube, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": {"name": "conncentric-db", "namespace": NAMESPACE,
                               "labels": {"app.kubernetes.io/managed-by": "asbuilt-sandbox"},
                               "annotations": {"sandbox.asbuilt.dev/stands-in-for":
                                               "the RDS-managed master secret, synced by External Secrets"}},
                  "data": {"password": base64.b64encode(password.encode()).decode()}})
    if kdrift.get("lb_controller", True):
        for obj in lb_controller_objects():
            _apply(kube, obj)

    # -- the agent: kubelet/controller stand-in and the S3 HTTPS front --------------------------
    config = {
        "kubeconfig": kube_facts["kubeconfig"], "context": kube_facts["context"],
        # "conduktor": the Conduktor reference's Deployments (asbuilt_sandbox.conduktor_platform)
        "namespaces": [NAMESPACE, "kube-system", "conduktor"], "poll_seconds": 0.5,
        "pods_dir": str(home() / "pods"),
        "s3_front": {"listen": "127.0.0.1", "port": front_port, "upstream": moto_endpoint.split("//", 1)[1],
                     "cert": tls["cert"], "key": tls["key"], "ca": tls["ca"]},
        "installer": {"fault": fault, "timeout": INSTALLER_TIMEOUT, "log_group": aws_ids["installer_log_group"],
                      "aws_endpoint": moto_endpoint, "aws_region": aws_ids.get("region", "us-east-1"),
                      "aws_key_file": str(aws_key_file), "aws_secret_file": str(aws_secret_file),
                      "pg_sslrootcert": pg["ca_file"], "bundle_cafile": tls["ca"]},
    }
    _start_agent(config)

    # -- chapter 3: helm (the agent runs the post-install installer Job while helm waits) -------
    values = deep_merge(sandbox_values(kafka, pg, url, aws_ids["installer_role_arn"]), kdrift.get("values", {}))
    values_file = home() / "values-sandbox.yaml"
    values_file.write_text("# Written by `asbuilt sandbox up`: the reference values pointed at the sandbox.\n"
                           + yaml.safe_dump(values, sort_keys=False))
    values_file.chmod(0o600)  # holds the pre-signed URL (a bearer credential)
    res = helm(kube_part, "upgrade", "--install", RELEASE, str(CHART), "-n", NAMESPACE,
               "-f", str(PRODUCTION_VALUES), "-f", str(values_file), "--timeout", f"{INSTALLER_TIMEOUT}s",
               timeout=INSTALLER_TIMEOUT + 60)
    if res.returncode != 0:
        raise PartError(PART, f"helm upgrade --install failed: {' '.join(res.stderr.split())[-400:]}",
                        agent_process().logfile)

    # -- drift: what someone changed by hand after the release ---------------------------------
    for p in kdrift.get("patches", []):
        _patch(kube, p["kind"], p.get("namespace", NAMESPACE), p["name"], p["patch"])
    for dl in kdrift.get("delete", []):
        _delete(kube, dl["kind"], dl.get("namespace", NAMESPACE), dl["name"])
    if kdrift.get("helm3_record"):
        _rewrite_as_helm3_record(kube)
    kafka_client = None
    if kdrift.get("kafka_client"):
        kafka_client = _limited_kafka_client(kdrift["kafka_client"])
    _wait_settled(kube, [NAMESPACE, "kube-system"], SETTLE_TIMEOUT)
    revision = _release_revision(kube_part)
    return {
        "release": RELEASE, "namespace": NAMESPACE, "revision": revision,
        "bundle_bucket": bucket, "bundle_key": BUNDLE_KEY, "bundle_sha256": built["sha256"],
        "bundle_version_id": put.get("VersionId"),
        "s3_https_front": front_url, "s3_front_ca": tls["ca"],
        "installer_fault": fault, "agent_log": str(agent_process().logfile),
        "kafka_client": kafka_client,
        "simulated": "Pods are API objects with statuses set by the sandbox agent; no container runs",
    }


def _front_port() -> int:
    try:
        old = json.loads(agent_config_file().read_text())["s3_front"]["port"]
        if isinstance(old, int) and not port_open("127.0.0.1", old):
            return old
    except (OSError, ValueError, KeyError):
        pass
    return free_port()


def _release_revision(kube_part) -> int | None:
    res = helm(kube_part, "status", RELEASE, "-n", NAMESPACE, "-o", "json")
    with contextlib.suppress(ValueError, KeyError):
        return int(json.loads(res.stdout)["version"])
    return None


def _limited_kafka_client(name: str) -> dict:
    """A client certificate for User:<name> that may read and describe the platform topics, not write."""
    from asbuilt_sandbox.parts.kafka import KafkaPart

    kafka = KafkaPart()
    cert, key = kafka.issue_client_cert(name)
    principal = f"User:{name}"
    kafka.create_acls(principal, "TOPIC", "conncentric.", ["READ", "DESCRIBE", "DESCRIBE_CONFIGS"],
                      pattern_type="PREFIXED")
    kafka.create_acls(principal, "GROUP", "asbuilt-", ["READ", "DESCRIBE"], pattern_type="PREFIXED")
    kafka.create_acls(principal, "CLUSTER", "kafka-cluster", ["DESCRIBE"])
    return {"certfile": str(cert), "keyfile": str(key), "principal": principal}
