"""Steps about the platform itself: Kubernetes workloads, the helm release, the two-pass installer,
bundles and messaging. Reader -> unit (decide) -> verdict; the @mutating ones clean up after themselves."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlsplit

import pytest
from pytest_bdd import given, then, when

from asbuilt.probes import ProbeError
from asbuilt.probes import bundle_store as bs
from asbuilt.probes import k8s as k8sprobe
from asbuilt.rules import Verdict, failed, skipped
from asbuilt.rules import k8s_live

SIMULATED_NOTE = ("the asbuilt sandbox runs no kubelet: these Pods are API objects whose status its agent sets as "
                  "the Deployment controller and a kubelet would (no container ran)")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def kube(target):
    if target.kubernetes is None:
        pytest.skip("the target file has no kubernetes section")
    return k8sprobe.KubeProbe(target.kubernetes, target)


def _aws_or_none(asbuilt_run):
    if asbuilt_run.target.aws is None:
        return None
    return asbuilt_run.aws()


def _postgres(target):
    if target.postgres is None:
        pytest.skip("the target file has no postgres section (the platform database)")
    return target.postgres


def _snapshot(target) -> dict:
    return _state(target).tables


def _state(target):
    """The platform tables now, as the model holds them (asbuilt.readers.platform)."""
    from asbuilt.readers.platform import platform_state

    _postgres(target)
    return platform_state(target)


def _timeout(params, control: str = "INST-01") -> float:
    return float(params(control).get("installer_timeout_seconds", 300))


def _max_zip(params) -> int:
    return int(params("BNDL-01").get("max_zip_bytes", 512 * 1024 * 1024))


def _release_urls(release: dict) -> list[str]:
    values = k8sprobe.release_values(release)
    return [str(u) for u in ((values.get("installer") or {}).get("customBundleUrls") or [])]


def _release_where(release: dict) -> str:
    return f"helm release {release.get('namespace')}/{release.get('name')} revision {release.get('version')}"


class Selftest:
    """What a @mutating scenario wrote, so the teardown can remove it."""

    def __init__(self) -> None:
        self.run_id = secrets.token_hex(6)
        self.prefix = f"{bs.SELFTEST_PREFIX}{self.run_id}/"
        self.store: bs.BundleStore | None = None
        self.items: list[tuple[str, str]] = []


@pytest.fixture
def selftest(request, asbuilt_run):
    st = Selftest()
    yield st
    notes: dict = {"resource": "clean-up (SUITE-01)"}
    if st.store is not None:
        try:
            notes["s3_deleted"] = st.store.delete_prefix(st.prefix)
        except Exception as exc:  # noqa: BLE001 -- a clean-up problem is evidence, not a crash
            notes["s3_left"] = f"s3://{st.store.bucket}/{st.prefix}: {exc}"
    if st.items and asbuilt_run.target.postgres is not None:
        from asbuilt.probes import platform_db

        notes["platform_items"] = platform_db.delete_selftest_items(asbuilt_run.target.postgres, asbuilt_run.target,
                                                                    sorted(set(st.items)))
    if len(notes) > 1:
        for v in asbuilt_run.by_item.get(request.node.nodeid, []):
            v.evidence.append(notes)


def _simulated(pods: list[dict]) -> bool:
    return any(k8sprobe.SIMULATED in ((p.get("metadata") or {}).get("annotations") or {}) for p in pods)


def _note(v: Verdict, pods: list[dict]) -> Verdict:
    if _simulated(pods):
        v.evidence.append({"resource": "sandbox", "note": SIMULATED_NOTE})
    return v


# --------------------------------------------------------------------------- Kubernetes workloads


@given("the platform's Deployments in the release namespace", target_fixture="platform_deployments")
def platform_deployments(kube):
    return {"deployments": [k8sprobe.deployment_facts(d) for d in kube.deployments()], "pods": kube.pods(),
            "namespace": kube.namespace}


@then("Orchestrator, Adapter and Portal each have an Available Deployment")
def deployments_available(platform_deployments, decide, verdict):
    d = platform_deployments
    verdict(_note(decide("K8S-01", d["deployments"], namespace=d["namespace"]), d["pods"]))


@then("each component has at least the profile's number of ready replicas")
def enough_ready(platform_deployments, decide, verdict):
    d = platform_deployments
    verdict(_note(decide("HA-05", d["deployments"], namespace=d["namespace"]), d["pods"]))


@given("the Ingresses of the release namespace", target_fixture="platform_ingresses")
def platform_ingresses(kube):
    return [k8sprobe.ingress_facts(i) for i in kube.ingresses()]


@then("an alb Ingress with TLS routes to the portal and orchestrator services")
def ingress_routes(platform_ingresses, decide, verdict):
    verdict(decide("K8S-02", platform_ingresses))


@given("the workloads of the release namespace", target_fixture="platform_containers")
def platform_containers(kube):
    return [c for w in kube.workloads() for c in k8sprobe.containers_of(w)]


@then("every container sets cpu and memory requests and limits")
def container_resources(platform_containers, decide, verdict):
    verdict(decide("K8S-03", platform_containers))


@then("every container runs non-root, unprivileged, without escalation, on a read-only root filesystem")
def container_security(platform_containers, decide, verdict):
    verdict(decide("K8S-04", platform_containers))


@given("the workloads, ConfigMaps and release values of the platform", target_fixture="platform_settings")
def platform_settings(kube):
    items = [s for w in kube.workloads() for s in k8sprobe.env_settings(w)]
    items += [s for cm in kube.configmaps() if cm["metadata"]["name"] != "kube-root-ca.crt"
              for s in k8sprobe.configmap_settings(cm)]
    try:
        release = kube.current_release()
    except ProbeError:
        release = None
    if release is not None:
        items += k8sprobe.values_settings(release.get("config") or {}, _release_where(release))
    return items


@then("no credential appears as a literal value")
def no_literal_credentials(platform_settings, decide, verdict):
    verdict(decide("K8S-05", platform_settings))


@given("the AWS Load Balancer Controller of the cluster", target_fixture="lb_controller")
def lb_controller(kube):
    deps = kube.lb_controller_deployments()
    classes = [{"name": c["metadata"]["name"], "controller": (c.get("spec") or {}).get("controller")}
               for c in kube.ingress_classes()]
    pods = []
    for d in deps:
        with_labels = ((d.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        sel = ",".join(f"{k}={v}" for k, v in with_labels.items())
        pods += kube.pods(d["metadata"]["namespace"], sel) if sel else []
    return {"deployments": [k8sprobe.deployment_facts(d) for d in deps], "classes": classes, "pods": pods}


@then("the controller is running")
def lb_controller_running(lb_controller, decide, verdict):
    verdict(_note(decide("K8S-06", lb_controller["deployments"], ingress_classes=lb_controller["classes"]),
                  lb_controller["pods"]))


# --------------------------------------------------------------------------- the helm release


@given("the values of the deployed helm release", target_fixture="release_facts")
def release_facts(kube, target, asbuilt_run):
    from asbuilt.rules.iam import describe_url

    release = kube.current_release()
    values = k8sprobe.release_values(release)
    where = _release_where(release)
    inst = values.get("installer") or {}
    servers = str((values.get("env") or {}).get("KAFKA_BOOTSTRAP_SERVERS") or "")
    facts = {
        "resource": where, "status": (release.get("info") or {}).get("status"),
        "installer_enabled": {"value": inst.get("enabled"), "resource": f"{where}: installer.enabled"},
        "bundle_urls": [{"resource": f"{where}: installer.customBundleUrls[{i}]", **describe_url(str(u))}
                        for i, u in enumerate(inst.get("customBundleUrls") or [])],
        "bootstrap_servers": {"value": servers, "resource": f"{where}: env.KAFKA_BOOTSTRAP_SERVERS"},
        "expected_brokers": None, "tls_only_brokers": None,
    }
    expected, source = _msk_brokers(asbuilt_run, target, servers)
    facts["expected_brokers"] = expected
    facts["expected_brokers_source"] = source
    aws = _aws_or_none(asbuilt_run)
    if aws is not None and target.aws.resources.msk_cluster:
        try:
            clusters = aws.msk_clusters()
            if clusters:
                facts["tls_only_brokers"] = clusters[0].get("client_broker") == "TLS"
        except ProbeError:
            pass
    return facts


def _msk_brokers(asbuilt_run, target, servers: str) -> tuple[list[str] | None, str]:
    """The MSK cluster's bootstrap brokers (GetBootstrapBrokers), else the target's kafka.bootstrap_servers."""
    tls = any(s.strip().endswith(":9094") for s in servers.split(",") if s.strip())
    aws = _aws_or_none(asbuilt_run)
    why = "the target names no MSK cluster"
    if aws is not None and target.aws.resources.msk_cluster:
        try:
            clusters = aws.msk_clusters()
            out, why = aws.msk_bootstrap(clusters[0]["resource"]) if clusters else (None, "no MSK cluster found")
        except ProbeError as exc:
            out, why = None, str(exc)
        if out:
            key = "BootstrapBrokerStringTls" if tls else "BootstrapBrokerString"
            value = out.get(key) or out.get("BootstrapBrokerStringTls") or out.get("BootstrapBrokerString")
            if value:
                return [s.strip() for s in value.split(",") if s.strip()], f"kafka:GetBootstrapBrokers {key}"
    if target.kafka is not None and target.kafka.bootstrap_servers:
        return ([s.strip() for s in target.kafka.bootstrap_servers.split(",") if s.strip()],
                f"the target's kafka.bootstrap_servers (MSK bootstrap brokers unavailable: {why})")
    return None, f"unknown ({why}; the target sets no kafka.bootstrap_servers)"


@then("the installer is enabled, every bundle URL is https and the bootstrap servers are the MSK brokers")
def release_values_ok(release_facts, decide, verdict):
    v = decide("HELM-01", [release_facts])  # the unit binds NET-02's broker ports
    source = release_facts.get("expected_brokers_source") or ""
    if v.status == "pass" and not source.startswith("kafka:GetBootstrapBrokers"):
        v.message += f"; brokers compared with {source}"
    verdict(v)


# --------------------------------------------------------------------------- INST-01


@given("the installer Job of the release's current revision", target_fixture="installer_job")
def installer_job(kube, params):
    release = kube.current_release()
    template = kube.installer_job_template(release)
    name = template["metadata"]["name"]
    ns = kube.namespace
    facts = {"resource": f"Job {ns}/{name}", "name": name, "revision": release.get("version"),
             "release": _release_where(release), "bundle_paths": [urlsplit(u).path for u in _release_urls(release)]}
    job = kube.read_job(name)
    if job is None:
        hook = next((h for h in release.get("hooks") or [] if h.get("name") == name), None)
        phase = ((hook or {}).get("last_run") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            facts.update(outcome="complete" if phase == "Succeeded" else "failed", state=f"helm hook record: {phase}",
                         note="the Job itself was deleted (hook-delete-policy); its outcome is helm's record")
            facts["job"] = None
            return facts
        facts.update(missing=True, outcome=None, state="not found")
        return facts
    if k8sprobe.job_outcome(job) is None:
        job = kube.wait_job(name, _timeout(params), ns)
    facts.update(outcome=k8sprobe.job_outcome(job), state=k8sprobe.job_state(job), job=job)
    return facts


@when("its log is read from where the target ships it", target_fixture="installer_log")
def installer_log(installer_job, kube, target, asbuilt_run):
    from asbuilt.readers.platform import installer_log as read_log

    if installer_job.get("missing"):
        return None
    return read_log(installer_job, target, kube, lambda: _aws_or_none(asbuilt_run))


@then("the log shows Pass 1 complete, Pass 2 download and apply complete, and success, in that order")
def installer_log_ok(installer_job, installer_log, decide, verdict):
    job = {k: v for k, v in installer_job.items() if k not in ("job", "bundle_paths")}
    verdict(decide("INST-01", [{"resource": installer_job["resource"], "job": job, "log": installer_log,
                                "bundle_paths": installer_job.get("bundle_paths")}]))


# --------------------------------------------------------------------------- INST-02 / INST-04


@given("a snapshot of the platform state", target_fixture="state_before")
def state_before(target):
    return _state(target)


@when("the installer runs again with the release's inputs", target_fixture="rerun")
def rerun(target, kube, params, asbuilt_run):
    from asbuilt.probes.installer_run import InstallerRunner

    return InstallerRunner(target, kube, _aws_or_none(asbuilt_run)).run(_timeout(params, "INST-02"))


@then("every stored item is byte-for-byte unchanged, with no new rows and no bumped versions or timestamps")
def unchanged(state_before, rerun, target, decide, verdict):
    verdict(decide("INST-02", [{"resource": state_before.resource, "before": state_before, "after": _state(target),
                                "run": rerun}]))


@when("the Orchestrator and Adapter Deployments are restarted and Ready again", target_fixture="restarts")
def restarts(kube, params):
    import time

    timeout = float(params("INST-04").get("restart_timeout_seconds", 300))
    by = k8s_live.component_deployments([k8sprobe.deployment_facts(d) for d in kube.deployments()],
                                        ("orchestrator", "adapter"))
    targets = [d for comp in ("orchestrator", "adapter") for d in by[comp]]
    missing = [c for c in ("orchestrator", "adapter") if not by[c]]
    if missing:
        raise ProbeError(f"namespace {kube.namespace}: no Deployment for {', '.join(missing)} to restart (see K8S-01)")

    def pods_of(name: str) -> list[dict]:
        kube.forget()
        dep = kube.read_deployment(name)
        labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        sel = ",".join(f"{k}={v}" for k, v in labels.items())
        return [p for p in kube.pods(selector=sel) if not p["metadata"].get("deletionTimestamp")]

    out = []
    for d in targets:
        before = pods_of(d["name"])
        t0 = time.monotonic()
        kube.rollout_restart(d["name"])
        deadline = t0 + timeout
        while True:
            dep = kube.read_deployment(d["name"])
            after = pods_of(d["name"])
            replaced = not ({p["metadata"]["name"] for p in before} & {p["metadata"]["name"] for p in after})
            if k8sprobe.rollout_done(dep) and replaced:
                break
            if time.monotonic() > deadline:
                raise ProbeError(f"waited {timeout:.0f}s for {d['resource']} to roll out its restart and be Ready "
                                 f"again; it did not ({dep.get('status', {}).get('availableReplicas', 0)} available, "
                                 f"{dep.get('status', {}).get('updatedReplicas', 0)} updated)")
            time.sleep(1.0)
        out.append({"resource": d["resource"], "pods_before": sorted(p["metadata"]["name"] for p in before),
                    "pods_after": sorted(p["metadata"]["name"] for p in after),
                    "seconds": round(time.monotonic() - t0, 2), "simulated": _simulated(after),
                    **({"note": SIMULATED_NOTE} if _simulated(after) else {})})
    kube.forget()
    return out


@then("the adapter configurations and pipeline definitions are still in PostgreSQL, unchanged")
def state_survived(state_before, restarts, target, decide, verdict):
    verdict(decide("INST-04", [{"resource": state_before.resource, "before": state_before, "after": _state(target),
                                "restarts": restarts}]))


# --------------------------------------------------------------------------- INST-03

INST03_ITEM = f"{bs.ITEM_PREFIX}inst03"


def _selftest_manifest(name: str, nonce: str) -> bytes:
    import json

    return json.dumps({"name": name, "type": "asbuilt-selftest", "version": "1.0.0",
                       "config": {"nonce": nonce, "purpose": "asbuilt INST-03 convergence test; safe to delete"}},
                      indent=2).encode()


def _store(asbuilt_run, target, params, selftest) -> bs.BundleStore:
    aws = _aws_or_none(asbuilt_run)
    if aws is None or not target.aws.resources.bundle_bucket:
        pytest.skip("the target names no bundle bucket (aws.resources.bundle_bucket): nothing to upload to")
    if selftest.store is None:
        selftest.store = bs.BundleStore(aws, target.aws.resources.bundle_bucket, _max_zip(params))
    return selftest.store


def _cafile(target) -> str | None:
    return str(target.aws.ca_bundle) if target.aws is not None and target.aws.ca_bundle else None


def _presign_seconds(params) -> int:
    return int(min(3600, int(params("IAM-06").get("max_expiry_seconds", 604800))))


@given("the release's bundle with a selftest manifest applied by the installer", target_fixture="inst03")
def inst03_prepared(kube, target, asbuilt_run, params, selftest):
    from asbuilt.probes.installer_run import InstallerRunner

    _postgres(target)
    store = _store(asbuilt_run, target, params, selftest)
    release = kube.current_release()
    urls = _release_urls(release)
    files: dict[str, bytes] = {}
    base = "no custom bundle in the release"
    if urls:
        got = bs.fetch_release_bundle(urls[0], asbuilt_run.aws() if target.aws else None, target.allowed_networks,
                                      _max_zip(params), _timeout(params, "INST-03"))
        files = bs.bundle_files(got["data"])
        base = got["object"]
    name_a = f"manifests/{INST03_ITEM}.json"
    files[name_a] = _selftest_manifest(INST03_ITEM, secrets.token_hex(16))
    data, _entries = bs.build_zip(files)
    key = f"{selftest.prefix}inst03-prepare.zip"
    selftest.items.append(("adapter_configurations", INST03_ITEM))
    store.put(key, data)
    runner = InstallerRunner(target, kube, _aws_or_none(asbuilt_run))
    prepare = runner.run(_timeout(params, "INST-03"), [store.presign(key, _presign_seconds(params))] + urls[1:])
    return {"files": files, "base": base, "urls": urls, "prepare": prepare, "runner": runner}


@when("the installer applies the bundle with that manifest modified and one new manifest added",
      target_fixture="inst03_result")
def inst03_apply(inst03, target, asbuilt_run, params, selftest):
    store = _store(asbuilt_run, target, params, selftest)
    before = _snapshot(target)
    files = dict(inst03["files"])
    new_name = f"{INST03_ITEM}-{selftest.run_id}"
    files[f"manifests/{INST03_ITEM}.json"] = _selftest_manifest(INST03_ITEM, secrets.token_hex(16))
    files[f"manifests/{new_name}.json"] = _selftest_manifest(new_name, secrets.token_hex(16))
    data, entries = bs.build_zip(files)
    key = f"{selftest.prefix}inst03-converge.zip"
    selftest.items.append(("adapter_configurations", new_name))
    store.put(key, data)
    run = inst03["runner"].run(_timeout(params, "INST-03"),
                               [store.presign(key, _presign_seconds(params))] + inst03["urls"][1:])
    after = _snapshot(target)
    by_item = {e["item_name"]: e for e in entries}
    return {"before": before, "after": after, "run": run,
            "modified": {"table": by_item[INST03_ITEM]["table"], "name": INST03_ITEM,
                         "sha256": by_item[INST03_ITEM]["sha256"]},
            "new": {"table": by_item[new_name]["table"], "name": new_name, "sha256": by_item[new_name]["sha256"]}}


@then("the modified item is updated in place, the new one is created and all others are untouched")
def inst03_converged(inst03, inst03_result, decide, verdict):
    r = inst03_result
    prep = inst03["prepare"]
    if prep.get("outcome") != "complete":
        verdict(failed("INST-03", f"{prep['resource']}: the preparing run (the release's bundle plus one new "
                                  f"manifest) failed (exit {prep.get('exit_code')}). Fix: read the installer log",
                       [prep]))
        return
    if not any(row["name"] == INST03_ITEM for row in r["before"].get(r["modified"]["table"], [])):
        verdict(failed("INST-03", f"{r['modified']['table']}/{INST03_ITEM}: the preparing run (the release's bundle "
                                  f"plus this new manifest) did not create it, though the run reported success. Fix: "
                                  "the installer must create new items (read its Pass 2 log)", [prep]))
        return
    v = decide("INST-03", [{"resource": prep["resource"], **{k: r[k] for k in ("before", "after", "run", "modified",
                                                                              "new")}}])
    v.evidence.insert(0, {"resource": "the test bundle", "base": inst03["base"], "preparing_run": prep})
    verdict(v)


# --------------------------------------------------------------------------- BNDL-03 (the release's bundle)


@pytest.fixture(scope="session")
def release_bundle_downloads(kube, target, asbuilt_run, params):
    """The release's custom bundles, downloaded once per run (BNDL-01 and BNDL-03 read them)."""
    release = kube.current_release()
    return release, [(url, bs.fetch_release_bundle(url, _aws_or_none(asbuilt_run), target.allowed_networks,
                                                   _max_zip(params), _timeout(params)))
                     for url in _release_urls(release)]


@given("the custom bundles of the deployed release", target_fixture="release_bundles")
def release_bundles(release_bundle_downloads):
    from asbuilt.probes.installer_logs import redact

    release, downloads = release_bundle_downloads
    out = []
    for i, (url, got) in enumerate(downloads):
        out.append({"resource": f"{_release_where(release)}: installer.customBundleUrls[{i}] ({got['object']})",
                    "url": redact(url), "via": got["via"], "sha256": bs.sha256(got["data"]),
                    "entries": bs.bundle_entries(got["data"])})
    return out


@then("every manifest, plugin and artifact of them is in the platform state with a matching checksum")
def release_bundles_applied(release_bundles, target, decide, verdict):
    if not release_bundles:
        verdict(skipped("BNDL-03", "the release lists no custom bundle (installer.customBundleUrls is empty)"))
        return
    state = _state(target)
    combined = {"resource": "; ".join(b["resource"] for b in release_bundles),
                "entries": [e for b in release_bundles for e in b["entries"]],
                "bundles": [{k: b[k] for k in ("resource", "url", "via", "sha256")} for b in release_bundles]}
    verdict(decide("BNDL-03", [{"resource": combined["resource"], "bundle": combined, "state": state}]))


# --------------------------------------------------------------------------- BNDL-01 (the release's bundle)


@given("the custom bundle zips the release installs", target_fixture="release_bundle_zips")
def release_bundle_zips(release_bundle_downloads, params, tmp_path_factory):
    from asbuilt.static.files import bundle_facts  # the same verifier as the static check

    release, downloads = release_bundle_downloads
    work = tmp_path_factory.mktemp("release-bundles")
    out = []
    for i, (url, got) in enumerate(downloads):
        path = work / f"bundle-{i}.zip"
        path.write_bytes(got["data"])
        facts = bundle_facts(path, params("BNDL-01"))
        facts["resource"] = f"{_release_where(release)}: installer.customBundleUrls[{i}] ({got['object']})"
        out.append(facts)
    return out


@then("each is a well-formed custom bundle")
def release_bundles_well_formed(release_bundle_zips, decide, verdict):
    if not release_bundle_zips:
        verdict(skipped("BNDL-01", "the release lists no custom bundle (installer.customBundleUrls is empty)"))
        return
    verdict(decide("BNDL-01", release_bundle_zips))


# --------------------------------------------------------------------------- BNDL-02 / BNDL-03 (@mutating)


@given("a new bundle with unique content", target_fixture="new_bundle")
def new_bundle(selftest):
    previous, _prev_entries, _ = bs.unique_bundle(selftest.run_id)
    current, entries, _ = bs.unique_bundle(selftest.run_id)
    return {"previous": previous, "current": current, "entries": entries}


@when("it is uploaded twice under the selftest prefix of the bundle bucket", target_fixture="uploaded")
def uploaded(new_bundle, target, asbuilt_run, params, selftest):
    store = _store(asbuilt_run, target, params, selftest)
    key = f"{selftest.prefix}custom-bundle.zip"
    vid1 = store.put(key, new_bundle["previous"])
    vid2 = store.put(key, new_bundle["current"])
    versioning = store.versioning()
    versions = store.versions(key)
    prev_sha = None
    if vid1 and vid1 != "null":
        try:
            prev_sha = bs.sha256(store.get(key, vid1))
        except ProbeError as exc:
            prev_sha = f"not readable: {exc}"
    return {"key": key, "resource": f"s3://{store.bucket}/{key}", "versioning": versioning,
            "uploads": [{"version_id": vid1, "sha256": bs.sha256(new_bundle["previous"])},
                        {"version_id": vid2, "sha256": bs.sha256(new_bundle["current"])}],
            "versions_listed": len(versions), "previous_download_sha256": prev_sha}


@when("it is downloaded through S3 and through a SigV4 pre-signed URL", target_fixture="downloaded")
def downloaded(uploaded, target, params, selftest):
    from asbuilt.rules.iam import describe_url

    store = selftest.store
    facts = dict(uploaded)
    facts["s3_download_sha256"] = bs.sha256(store.get(uploaded["key"]))
    url = store.presign(uploaded["key"], _presign_seconds(params))
    d = describe_url(url)
    facts["presigned"] = {"url": d["url"], "expires_seconds": d["expires_seconds"],
                          "signature_version": d["signature_version"],
                          "download_sha256": bs.sha256(bs.http_get(url, _max_zip(params), _timeout(params),
                                                                   target.allowed_networks, _cafile(target)))}
    # Is the URL verified? A copy with a tampered signature, and one signed for 1 s asked after it expired.
    signed_at = time.time()
    expiring = store.presign(uploaded["key"], 1)
    facts["presigned"]["refusals"] = bs.refusals(url, _timeout(params), target.allowed_networks, expiring,
                                                 signed_at + 1, target.aws.s3_is_custom_endpoint(), _cafile(target))
    return facts


@then("the downloads have the uploaded SHA-256 and the bucket kept the previous version")
def round_trip_ok(downloaded, decide, verdict):
    verdict(decide("BNDL-02", [downloaded]))


@when("the installer applies it from its pre-signed URL", target_fixture="applied")
def applied(uploaded, new_bundle, target, kube, params, selftest, asbuilt_run):
    from asbuilt.probes.installer_run import InstallerRunner

    _postgres(target)
    selftest.items += [(e["table"], e["item_name"]) for e in new_bundle["entries"]]
    url = selftest.store.presign(uploaded["key"], _presign_seconds(params))
    return InstallerRunner(target, kube, _aws_or_none(asbuilt_run)).run(_timeout(params), [url])


@then("every manifest, plugin and artifact of the new bundle is in the platform state with a matching checksum")
def new_bundle_applied(uploaded, new_bundle, applied, target, decide, verdict):
    if applied.get("outcome") != "complete":
        tail = " | ".join(applied.get("lines", [])[-3:])
        verdict(failed("BNDL-03", f"{applied['resource']}: the installer run applying {uploaded['resource']} failed "
                                  f"(exit {applied.get('exit_code')}; log: {tail}). Fix: read the installer log",
                       [applied]))
        return
    v = decide("BNDL-03", [{"resource": uploaded["resource"], "state": _state(target),
                            "bundle": {"resource": uploaded["resource"], "entries": new_bundle["entries"]}}])
    v.evidence.insert(0, applied)
    verdict(v)


# --------------------------------------------------------------------------- MSG-01


@given("a platform topic of the target", target_fixture="platform_topic")
def platform_topic(target):
    if target.kafka is None or not target.kafka.topics:
        pytest.skip("the target lists no platform topics (kafka.topics)")
    return target.kafka.topics[0]


@when("a message with a unique id is produced to it and consumed back", target_fixture="message")
def message(platform_topic, target, params):
    from asbuilt.readers.platform import message_exchange

    return message_exchange(target, platform_topic, float(params("MSG-01").get("consume_timeout_seconds", 30)))


@then("the consumed message is the produced one")
def message_ok(message, decide, verdict):
    verdict(decide("MSG-01", [{"resource": message.resource, "exchange": message}]))
