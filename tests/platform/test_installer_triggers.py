"""How the installer is triggered and where its log is read, against the sandbox; and that every wait
has its bound (an ``error`` naming what was waited for, never a hang)."""

from __future__ import annotations

import sys
import time

import pytest
import yaml

from tests.helpers import asbuilt, by_id, write_yaml

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def _target(tmp_path, path, change) -> str:
    data = yaml.safe_load(path.read_text())
    change(data)
    return str(write_yaml(tmp_path / "target.yaml", data))


def _run(tmp_path, target, *controls, profile=None):
    args = ["run", "--target", target, "--live-only", "--report-dir", tmp_path / "reports"]
    if profile:
        args += ["--profile", profile]
    for c in controls:
        args += ["--control", c]
    res = asbuilt(*args, timeout=900)
    return res, by_id(res.results(tmp_path / "reports"))


def test_job_template_trigger_runs_a_job_made_from_the_release(sandbox, tmp_path):
    """What a real cluster does (deploy/sandbox-installer-job.md): a Job from the release's installer
    Job template, created through the Kubernetes API; in the sandbox the agent runs it. The sandbox's
    own target file uses this trigger; the run's log is read from where the target ships it
    (CloudWatch Logs), the Job's own stream; no Job is left."""
    import json

    path = sandbox()
    assert yaml.safe_load(path.read_text())["installer"]["trigger"] == {"kind": "job-template"}
    res, results = _run(tmp_path, str(path), "INST-02", "INST-03", "BNDL-03")
    assert {c: results[c]["status"] for c in ("INST-02", "INST-03", "BNDL-03")} == \
        {"INST-02": "pass", "INST-03": "pass", "BNDL-03": "pass"}, res.stdout[-3000:]
    assert "job conncentric/asbuilt-selftest-installer-" in results["INST-02"]["message"]
    evidence = json.dumps(results["INST-02"])
    assert "log group /conncentric/installer stream asbuilt-selftest-installer-" in evidence, evidence[:3000]
    from kubernetes import client, config

    t = yaml.safe_load(path.read_text())
    api = config.new_client_from_config(config_file=t["kubernetes"]["kubeconfig"], context=t["kubernetes"]["context"])
    time.sleep(1.5)  # the agent collects the Jobs' pods on its next tick
    jobs = [j.metadata.name for j in client.BatchV1Api(api).list_namespaced_job("conncentric").items]
    assert not [j for j in jobs if j.startswith("asbuilt-selftest-")], jobs
    pods = [p.metadata.name for p in client.CoreV1Api(api).list_namespaced_pod("conncentric").items]
    assert not [p for p in pods if p.startswith("asbuilt-selftest-")], pods


def test_job_template_trigger_catches_a_faulty_installer(sandbox, tmp_path):
    path = sandbox("installer-not-idempotent")

    def job_template(t):
        t["installer"]["trigger"] = {"kind": "job-template"}

    _res, results = _run(tmp_path, _target(tmp_path, path, job_template), "INST-02")
    assert results["INST-02"]["status"] == "fail", results["INST-02"]
    assert "version" in results["INST-02"]["message"]


def test_kubernetes_log_source_says_the_sandbox_has_no_pod_logs(sandbox, tmp_path):
    """The sandbox has no kubelet, so `kubectl logs` has nothing: INST-01 is an error naming the pod, not a pass."""
    path = sandbox()

    def kube_logs(t):
        t["installer"]["logs"] = {"source": "kubernetes"}

    _res, results = _run(tmp_path, _target(tmp_path, path, kube_logs), "INST-01")
    r = results["INST-01"]
    assert r["status"] == "error", r
    assert "log of pod conncentric/conncentric-installer-" in r["message"]


def test_waits_are_bounded_by_the_profile(sandbox, tmp_path):
    """An installer that never finishes and a broker that never answers end as errors within the
    profile's bounds, naming what was waited for."""
    path = sandbox()
    profile = write_yaml(tmp_path / "profile.yaml", {
        "name": "tight", "extends": "conncentric-aws",
        "thresholds": {"INST-02": {"installer_timeout_seconds": 3}, "MSG-01": {"consume_timeout_seconds": 4}}})

    def hanging(t):
        t["installer"]["trigger"] = {"kind": "command", "command": [sys.executable, "-c", "import time; time.sleep(120)"]}
        t["kafka"]["bootstrap_servers"] = "198.18.20.99:9094"  # in the sandbox network, nothing listens

    t0 = time.monotonic()
    _res, results = _run(tmp_path, _target(tmp_path, path, hanging), "INST-02", "MSG-01", profile=str(profile))
    assert time.monotonic() - t0 < 120
    assert results["INST-02"]["status"] == "error"
    assert "waited 3s for the installer command" in results["INST-02"]["message"]
    assert results["MSG-01"]["status"] == "error", results["MSG-01"]
    assert "198.18.20.99:9094" in results["MSG-01"]["message"]


def test_a_read_only_run_skips_the_mutating_scenarios(sandbox, tmp_path):
    path = sandbox()

    def read_only(t):
        t["allow_mutating"] = False

    _res, results = _run(tmp_path, _target(tmp_path, path, read_only), "INST-01", "INST-02", "INST-03", "INST-04",
                         "BNDL-02", "BNDL-03")
    assert results["INST-01"]["status"] == "pass"
    for c in ("INST-02", "INST-03", "INST-04", "BNDL-02"):
        assert results[c]["status"] == "skipped" and "@mutating" in results[c]["message"], results[c]
    assert results["BNDL-03"]["status"] == "pass"  # the release's bundle is checked read-only
