"""The sandbox's platform layer itself: the reference chart installed with the real helm CLI, the
values pointing at the sandbox, the installer Job run for real, statuses set as a controller would."""

from __future__ import annotations

import hashlib
import json
import ssl
import time
import urllib.request

import pytest
import yaml

from asbuilt.probes import k8s as kp
from asbuilt.target import load_target

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_up_installs_the_reference_release_into_the_sandbox(sandbox):
    path = sandbox()
    target = load_target(path)
    state = json.loads((path.parent / "sandbox.json").read_text())
    platform = state["facts"]["platform"]
    kube = kp.KubeProbe(target.kubernetes, target)

    # helm 4 stored the release; every up is a fresh install (revision 1)
    release = kube.current_release()
    assert (release["info"]["status"], release["version"]) == ("deployed", 1)
    values = kp.release_values(release)
    assert values["env"]["KAFKA_BOOTSTRAP_SERVERS"] == target.kafka.bootstrap_servers
    assert values["database"]["host"] == target.postgres.host
    assert values["installer"]["enabled"] is True
    assert values["installer"]["roleArn"].endswith(":role/conncentric-installer-s3-read")
    [url] = values["installer"]["customBundleUrls"]
    assert url.startswith(platform["s3_https_front"] + "/conncentric-bundles-sandbox/custom-bundle-v1.0.0.zip?")
    assert "X-Amz-Expires=604800" in url and "X-Amz-Signature=" in url

    # the pre-signed https URL serves the uploaded bundle (TLS verified with the sandbox's CA)
    ctx = ssl.create_default_context(cafile=platform["s3_front_ca"])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
    with opener.open(url, timeout=10) as resp:
        assert hashlib.sha256(resp.read()).hexdigest() == platform["bundle_sha256"]

    # Deployments Available, pods simulated and saying so; the installer Job complete
    deps = {d["metadata"]["name"]: kp.deployment_facts(d) for d in kube.deployments()}
    assert {n: (d["available"], d["ready_replicas"]) for n, d in deps.items()} == \
        {n: (True, 2) for n in ("orchestrator", "adapter", "portal")}
    assert all(kp.SIMULATED in p["metadata"]["annotations"] for p in kube.pods())
    job = kube.read_job("conncentric-installer-1")
    assert kp.job_outcome(job) == "complete"
    lbc = kube.lb_controller_deployments()
    assert [d["metadata"]["name"] for d in lbc] == ["aws-load-balancer-controller"]

    # the Secret carries the database password; no workload holds it literally
    for w in kube.workloads():
        for s in kp.env_settings(w):
            if s["key"] == "DB_PASSWORD":
                assert s["value_kind"] == "reference" and s["from"] == "secretKeyRef"


def test_rollout_restart_replaces_the_pods(sandbox):
    path = sandbox()
    target = load_target(path)
    kube = kp.KubeProbe(target.kubernetes, target)
    before = {p["metadata"]["name"] for p in kube.pods(selector="app.kubernetes.io/component=adapter")}
    kube.rollout_restart("adapter")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kube.forget()
        dep = kube.read_deployment("adapter")
        after = {p["metadata"]["name"] for p in kube.pods(selector="app.kubernetes.io/component=adapter")}
        if kp.rollout_done(dep) and after and not (after & before):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the agent did not roll the adapter over: {before} -> {after}, status {dep.get('status')}")
    assert len(after) == 2


def test_drifted_values_reach_the_release_and_the_target(sandbox):
    path = sandbox("bootstrap-wrong-port", "kafka-client-read-only")
    target = load_target(path)
    kube = kp.KubeProbe(target.kubernetes, target)
    values = kp.release_values(kube.current_release())
    assert all(s.endswith(":9093") for s in values["env"]["KAFKA_BOOTSTRAP_SERVERS"].split(","))
    assert str(target.kafka.ssl_certfile).endswith("client-conncentric-app.crt")
    assert "kafka-client-read-only" in yaml.safe_load(path.read_text())["description"]
