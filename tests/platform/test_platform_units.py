"""The platform controls' pure parts: rules, the neutral forms probes build, the sandbox agent's statuses."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from asbuilt.probes import ProbeError
from asbuilt.probes import bundle_store as bs
from asbuilt.probes import installer_run as ir
from asbuilt.probes import k8s as kp
from asbuilt.probes.installer_logs import redact
from asbuilt.probes.messaging import _err
from asbuilt.rules import bundle_roundtrip, installer, k8s_live, messaging
from asbuilt_sandbox import agent

PRESIGNED = ("https://conncentric-bundles.s3.amazonaws.com/custom-bundle-v1.0.0.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=AKIAABCDEFGHIJKLMNOP%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z"
             "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "a" * 64)


# --------------------------------------------------------------------------- helm release, neutral forms


def test_release_secret_decodes_and_values_merge():
    rel = {"name": "conncentric", "namespace": "conncentric", "version": 3, "info": {"status": "deployed"},
           "chart": {"metadata": {"name": "conncentric", "version": "1.0.0"},
                     "values": {"installer": {"enabled": False, "backoffLimit": 2}, "env": {"A": "1"}}},
           "config": {"installer": {"enabled": True}}}
    stored = base64.b64encode(base64.b64encode(gzip.compress(json.dumps(rel).encode()))).decode()
    got = kp.decode_release(stored)
    assert got["version"] == 3
    assert kp.release_values(got) == {"installer": {"enabled": True, "backoffLimit": 2}, "env": {"A": "1"}}
    assert kp.release_summary(got)["chart"] == "conncentric-1.0.0"


def _deployment(**container):
    return {"kind": "Deployment", "metadata": {"name": "portal", "namespace": "conncentric"},
            "spec": {"template": {"spec": {
                "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                "initContainers": [{"name": "init", "securityContext": {"privileged": True}}],
                "containers": [{"name": "portal", **container}]}}}}


def test_containers_take_the_pod_security_context_as_fallback():
    cs = kp.containers_of(_deployment(securityContext={"allowPrivilegeEscalation": False},
                                      resources={"requests": {"cpu": "1"}}))
    assert [c["resource"] for c in cs] == ["Deployment conncentric/portal init container init",
                                           "Deployment conncentric/portal container portal"]
    assert cs[0]["privileged"] is True and cs[0]["run_as_non_root"] is True
    assert cs[1]["allow_privilege_escalation"] is False and cs[1]["requests"] == {"cpu": "1"}
    assert cs[1]["run_as_user"] == 10001


def test_env_settings_never_carry_values_and_accept_presigned_urls():
    dep = _deployment(env=[{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "p"}}},
                           {"name": "ADMIN_PASSWORD", "value": "hunter2-hunter2"},
                           {"name": "CUSTOM_BUNDLE_URLS", "value": PRESIGNED}],
                      args=["--api-token=abcdef123456"])
    items = kp.env_settings(dep)
    kinds = {i["key"]: i["value_kind"] for i in items}
    assert kinds == {"DB_PASSWORD": "reference", "ADMIN_PASSWORD": "literal", "CUSTOM_BUNDLE_URLS": "presigned-url",
                     "api-token": "literal"}
    assert "hunter2" not in json.dumps(items)
    values = kp.values_settings({"installer": {"customBundleUrls": [PRESIGNED]}, "db": {"password": "x1"}}, "rel")
    assert {v["key"]: v["value_kind"] for v in values} == {"installer.customBundleUrls[0]": "presigned-url",
                                                          "db.password": "literal"}


def test_ingress_tls_as_the_load_balancer_controller_reads_it():
    def ing(ann, tls=None):
        spec = {"ingressClassName": "alb", "rules": [{"http": {"paths": [
            {"path": "/api", "backend": {"service": {"name": "orchestrator"}}},
            {"path": "/", "backend": {"service": {"name": "portal"}}}]}}]}
        if tls:
            spec["tls"] = tls
        return {"metadata": {"name": "c", "namespace": "conncentric", "annotations": ann}, "spec": spec}

    ok = kp.ingress_facts(ing({"alb.ingress.kubernetes.io/certificate-arn": "arn:x",
                               "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]'}))
    assert ok["tls"] and ok["backends"] == ["orchestrator", "portal"] and ok["class"] == "alb"
    assert kp.ingress_facts(ing({}, tls=[{"hosts": ["a.example"]}]))["tls"]
    assert not kp.ingress_facts(ing({"alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}]'},
                                    tls=[{"hosts": ["a"]}]))["tls"]
    assert not kp.ingress_facts(ing({}))["tls"]


def test_job_and_rollout_states():
    job = {"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}
    assert kp.job_outcome(job) == "complete" and "succeeded 1" in kp.job_state(job)
    assert kp.job_outcome({"status": {"conditions": [{"type": "Failed", "status": "True"}]}}) == "failed"
    assert kp.job_outcome({}) is None and kp.job_state({}) == "no status yet"
    dep = {"metadata": {"generation": 2}, "spec": {"replicas": 2},
           "status": {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2}}
    assert kp.rollout_done(dep)
    dep["status"]["observedGeneration"] = 1
    assert not kp.rollout_done(dep)


# --------------------------------------------------------------------------- K8S-01, HA-05, K8S-06


def _facts(name, ready=2, available=True, replicas=2, single=None):
    return {"resource": f"Deployment conncentric/{name}", "name": name, "component": name, "replicas": replicas,
            "ready_replicas": ready, "available_replicas": ready, "available": available,
            "available_reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "single_by_design": single}


def test_k8s_01_and_ha_05():
    good = [_facts("orchestrator"), _facts("adapter"), _facts("portal")]
    assert k8s_live.deployments_available(good, "conncentric").status == "pass"
    v = k8s_live.deployments_available([_facts("orchestrator", 0, False), _facts("adapter")], "conncentric")
    assert v.status == "fail" and "no Deployment for portal" in v.message
    assert "Deployment conncentric/orchestrator: not Available (MinimumReplicasUnavailable" in v.message
    assert k8s_live.ready_replicas(good, 2, "conncentric").status == "pass"
    v = k8s_live.ready_replicas([_facts("orchestrator", 1, replicas=1), _facts("adapter"), _facts("portal")], 2,
                                "conncentric")
    assert v.status == "fail" and "Deployment conncentric/orchestrator: 1 ready" in v.message and "Fix:" in v.message
    single = [_facts("orchestrator", 1, replicas=1, single="leader election"), _facts("adapter"), _facts("portal")]
    assert k8s_live.ready_replicas(single, 2, "conncentric").status == "pass"
    assert k8s_live.ready_replicas([], 2, "conncentric").status == "error"


def test_k8s_06():
    lbc = _facts("aws-load-balancer-controller")
    lbc["resource"] = "Deployment kube-system/aws-load-balancer-controller"
    assert k8s_live.lb_controller_running([lbc], [{"name": "alb", "controller": "ingress.k8s.aws/alb"}]).status == "pass"
    assert k8s_live.lb_controller_running([], []).status == "fail"
    down = {**lbc, "available": False, "ready_replicas": 0}
    v = k8s_live.lb_controller_running([down], [])
    assert v.status == "fail" and "kube-system/aws-load-balancer-controller: not running" in v.message


# --------------------------------------------------------------------------- INST-01..04


def test_inst_01_log_order():
    job = {"resource": "Job conncentric/conncentric-installer-3", "outcome": "complete", "state": "ok"}
    lines = ["Pass 1: Applying Conncentric Essentials...", "Pass 1: Complete.",
             "Pass 2: Downloading Custom Bundle from https://b.s3.amazonaws.com/custom-bundle-v1.0.0.zip...",
             "Pass 2: Applying Custom Bundle...", "Pass 2: Complete.", "Installer finished successfully."]
    log = {"resource": "pod conncentric/conncentric-installer-3-abc", "source": "kubernetes", "lines": lines}
    assert installer.installer_job_log(job, log, ["/custom-bundle-v1.0.0.zip"]).status == "pass"
    swapped = {**log, "lines": [lines[0], lines[1], lines[5], lines[2], lines[3], lines[4]]}
    v = installer.installer_job_log(job, swapped)
    assert v.status == "fail" and "'Installer finished successfully.'" in v.message
    v = installer.installer_job_log(job, log, ["/other-bundle.zip"])
    assert v.status == "fail" and "/other-bundle.zip" in v.message
    assert installer.installer_job_log({**job, "outcome": "failed"}, log).status == "fail"
    assert installer.installer_job_log({**job, "outcome": None}, log).status == "error"
    assert installer.installer_job_log({"resource": "Job x", "missing": True}, None).status == "fail"


def _row(name, id_="1", sha="a" * 64, version=1, updated="t1", xmin="10"):
    return {"id": id_, "name": name, "sha256": sha, "content_sha256": sha, "version": version,
            "created_at": "t0", "updated_at": updated, "xmin": xmin}


RUN = {"resource": "installer run", "outcome": "complete", "exit_code": 0, "seconds": 0.3}


def test_inst_02_idempotency():
    before = {"adapter_configurations": [_row("a"), _row("b", "2")], "pipeline_definitions": [_row("p", "3")]}
    assert installer.idempotent(before, json.loads(json.dumps(before)), RUN).status == "pass"
    after = json.loads(json.dumps(before))
    after["adapter_configurations"][0].update(version=2, updated_at="t2", xmin="11")
    after["pipeline_definitions"].append(_row("q", "4"))
    v = installer.idempotent(before, after, RUN)
    assert v.status == "fail" and "adapter_configurations/a: version 1 -> 2" in v.message
    assert "pipeline_definitions/q: added" in v.message and "Fix:" in v.message
    rewritten = json.loads(json.dumps(before))
    rewritten["adapter_configurations"][1]["xmin"] = "99"  # same values written again: still a change
    assert installer.idempotent(before, rewritten, RUN).status == "fail"
    assert installer.idempotent({}, {}, RUN).status == "error"
    assert installer.idempotent(before, before, {**RUN, "outcome": "failed"}).status == "fail"


def test_inst_03_convergence():
    before = {"adapter_configurations": [_row("m", "1", "a" * 64), _row("other", "2")]}
    after = {"adapter_configurations": [_row("m", "1", "b" * 64, 2, "t2", "11"), _row("other", "2"),
                                        _row("n", "3", "c" * 64)]}
    mod = {"table": "adapter_configurations", "name": "m", "sha256": "b" * 64}
    new = {"table": "adapter_configurations", "name": "n", "sha256": "c" * 64}
    assert installer.converges(before, after, RUN, mod, new).status == "pass"
    replaced = json.loads(json.dumps(after))
    replaced["adapter_configurations"][0]["id"] = "9"
    assert "not in place" in installer.converges(before, replaced, RUN, mod, new).message
    ignored = json.loads(json.dumps(after))
    ignored["adapter_configurations"][0] = _row("m", "1", "a" * 64)
    assert "not updated" in installer.converges(before, ignored, RUN, mod, new).message
    touched = json.loads(json.dumps(after))
    touched["adapter_configurations"][1].update(version=2, updated_at="t3")
    v = installer.converges(before, touched, RUN, mod, new)
    assert v.status == "fail" and "adapter_configurations/other: version 1 -> 2" in v.message
    no_new = {"adapter_configurations": after["adapter_configurations"][:2]}
    assert "was not created" in installer.converges(before, no_new, RUN, mod, new).message


def test_inst_04_state_survives():
    before = {"adapter_configurations": [_row("a")], "pipeline_definitions": [_row("p", "2")]}
    restarted = [{"resource": "Deployment conncentric/orchestrator", "pods_before": ["o-1"], "pods_after": ["o-2"]}]
    assert installer.state_survives(before, before, restarted).status == "pass"
    v = installer.state_survives(before, {"adapter_configurations": [], "pipeline_definitions": []}, restarted)
    assert v.status == "fail" and "adapter_configurations/a: gone after the restart" in v.message
    same_pods = [{**restarted[0], "pods_after": ["o-1"]}]
    assert installer.state_survives(before, before, same_pods).status == "error"
    assert installer.state_survives({}, {}, restarted).status == "error"


# --------------------------------------------------------------------------- BNDL-02, BNDL-03, MSG-01


def _trip(**over):
    facts = {"resource": "s3://b/asbuilt-selftest/x/custom-bundle.zip", "versioning": "Enabled",
             "uploads": [{"version_id": "v1", "sha256": "1" * 64}, {"version_id": "v2", "sha256": "2" * 64}],
             "versions_listed": 2, "previous_download_sha256": "1" * 64, "s3_download_sha256": "2" * 64,
             "presigned": {"expires_seconds": 3600, "signature_version": "v4", "download_sha256": "2" * 64}}
    facts.update(over)
    return facts


def test_bndl_02_round_trip():
    assert bundle_roundtrip.round_trip(_trip(), 604800).status == "pass"
    unversioned = _trip(versioning=None, versions_listed=1, uploads=[{"version_id": "null", "sha256": "1" * 64},
                                                                     {"version_id": "null", "sha256": "2" * 64}],
                        previous_download_sha256=None)
    v = bundle_roundtrip.round_trip(unversioned, 604800)
    assert v.status == "fail" and "did not keep the previous version" in v.message
    v = bundle_roundtrip.round_trip(_trip(presigned={"expires_seconds": 700000, "signature_version": "v4",
                                                     "download_sha256": "2" * 64}), 604800)
    assert v.status == "fail" and "valid for 700000 s" in v.message
    v = bundle_roundtrip.round_trip(_trip(s3_download_sha256="3" * 64), 604800)
    assert v.status == "fail" and "downloaded through S3" in v.message


def test_bndl_03_bundle_in_state():
    entries = [{"name": "manifests/a.json", "kind": "manifest", "table": "adapter_configurations", "item_name": "a",
                "sha256": "a" * 64},
               {"name": "artifacts/x.xml", "kind": "artifact", "table": "artifacts", "item_name": "x.xml",
                "sha256": "b" * 64}]
    snap = {"adapter_configurations": [_row("a", sha="a" * 64)], "artifacts": [_row("x.xml", "2", "b" * 64)]}
    assert bundle_roundtrip.bundle_in_state({"resource": "bundle", "entries": entries}, snap).status == "pass"
    snap["artifacts"][0]["content_sha256"] = "c" * 64
    v = bundle_roundtrip.bundle_in_state({"resource": "bundle", "entries": entries}, snap)
    assert v.status == "fail" and "artifacts/x.xml" in v.message and "stored bytes" in v.message
    v = bundle_roundtrip.bundle_in_state({"resource": "bundle", "entries": entries}, {})
    assert v.status == "fail" and "bundle: 2 of 2 item(s) missing" in v.message


def _msg(produced, consumed):
    return {"resource": "topic t via b:9094", "message_id": "m", "timeout_seconds": 5, "security_protocol": "SSL",
            "client_certificate": True, "payload_bytes": 10, "produced": produced, "consumed": consumed}


def test_msg_01():
    ok = _msg({"ok": True, "partition": 0, "offset": 1},
              {"found": True, "key_matches": True, "payload_matches": True, "header_matches": True, "seconds": 0.1})
    assert messaging.message_round_trip(ok).status == "pass"
    assert messaging.message_round_trip(_msg({"ok": False, "timed_out": True, "error": "x"}, {})).status == "error"
    refused = _msg({"ok": False, **_err(type("TopicAuthorizationFailedError", (Exception,), {})("denied"))}, {})
    assert messaging.message_round_trip(refused).status == "fail"
    wrapped = _err(Exception("Unexpected error in InitProducerIdResponse: [Error 31] ClusterAuthorizationFailedError"))
    assert wrapped["definite"]
    late = _msg({"ok": True, "partition": 0, "offset": 1}, {"found": False, "timed_out": True, "waited_for": "x"})
    assert messaging.message_round_trip(late).status == "error"
    altered = _msg({"ok": True}, {"found": True, "key_matches": True, "payload_matches": False, "header_matches": True})
    assert messaging.message_round_trip(altered).status == "fail"


# --------------------------------------------------------------------------- bundles, triggers, logs


@pytest.mark.parametrize("url, expected", [
    ("https://my-bundles.s3.amazonaws.com/custom-bundle-v1.0.0.zip", ("my-bundles", "custom-bundle-v1.0.0.zip")),
    ("https://my-bundles.s3.us-east-1.amazonaws.com/a/b.zip?X-Amz-Expires=1", ("my-bundles", "a/b.zip")),
    ("https://s3.us-east-1.amazonaws.com/my-bundles/b.zip", ("my-bundles", "b.zip")),
    ("https://127.0.0.1:8443/conncentric-bundles-sandbox/custom-bundle-v1.0.0.zip?X-Amz-Signature=x",
     ("conncentric-bundles-sandbox", "custom-bundle-v1.0.0.zip")),
    ("https://example.com/", None),
])
def test_bundle_urls_name_s3_objects(url, expected):
    assert bs.parse_bundle_url(url) == expected


def test_unique_bundles_are_valid_and_unique(tmp_path):
    from asbuilt import bundle

    a, entries, run_id = bs.unique_bundle("abc")
    b, _, _ = bs.unique_bundle("abc")
    assert bs.sha256(a) != bs.sha256(b)
    (tmp_path / "a.zip").write_bytes(a)
    assert bundle.verify(tmp_path / "a.zip") == []
    assert {e["kind"] for e in entries} == {"manifest", "plugin", "artifact"}
    assert all(e["item_name"].startswith("asbuilt-selftest-") for e in entries)
    assert set(bs.bundle_files(a)) == {e["name"] for e in entries}


def test_selftest_job_from_the_release_template():
    template = {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "conncentric-installer-4", "namespace": "conncentric",
                             "annotations": {"helm.sh/hook": "post-install", "keep": "me"}, "labels": {"a": "b"}},
                "spec": {"backoffLimit": 2, "template": {"metadata": {"labels": {"job-name": "x", "c": "d"}},
                                                          "spec": {"containers": [{"name": "installer", "env": [
                                                              {"name": "CUSTOM_BUNDLE_URLS", "value": "old"}]}]}}}}
    job = ir.selftest_job(template, ["https://new/1.zip", "https://new/2.zip"], "r1")
    assert job["metadata"]["name"] == "asbuilt-selftest-installer-r1"
    assert job["metadata"]["annotations"] == {"keep": "me"}
    assert job["metadata"]["labels"]["asbuilt.dev/selftest"] == "true"
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["ttlSecondsAfterFinished"] == 3600
    assert "job-name" not in job["spec"]["template"]["metadata"]["labels"]
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "CUSTOM_BUNDLE_URLS", "value": "https://new/1.zip,https://new/2.zip"}]
    assert template["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "old"  # a copy
    same = ir.selftest_job(template, None, "r2")
    assert same["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "old"
    with pytest.raises(ProbeError, match="no CUSTOM_BUNDLE_URLS"):
        ir.with_bundle_urls({"name": "installer", "env": []}, ["https://x"])


def test_log_lines_lose_their_signatures():
    assert redact(f"Pass 2: Downloading Custom Bundle from {PRESIGNED}...") == \
        "Pass 2: Downloading Custom Bundle from https://conncentric-bundles.s3.amazonaws.com/" \
        "custom-bundle-v1.0.0.zip?<redacted>"


# --------------------------------------------------------------------------- the sandbox agent


def test_agent_statuses_are_what_the_controllers_would_write():
    tmpl = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    assert agent.template_hash(tmpl) == agent.template_hash(json.loads(json.dumps(tmpl)))
    pod = {"metadata": {"name": "p"}, "spec": tmpl["spec"]}
    running = {**pod, "status": agent.running_pod_status(pod, "2026-01-01T00:00:00Z")}
    dep = {"metadata": {"name": "portal", "generation": 3}, "spec": {"replicas": 2}}
    st = agent.deployment_status(dep, [running, running], [])
    assert st["observedGeneration"] == 3 and st["readyReplicas"] == st["availableReplicas"] == 2
    assert {c["type"]: c["status"] for c in st["conditions"]} == {"Available": "True", "Progressing": "True"}
    st = agent.deployment_status(dep, [], [])
    assert st["unavailableReplicas"] == 2
    assert {c["type"]: c["status"] for c in st["conditions"]}["Available"] == "False"
    done = agent.finished_pod_status(pod, "t0", "t1", 1)
    assert done["phase"] == "Failed" and done["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert agent.is_installer({"spec": {"containers": [{"args": ["install"]}]}})
    assert not agent.is_installer(tmpl)


def test_agent_runs_the_installer_with_the_container_inputs(tmp_path):
    argv = agent.installer_argv({"DB_HOST": "198.18.10.10", "DB_PORT": "5432", "DB_NAME": "c", "DB_USER": "u",
                                 "CUSTOM_BUNDLE_URLS": "https://a/1.zip, https://a/2.zip"},
                                {"fault": "skip-pass-2", "log_group": "/g", "bundle_cafile": "/ca",
                                 "pg_sslrootcert": "/pgca", "aws_endpoint": "http://127.0.0.1:1"},
                                "pod_ns_installer", tmp_path / "pw")
    joined = " ".join(argv)
    assert "--bundle-url https://a/1.zip --bundle-url https://a/2.zip" in joined
    assert "--fault skip-pass-2" in joined and "--log-stream pod_ns_installer" in joined
    assert "--pg-sslmode verify-full" in joined and str(tmp_path / "pw") in joined
