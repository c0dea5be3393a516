"""Kubernetes objects in the estate model, shaped once for the live API and for manifests /
rendered charts alike: the pod spec of any workload, its containers (requests, limits, the
effective security context) and its settings (env, args, ConfigMap data, release values) as
K8S-05 facts: the key and the kind of value, never the value itself.

``name`` is how the object is named in findings: ``Deployment ns/name`` for an API object,
``file:line (Deployment/ns/name)`` for code. Keys checkov adds to parsed YAML (``__startline__``)
are ignored, so a manifest and the API object it creates give equal facts.
"""

from __future__ import annotations

from typing import Any

from asbuilt.rules.k8s import classify_value, looks_random

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")


def _clean(value: Any) -> Any:
    """A mapping without parser bookkeeping keys; a checkov list-of-dicts mapping merged."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value) and any(
            any(str(k).startswith("__") for k in v) for v in value) and not any("name" in v for v in value):
        merged: dict = {}
        for v in value:
            merged.update(v)
        value = merged
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if not str(k).startswith("__")}
    return value


def pod_spec_of(obj: dict) -> dict:
    """The pod spec inside any workload (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob)."""
    kind = obj.get("kind")
    spec = _clean(obj.get("spec")) or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        job = _clean(_clean(spec.get("jobTemplate") or {}).get("spec") or {})
        return _clean(_clean(job.get("template") or {}).get("spec") or {})
    return _clean(_clean(spec.get("template") or {}).get("spec") or {})


def resource_name(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def _containers(spec: dict) -> list[tuple[str, dict]]:
    out = []
    for group, label in (("initContainers", "init container"), ("containers", "container")):
        for c in spec.get(group) or []:
            if isinstance(c, dict):
                out.append((label, c))
    return out


def containers_of(obj: dict, name: str | None = None) -> list[dict]:
    """Every container (init containers too) of a workload in the neutral form of
    ``asbuilt.rules.k8s``: requests/limits and the effective security context."""
    name = name or resource_name(obj)
    spec = pod_spec_of(obj)
    pod_sc = _clean(spec.get("securityContext")) or {}
    out = []
    for label, c in _containers(spec):
        sc = _clean(c.get("securityContext")) or {}

        def eff(key: str) -> Any:
            return sc[key] if key in sc else pod_sc.get(key)

        res = _clean(c.get("resources")) or {}
        out.append({
            "resource": f"{name} {label} {c.get('name')}",
            "requests": _clean(res.get("requests")) or {}, "limits": _clean(res.get("limits")) or {},
            "run_as_non_root": eff("runAsNonRoot"), "run_as_user": eff("runAsUser"),
            "privileged": sc.get("privileged"), "allow_privilege_escalation": sc.get("allowPrivilegeEscalation"),
            "read_only_root_filesystem": sc.get("readOnlyRootFilesystem"),
        })
    return out


def env_settings(obj: dict, name: str | None = None) -> list[dict]:
    """K8S-05 facts of a workload's containers: env values and args, never the values themselves."""
    name = name or resource_name(obj)
    out = []
    for label, c in _containers(pod_spec_of(obj)):
        where = f"{name} {label} {c.get('name')}"
        for e in c.get("env") or []:
            if not isinstance(e, dict):
                continue
            if "valueFrom" in e:
                src = next(iter(k for k in (_clean(e.get("valueFrom")) or {"none": None})), "none")
                out.append({"resource": f"{where} env {e.get('name')}", "where": "env", "key": e.get("name"),
                            "value_kind": "reference", "from": src})
            else:
                out.append({"resource": f"{where} env {e.get('name')}", "where": "env", "key": e.get("name"),
                            "value_kind": classify_value(e.get("value"))})
        for i, arg in enumerate(list(c.get("command") or []) + list(c.get("args") or [])):
            text = str(arg)
            if text.startswith("--") and "=" in text:
                key, value = text[2:].split("=", 1)
                out.append({"resource": f"{where} arg {i}", "where": "args", "key": key,
                            "value_kind": classify_value(value)})
            elif classify_value(text) == "secret-pattern":
                out.append({"resource": f"{where} arg {i}", "where": "args", "key": f"arg {i}",
                            "value_kind": "secret-pattern"})
    return out


def structured(value: Any) -> Any:
    """A JSON or YAML document inside a string value (a Keycloak realm export, an application.yaml),
    as data; None for a plain value."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) < 2 or len(text) > 1_000_000:
        return None
    if text[0] in "{[":
        import json

        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            doc = None
        if isinstance(doc, (dict, list)) and doc:
            return doc
    if "\n" in text and ":" in text:
        import yaml

        from asbuilt.safeio import BoundedLoader

        try:
            doc = yaml.load(text, Loader=BoundedLoader)
        except Exception:  # not YAML (a script, a properties file): a plain value
            return None
        if isinstance(doc, dict) and doc:
            return doc
    return None


def configmap_settings(cm: dict, name: str | None = None) -> list[dict]:
    """K8S-05 facts of a ConfigMap's data; a value that is a JSON / YAML document is looked into,
    each leaf a fact under its path (``realm.json.clients[0].secret``)."""
    name = name or resource_name(cm)
    out = []
    for key, value in (_clean(cm.get("data")) or {}).items():
        out.append({"resource": f"{name} key {key}", "where": "configmap", "key": key,
                    "value_kind": classify_value(value)})
        doc = structured(value)
        if doc is not None:
            out += values_settings(doc, f"{name} key", str(key), where="configmap")
    return out


def values_settings(values: Any, resource: str, path: str = "", where: str = "values") -> list[dict]:
    """Every leaf of a release's values as K8S-05 facts (the key path, the kind of value); a
    string that is a JSON / YAML document is looked into."""
    out: list[dict] = []
    if isinstance(values, dict):
        for k, v in values.items():
            if not str(k).startswith("__"):
                out += values_settings(v, resource, f"{path}.{k}" if path else str(k), where)
    elif isinstance(values, list):
        for i, v in enumerate(values):
            out += values_settings(v, resource, f"{path}[{i}]", where)
    elif isinstance(values, str) and values:
        doc = structured(values)
        if doc is not None:
            return values_settings(doc, resource, path, where)
        fact = {"resource": f"{resource} {'values ' if where == 'values' else ''}{path}", "where": where,
                "key": path, "value_kind": classify_value(values)}
        if looks_random(values):
            fact["random"] = True  # the shape of a generated secret (never the value)
        out.append(fact)
    return out


# Custom resources that install a Helm chart with values of their own: k3s/RKE2 HelmChart
# (spec.set, spec.valuesContent), Flux HelmRelease (spec.values), Argo CD Application
# (spec.source.helm.parameters / values / valuesObject).
RELEASE_KINDS = ("HelmChart", "HelmRelease", "Application")


def release_settings(obj: dict, name: str | None = None) -> list[dict]:
    """K8S-05 facts of the values a chart-installing custom resource gives its chart."""
    name = name or resource_name(obj)
    spec = _clean(obj.get("spec")) or {}
    out: list[dict] = []
    if obj.get("kind") == "HelmChart":
        for key, value in (_clean(spec.get("set")) or {}).items():
            out += values_settings(value, f"{name} set", str(key))
        out += values_settings(spec.get("valuesContent"), f"{name} valuesContent")
    elif obj.get("kind") == "HelmRelease":
        out += values_settings(_clean(spec.get("values")), f"{name} values")
    elif obj.get("kind") == "Application":
        sources = [spec.get("source")] + list(spec.get("sources") or [])
        for src in [_clean(s) for s in sources if isinstance(s, dict)]:
            helm = _clean(src.get("helm")) or {}
            for p in helm.get("parameters") or []:
                if isinstance(p, dict) and p.get("name"):
                    out += values_settings(p.get("value"), f"{name} helm.parameters", str(p["name"]))
            out += values_settings(helm.get("values"), f"{name} helm.values")
            out += values_settings(_clean(helm.get("valuesObject")), f"{name} helm.valuesObject")
    return out
