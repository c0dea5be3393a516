"""The sandbox's platform agent: what EKS would do for the reference release, with no kubelet.

The sandbox runs a real kube-apiserver (and etcd) but no scheduler, no kubelet and, by default,
no kube-controller-manager (``asbuilt_sandbox.parts.kube``). Nothing would ever run a container.
This agent is a small, honest stand-in for the pieces that are missing, acting only through the
Kubernetes API, the way those controllers do:

* **Deployment controller + kubelet.** For each Deployment of the watched namespaces it keeps
  ``spec.replicas`` Pod *objects* of the current pod template (labelled with a
  ``pod-template-hash``, owned by the Deployment), replaces the Pods of an older template
  (``kubectl rollout restart`` works), sets each Pod's status to Running/Ready through the
  ``status`` subresource, and then sets the Deployment's status (observedGeneration, replicas,
  ready/available/updated counts, the ``Available`` and ``Progressing`` conditions). No process
  runs for these Pods: they are API objects, annotated ``sandbox.asbuilt.dev/simulated``.
* **Job controller + kubelet for the installer.** A Job whose pod template is the platform's
  installer (container args ``["install"]`` or component label ``installer``) gets one Pod object,
  and the agent *really runs* the reference installer (``asbuilt_sandbox.installer``) with that
  container's inputs: the bundle URLs (``CUSTOM_BUNDLE_URLS``), the database coordinates
  (``DB_*``; ``valueFrom.secretKeyRef`` is resolved from the Secret through the API). Its stdout
  is the pod log: it is shipped to CloudWatch Logs (the installer's own ``--log-group``), as
  Fluent Bit / Container Insights would, in stream ``<pod>_<namespace>_<container>``, and kept in
  ``state_dir()/platform/pods/``. The Pod ends Succeeded or Failed, the Job Complete or Failed
  (no retries: ``backoffLimit`` is not simulated). Any other Job is left alone.
* **Garbage collection** of the Pods whose owner is gone.
* **Application start-up**, only where the sandbox must model the application's behaviour: a
  Pod whose container sets ``SPRING_JPA_HIBERNATE_DDL_AUTO`` to ``create`` or ``create-drop``
  (an ORM that recreates its schema on start) empties the platform tables when it "starts".
  That is how the INST-04 drift loses state on a restart; nothing else touches the database.

It also serves the bundle bucket over **HTTPS** (a TLS front on 127.0.0.1 for the moto server,
with a certificate of the sandbox's own CA), so the release can carry an ``https`` pre-signed
URL as HELM-01 requires; moto itself speaks plain HTTP.

What this cannot prove, and the controls say so in their evidence: that a real container image
starts, that a readiness probe passes, that pod logs are served by a kubelet
(``kubectl logs`` has nothing to read in the sandbox: the sandbox's target reads installer logs
from CloudWatch Logs).

It assumes the kube part runs without kube-controller-manager (its default): with the
controllers on, the platform setup refuses to start rather than let two writers fight over the
same statuses.

Run: ``python -m asbuilt_sandbox.agent --config FILE`` (the sandbox manager does); the config
is JSON written by ``asbuilt_sandbox.platform``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

SIMULATED = "sandbox.asbuilt.dev/simulated"
SIMULATED_NOTE = "no kubelet runs in the asbuilt sandbox: this Pod is an API object whose status the sandbox agent sets"
INSTALLER_COMPONENT = "installer"
STATE_RESET_ENV = "SPRING_JPA_HIBERNATE_DDL_AUTO"
STATE_RESET_VALUES = ("create", "create-drop")
PLATFORM_TABLES = ("adapter_configurations", "pipeline_definitions", "plugin_records", "artifacts")
MERGE = "application/merge-patch+json"


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def log(msg: str) -> None:
    print(f"{now()} agent: {msg}", flush=True)


def template_hash(template: dict) -> str:
    """A stable short hash of a pod template (what the Deployment controller's pod-template-hash is for)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()[:10]


def is_installer(template: dict) -> bool:
    labels = (template.get("metadata") or {}).get("labels") or {}
    if labels.get("app.kubernetes.io/component") == INSTALLER_COMPONENT:
        return True
    containers = (template.get("spec") or {}).get("containers") or []
    return any((c.get("args") or [])[:1] == ["install"] for c in containers)


# --------------------------------------------------------------------------- kube access


def api_client(kubeconfig: str, context: str | None):
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig, context=context)


class Kube:
    """The few raw calls the agent needs, JSON in and out (no model objects)."""

    def __init__(self, client, timeout: float = 10.0):
        from kubernetes import client as k

        self.api = client
        self.core = k.CoreV1Api(client)
        self.apps = k.AppsV1Api(client)
        self.batch = k.BatchV1Api(client)
        self.timeout = timeout

    @staticmethod
    def _json(resp) -> dict:
        return json.loads(resp.data or b"{}")

    def list(self, kind: str, ns: str) -> list[dict]:
        fn = {"deployments": self.apps.list_namespaced_deployment, "pods": self.core.list_namespaced_pod,
              "jobs": self.batch.list_namespaced_job}[kind]
        return self._json(fn(ns, _preload_content=False, _request_timeout=self.timeout)).get("items", [])

    def secret_value(self, ns: str, name: str, key: str) -> str | None:
        import base64

        from kubernetes.client.exceptions import ApiException

        try:
            s = self._json(self.core.read_namespaced_secret(name, ns, _preload_content=False,
                                                            _request_timeout=self.timeout))
        except ApiException:
            return None
        raw = (s.get("data") or {}).get(key)
        return base64.b64decode(raw).decode() if raw is not None else None

    def configmap_value(self, ns: str, name: str, key: str) -> str | None:
        from kubernetes.client.exceptions import ApiException

        try:
            c = self._json(self.core.read_namespaced_config_map(name, ns, _preload_content=False,
                                                                _request_timeout=self.timeout))
        except ApiException:
            return None
        return (c.get("data") or {}).get(key)

    def create_pod(self, ns: str, body: dict) -> dict:
        return self._json(self.core.create_namespaced_pod(ns, body, _preload_content=False,
                                                          _request_timeout=self.timeout))

    def delete_pod(self, ns: str, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.delete_namespaced_pod(name, ns, grace_period_seconds=0, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def pod_status(self, ns: str, name: str, status: dict) -> None:
        self.core.patch_namespaced_pod_status(name, ns, {"status": status}, _content_type=MERGE,
                                              _request_timeout=self.timeout)

    def deployment_status(self, ns: str, name: str, status: dict) -> None:
        self.apps.patch_namespaced_deployment_status(name, ns, {"status": status}, _content_type=MERGE,
                                                     _request_timeout=self.timeout)

    def job_status(self, ns: str, name: str, status: dict) -> None:
        self.batch.patch_namespaced_job_status(name, ns, {"status": status}, _content_type=MERGE,
                                               _request_timeout=self.timeout)


# --------------------------------------------------------------------------- statuses (pure)


def running_pod_status(pod: dict, started: str) -> dict:
    containers = (pod.get("spec") or {}).get("containers") or []
    conds = [{"type": t, "status": "True", "lastTransitionTime": started}
             for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]
    return {
        "phase": "Running",
        "startTime": started,
        "conditions": conds,
        "containerStatuses": [{
            "name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": True, "started": True,
            "restartCount": 0, "state": {"running": {"startedAt": started}},
        } for c in containers],
    }


def finished_pod_status(pod: dict, started: str, finished: str, code: int) -> dict:
    containers = (pod.get("spec") or {}).get("containers") or []
    return {
        "phase": "Succeeded" if code == 0 else "Failed",
        "startTime": started,
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
                       {"type": "Initialized", "status": "True", "lastTransitionTime": started},
                       {"type": "ContainersReady", "status": "False", "lastTransitionTime": finished,
                        "reason": "PodCompleted"},
                       {"type": "Ready", "status": "False", "lastTransitionTime": finished, "reason": "PodCompleted"}],
        "containerStatuses": [{
            "name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "started": False,
            "restartCount": 0,
            "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                     "startedAt": started, "finishedAt": finished}},
        } for c in containers],
    }


def deployment_status(dep: dict, current: list[dict], old: list[dict], previous: dict | None = None) -> dict:
    """The status the Deployment controller would report for these Pods (all simulated Ready)."""
    spec = dep.get("spec") or {}
    desired = int(spec.get("replicas", 1))
    ready_current = [p for p in current if _ready(p)]
    ready_all = ready_current + [p for p in old if _ready(p)]
    available = len(ready_all)
    stamp = now()
    prev = {c["type"]: c for c in (previous or {}).get("conditions") or []}

    def cond(kind: str, ok: bool, reason: str, message: str) -> dict:
        status = "True" if ok else "False"
        old_c = prev.get(kind)
        since = old_c["lastTransitionTime"] if old_c and old_c.get("status") == status and \
            old_c.get("lastTransitionTime") else stamp
        return {"type": kind, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": since,
                "reason": reason, "message": message}

    name = (dep.get("metadata") or {}).get("name")
    max_unavailable = _max_unavailable(spec, desired)
    is_available = available >= desired - max_unavailable
    complete = len(ready_current) >= desired and not old
    status: dict[str, Any] = {
        "observedGeneration": (dep.get("metadata") or {}).get("generation", 1),
        "replicas": len(current) + len(old),
        "updatedReplicas": len(current),
        "readyReplicas": len(ready_all),
        "availableReplicas": available,
        "conditions": [
            cond("Available", is_available,
                 "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
                 "Deployment has minimum availability." if is_available else
                 "Deployment does not have minimum availability."),
            cond("Progressing", True, "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                 f'ReplicaSet "{name}" has successfully progressed.' if complete else
                 f'ReplicaSet "{name}" is progressing.'),
        ],
    }
    unavailable = max(0, desired - available)
    if unavailable:
        status["unavailableReplicas"] = unavailable
    return status


def _max_unavailable(spec: dict, desired: int) -> int:
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    raw = ((strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%"))
    if isinstance(raw, str) and raw.endswith("%"):
        return int(desired * int(raw[:-1]) / 100)  # rounded down, as the controller does
    return int(raw)


def _ready(pod: dict) -> bool:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def _same_status(old: dict | None, new: dict) -> bool:
    """Equal but for the heartbeat timestamps."""
    def strip(s):
        s = json.loads(json.dumps(s or {}))
        for c in s.get("conditions") or []:
            c.pop("lastUpdateTime", None)
            c.pop("lastTransitionTime", None)
        return s
    return strip(old) == strip(new)


def _owned_by(obj: dict, uid: str) -> bool:
    return any(o.get("uid") == uid for o in (obj.get("metadata") or {}).get("ownerReferences") or [])


def _finished(job: dict) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


# --------------------------------------------------------------------------- the installer


def container_env(kube: Kube, ns: str, container: dict) -> tuple[dict[str, str], list[str]]:
    """The container's environment with valueFrom resolved through the API; and what could not be."""
    env: dict[str, str] = {}
    missing: list[str] = []
    for e in container.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        src = e.get("valueFrom") or {}
        value = None
        if "secretKeyRef" in src:
            ref = src["secretKeyRef"]
            value = kube.secret_value(ns, ref.get("name"), ref.get("key"))
        elif "configMapKeyRef" in src:
            ref = src["configMapKeyRef"]
            value = kube.configmap_value(ns, ref.get("name"), ref.get("key"))
        if value is None:
            missing.append(e["name"])
        else:
            env[e["name"]] = value
    return env, missing


def installer_argv(env: dict[str, str], settings: dict, stream: str | None, password_file: Path) -> list[str]:
    """``python -m asbuilt_sandbox.installer`` with a container's inputs and the sandbox's settings."""
    argv = [sys.executable, "-m", "asbuilt_sandbox.installer",
            "--pg-host", env.get("DB_HOST", ""), "--pg-port", env.get("DB_PORT", "5432"),
            "--pg-db", env.get("DB_NAME", "conncentric"), "--pg-user", env.get("DB_USER", "conncentric"),
            "--pg-password-file", str(password_file),
            "--timeout", str(settings.get("timeout", 300))]
    if settings.get("pg_sslrootcert"):
        argv += ["--pg-sslrootcert", settings["pg_sslrootcert"], "--pg-sslmode", "verify-full"]
    for url in [u.strip() for u in env.get("CUSTOM_BUNDLE_URLS", "").split(",") if u.strip()]:
        argv += ["--bundle-url", url]
    if settings.get("bundle_cafile"):
        argv += ["--bundle-cafile", settings["bundle_cafile"]]
    if settings.get("log_group") and stream:
        argv += ["--log-group", settings["log_group"], "--log-stream", stream]
    if settings.get("aws_endpoint"):
        argv += ["--aws-endpoint", settings["aws_endpoint"], "--aws-region", settings.get("aws_region", "us-east-1")]
    if settings.get("fault"):
        argv += ["--fault", settings["fault"]]
    return argv


def _aws_env(settings: dict) -> dict[str, str]:
    env = {}
    for var, key in (("AWS_ACCESS_KEY_ID", "aws_key_file"), ("AWS_SECRET_ACCESS_KEY", "aws_secret_file")):
        if settings.get(key):
            with contextlib.suppress(OSError):
                env[var] = Path(settings[key]).read_text().strip()
    return env


def run_installer_container(kube: Kube, ns: str, container: dict, settings: dict, stream: str | None,
                            timeout: float, log_file: Path | None = None) -> tuple[int, list[str], str]:
    """Run the reference installer with one container's inputs; (exit code, stdout lines, stderr tail).

    Exit 124 when the bound passes (the process is killed); 125 when an input cannot be resolved."""
    env, missing = container_env(kube, ns, container)
    if missing:
        return 125, [], f"cannot resolve {', '.join(missing)} (valueFrom: Secret or ConfigMap missing)"
    with tempfile.TemporaryDirectory(prefix="asbuilt-installer-pod-") as tmp:
        pw = Path(tmp) / "password"
        pw.touch(mode=0o600)
        pw.write_text(env.get("DB_PASSWORD", ""))
        argv = installer_argv(env, settings, stream, pw)
        run_env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DB_"))},
                   **_aws_env(settings), "PYTHONUNBUFFERED": "1"}
        try:
            res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=run_env,
                                 stdin=subprocess.DEVNULL)
            code, out, err = res.returncode, res.stdout, res.stderr
        except subprocess.TimeoutExpired as exc:
            code = 124
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = f"killed after {timeout:.0f}s"
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(out)
    tail = " | ".join(err.strip().splitlines()[-3:])
    return code, out.splitlines(), tail


def reset_platform_state(env: dict[str, str], settings: dict) -> str:
    """What an ORM with ddl-auto=create does on start: the schema's tables are emptied."""
    import psycopg

    params = {"host": env.get("DB_HOST"), "port": env.get("DB_PORT", "5432"), "dbname": env.get("DB_NAME"),
              "user": env.get("DB_USER"), "password": env.get("DB_PASSWORD", ""), "connect_timeout": 10}
    if settings.get("pg_sslrootcert"):
        params.update(sslmode="verify-full", sslrootcert=settings["pg_sslrootcert"])
    with psycopg.connect(**params) as conn:
        conn.execute("TRUNCATE " + ", ".join(PLATFORM_TABLES))
    return f"emptied {', '.join(PLATFORM_TABLES)} on {params['host']}"


# --------------------------------------------------------------------------- the agent


class Agent:
    def __init__(self, config: dict):
        self.config = config
        self.kube = Kube(api_client(config["kubeconfig"], config.get("context")))
        self.namespaces = config.get("namespaces", ["conncentric"])
        self.settings = config.get("installer", {})
        self.pods_dir = Path(config.get("pods_dir", tempfile.gettempdir()))
        self.jobs: dict[str, dict] = {}  # job uid -> {"thread", "result", "pod", "started"}
        self.stop = threading.Event()

    # -- deployments ------------------------------------------------------------------------
    def _new_pod(self, ns: str, owner: dict, kind: str, template: dict, name: str, extra_labels: dict) -> dict:
        meta = template.get("metadata") or {}
        labels = {**(meta.get("labels") or {}), **extra_labels}
        annotations = {**(meta.get("annotations") or {}), SIMULATED: SIMULATED_NOTE}
        body = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": annotations,
                         "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": kind,
                                              "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "spec": template.get("spec") or {},
        }
        return self.kube.create_pod(ns, body)

    def _app_start(self, ns: str, pod: dict) -> None:
        for c in (pod.get("spec") or {}).get("containers") or []:
            for e in c.get("env") or []:
                if e.get("name") == STATE_RESET_ENV and str(e.get("value", "")).lower() in STATE_RESET_VALUES:
                    env, missing = container_env(self.kube, ns, c)
                    if missing:
                        log(f"{ns}/{pod['metadata']['name']}: {STATE_RESET_ENV} set but {missing} unresolved")
                        return
                    try:
                        log(f"{ns}/{pod['metadata']['name']}: start with {STATE_RESET_ENV}={e['value']}: "
                            + reset_platform_state(env, self.settings))
                    except Exception as exc:  # noqa: BLE001 -- a modelled app failing to start is logged
                        log(f"{ns}/{pod['metadata']['name']}: state reset failed: {exc}")
                    return

    def reconcile_deployment(self, ns: str, dep: dict, pods: list[dict]) -> None:
        meta, spec = dep["metadata"], dep.get("spec") or {}
        if meta.get("deletionTimestamp") or spec.get("paused"):
            return
        template = spec.get("template") or {}
        h = template_hash(template)
        owned = [p for p in pods if _owned_by(p, meta["uid"]) and not p["metadata"].get("deletionTimestamp")]
        current = [p for p in owned if (p["metadata"].get("labels") or {}).get("pod-template-hash") == h]
        old = [p for p in owned if p not in current]
        desired = int(spec.get("replicas", 1))
        changed = False
        for p in current[desired:]:
            self.kube.delete_pod(ns, p["metadata"]["name"])
            current.remove(p)
            changed = True
        while len(current) < desired:
            name = f"{meta['name']}-{h}-{secrets.token_hex(3)[:5]}"
            pod = self._new_pod(ns, {"apiVersion": "apps/v1", "metadata": meta}, "Deployment", template, name,
                                {"pod-template-hash": h})
            self._app_start(ns, pod)
            started = now()
            self.kube.pod_status(ns, name, running_pod_status(pod, started))
            pod["status"] = running_pod_status(pod, started)
            current.append(pod)
            changed = True
            log(f"{ns}/{name}: started (simulated) for deployment {meta['name']}")
        if all(_ready(p) for p in current) and len(current) >= desired:
            for p in old:  # the new template is ready: the old pods go (a rolling update's last step)
                self.kube.delete_pod(ns, p["metadata"]["name"])
                log(f"{ns}/{p['metadata']['name']}: deleted (old template of {meta['name']})")
                changed = True
            old = []
        for p in current:
            if not _ready(p) and not p.get("status", {}).get("phase") == "Running":
                started = now()
                self.kube.pod_status(ns, p["metadata"]["name"], running_pod_status(p, started))
                p["status"] = running_pod_status(p, started)
                changed = True
        status = deployment_status(dep, current, old, dep.get("status"))
        if changed or not _same_status(dep.get("status"), status):
            self.kube.deployment_status(ns, meta["name"], status)

    # -- jobs --------------------------------------------------------------------------------
    def reconcile_job(self, ns: str, job: dict, pods: list[dict]) -> None:
        meta = job["metadata"]
        uid = meta["uid"]
        if _finished(job) or meta.get("deletionTimestamp"):
            return
        template = (job.get("spec") or {}).get("template") or {}
        if not is_installer(template):
            return
        state = self.jobs.get(uid)
        if state is None:
            name = f"{meta['name']}-{secrets.token_hex(3)[:5]}"
            pod = self._new_pod(ns, {"apiVersion": "batch/v1", "metadata": meta}, "Job", template, name,
                                {"job-name": meta["name"], "batch.kubernetes.io/job-name": meta["name"]})
            started = now()
            self.kube.pod_status(ns, name, running_pod_status(pod, started))
            self.kube.job_status(ns, meta["name"], {"startTime": started, "active": 1, "ready": 1})
            container = ((template.get("spec") or {}).get("containers") or [{}])[0]
            stream = f"{name}_{ns}_{container.get('name', 'installer')}"
            timeout = float(self.settings.get("timeout", 300))
            state = {"pod": pod, "started": started, "result": None}

            def work(state=state, container=container, stream=stream, name=name):
                state["result"] = run_installer_container(self.kube, ns, container, self.settings, stream, timeout,
                                                          self.pods_dir / ns / f"{name}.log")

            state["thread"] = threading.Thread(target=work, daemon=True)
            state["thread"].start()
            self.jobs[uid] = state
            log(f"{ns}/{name}: running the installer for job {meta['name']} (log stream {stream})")
            return
        if state["result"] is None:
            return
        code, _lines, err = state["result"]
        finished = now()
        pod = state["pod"]
        self.kube.pod_status(ns, pod["metadata"]["name"], finished_pod_status(pod, state["started"], finished, code))
        if code == 0:
            conds = [{"type": t, "status": "True", "lastProbeTime": finished, "lastTransitionTime": finished,
                      "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}
                     for t in ("SuccessCriteriaMet", "Complete")]
            status = {"active": 0, "ready": 0, "succeeded": 1, "completionTime": finished, "conditions": conds}
        else:
            reason = "DeadlineExceeded" if code == 124 else "BackoffLimitExceeded"
            msg = err or f"installer exited {code}"
            conds = [{"type": t, "status": "True", "lastProbeTime": finished, "lastTransitionTime": finished,
                      "reason": reason, "message": msg[:300]} for t in ("FailureTarget", "Failed")]
            status = {"active": 0, "ready": 0, "failed": 1, "conditions": conds}
        self.kube.job_status(ns, meta["name"], status)
        log(f"{ns}/{pod['metadata']['name']}: installer exited {code}; job {meta['name']} "
            f"{'Complete' if code == 0 else 'Failed'}" + (f" ({err})" if err and code else ""))
        state["done"] = True

    # -- loop --------------------------------------------------------------------------------
    def tick(self) -> None:
        for ns in self.namespaces:
            deployments = self.kube.list("deployments", ns)
            jobs = self.kube.list("jobs", ns)
            pods = self.kube.list("pods", ns)
            owners = {d["metadata"]["uid"] for d in deployments} | {j["metadata"]["uid"] for j in jobs}
            for p in pods:  # garbage collection: pods whose owner is gone
                refs = p["metadata"].get("ownerReferences") or []
                if refs and not any(r.get("uid") in owners for r in refs) and SIMULATED in \
                        (p["metadata"].get("annotations") or {}):
                    self.kube.delete_pod(ns, p["metadata"]["name"])
            for d in deployments:
                try:
                    self.reconcile_deployment(ns, d, pods)
                except Exception as exc:  # noqa: BLE001 -- one object's trouble must not stop the loop
                    log(f"{ns}/deployment {d['metadata']['name']}: {type(exc).__name__}: {exc}")
            for j in jobs:
                try:
                    self.reconcile_job(ns, j, pods)
                except Exception as exc:  # noqa: BLE001
                    log(f"{ns}/job {j['metadata']['name']}: {type(exc).__name__}: {exc}")
        live = {j for j, s in self.jobs.items() if not s.get("done")}
        self.jobs = {j: s for j, s in self.jobs.items() if j in live}

    def run(self) -> None:
        interval = float(self.config.get("poll_seconds", 0.5))
        log(f"watching {', '.join(self.namespaces)} every {interval}s")
        while not self.stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 -- the API server restarting, etc.: try again
                log(f"tick failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
                # kube-apiserver may have come back on another port: re-read the kubeconfig
                with contextlib.suppress(Exception):
                    self.kube = Kube(api_client(self.config["kubeconfig"], self.config.get("context")))
            self.stop.wait(interval)


# --------------------------------------------------------------------------- S3 over HTTPS


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _serve_front(listen: str, port: int, upstream: tuple[str, int], cert: str, key: str,
                       ready: threading.Event) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)

    async def handle(client_r, client_w):
        try:
            up_r, up_w = await asyncio.wait_for(asyncio.open_connection(*upstream), timeout=10)
        except (OSError, asyncio.TimeoutError):
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))

    server = await asyncio.start_server(handle, listen, port, ssl=ctx)
    ready.set()
    async with server:
        await server.serve_forever()


def start_front(cfg: dict) -> threading.Thread:
    host, port = cfg["upstream"].rsplit(":", 1)
    ready = threading.Event()

    def main():
        asyncio.run(_serve_front(cfg["listen"], int(cfg["port"]), (host, int(port)), cfg["cert"], cfg["key"], ready))

    t = threading.Thread(target=main, daemon=True, name="s3-front")
    t.start()
    if not ready.wait(15):
        raise SystemExit(f"agent: the S3 HTTPS front did not listen on {cfg['listen']}:{cfg['port']}")
    log(f"S3 HTTPS front on https://{cfg['listen']}:{cfg['port']} -> http://{cfg['upstream']}")
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m asbuilt_sandbox.agent")
    p.add_argument("--config", required=True, type=Path)
    args = p.parse_args(argv)
    config = json.loads(args.config.read_text())
    for addr in [config.get("s3_front", {}).get("listen", "127.0.0.1")]:
        if not addr.startswith("127."):
            raise SystemExit("agent: the S3 front listens on loopback only")
    if config.get("s3_front"):
        start_front(config["s3_front"])
    agent = Agent(config)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop.set())
    agent.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
