"""Conduktor components (Console, Console Cortex, Gateway) read from Kubernetes objects, the same
way for a rendered chart, hand-written manifests and the live Kubernetes API.

``components(objects)`` takes every object of one deployment (workloads, ConfigMaps, Secrets,
Services, Ingresses, HorizontalPodAutoscalers, ServiceMonitors / PodMonitors / PrometheusRules)
and returns one ``Component`` per Conduktor workload, recognised by its image repository
(``conduktor/conduktor-console``, ``conduktor/conduktor-console-cortex``,
``conduktor/conduktor-gateway``, with or without a registry prefix) or by the labels Conduktor's
charts set (console chart: ``app.kubernetes.io/component: conduktor-platform`` /
``conduktor-platform-cortex``; gateway chart: ``app.kubernetes.io/name: conduktor-gateway``).
``recognised_by`` says which.

Its configuration is read the way Conduktor reads it (``Component.settings``): the YAML config
file the Console reads (``CDK_IN_CONF_FILE``, from the ConfigMap mounted there; each key mapped to
its ``CDK_*`` name; ``${VAR}`` expanded from the container's env), then the container's
``envFrom`` ConfigMaps and Secrets, then its ``env`` (``value``, ``valueFrom.secretKeyRef`` /
``configMapKeyRef``), later sources overriding earlier ones as Kubernetes and Conduktor do;
``<KEY>_FILE`` gives ``<KEY>`` from a file (a Secret or ConfigMap volume, when mounted there).

A ``Setting`` has the value (for a key that is not sensitive, and only when it is written in
the objects read), where it is written (``ConfigMap ns/name key K``, ``Secret ns/name key K``,
``Deployment ns/name env K``) and its source kind. A sensitive key's value is never kept: only
its kind (``asbuilt.rules.k8s.classify_value``) and its source. A Secret's values are never read
at all: only its keys. A key no source sets is absent (``None`` from ``value()``): a control
then applies Conduktor's documented default (saying so) or judges it unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml

from asbuilt.model.facts import Unknown
from asbuilt.model.k8s import _clean, containers_of, pod_spec_of, resource_name
from asbuilt.rules.k8s import classify_value, credential_key

CONSOLE, CORTEX, GATEWAY = "console", "cortex", "gateway"
IMAGES = {"conduktor/conduktor-console-cortex": CORTEX, "conduktor/conduktor-console": CONSOLE,
          "conduktor/conduktor-gateway": GATEWAY}
COMPONENT_LABELS = {"conduktor-platform": CONSOLE, "conduktor-platform-cortex": CORTEX}
NAME_LABELS = {"conduktor-gateway": GATEWAY}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod")
CHART_VALUES = {  # where each component's settings live in Conduktor's charts (for fixes)
    CONSOLE: "console chart platform.*", CORTEX: "console chart platformCortex.*", GATEWAY: "gateway chart gateway.*"}

# Conduktor's sensitive keys (facts sheet), beyond any key asbuilt.rules.k8s.credential_key names
SENSITIVE = {
    "CDK_ADMIN_PASSWORD", "CDK_DATABASE_PASSWORD", "CDK_DATABASE_URL", "CDK_LICENSE", "LICENSE_KEY",
    "CDK_SSO_LDAP_0_MANAGERPASSWORD", "CDK_MONITORING_STORAGE_S3_SECRETACCESSKEY", "CDK_SSL_TRUSTSTORE_PASSWORD",
    "GATEWAY_LICENSE_KEY", "GATEWAY_ADMIN_API_USERS", "GATEWAY_USER_POOL_SECRET_KEY", "KAFKA_SASL_JAAS_CONFIG",
    "KAFKA_AWS_SECRET_ACCESS_KEY",
}
_SENSITIVE_RE = re.compile(
    r"(^CDK_SSO_OAUTH2_\d+_CLIENTSECRET$|^CDK_SSO_LDAP_\d+_MANAGERPASSWORD$|^CDK_MONITORING_STORAGE_\w+_(SECRET\w*|"
    r"ACCOUNTKEY|CREDENTIALS\w*)$|_PASSWORD$|SASL_JAAS_CONFIG$|^CDK_CLUSTERS_\d+_PROPERTIES$|^CDK_LICENSE$)")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)(?::-[^}]*)?\}")
# what a source is, for CDK-SEC-02: a secret from one of these is held in a Secret
SECRET_SOURCES = ("secret", "secretKeyRef", "secret-file")
DEFAULT_CONF_FILE = "/opt/conduktor/default-platform-config.yaml"


def sensitive(key: str) -> bool:
    """Whether a Conduktor setting holds a secret (its value is never kept)."""
    k = str(key)
    if k.endswith("_FILE"):
        return False
    return k in SENSITIVE or bool(_SENSITIVE_RE.search(k)) or credential_key(k)


@dataclass
class Setting:
    key: str
    source: str                  # env | configmap | configMapKeyRef | config-file | secret | secretKeyRef |
                                 # secret-file | configmap-file | file | fieldRef | unresolved
    where: str                   # "Secret conduktor/x key K", "ConfigMap ns/n key K", "Deployment ns/n env K"
    value: Any = None            # never for a sensitive key, nor a value held in a Secret
    value_kind: str = ""         # classify_value of a written value ("" when it is not written here)
    via: str = ""                # "${OIDC_CLIENT_SECRET}" when expanded from another setting

    @property
    def from_secret(self) -> bool:
        return self.source in SECRET_SOURCES

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "source": self.source, "where": self.where}
        if self.value is not None:
            out["value"] = self.value
        if self.value_kind:
            out["value_kind"] = self.value_kind
        if self.via:
            out["via"] = self.via
        return out


@dataclass
class Component:
    kind: str                    # console | cortex | gateway
    resource: str                # how findings name the workload
    recognised_by: str
    body: dict                   # the workload object
    namespace: str
    name: str
    container: dict              # the Conduktor container
    settings: dict[str, Setting] = field(default_factory=dict)
    unseen_secrets: list[str] = field(default_factory=list)      # envFrom Secrets not among the objects read
    unseen_configmaps: list[str] = field(default_factory=list)   # envFrom / config ConfigMaps not among them
    services: list[dict] = field(default_factory=list)           # Services selecting its pods
    hpas: list[dict] = field(default_factory=list)               # HPAs targeting it
    config_file: str = ""                                        # where its YAML config was read
    interceptors_file: tuple[str, str | None] | None = None      # Gateway: (where, content) of its interceptors
    anchor: dict = field(default_factory=dict)                   # static: {"file", "line", "_anchor"}
    # settings a later source overrides (a ConfigMap key under a Secret's, a config-file key under
    # env): not what the process reads, but still written where they are (CDK-SEC-02 judges them)
    shadowed: list[Setting] = field(default_factory=list)

    def value(self, key: str) -> Any:
        s = self.settings.get(key)
        return None if s is None else s.value

    def setting(self, key: str) -> Setting | None:
        return self.settings.get(key)

    def matching(self, pattern: str) -> dict[str, Setting]:
        rx = re.compile(pattern)
        return {k: s for k, s in self.settings.items() if rx.search(k)}

    def where(self, key: str) -> str:
        s = self.settings.get(key)
        return s.where if s is not None else f"{self.resource} (not set)"

    @property
    def replicas(self) -> int | Unknown:
        spec = _clean(self.body.get("spec")) or {}
        kind = self.body.get("kind")
        if kind in ("DaemonSet", "Pod"):
            return 1 if kind == "Pod" else Unknown("a DaemonSet runs one pod per node: the node count decides",
                                                   self.resource)
        if "replicas" not in spec or spec.get("replicas") is None:
            return 1  # Kubernetes' default for an absent spec.replicas
        raw = spec.get("replicas")
        if isinstance(raw, bool):
            return Unknown(f"spec.replicas is {raw!r}, not a number", self.resource, str(raw))
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and raw.strip().isdigit():
            return int(raw.strip())
        return Unknown(f"spec.replicas is {str(raw)[:60]!r}, not a number (an unresolved substitution or "
                       "template value)", self.resource, str(raw)[:80])

    def containers(self) -> list[dict]:
        return [c for c in containers_of(self.body, self.resource)]

    def main_container_facts(self) -> dict:
        name = self.container.get("name")
        for c in containers_of(self.body, self.resource):
            if c["resource"].endswith(f" container {name}"):
                return c
        return {}


# --------------------------------------------------------------------------- recognition


def image_repository(image: str) -> str:
    """``registry.example.com:5000/conduktor/conduktor-gateway:3.10@sha256:..`` -> ``conduktor/conduktor-gateway``."""
    ref = str(image or "").split("@", 1)[0]
    last = ref.rsplit("/", 1)
    if ":" in last[-1]:
        ref = ref.rsplit(":", 1)[0]
    parts = ref.split("/")
    if len(parts) >= 3 or (len(parts) == 2 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost")):
        if "." in parts[0] or ":" in parts[0] or parts[0] == "localhost":
            parts = parts[1:]
    return "/".join(parts[-2:]) if len(parts) >= 2 else ref


def recognise(obj: dict) -> tuple[str, dict, str] | None:
    """(component, its container, how it was recognised) for a Conduktor workload, else None."""
    if obj.get("kind") not in WORKLOAD_KINDS:
        return None
    spec = pod_spec_of(obj)
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    for c in containers:
        repo = image_repository(str(c.get("image") or ""))
        if repo in IMAGES:
            return IMAGES[repo], c, f"image {repo} ({c.get('image')})"
    meta = _clean(obj.get("metadata")) or {}
    tmeta = _clean((_clean((_clean(obj.get("spec")) or {}).get("template")) or {}).get("metadata")) or {}
    labels = {**(_clean(tmeta.get("labels")) or {}), **(_clean(meta.get("labels")) or {})}
    comp = labels.get("app.kubernetes.io/component")
    if comp in COMPONENT_LABELS and containers:
        main = next((c for c in containers if c.get("name") == comp), containers[0])
        return COMPONENT_LABELS[comp], main, f"label app.kubernetes.io/component={comp}"
    name = labels.get("app.kubernetes.io/name")
    if name in NAME_LABELS and containers:
        main = next((c for c in containers if c.get("name") == "gateway"), containers[0])
        return NAME_LABELS[name], main, f"label app.kubernetes.io/name={name}"
    return None


# --------------------------------------------------------------------------- configuration


def _ns(obj: dict, default: str) -> str:
    return str((_clean(obj.get("metadata")) or {}).get("namespace") or default)


def _name(obj: dict) -> str:
    return str((_clean(obj.get("metadata")) or {}).get("name") or "")


def _env_key(path: list[str | int]) -> str:
    """Conduktor's env name of a YAML config path: sso.oauth2[0].client-id -> CDK_SSO_OAUTH2_0_CLIENTID."""
    return "CDK_" + "_".join(str(p) if isinstance(p, int) else re.sub(r"[-_]", "", str(p)).upper() for p in path)


def _flatten(value: Any, path: list) -> Iterable[tuple[list, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if not str(k).startswith("__"):
                yield from _flatten(v, [*path, k])
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _flatten(v, [*path, i])
    else:
        yield path, value


class _Objects:
    """The objects of one deployment by kind and namespace/name."""

    def __init__(self, objects: list[tuple[dict, str]], namespace: str):
        self.namespace = namespace
        self.all = objects
        self.by: dict[tuple[str, str, str], tuple[dict, str]] = {}
        for body, name in objects:
            self.by[(str(body.get("kind")), _ns(body, namespace), _name(body))] = (body, name)

    def get(self, kind: str, ns: str, name: str) -> tuple[dict, str] | None:
        return self.by.get((kind, ns, name))

    def of_kind(self, *kinds: str) -> list[tuple[dict, str]]:
        return [(b, n) for b, n in self.all if b.get("kind") in kinds]


def _written(key: str, value: Any, source: str, where: str, via: str = "") -> Setting:
    text = value if isinstance(value, str) else (None if value is None else str(value))
    kind = classify_value(text)
    if sensitive(key) or kind == "secret-pattern":  # a value in a credential format is never kept either
        return Setting(key, source, where, None, kind, via)
    return Setting(key, source, where, text, classify_value(text), via)


def _configmap_data(body: dict) -> dict:
    return {str(k): v for k, v in (_clean(body.get("data")) or {}).items()}


def _secret_keys(body: dict) -> list[str]:
    return [str(k) for k in {**(_clean(body.get("data")) or {}), **(_clean(body.get("stringData")) or {})}]


def _volume_sources(spec: dict, container: dict) -> list[tuple[str, str, dict]]:
    """(mountPath, kind, volume source) of a container's mounts: kind secret | configMap | other."""
    vols = {}
    for v in spec.get("volumes") or []:
        if isinstance(v, dict) and v.get("name"):
            vols[v["name"]] = _clean(v)
    out = []
    for m in container.get("volumeMounts") or []:
        if not isinstance(m, dict):
            continue
        v = vols.get(m.get("name")) or {}
        kind = "secret" if "secret" in v else "configMap" if "configMap" in v else "projected" if "projected" in v \
            else "other"
        out.append((str(m.get("mountPath") or ""), kind, {**v, "_subPath": m.get("subPath")}))
    return out


def _file_source(path: str, mounts: list[tuple[str, str, dict]], objs: _Objects, ns: str) -> tuple[str, str, Any]:
    """(source, where, configmap file content or None) of a file path in the container."""
    best = None
    for mount, kind, vol in mounts:
        m = mount.rstrip("/")
        if path == m or path.startswith(m + "/"):
            if best is None or len(m) > len(best[0].rstrip("/")):
                best = (mount, kind, vol)
    if best is None:
        return "file", f"file {path} (on the image, no volume mounted there)", None
    mount, kind, vol = best
    rel = path[len(mount.rstrip("/")):].lstrip("/") or (vol.get("_subPath") or "")
    if kind == "secret":
        sname = (_clean(vol.get("secret")) or {}).get("secretName")
        key = _item_key(_clean(vol.get("secret")) or {}, rel)
        return "secret-file", f"Secret {ns}/{sname} key {key} (file {path})", None
    if kind == "configMap":
        cname = (_clean(vol.get("configMap")) or {}).get("name")
        key = _item_key(_clean(vol.get("configMap")) or {}, rel)
        found = objs.get("ConfigMap", ns, str(cname))
        content = _configmap_data(found[0]).get(key) if found else None
        return "configmap-file", f"ConfigMap {ns}/{cname} key {key} (file {path})", content
    if kind == "projected":
        return "file", f"file {path} (projected volume)", None
    return "file", f"file {path} (volume {vol.get('name')})", None


def _item_key(source: dict, rel: str) -> str:
    for item in source.get("items") or []:
        if isinstance(item, dict) and item.get("path") == rel:
            return str(item.get("key"))
    return rel


def _read_settings(comp: Component, objs: _Objects) -> None:
    spec = pod_spec_of(comp.body)
    c = comp.container
    ns = comp.namespace
    mounts = _volume_sources(spec, c)
    env_list = [e for e in c.get("env") or [] if isinstance(e, dict) and e.get("name")]
    env_settings: dict[str, Setting] = {}

    def put(key: str, setting: Setting) -> None:  # a later source overrides; the earlier one is kept aside
        if key in env_settings:
            comp.shadowed.append(env_settings[key])
        env_settings[key] = setting

    # envFrom, in order (a later source overrides an earlier one)
    for src in c.get("envFrom") or []:
        if not isinstance(src, dict):
            continue
        prefix = str(src.get("prefix") or "")
        if src.get("configMapRef"):
            ref = _clean(src["configMapRef"]) or {}
            found = objs.get("ConfigMap", ns, str(ref.get("name")))
            if found is None:
                comp.unseen_configmaps.append(f"ConfigMap {ns}/{ref.get('name')}")
                continue
            for k, v in _configmap_data(found[0]).items():
                put(prefix + k, _written(prefix + k, v, "configmap", f"ConfigMap {ns}/{ref.get('name')} key {k}"))
        elif src.get("secretRef"):
            ref = _clean(src["secretRef"]) or {}
            found = objs.get("Secret", ns, str(ref.get("name")))
            if found is None:
                comp.unseen_secrets.append(f"Secret {ns}/{ref.get('name')}")
                continue
            for k in _secret_keys(found[0]):
                put(prefix + k, Setting(prefix + k, "secret", f"Secret {ns}/{ref.get('name')} key {k}"))
    for e in env_list:
        key = str(e["name"])
        where = f"{comp.resource} env {key}"
        if "valueFrom" in e:
            vf = _clean(e.get("valueFrom")) or {}
            if vf.get("secretKeyRef"):
                ref = _clean(vf["secretKeyRef"]) or {}
                put(key, Setting(key, "secretKeyRef", f"Secret {ns}/{ref.get('name')} key {ref.get('key')}"))
            elif vf.get("configMapKeyRef"):
                ref = _clean(vf["configMapKeyRef"]) or {}
                found = objs.get("ConfigMap", ns, str(ref.get("name")))
                cm_where = f"ConfigMap {ns}/{ref.get('name')} key {ref.get('key')}"
                if found is None:
                    put(key, Setting(key, "unresolved", cm_where, Unknown(
                        f"ConfigMap {ns}/{ref.get('name')} is not among the objects read", cm_where)))
                else:
                    put(key, _written(key, _configmap_data(found[0]).get(str(ref.get("key"))),
                                      "configMapKeyRef", cm_where))
            else:
                put(key, Setting(key, "fieldRef", where, Unknown(
                    f"{key} comes from {next(iter(vf), 'valueFrom')}, known only in the running pod", where)))
        else:
            put(key, _written(key, e.get("value"), "env", where))
    # *_FILE: the key's value is a file's content
    for key, s in list(env_settings.items()):
        if key.endswith("_FILE") and key != "CDK_IN_CONF_FILE" and isinstance(s.value, str) and s.value.startswith("/"):
            target = key[: -len("_FILE")]
            source, where, content = _file_source(s.value, mounts, objs, ns)
            if source == "configmap-file":
                env_settings.setdefault(target, _written(target, content, "configmap-file", where))
            else:
                env_settings.setdefault(target, Setting(target, source, where))
    # the Console's YAML config file (CDK_IN_CONF_FILE), keys mapped to CDK_* names
    file_settings: dict[str, Setting] = {}
    if comp.kind in (CONSOLE, CORTEX):
        conf = env_settings.get("CDK_IN_CONF_FILE")
        path = conf.value if conf is not None and isinstance(conf.value, str) else DEFAULT_CONF_FILE
        source, where, content = _file_source(path, mounts, objs, ns)
        if source == "configmap-file":
            comp.config_file = where
            try:
                doc = yaml.safe_load(content) if isinstance(content, str) else None
            except yaml.YAMLError:
                doc = None
            if content is None:
                comp.unseen_configmaps.append(where)
            for p, v in _flatten(doc if isinstance(doc, dict) else {}, []):
                key = _env_key(p)
                dotted = ".".join(f"[{x}]" if isinstance(x, int) else str(x) for x in p).replace(".[", "[")
                fwhere = f"{where} {dotted}"
                text = v if isinstance(v, str) else (None if v is None else str(v).lower() if isinstance(v, bool)
                                                    else str(v))
                refs = _VAR.findall(text or "")
                if refs:
                    # ${VAR}: expanded by the Console from its environment
                    var = refs[0]
                    src = env_settings.get(var)
                    if src is None:
                        file_settings[key] = Setting(key, "unresolved", fwhere, Unknown(
                            f"{dotted} is ${{{var}}}, and no env var {var} of the container is read (it may come "
                            f"from {', '.join(comp.unseen_secrets) or 'nowhere'})", fwhere), via=f"${{{var}}}")
                    else:
                        file_settings[key] = Setting(key, src.source, src.where,
                                                     None if sensitive(key) else src.value, src.value_kind,
                                                     via=f"${{{var}}} at {fwhere}")
                else:
                    file_settings[key] = _written(key, text, "config-file", fwhere)
        elif conf is not None:
            comp.config_file = where
    if comp.kind == GATEWAY:
        loc = env_settings.get("GATEWAY_INTERCEPTOR_CONFIG_LOCATION")
        if loc is not None and isinstance(loc.value, str) and loc.value.startswith("/"):
            source, where, content = _file_source(loc.value, mounts, objs, ns)
            comp.interceptors_file = (where, content if source == "configmap-file" else None)
    comp.shadowed += [s for k, s in file_settings.items() if k in env_settings]
    comp.settings = {**file_settings, **env_settings}


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_labels(body: dict) -> dict:
    if body.get("kind") == "Pod":
        return _clean((_clean(body.get("metadata")) or {}).get("labels")) or {}
    tmeta = _clean((_clean((_clean(body.get("spec")) or {}).get("template")) or {}).get("metadata")) or {}
    return _clean(tmeta.get("labels")) or {}


def components(objects: Iterable[Any], namespace: str = "default") -> list[Component]:
    """Every Conduktor component among ``objects``: dicts (API objects, parsed manifests), or
    ``(body, name)`` pairs, or ``(body, name, anchor)`` triples where ``name`` is how findings name
    the object (``file:line (Deployment/ns/name)`` for code) and ``anchor`` the static anchor
    (``{"file", "line", "_anchor"}``)."""
    norm: list[tuple[dict, str, dict]] = []
    for o in objects:
        if isinstance(o, dict):
            norm.append((o, resource_name(o), {}))
        elif len(o) == 2:
            norm.append((o[0], o[1], {}))
        else:
            norm.append((o[0], o[1], dict(o[2] or {})))
    objs = _Objects([(b, n) for b, n, _ in norm], namespace)
    out = []
    for body, name, anchor in norm:
        found = recognise(body)
        if found is None:
            continue
        kind, container, how = found
        ns = _ns(body, namespace)
        comp = Component(kind, name, how, body, ns, _name(body), container, anchor=anchor)
        _read_settings(comp, objs)
        labels = pod_labels(body)
        for svc, sname in objs.of_kind("Service"):
            sel = _clean((_clean(svc.get("spec")) or {}).get("selector")) or {}
            if _ns(svc, namespace) == ns and _selects(sel, labels):
                comp.services.append({"resource": sname, "name": _name(svc),
                                      "type": (_clean(svc.get("spec")) or {}).get("type") or "ClusterIP",
                                      "labels": _clean((_clean(svc.get("metadata")) or {}).get("labels")) or {},
                                      "ports": [(_clean(p) or {}) for p in (_clean(svc.get("spec")) or {}).get("ports")
                                                or [] if isinstance(p, dict)]})
        for hpa, hname in objs.of_kind("HorizontalPodAutoscaler"):
            ref = _clean((_clean(hpa.get("spec")) or {}).get("scaleTargetRef")) or {}
            if _ns(hpa, namespace) == ns and ref.get("kind") == body.get("kind") and ref.get("name") == comp.name:
                spec = _clean(hpa.get("spec")) or {}
                comp.hpas.append({"resource": hname, "min_replicas": spec.get("minReplicas", 1),
                                  "max_replicas": spec.get("maxReplicas")})
        out.append(comp)
    return out


def monitors(objects: Iterable[Any], namespace: str = "default") -> list[dict]:
    """ServiceMonitors, PodMonitors and PrometheusRules among the objects (Prometheus Operator)."""
    out = []
    for o in objects:
        body, name = (o, resource_name(o)) if isinstance(o, dict) else (o[0], o[1])
        kind = body.get("kind")
        if kind not in ("ServiceMonitor", "PodMonitor", "PrometheusRule"):
            continue
        spec = _clean(body.get("spec")) or {}
        sel = _clean(_clean(spec.get("selector")) or {}) or {}
        out.append({"resource": name, "kind": kind, "namespace": _ns(body, namespace),
                    "match_labels": _clean(sel.get("matchLabels")) or {},
                    "ns_selector": _clean(spec.get("namespaceSelector")) or {},
                    "rules": sum(len((_clean(g) or {}).get("rules") or []) for g in spec.get("groups") or []
                                 if isinstance(g, dict)) if kind == "PrometheusRule" else None})
    return out


def ingresses_to(objects: Iterable[Any], services: list[str], namespace: str = "default") -> list[dict]:
    """Ingresses routing to any of the Service names (their TLS)."""
    out = []
    for o in objects:
        body, name = (o, resource_name(o)) if isinstance(o, dict) else (o[0], o[1])
        if body.get("kind") != "Ingress":
            continue
        spec = _clean(body.get("spec")) or {}
        backends = []
        default = (_clean((_clean(spec.get("defaultBackend")) or {}).get("service")) or {}).get("name")
        if default:
            backends.append(default)
        for rule in spec.get("rules") or []:
            for p in (_clean((_clean(rule) or {}).get("http")) or {}).get("paths") or []:
                n = (_clean((_clean((_clean(p) or {}).get("backend")) or {}).get("service")) or {}).get("name")
                if n:
                    backends.append(n)
        if any(b in services for b in backends):
            out.append({"resource": name, "tls": bool(spec.get("tls")), "backends": backends})
    return out
