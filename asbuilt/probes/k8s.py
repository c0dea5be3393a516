"""Kubernetes collector: the official ``kubernetes`` client, built from the target's kubernetes section.

Read-only by default: ``get``/``list`` of Deployments, Pods, Jobs, StatefulSets, DaemonSets,
CronJobs, ConfigMaps, Ingresses, IngressClasses, ServiceAccounts and the helm release Secrets;
each list is fetched once per run (cache). The few writes the ``@mutating`` scenarios need
(a Job from the release's installer template, a rollout restart) are separate methods, named as
writes, and every call is counted by verb and resource (``calls``) for SUITE-02.

Objects are returned as plain JSON (``_preload_content=False``): the same dictionaries a
rendered chart gives, so the rules see one form live and static.

The helm release is read from its storage Secrets (``sh.helm.release.v1.<name>.v<revision>``,
labels ``owner=helm,name=<release>``; the Secret's ``release`` field is base64 of the base64 of
the gzipped release JSON, the format helm 3 and helm 4 share). That gives the release's values
(``config``: what the user supplied, over the chart's ``values``), its revision and status,
its rendered manifest and its hooks (the installer Job).

Network safety: the API server's address (from the kubeconfig) is checked against the target's
``allowed_networks`` before any call. Timeouts: every request is bounded by
``kubernetes.request_timeout``; nothing waits longer.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from collections import Counter
from typing import Any, Callable
from urllib.parse import urlsplit

from asbuilt.netguard import NetGuard
from asbuilt.probes import FailureMemo, ProbeError
from asbuilt.target import KubernetesSection, Target

MERGE = "application/merge-patch+json"
COMPONENTS = ("orchestrator", "adapter", "portal")
LB_CONTROLLER = "aws-load-balancer-controller"
SIMULATED = "sandbox.asbuilt.dev/simulated"
WORKLOAD_KINDS = ("deployments", "statefulsets", "daemonsets", "jobs", "cronjobs")


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def decode_release(secret_data: str) -> dict:
    """A helm release from its Secret's ``data.release`` (base64 of base64 of gzip of JSON)."""
    raw = base64.b64decode(secret_data)
    data = base64.b64decode(raw)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return json.loads(data)


def deep_merge(base: dict, over: dict) -> dict:
    out = json.loads(json.dumps(base or {}))
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = json.loads(json.dumps(v))
    return out


def release_values(release: dict) -> dict:
    """The computed values of a release: the chart's defaults with the user's values over them."""
    return deep_merge((release.get("chart") or {}).get("values") or {}, release.get("config") or {})


def release_summary(release: dict, secret_name: str = "") -> dict:
    info = release.get("info") or {}
    chart = (release.get("chart") or {}).get("metadata") or {}
    return {"resource": f"release {release.get('namespace')}/{release.get('name')}",
            "name": release.get("name"), "namespace": release.get("namespace"),
            "revision": release.get("version"), "status": info.get("status"),
            "last_deployed": info.get("last_deployed"), "chart": f"{chart.get('name')}-{chart.get('version')}",
            "app_version": chart.get("appVersion"), "storage": secret_name}


# --------------------------------------------------------------------------- neutral forms (pure)


# The shapes of workloads, containers and settings are the model's (asbuilt.model.k8s), shared
# with the static checks: K8S-03/04/05 read the same facts from the API and from manifests.
from asbuilt.model.k8s import (  # noqa: E402,F401
    configmap_settings, containers_of, env_settings, pod_spec_of, resource_name, values_settings,
)
from asbuilt.rules.k8s import classify_value as classify_setting  # noqa: E402,F401


def ingress_facts(ing: dict) -> dict:
    """K8S-02 neutral form of one Ingress (class, TLS as the AWS Load Balancer Controller sees it)."""
    meta = ing.get("metadata") or {}
    ann = meta.get("annotations") or {}
    spec = ing.get("spec") or {}
    klass = spec.get("ingressClassName") or ann.get("kubernetes.io/ingress.class")
    listen = ann.get("alb.ingress.kubernetes.io/listen-ports")
    https_listener = None
    if listen:
        try:
            https_listener = any("HTTPS" in p for p in json.loads(listen))
        except (ValueError, TypeError):
            https_listener = False
    tls_hosts = [h for t in spec.get("tls") or [] for h in t.get("hosts") or []]
    cert = bool(ann.get("alb.ingress.kubernetes.io/certificate-arn"))
    # With no listen-ports annotation the controller listens on HTTPS 443 when a certificate is
    # given (annotation or spec.tls discovery), else on HTTP 80 only.
    tls = bool((cert or tls_hosts or spec.get("tls")) and https_listener is not False)
    backends = []
    default = ((spec.get("defaultBackend") or {}).get("service") or {}).get("name")
    if default:
        backends.append(default)
    for rule in spec.get("rules") or []:
        for p in ((rule.get("http") or {}).get("paths") or []):
            svc = ((p.get("backend") or {}).get("service") or {}).get("name")
            if svc:
                backends.append(svc)
    return {"resource": resource_name({"kind": "Ingress", **ing}), "class": klass, "tls": tls,
            "tls_hosts": tls_hosts, "certificate_arn_annotation": cert, "https_listener": https_listener,
            "backends": backends}


def deployment_facts(dep: dict) -> dict:
    meta, spec, st = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    conds = {c.get("type"): c for c in st.get("conditions") or []}
    avail = conds.get("Available") or {}
    return {
        "resource": resource_name({"kind": "Deployment", **dep}), "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "component": (meta.get("labels") or {}).get("app.kubernetes.io/component"),
        "replicas": spec.get("replicas", 1), "ready_replicas": st.get("readyReplicas", 0),
        "available_replicas": st.get("availableReplicas", 0), "updated_replicas": st.get("updatedReplicas", 0),
        "observed_generation": st.get("observedGeneration"), "generation": meta.get("generation"),
        "available": avail.get("status") == "True" if avail else None,
        "available_reason": avail.get("reason"), "available_message": avail.get("message"),
        "single_by_design": (meta.get("annotations") or {}).get("asbuilt.dev/single-replica-reason"),
    }


# --------------------------------------------------------------------------- the probe


# Every Kubernetes request of the process as "k8s:<verb>:<resource>" (SUITE-01/02 read it).
K8S_CALLS: Counter[str] = Counter()
# The requests that failed in this run (every KubeProbe of the process shares it): not repeated.
K8S_FAILED = FailureMemo()
_KIND_WORDS = {"job": "jobs", "deployment": "deployments", "pod": "pods", "secret": "secrets"}


def record_call(verb: str, resource: str) -> None:
    """Normalise a call description ("get job ns/name", "list pods of job x") to verb + resource."""
    first = resource.split()[0] if resource else "?"
    kind = _KIND_WORDS.get(first, first)
    K8S_CALLS[f"k8s:{verb}:{kind}"] += 1


class KubeProbe:
    def __init__(self, section: KubernetesSection, target: Target | None = None):  # noqa: D107
        from kubernetes import client, config

        self.section = section
        self.namespace = section.namespace
        self.timeout = section.request_timeout
        self.calls: Counter[str] = Counter()
        self._cache: dict[tuple, Any] = {}
        self._lock = threading.Lock()
        kubeconfig = str(section.kubeconfig.expanduser()) if section.kubeconfig else None
        try:
            if kubeconfig is None and section.context is None:
                try:
                    config.load_incluster_config()
                    self.api = client.ApiClient()
                except config.ConfigException:
                    self.api = config.new_client_from_config()
            else:
                self.api = config.new_client_from_config(config_file=kubeconfig, context=section.context)
        except (config.ConfigException, OSError, TypeError, ValueError) as exc:
            raise ProbeError(f"kubernetes: cannot load the kubeconfig {kubeconfig or '(default)'} "
                             f"context {section.context or '(current)'}: {_one_line(exc)}") from None
        guard = NetGuard(target.allowed_networks if target is not None else [])
        conf = self.api.configuration
        if not urlsplit(conf.host).hostname:
            raise ProbeError("kubernetes: the kubeconfig's server URL names no host")
        guard.check_url(conf.host, "connect to the Kubernetes API server")
        if conf.proxy:
            guard.check_url(conf.proxy, "connect through the Kubernetes proxy")
        self.server = conf.host
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)
        self.net = client.NetworkingV1Api(self.api)

    # -- plumbing ---------------------------------------------------------------------------
    def _call(self, verb: str, resource: str, fn: Callable, *args, **kwargs) -> dict:
        key = FailureMemo.key("k8s", self.server, verb, resource, getattr(fn, "__name__", ""), args, kwargs)
        K8S_FAILED.check(key)  # the same request failed before in this run: its error, no new connection
        try:
            return self._request(verb, resource, fn, *args, **kwargs)
        except ProbeError as exc:
            K8S_FAILED.remember(key, exc)
            raise

    def _request(self, verb: str, resource: str, fn: Callable, *args, **kwargs) -> dict:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        with self._lock:
            self.calls[f"{verb} {resource}"] += 1
        record_call(verb, resource)
        try:
            resp = fn(*args, _preload_content=False, _request_timeout=self.timeout, **kwargs)
            return json.loads(resp.data or b"{}")
        except ApiException as exc:
            if exc.status in (401, 403):
                raise ProbeError(f"kubernetes: {verb} {resource} denied ({exc.status}); grant the auditor "
                                 "RBAC in deploy/kubernetes") from None
            if exc.status == 404:
                raise
            raise ProbeError(f"kubernetes: {verb} {resource}: HTTP {exc.status} {_one_line(exc.reason)}") from None
        except (HTTPError, OSError) as exc:
            raise ProbeError(f"kubernetes: {verb} {resource}: cannot reach the API server {self.server} "
                             f"({_one_line(exc, 160)})") from None

    def _cached(self, key: tuple, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def forget(self) -> None:
        """Drop the cache (after a mutating step, reads must see the new state)."""
        self._cache.clear()
        K8S_FAILED.clear()

    def _list(self, resource: str, ns: str | None, **kw) -> list[dict]:
        fns = {
            "deployments": (self.apps.list_namespaced_deployment, self.apps.list_deployment_for_all_namespaces),
            "statefulsets": (self.apps.list_namespaced_stateful_set, self.apps.list_stateful_set_for_all_namespaces),
            "daemonsets": (self.apps.list_namespaced_daemon_set, self.apps.list_daemon_set_for_all_namespaces),
            "jobs": (self.batch.list_namespaced_job, self.batch.list_job_for_all_namespaces),
            "cronjobs": (self.batch.list_namespaced_cron_job, self.batch.list_cron_job_for_all_namespaces),
            "pods": (self.core.list_namespaced_pod, self.core.list_pod_for_all_namespaces),
            "configmaps": (self.core.list_namespaced_config_map, self.core.list_config_map_for_all_namespaces),
            "secrets": (self.core.list_namespaced_secret, None),
            "serviceaccounts": (self.core.list_namespaced_service_account, None),
            "ingresses": (self.net.list_namespaced_ingress, self.net.list_ingress_for_all_namespaces),
            "services": (self.core.list_namespaced_service, None),
            "horizontalpodautoscalers": (self._autoscaling().list_namespaced_horizontal_pod_autoscaler, None),
        }[resource]
        kind = {"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet",
                "jobs": "Job", "cronjobs": "CronJob", "pods": "Pod", "configmaps": "ConfigMap", "secrets": "Secret",
                "serviceaccounts": "ServiceAccount", "ingresses": "Ingress", "services": "Service",
                "horizontalpodautoscalers": "HorizontalPodAutoscaler"}[resource]

        def load():
            if ns is None:
                doc = self._call("list", f"{resource} (all namespaces)", fns[1], **kw)
            else:
                doc = self._call("list", f"{resource} in {ns}", fns[0], ns, **kw)
            items = doc.get("items", [])
            for i in items:
                i.setdefault("kind", kind)
            return items

        return self._cached(("list", resource, ns, tuple(sorted(kw.items()))), load)

    # -- reads --------------------------------------------------------------------------------
    def deployments(self, ns: str | None = None) -> list[dict]:
        return self._list("deployments", ns or self.namespace)

    def pods(self, ns: str | None = None, selector: str | None = None) -> list[dict]:
        kw = {"label_selector": selector} if selector else {}
        return self._list("pods", ns or self.namespace, **kw)

    def jobs(self, ns: str | None = None) -> list[dict]:
        return self._list("jobs", ns or self.namespace)

    def ingresses(self, ns: str | None = None) -> list[dict]:
        return self._list("ingresses", ns or self.namespace)

    def configmaps(self, ns: str | None = None) -> list[dict]:
        return self._list("configmaps", ns or self.namespace)

    def workloads(self, ns: str | None = None) -> list[dict]:
        """Every workload of the namespace; bare Pods (no owner) too, since they run a spec of their own."""
        out = []
        for kind in WORKLOAD_KINDS:
            out += self._list(kind, ns or self.namespace)
        out += [p for p in self.pods(ns) if not (p.get("metadata") or {}).get("ownerReferences")]
        return out

    def _autoscaling(self):
        from kubernetes import client

        return client.AutoscalingV2Api(self.api)

    def services(self, ns: str | None = None) -> list[dict]:
        return self._list("services", ns or self.namespace)

    def hpas(self, ns: str | None = None) -> list[dict]:
        return self._list("horizontalpodautoscalers", ns or self.namespace)

    def secret_keys(self, ns: str | None = None) -> list[dict]:
        """The namespace's Secrets with their keys only: every value is dropped as the response is
        read, so no secret value is kept (SUITE-03)."""
        ns = ns or self.namespace

        def load():
            doc = self._call("list", f"secrets in {ns}", self.core.list_namespaced_secret, ns)
            out = []
            for s in doc.get("items", []):
                meta = s.get("metadata") or {}
                out.append({"kind": "Secret", "apiVersion": "v1", "type": s.get("type"),
                            "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"),
                                         "labels": meta.get("labels") or {}},
                            "data": {k: "" for k in (s.get("data") or {})}})
            return out

        return self._cached(("secret-keys", ns), load)

    def custom_objects(self, group: str, version: str, plural: str, kind: str, ns: str | None = None) -> list[dict]:
        """Namespaced custom objects (ServiceMonitor, PrometheusRule...); [] when the CRD is not installed."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        ns = ns or self.namespace
        api = client.CustomObjectsApi(self.api)

        def load():
            try:
                doc = self._call("list", f"{plural}.{group} in {ns}", api.list_namespaced_custom_object, group, version,
                                 ns, plural)
            except ApiException as exc:
                if exc.status == 404:
                    return []
                raise
            items = doc.get("items", [])
            for i in items:
                i.setdefault("kind", kind)
            return items

        return self._cached(("custom", group, plural, ns), load)

    def conduktor_objects(self, ns: str) -> list[dict]:
        """Everything asbuilt.model.conduktor reads in a namespace: workloads, ConfigMaps, Secrets
        (keys only), Services, Ingresses, HPAs, ServiceMonitors, PodMonitors, PrometheusRules."""
        out = [*self.workloads(ns), *self.configmaps(ns), *self.secret_keys(ns), *self.services(ns),
               *self.ingresses(ns), *self.hpas(ns)]
        for plural, kind in (("servicemonitors", "ServiceMonitor"), ("podmonitors", "PodMonitor"),
                             ("prometheusrules", "PrometheusRule")):
            out += self.custom_objects("monitoring.coreos.com", "v1", plural, kind, ns)
        return out

    def ingress_classes(self) -> list[dict]:
        return self._cached(("ingressclasses",), lambda: self._call(
            "list", "ingressclasses", self.net.list_ingress_class).get("items", []))

    def lb_controller_deployments(self) -> list[dict]:
        """The AWS Load Balancer Controller: kube-system by name or label, else any namespace by label."""
        from kubernetes.client.exceptions import ApiException

        def load():
            selector = f"app.kubernetes.io/name={LB_CONTROLLER}"
            found = [d for d in self._list("deployments", "kube-system")
                     if d["metadata"]["name"] == LB_CONTROLLER
                     or (d["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == LB_CONTROLLER]
            if found:
                return found
            try:
                return self._list("deployments", None, label_selector=selector)
            except (ProbeError, ApiException):
                return []  # no cluster-wide list permission: kube-system was the documented place

        return self._cached(("lbc",), load)

    def helm_releases(self, name: str | None = None, ns: str | None = None) -> list[dict]:
        """Every stored revision of the release, newest first (decoded)."""
        name = name or self.section.release
        ns = ns or self.namespace

        def load():
            secrets = self._list("secrets", ns, label_selector=f"owner=helm,name={name}")
            out = []
            for s in secrets:
                raw = (s.get("data") or {}).get("release")
                if not raw:
                    continue
                try:
                    rel = decode_release(raw)
                except (ValueError, OSError) as exc:
                    raise ProbeError(f"kubernetes: Secret {ns}/{s['metadata']['name']}: not a readable helm "
                                     f"release ({_one_line(exc, 120)})") from None
                rel["_secret"] = s["metadata"]["name"]
                out.append(rel)
            return sorted(out, key=lambda r: int(r.get("version") or 0), reverse=True)

        return self._cached(("helm", name, ns), load)

    def current_release(self) -> dict:
        """The deployed revision (the newest one when none is marked deployed); ProbeError when none."""
        releases = self.helm_releases()
        if not releases:
            raise ProbeError(f"kubernetes: no helm release {self.section.release!r} in namespace {self.namespace} "
                             f"(no Secret labelled owner=helm,name={self.section.release})")
        for r in releases:
            if (r.get("info") or {}).get("status") == "deployed":
                return r
        return releases[0]

    def installer_job_template(self, release: dict | None = None) -> dict:
        """The installer Job of a release (a hook or a plain resource), as a manifest dict."""
        import yaml

        release = release or self.current_release()
        docs: list[dict] = []
        for h in release.get("hooks") or []:
            docs += [d for d in yaml.safe_load_all(h.get("manifest") or "") if isinstance(d, dict)]
        docs += [d for d in yaml.safe_load_all(release.get("manifest") or "") if isinstance(d, dict)]
        jobs = [d for d in docs if d.get("kind") == "Job"]
        for j in jobs:
            labels = ((j.get("metadata") or {}).get("labels") or {})
            if labels.get("app.kubernetes.io/component") == "installer" or "installer" in j["metadata"]["name"]:
                return j
        raise ProbeError(f"release {release.get('namespace')}/{release.get('name')} revision {release.get('version')}: "
                         "no installer Job in its hooks or manifest")

    def read_job(self, name: str, ns: str | None = None) -> dict | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self._call("get", f"job {ns or self.namespace}/{name}", self.batch.read_namespaced_job,
                              name, ns or self.namespace)
        except ApiException:
            return None

    def job_pods(self, job: dict) -> list[dict]:
        meta = job["metadata"]
        doc = self._call("list", f"pods of job {meta['name']}", self.core.list_namespaced_pod, meta["namespace"],
                         label_selector=f"job-name={meta['name']}")
        return doc.get("items", [])

    def pod_log(self, name: str, ns: str | None = None, container: str | None = None) -> str:
        key = FailureMemo.key("k8s", self.server, "log", ns or self.namespace, name, container)
        K8S_FAILED.check(key)
        try:
            return self._pod_log(name, ns, container)
        except ProbeError as exc:
            K8S_FAILED.remember(key, exc)
            raise

    def _pod_log(self, name: str, ns: str | None, container: str | None) -> str:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        with self._lock:
            self.calls["get pods/log"] += 1
            record_call("get", "pods/log")
        kw = {"container": container} if container else {}
        try:
            resp = self.core.read_namespaced_pod_log(name, ns or self.namespace, _preload_content=False,
                                                     _request_timeout=self.timeout, **kw)
            return resp.data.decode(errors="replace")
        except ApiException as exc:
            raise ProbeError(f"kubernetes: log of pod {ns or self.namespace}/{name}: HTTP {exc.status} "
                             f"{_one_line(exc.body or exc.reason, 200)}") from None
        except (HTTPError, OSError) as exc:
            raise ProbeError(f"kubernetes: log of pod {ns or self.namespace}/{name}: {_one_line(exc, 160)}") from None

    def wait_job(self, name: str, timeout: float, ns: str | None = None, poll: float = 1.0) -> dict:
        """Until the Job is Complete or Failed; ProbeError naming the Job when ``timeout`` passes.
        Polls every 0.2 s at first, backing off to ``poll`` (a short Job is seen finished soon)."""
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            job = self.read_job(name, ns)
            if job is None:
                raise ProbeError(f"kubernetes: job {ns or self.namespace}/{name} does not exist (deleted?)")
            if job_outcome(job) is not None:
                return job
            if time.monotonic() >= deadline:
                raise ProbeError(f"waited {timeout:.0f}s for job {ns or self.namespace}/{name} to complete; it did "
                                 f"not (status: {job_state(job)})")
            time.sleep(min(delay, max(0.1, deadline - time.monotonic())))
            delay = min(poll, delay * 1.5)

    # -- writes (only @mutating scenarios call these) -----------------------------------------
    def create_job(self, body: dict, ns: str | None = None) -> dict:
        ns = ns or self.namespace
        return self._call("create", f"jobs in {ns}", self.batch.create_namespaced_job, ns, body)

    def delete_job(self, name: str, ns: str | None = None) -> None:
        from kubernetes.client.exceptions import ApiException

        ns = ns or self.namespace
        with self._lock:
            self.calls[f"delete jobs in {ns}"] += 1
            record_call("delete", "jobs")
        try:
            self.batch.delete_namespaced_job(name, ns, propagation_policy="Background", _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status != 404:
                raise ProbeError(f"kubernetes: delete job {ns}/{name}: HTTP {exc.status}") from None

    def rollout_restart(self, name: str, ns: str | None = None) -> dict:
        """What ``kubectl rollout restart deployment/<name>`` does: a new pod-template annotation."""
        ns = ns or self.namespace
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        patch = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}}
        return self._call("patch", f"deployments in {ns}", self.apps.patch_namespaced_deployment, name, ns, patch,
                          _content_type=MERGE)

    def read_deployment(self, name: str, ns: str | None = None) -> dict:
        ns = ns or self.namespace
        return self._call("get", f"deployment {ns}/{name}", self.apps.read_namespaced_deployment, name, ns)


def job_outcome(job: dict) -> str | None:
    """'complete' | 'failed' | None (still running)."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("status") == "True" and c.get("type") == "Complete":
            return "complete"
        if c.get("status") == "True" and c.get("type") == "Failed":
            return "failed"
    return None


def job_state(job: dict) -> str:
    st = job.get("status") or {}
    conds = [f"{c.get('type')}={c.get('status')}" + (f" ({c.get('reason')})" if c.get("reason") else "")
             for c in st.get("conditions") or []]
    counts = ", ".join(f"{k} {st[k]}" for k in ("active", "succeeded", "failed") if st.get(k))
    return "; ".join(x for x in (counts, ", ".join(conds)) if x) or "no status yet"


def rollout_done(dep: dict) -> bool:
    """The Deployment controller has seen the current generation and every replica is updated and available."""
    meta, spec, st = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    want = spec.get("replicas", 1)
    return (st.get("observedGeneration", 0) >= meta.get("generation", 0)
            and st.get("updatedReplicas", 0) == want and st.get("replicas", 0) == want
            and st.get("availableReplicas", 0) == want)
