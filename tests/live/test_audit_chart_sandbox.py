"""deploy/chart/asbuilt-audit on the sandbox (issue 15, item 3):

1. the real helm installs the chart into the sandbox's kube-apiserver, in a namespace of its own:
   every object is accepted (CronJobs, ConfigMaps, the ServiceAccount with its IRSA annotation,
   the read-only RBAC); the release is uninstalled and the namespace removed afterwards;
2. the exact command line the CronJob runs (as `helm template` renders it, with the target file the
   ConfigMap mounts) is run here against the sandbox target, with the sandbox moto's S3 as the
   report store, three times: twice with no change (exit 0, the second results uploaded as the new
   baseline), then with a drift brought up in between (exit 3, drift.md uploaded).

The sandbox has no kube-controller-manager: nothing schedules the CronJobs, so the install proves
the objects are accepted, and the command is run here as its container would run it.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from tests.test_audit_chart import CHART, VALUES, _helm, helm  # noqa: F401  (helm: the fixture)

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NAMESPACE = "asbuilt-audit-test"
RELEASE = "audit-sbx"
BUCKET = "asbuilt-audit-reports"
# The chart's per-target `args`: the live AWS controls the conforming sandbox passes
# (tests/live/test_drifts.py), and NET-07, a `should` control the msk-plaintext drift breaks.
CONTROLS = ("VER-01", "VER-03", "HA-01", "HA-03", "NET-07", "S3-01", "S3-02")
DRIFT = "msk-plaintext"


def _target(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _helm_env(tmp_path: Path, target: dict) -> dict:
    kube = target["kubernetes"]
    home = tmp_path / "helm-home"
    return {"KUBECONFIG": kube["kubeconfig"], "HELM_KUBECONTEXT": kube["context"],
            "HELM_CONFIG_HOME": str(home / "config"), "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_DATA_HOME": str(home / "data")}


def _kube_client(target: dict):
    from kubernetes import config

    kube = target["kubernetes"]
    return config.new_client_from_config(config_file=kube["kubeconfig"], context=kube["context"])


def test_the_chart_installs_into_the_sandbox_kube_apiserver(sandbox, helm, tmp_path, monkeypatch):  # noqa: F811
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    target = _target(sandbox())
    for k, v in _helm_env(tmp_path, target).items():
        monkeypatch.setenv(k, v)
    api = _kube_client(target)
    core, batch, rbac = client.CoreV1Api(api), client.BatchV1Api(api), client.RbacAuthorizationV1Api(api)
    values = copy.deepcopy(VALUES)
    values["rbac"]["releaseNamespaces"] = [NAMESPACE]  # its own namespace only: the sandbox's release stays untouched
    try:
        res = _helm(helm, "install", RELEASE, str(CHART), "-n", NAMESPACE, "--create-namespace",
                    "--timeout", "120s", values=values, tmp=tmp_path)
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        status = _helm(helm, "status", RELEASE, "-n", NAMESPACE, "-o", "json")
        assert status.returncode == 0, status.stderr[-500:]
        assert json.loads(status.stdout)["info"]["status"] == "deployed", status.stdout[-500:]

        name = f"{RELEASE}-asbuilt-audit"
        jobs = {j.metadata.name: j for j in batch.list_namespaced_cron_job(NAMESPACE).items}
        assert set(jobs) == {f"{name}-conncentric-prod", f"{name}-conduktor-eu"}, sorted(jobs)
        prod = jobs[f"{name}-conncentric-prod"].spec
        assert prod.concurrency_policy == "Forbid" and prod.job_template.spec.backoff_limit == 0
        (container,) = prod.job_template.spec.template.spec.containers
        assert container.command[4:8] == ["asbuilt", "run", "--target", "/etc/asbuilt/target.yaml"]
        cms = {c.metadata.name: c for c in core.list_namespaced_config_map(NAMESPACE).items}
        assert yaml.safe_load(cms[f"{name}-conncentric-prod"].data["target.yaml"]) == VALUES["targets"][0]["target"]
        assert f"{name}-script" in cms and "def main" in cms[f"{name}-script"].data["audit.py"]
        sa = core.read_namespaced_service_account(name, NAMESPACE)
        assert sa.metadata.annotations["eks.amazonaws.com/role-arn"] == VALUES["serviceAccount"]["awsRoleArn"]
        role = rbac.read_cluster_role(f"{name}-auditor")
        assert {v for r in role.rules for v in r.verbs} <= {"get", "list"}
        binding = rbac.read_cluster_role_binding(f"{name}-auditor")
        assert [(s.kind, s.name, s.namespace) for s in binding.subjects] == [("ServiceAccount", name, NAMESPACE)]
        assert rbac.read_namespaced_role(f"{name}-auditor-release", NAMESPACE).rules
    finally:
        res = _helm(helm, "uninstall", RELEASE, "-n", NAMESPACE)
        try:
            core.delete_namespace(NAMESPACE, propagation_policy="Background")
            # no namespace controller in the sandbox: finalize it as that controller would
            ns = core.read_namespace(NAMESPACE)
            ns.spec.finalizers = []
            core.replace_namespace_finalize(NAMESPACE, ns)
        except ApiException as exc:
            if exc.status != 404:
                raise
    assert res.returncode == 0, res.stderr[-1000:]
    with pytest.raises(ApiException) as gone:
        rbac.read_cluster_role(f"{RELEASE}-asbuilt-audit-auditor")
    assert gone.value.status == 404  # cluster-scoped objects go with the release


def _aws_key(target: dict) -> dict:
    """The sandbox target's AWS key (file references), as the standard variables."""
    creds = target["aws"]["credentials"]
    return {"AWS_ACCESS_KEY_ID": Path(creds["access_key_id"]["file"]).read_text().strip(),
            "AWS_SECRET_ACCESS_KEY": Path(creds["secret_access_key"]["file"]).read_text().strip()}


def _s3(target: dict):
    key = _aws_key(target)
    return boto3.client("s3", endpoint_url=target["aws"]["endpoint_url"], region_name=target["aws"]["region"],
                        aws_access_key_id=key["AWS_ACCESS_KEY_ID"], aws_secret_access_key=key["AWS_SECRET_ACCESS_KEY"])


def test_the_cronjob_command_against_the_sandbox_with_its_s3_as_report_store(sandbox, helm, tmp_path):  # noqa: F811
    target = _target(sandbox())
    endpoint = target["aws"]["endpoint_url"]
    s3 = _s3(target)
    s3.create_bucket(Bucket=BUCKET)
    values = {"reports": {"s3Uri": f"s3://{BUCKET}/audit/", "region": target["aws"]["region"], "endpointUrl": endpoint},
              "targets": [{"name": "sandbox", "target": target,
                           "args": ["--live-only", *[a for c in CONTROLS for a in ("--control", c)]]}]}
    res = _helm(helm, "template", "audit", str(CHART), "-n", "asbuilt", values=values, tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(res.stdout) if d}
    pod = docs[("CronJob", "audit-asbuilt-audit-sandbox")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    # the target file exactly as the ConfigMap mounts it at /etc/asbuilt/target.yaml
    mounted = tmp_path / "etc-asbuilt" / "target.yaml"
    mounted.parent.mkdir()
    mounted.write_text(docs[("ConfigMap", "audit-asbuilt-audit-sandbox")]["data"]["target.yaml"])
    swap = {"python": sys.executable, "/opt/asbuilt-audit/audit.py": str(CHART / "files" / "audit.py"),
            "asbuilt": str(Path(sys.executable).parent / "asbuilt"), "/etc/asbuilt/target.yaml": str(mounted)}
    command = [swap.get(a, a) for a in container["command"]]
    rendered_env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert rendered_env["ASBUILT_REPORTS_ENDPOINT_URL"] == endpoint and rendered_env["NO_COLOR"] == "1"
    # the image's paths (HOME, the cache) stay this machine's; the pod's IRSA credentials are the
    # sandbox's AWS key, which the report store (the sandbox moto) accepts
    env = {**os.environ, **{k: v for k, v in rendered_env.items() if k not in ("HOME", "ASBUILT_CACHE")},
           **_aws_key(target)}
    latest = "audit/sandbox/latest/"

    def run(n):
        env["ASBUILT_REPORT_DIR"] = str(tmp_path / f"work{n}" / "reports")
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1200)

    def keys(prefix):
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents") or [])

    def body(key):
        return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    try:
        first = run(1)
        assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
        assert "no baseline yet" in first.stdout
        assert keys(latest) == [latest + n for n in ("junit.xml", "report.html", "results.json")]
        first_results = body(latest + "results.json")

        second = run(2)  # nothing changed
        assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
        assert f"audit: baseline s3://{BUCKET}/{latest}results.json" in second.stdout
        assert body(latest + "results.json") != first_results  # the second run's own results, now the baseline
        assert latest + "drift.md" in keys(latest)

        # the drift, brought up in between; the report store lives on across it (as S3 would
        # across a change to the audited account): kept and put back if `up` reset moto
        saved = {k: body(k) for k in keys("audit/")}
        target = _target(sandbox(DRIFT))
        s3 = _s3(target)
        env.update(_aws_key(target))
        if BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=BUCKET)
            for k, data in saved.items():
                s3.put_object(Bucket=BUCKET, Key=k, Body=data)
        # `up` provisions the account anew (moto gives the MSK cluster a new ARN), so the
        # ConfigMap is rendered again from the new target file, as a re-deploy of the chart would
        values["targets"][0]["target"] = target
        res = _helm(helm, "template", "audit", str(CHART), "-n", "asbuilt", values=values, tmp=tmp_path)
        assert res.returncode == 0, res.stderr
        docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(res.stdout) if d}
        mounted.write_text(docs[("ConfigMap", "audit-asbuilt-audit-sandbox")]["data"]["target.yaml"])
        third = run(3)
        assert third.returncode == 3, third.stdout[-2000:] + third.stderr[-2000:]
        drift = body(latest + "drift.md").decode()
        assert "NET-07" in drift, drift[:1500]
        assert len({k.split("/")[3] for k in keys("audit/sandbox/runs/")}) == 3
    finally:
        for k in keys(""):
            s3.delete_object(Bucket=BUCKET, Key=k)
        s3.delete_bucket(Bucket=BUCKET)
