"""deploy/chart/asbuilt-audit: helm lint, helm template, and the exact command its CronJob runs,
run here twice against a real moto S3 as the report store (no change: exit 0; a drift: exit 3).

Installing the chart into a kube-apiserver needs the sandbox; that test is not here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from tests.helpers import ROOT

CHART = ROOT / "deploy" / "chart" / "asbuilt-audit"
VALUES = {
    "reports": {"s3Uri": "s3://audit-reports/asbuilt/", "region": "us-east-1"},
    "serviceAccount": {"awsRoleArn": "arn:aws:iam::123456789012:role/asbuilt-auditor"},
    "rbac": {"releaseNamespaces": ["conncentric"]},
    "targets": [
        {"name": "conncentric-prod",
         "target": {"name": "conncentric-prod", "profile": "conncentric-aws", "aws": {"region": "us-east-1"},
                    "postgres": {"host": "db.internal", "port": 5432, "dbname": "c", "user": "asbuilt_readonly",
                                 "password": {"env": "ASBUILT_PG_PASSWORD"}}},
         "secretEnv": [{"name": "ASBUILT_PG_PASSWORD", "secretName": "conncentric-audit", "key": "pg-password"}]},
        {"name": "conduktor-eu", "schedule": "0 */6 * * *", "profile": "conduktor-k8s", "args": ["--strict"],
         "target": {"name": "conduktor-eu", "profile": "conduktor-k8s"}},
    ],
}


@pytest.fixture(scope="module")
def helm() -> str:
    from asbuilt.tools import helm_binary

    try:
        return str(helm_binary())
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"helm not available: {exc}")


def _helm(helm, *args, values: dict | None = None, tmp: Path | None = None):
    extra = []
    if values is not None:
        f = tmp / "values.yaml"
        f.write_text(yaml.safe_dump(values))
        extra = ["-f", str(f)]
    return subprocess.run([helm, *args, *extra], capture_output=True, text=True, timeout=120)


def test_lint(helm, tmp_path):
    for values in (None, VALUES):
        res = _helm(helm, "lint", str(CHART), "--strict", values=values, tmp=tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
    bad = _helm(helm, "template", "a", str(CHART), values={"targets": VALUES["targets"]}, tmp=tmp_path)
    assert bad.returncode != 0 and "reports.s3Uri is required" in bad.stderr


@pytest.fixture(scope="module")
def rendered(helm, tmp_path_factory):
    res = _helm(helm, "template", "audit", str(CHART), "-n", "asbuilt", values=VALUES,
                tmp=tmp_path_factory.mktemp("chart"))
    assert res.returncode == 0, res.stderr
    docs = [d for d in yaml.safe_load_all(res.stdout) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_one_cronjob_per_target_with_its_configmap_and_secrets(rendered):
    jobs = {n: d for (k, n), d in rendered.items() if k == "CronJob"}
    assert set(jobs) == {"audit-asbuilt-audit-conncentric-prod", "audit-asbuilt-audit-conduktor-eu"}
    prod = jobs["audit-asbuilt-audit-conncentric-prod"]["spec"]
    assert prod["concurrencyPolicy"] == "Forbid" and prod["jobTemplate"]["spec"]["backoffLimit"] == 0
    pod = prod["jobTemplate"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["command"][:4] == ["python", "/opt/asbuilt-audit/audit.py", "s3://audit-reports/asbuilt/conncentric-prod", "--"]
    assert c["command"][4:8] == ["asbuilt", "run", "--target", "/etc/asbuilt/target.yaml"]
    env = {e["name"]: e for e in c["env"]}
    assert env["ASBUILT_PG_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "conncentric-audit", "key": "pg-password"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    cm = rendered[("ConfigMap", "audit-asbuilt-audit-conncentric-prod")]
    assert yaml.safe_load(cm["data"]["target.yaml"]) == VALUES["targets"][0]["target"]
    eu = jobs["audit-asbuilt-audit-conduktor-eu"]["spec"]
    assert eu["schedule"] == "0 */6 * * *"
    assert eu["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][-3:] == [
        "--profile", "conduktor-k8s", "--strict"]


def test_irsa_and_the_shipped_read_only_rbac(rendered):
    sa = rendered[("ServiceAccount", "audit-asbuilt-audit")]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == VALUES["serviceAccount"]["awsRoleArn"]
    shipped = {d["metadata"]["name"]: d for d in yaml.safe_load_all((ROOT / "deploy/kubernetes/rbac.yaml").read_text())}
    assert rendered[("ClusterRole", "audit-asbuilt-audit-auditor")]["rules"] == shipped["asbuilt-auditor"]["rules"]
    assert rendered[("Role", "audit-asbuilt-audit-auditor-release")]["rules"] == shipped["asbuilt-auditor-release"]["rules"]
    verbs = {v for (k, _), d in rendered.items() if k in ("ClusterRole", "Role") for r in d["rules"] for v in r["verbs"]}
    assert verbs == {"get", "list"}  # read-only: no @mutating grants in the audit chart
    binding = rendered[("ClusterRoleBinding", "audit-asbuilt-audit-auditor")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "audit-asbuilt-audit", "namespace": "asbuilt"}]


def test_the_cronjob_command_keeps_the_baseline_in_s3(rendered, moto_endpoint, tmp_path):
    """The container's command line as rendered, run here: moto S3 is the report store."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="audit-reports")
    code = tmp_path / "code"
    shutil.copytree(ROOT / "examples" / "reference" / "terraform", code / "terraform")
    target = tmp_path / "target.yaml"
    target.write_text("name: conncentric-prod\nprofile: conncentric-aws\nstatic:\n  terraform: [code/terraform]\n")
    pod = rendered[("CronJob", "audit-asbuilt-audit-conncentric-prod")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    command = list(pod["containers"][0]["command"])
    # the image's paths, here: the chart's script, this Python, the target file written above
    swap = {"python": sys.executable, "/opt/asbuilt-audit/audit.py": str(CHART / "files" / "audit.py"),
            "asbuilt": str(Path(sys.executable).parent / "asbuilt"), "/etc/asbuilt/target.yaml": str(target)}
    command = [swap.get(a, a) for a in command]

    def run(n):
        env = {**os.environ, "ASBUILT_REPORT_DIR": str(tmp_path / f"work{n}" / "reports"),
               "ASBUILT_REPORTS_ENDPOINT_URL": moto_endpoint, "ASBUILT_REPORTS_REGION": "us-east-1"}
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)

    def keys(prefix):
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket="audit-reports", Prefix=prefix).get("Contents") or [])

    first = run(1)
    assert first.returncode == 0, first.stdout[-1500:] + first.stderr[-1500:]
    assert "no baseline yet" in first.stdout
    latest = "asbuilt/conncentric-prod/latest/"
    assert keys(latest) == [latest + n for n in ("junit.xml", "report.html", "results.json")]
    first_results = s3.get_object(Bucket="audit-reports", Key=latest + "results.json")["Body"].read()

    second = run(2)  # nothing changed
    assert second.returncode == 0, second.stdout[-1500:] + second.stderr[-1500:]
    assert "audit: baseline s3://audit-reports/asbuilt/conncentric-prod/latest/results.json" in second.stdout
    second_results = s3.get_object(Bucket="audit-reports", Key=latest + "results.json")["Body"].read()
    assert second_results != first_results  # the second run's own results, now the baseline
    assert latest + "drift.md" in keys(latest)  # compared, no drift

    msk = code / "terraform" / "msk.tf"  # a `should` control drifts (NET-07: pass -> warn): exit 3
    msk.write_text(msk.read_text().replace('client_broker = "TLS"', 'client_broker = "TLS_PLAINTEXT"'))
    third = run(3)
    assert third.returncode == 3, third.stdout[-1500:] + third.stderr[-1500:]
    drift = s3.get_object(Bucket="audit-reports", Key=latest + "drift.md")["Body"].read().decode()
    assert "NET-07" in drift
    assert len({k.split("/")[3] for k in keys("asbuilt/conncentric-prod/runs/")}) == 3
