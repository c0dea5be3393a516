"""The Kubernetes part of the sandbox, for real: etcd + kube-apiserver built from the Go module
proxy, the kubernetes Python client and the helm v4 CLI against them.

The first run builds etcd, kube-apiserver and helm into the cache (tens of minutes on two
cores); later runs reuse them. The control plane runs with its own state directory under
tmp, so a sandbox the developer has up is not touched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.sandbox, pytest.mark.xdist_group("sandbox-kube")]

kubernetes = pytest.importorskip("kubernetes")

NS = "asbuilt-kube-test"


@pytest.fixture(scope="module")
def part(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASBUILT_STATE", str(tmp_path_factory.mktemp("kube-state")))
        from asbuilt_sandbox.parts.kube import KubePart

        kube = KubePart(controllers=False)
        kube.install()
        try:
            yield kube
        finally:
            kube.stop()


@pytest.fixture(scope="module")
def facts(part):
    return part.start()


@pytest.fixture(scope="module")
def api(facts):
    from kubernetes import client

    return client.ApiClient(configuration=_configuration(facts))


def _configuration(facts):
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=facts["kubeconfig"], context=facts["context"],
                            client_configuration=cfg)
    return cfg


def _our_processes(state: Path) -> list[str]:
    """Command lines of every process that refers to this test's sandbox state directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(state) in cmd and stat != "Z":
            found.append(f"{entry.name}: {cmd[:200]}")
    return found


def _helm(part, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(part.helm_bin()), *args], env={**os.environ, **part.helm_env()},
                          capture_output=True, text=True, timeout=timeout)


def test_start_returns_facts_and_is_idempotent(part, facts):
    assert facts["api_url"].startswith("https://127.0.0.1:")
    assert facts["context"] == "asbuilt-sandbox"
    assert Path(facts["kubeconfig"]).is_file() and Path(facts["ca_file"]).is_file()
    assert Path(facts["helm_bin"]) == part.helm_bin()
    major, minor = (int(x) for x in facts["k8s_version"].lstrip("v").split(".")[:2])
    assert (major, minor) >= (1, 30)
    kubeconfig = json.loads(Path(facts["kubeconfig"]).read_text())
    assert kubeconfig["current-context"] == "asbuilt-sandbox"
    assert part.status() == {"up": True, "address": facts["api_url"], "kubeconfig": facts["kubeconfig"]}

    pids = sorted(p.pid() for p in part._processes() if p.running())
    began = time.monotonic()
    again = part.start()
    assert time.monotonic() - began < 10
    assert again["api_url"] == facts["api_url"]
    assert sorted(p.pid() for p in part._processes() if p.running()) == pids


def test_version_endpoint_and_rbac(api, facts):
    from kubernetes import client

    info = client.VersionApi(api).get_code()
    assert info.git_version == facts["k8s_version"]
    # The admin certificate is in system:masters; RBAC is the authorizer.
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(verb="create", resource="deployments",
                                                            group="apps"))))
    assert review.status.allowed


def test_namespace_and_deployment(api):
    from kubernetes import client

    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS, labels={"team": "asbuilt"})))
    labels = {"app": "portal"}
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="portal", namespace=NS),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="portal", image="example.invalid/portal:1.0",
                    resources=client.V1ResourceRequirements(requests={"cpu": "100m", "memory": "128Mi"},
                                                            limits={"cpu": "500m", "memory": "256Mi"}),
                    security_context=client.V1SecurityContext(run_as_non_root=True, privileged=False,
                                                              allow_privilege_escalation=False,
                                                              read_only_root_filesystem=True),
                )]),
            ),
        ),
    )
    apps.create_namespaced_deployment(NS, dep)
    got = apps.read_namespaced_deployment("portal", NS)
    assert got.spec.replicas == 2
    assert got.spec.template.spec.containers[0].resources.limits == {"cpu": "500m", "memory": "256Mi"}
    assert [n.metadata.name for n in core.list_namespace(label_selector="team=asbuilt").items] == [NS]


def test_deployment_status_through_the_status_subresource(api):
    from kubernetes import client

    apps = client.AppsV1Api(api)
    dep = apps.read_namespaced_deployment("portal", NS)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {
        "observedGeneration": dep.metadata.generation,
        "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "message": "set by the asbuilt sandbox", "lastUpdateTime": now, "lastTransitionTime": now},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": "set by the asbuilt sandbox", "lastUpdateTime": now, "lastTransitionTime": now},
        ],
    }
    apps.patch_namespaced_deployment_status("portal", NS, {"status": status})
    got = apps.read_namespaced_deployment("portal", NS)
    assert got.status.available_replicas == 2 and got.status.ready_replicas == 2
    assert {c.type: c.status for c in got.status.conditions} == {"Available": "True", "Progressing": "True"}
    # A spec change through the main resource leaves the status alone (no controller runs).
    apps.patch_namespaced_deployment("portal", NS, {"metadata": {"labels": {"tier": "web"}}})
    assert apps.read_namespaced_deployment("portal", NS).status.available_replicas == 2


def test_helm_version_is_at_least_4_1(part):
    res = _helm(part, "version", "--template", "{{.Version}}")
    assert res.returncode == 0, res.stderr
    major, minor = (int(x) for x in res.stdout.strip().lstrip("v").split(".")[:2])
    assert (major, minor) >= (4, 1), res.stdout


def test_helm_install_of_a_chart(part, facts, api, tmp_path):
    from kubernetes import client

    chart = tmp_path / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: tiny\nversion: 0.1.0\nappVersion: '1.0'\nkubeVersion: '>=1.30.0-0'\n")
    (chart / "values.yaml").write_text("greeting: hello\nreplicas: 2\n")
    (chart / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n")
    (chart / "templates" / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n"
        "  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: {app: web}\n  template:\n"
        "    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
        "        - name: web\n          image: example.invalid/web:1.0\n")
    res = _helm(part, "install", "demo", str(chart), "--namespace", "helm-demo", "--create-namespace",
                "--kubeconfig", facts["kubeconfig"], "--kube-context", facts["context"],
                "--set", "greeting=from-helm")
    assert res.returncode == 0, res.stderr + res.stdout

    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    assert core.read_namespaced_config_map("demo-config", "helm-demo").data == {"greeting": "from-helm"}
    assert apps.read_namespaced_deployment("demo-web", "helm-demo").spec.replicas == 2
    # The release record helm keeps in the cluster (what the live VER-04/HELM-01 checks read).
    secrets = core.list_namespaced_secret("helm-demo", label_selector="owner=helm,name=demo").items
    assert [s.type for s in secrets] == ["helm.sh/release.v1"]
    listed = json.loads(_helm(part, "list", "--namespace", "helm-demo", "--output", "json",
                              "--kubeconfig", facts["kubeconfig"]).stdout)
    assert [(r["name"], r["status"]) for r in listed] == [("demo", "deployed")]


def test_start_recovers_from_a_crash(part, facts):
    procs = [p for p in part._processes() if p.running()]
    assert {p.name for p in procs} == {"etcd", "apiserver"}
    for p in procs:  # a crash: SIGKILL, pid files left behind
        os.kill(p.pid(), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(p.running() for p in procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(p.pidfile.exists() for p in procs)
    assert part.status()["up"] is False

    again = part.start()
    assert part.status()["up"] is True
    assert again["api_url"] == facts["api_url"]  # the ports were free again, so they are kept
    from kubernetes import client

    # etcd's data survived the crash
    apps = client.AppsV1Api(client.ApiClient(configuration=_configuration(again)))
    assert apps.read_namespaced_deployment("portal", NS).status.available_replicas == 2


def test_stop_leaves_no_process_or_port(part, facts):
    state = part.dir
    part.start()
    assert _our_processes(state)
    part.stop()
    assert part.status()["up"] is False
    assert _our_processes(state) == []
    from asbuilt_sandbox.parts.base import port_open

    now = json.loads((part.dir / "facts.json").read_text())
    for key in ("api_port", "etcd_client_port", "etcd_peer_port"):
        assert not port_open("127.0.0.1", now[key]), key
    part.stop()  # stopping twice is fine


@pytest.mark.skipif(os.environ.get("ASBUILT_KUBE_CONTROLLERS", "") in ("", "0"),
                    reason="kube-controller-manager is optional (ASBUILT_KUBE_CONTROLLERS=1 to build and test it)")
def test_controllers_option_runs_replicasets(tmp_path, monkeypatch):
    from kubernetes import client

    monkeypatch.setenv("ASBUILT_STATE", str(tmp_path / "state"))
    from asbuilt_sandbox.parts.kube import KubePart

    kube = KubePart(controllers=True)
    try:
        facts = kube.start()
        api = client.ApiClient(configuration=_configuration(facts))
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="ctl")))
        apps.create_namespaced_deployment("ctl", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "example.invalid/web:1"}]}}}})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(core.list_namespaced_pod("ctl").items) < 2:
            time.sleep(0.25)
        assert len(apps.list_namespaced_replica_set("ctl").items) == 1
        assert len(core.list_namespaced_pod("ctl").items) == 2  # Pending: no scheduler, no nodes
        assert [s.metadata.name for s in core.list_namespaced_service_account("ctl").items] == ["default"]
    finally:
        kube.stop()
    assert _our_processes(kube.dir) == []
