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

from asbuilt.rules.k8s import classify_value

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


def configmap_settings(cm: dict, name: str | None = None) -> list[dict]:
    name = name or resource_name(cm)
    return [{"resource": f"{name} key {key}", "where": "configmap", "key": key, "value_kind": classify_value(value)}
            for key, value in (_clean(cm.get("data")) or {}).items()]


def values_settings(values: Any, resource: str, path: str = "") -> list[dict]:
    """Every leaf of a release's values as K8S-05 facts (the key path, the kind of value)."""
    out: list[dict] = []
    if isinstance(values, dict):
        for k, v in values.items():
            out += values_settings(v, resource, f"{path}.{k}" if path else str(k))
    elif isinstance(values, list):
        for i, v in enumerate(values):
            out += values_settings(v, resource, f"{path}[{i}]")
    elif isinstance(values, str) and values:
        out.append({"resource": f"{resource} values {path}", "where": "values", "key": path,
                    "value_kind": classify_value(values)})
    return out
