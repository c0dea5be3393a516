"""CDK-*: the Conduktor platform (Console, Cortex, Gateway) on Kubernetes.

Two halves, both pure:

* **items** (``*_items(estate)``): the facts each control reads, shaped once from
  ``asbuilt.model.conduktor`` components, whatever the objects came from (a rendered chart,
  manifests, the live API). Every item carries ``resource`` (the workload as findings name it),
  ``component`` (console | cortex | gateway), ``recognised_by`` and the facts, each a value, a
  documented default (its ``*_from`` says "documented default: ...") or an ``Unknown``. Static
  items also carry the anchor (``file``, ``line``, ``_anchor``) of their workload.
* **rules** (one per control): judge the known items; ``asbuilt.judge`` sets aside the unknown.

Item shapes (the live steps and the static checks build the same):

=========  ======================================================================================
HA-01/02   {resource, component, recognised_by, replicas: int, replicas_from, hpa_min_replicas}
HA-03      {resource, component: cortex|console, recognised_by, replicas, hpa_max_replicas}
ST-01      {resource, component, ephemeral_request, ephemeral_limit, volumes: [{name, type,
           size_limit}], persistent_volumes: [names], interceptors: [class names] | Unknown}
SEC-01     console {resource, component, https_in_pod, https_from, tls_ingresses, plain_ingresses,
           endpoint}; gateway {resource, component, admin_https, admin_from, listeners:
           [{name, protocol, from}], keystore, endpoint}
SEC-02     {resource, component, workload, key, origin, where, value_kind}  (never a value)
SEC-03     {resource, component, oidc: [{index, issuer, client_id, client_secret}], ldap,
           root_email, root_password}
SEC-04     asbuilt.model.k8s.containers_of items + component, recognised_by
OPS-01     {resource, component, requests, limits}
OPS-02     {resource, component, scraped_by: [...], alert_rules: [...]}
OPS-03     {resource, component, log_format, log_format_from, audit: bool, audit_from}
NET-01     {resource, component, listeners: [{name, routing, protocol, from}], keystore,
           load_balancers: [...]}
=========  ======================================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from asbuilt.model.conduktor import CONSOLE, CORTEX, GATEWAY, Component, components, ingresses_to, monitors, sensitive
from asbuilt.model.facts import Unknown, is_unknown
from asbuilt.model.k8s import _clean, pod_spec_of
from asbuilt.rules import Finding, Verdict, errored, summarise
from asbuilt.verdict import UnknownFact

DOCUMENTED = "documented default"
NOT_PROBED = "no endpoint was probed: judged from the Kubernetes objects"
NAMES = {CONSOLE: "Console", CORTEX: "Console Cortex", GATEWAY: "Gateway"}
FINDERS = ("image conduktor/conduktor-console, conduktor/conduktor-console-cortex or conduktor/conduktor-gateway, "
           "or the charts' labels app.kubernetes.io/component: conduktor-platform / conduktor-platform-cortex, "
           "app.kubernetes.io/name: conduktor-gateway")


@dataclass
class Estate:
    """The Conduktor part of one deployment: its components and the monitoring / ingress objects."""

    components: list[Component]
    monitors: list[dict] = field(default_factory=list)
    objects: list[Any] = field(default_factory=list)
    namespace: str = "default"

    def of(self, *kinds: str) -> list[Component]:
        return [c for c in self.components if c.kind in kinds]


def read(objects: Iterable[Any], namespace: str = "default") -> Estate:
    objects = list(objects)
    return Estate(components(objects, namespace), monitors(objects, namespace), objects, namespace)


def _base(c: Component, **facts: Any) -> dict:
    return {"resource": c.resource, "component": c.kind, "recognised_by": c.recognised_by, **facts, **c.anchor}


def _unseen(c: Component) -> list[str]:
    return [*c.unseen_secrets, *c.unseen_configmaps]


def fact(c: Component, key: str, default: Any = None, doc: str = "") -> tuple[Any, str]:
    """(value, where it came from) of a non-secret setting: the written value; else, when no
    source the scan could not read might set it, the documented default (saying so); else Unknown."""
    s = c.setting(key)
    if s is not None:
        if is_unknown(s.value):
            return s.value, s.where
        if s.value is None:
            return Unknown(f"{key} is held in {s.where}, whose values are not read", s.where), s.where
        return s.value, s.where
    # A Secret the scan could not read is taken to hold credentials, not configuration (live, a
    # Secret's keys are listed, so this never decides there); an unread ConfigMap may set anything.
    unseen = list(c.unseen_configmaps) if not sensitive(key) else _unseen(c)
    if unseen:
        return Unknown(f"{key} is not set in the objects read; {', '.join(unseen)} (not among them) may set it",
                       c.resource), f"{c.resource} (not set)"
    if default is None:
        return Unknown(f"{key} is not set and Conduktor documents no default for it" + (f" ({doc})" if doc else ""),
                       c.resource), f"{c.resource} (not set)"
    return default, f"{DOCUMENTED}: {key}={default}" + (f" ({doc})" if doc else "")


def _is_set(c: Component, key: str) -> bool:
    s = c.setting(key)
    return s is not None and not (isinstance(s.value, str) and not s.value.strip())


# --------------------------------------------------------------------------- HA


def replica_items(estate: Estate, kind: str) -> list[dict]:
    out = []
    for c in estate.of(kind):
        spec = _clean(c.body.get("spec")) or {}
        src = "spec.replicas" if spec.get("replicas") is not None else "Kubernetes default (spec.replicas absent): 1"
        out.append(_base(c, replicas=c.replicas, replicas_from=src,
                         hpa_min_replicas=min((h["min_replicas"] for h in c.hpas), default=None)))
    return out


def console_replica_items(estate: Estate) -> list[dict]:
    return replica_items(estate, CONSOLE)


def gateway_replica_items(estate: Estate) -> list[dict]:
    return replica_items(estate, GATEWAY)


def cortex_items(estate: Estate) -> list[dict]:
    out = [_base(c, replicas=c.replicas, hpa_max_replicas=max((h["max_replicas"] or 0 for h in c.hpas), default=None))
           for c in estate.of(CORTEX)]
    if not out:  # nothing to count: say so on the Console it belongs to
        out = [_base(c, replicas=None, cortex="not deployed") for c in estate.of(CONSOLE)]
    return out


def _replicas_at_least(control: str, kind: str, items: list[dict], min_replicas: int, fix: str) -> Verdict:
    mine = [i for i in items if i.get("component") == kind]
    if not mine:
        return errored(control, f"no {NAMES[kind]} workload found ({FINDERS})")
    findings = []
    for i in mine:
        n = i["replicas"]
        floor = i.get("hpa_min_replicas")
        effective = min(n, floor) if floor is not None else n
        if effective < min_replicas:
            how = f"{n} replica(s) ({i.get('replicas_from')})" if floor is None else \
                f"a HorizontalPodAutoscaler minReplicas of {floor}"
            findings.append(Finding(i["resource"], f"{NAMES[kind]} runs {how}, fewer than {min_replicas}"))
    ok = "; ".join(f"{i['resource']}: {i['replicas']} replicas (recognised by {i['recognised_by']})" for i in mine)
    return summarise(control, findings, ok, mine, fix)


def console_replicas(items: list[dict], min_replicas: int = 2) -> Verdict:
    return _replicas_at_least("CDK-HA-01", CONSOLE, items, min_replicas,
                              f"set platform.replicaCount >= {min_replicas} in the console chart values (spec.replicas "
                              "of the Console Deployment), with a PodDisruptionBudget and spread across nodes")


def gateway_replicas(items: list[dict], min_replicas: int = 3) -> Verdict:
    return _replicas_at_least("CDK-HA-02", GATEWAY, items, min_replicas,
                              f"set gateway.replicas >= {min_replicas} in the gateway chart values (the chart default "
                              "is 2; spec.replicas of the Gateway Deployment)")


def cortex_single(items: list[dict]) -> Verdict:
    control = "CDK-HA-03"
    fix = ("run Console Cortex with exactly one replica (platformCortex.enabled: true, platformCortex.replicaCount: 1, "
           "no HorizontalPodAutoscaler on it)")
    if not items:
        return errored(control, f"no Console or Console Cortex workload found ({FINDERS})")
    findings = []
    for i in items:
        if i.get("cortex") == "not deployed":
            findings.append(Finding(i["resource"], "Console Cortex is not deployed (platformCortex.enabled: false, or no "
                                    "conduktor-console-cortex workload beside this Console): there is no Cortex "
                                    "replica to count, and the Console has no metrics store"))
            continue
        n = i["replicas"]
        if n != 1:
            findings.append(Finding(i["resource"], f"Console Cortex runs {n} replicas; it supports only a single "
                                    "instance"))
        hmax = i.get("hpa_max_replicas")
        if hmax is not None and hmax > 1:
            findings.append(Finding(i["resource"], f"a HorizontalPodAutoscaler may scale Console Cortex to {hmax}"))
    ok = "; ".join(f"{i['resource']}: 1 replica" for i in items)
    return summarise(control, findings, ok, items, fix)


# --------------------------------------------------------------------------- storage

_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
          "Ti": 2**40, "m": 10**-3}


def quantity(text: Any) -> float | None:
    """Bytes of a Kubernetes quantity ("2Gi", "500M", "1e9"); None when it is not one."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*([0-9.]+(?:[eE][0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|M|G|T|m)?\s*", str(text))
    if not m:
        return None
    return float(m.group(1)) * _UNITS[m.group(2) or ""]


_LARGE = ("LargeMessageHandlingPlugin", "LargeBatchHandlingPlugin")


def storage_items(estate: Estate) -> list[dict]:
    out = []
    for c in estate.components:
        facts = c.main_container_facts()
        spec = pod_spec_of(c.body)
        vols = []
        pvcs = []
        for v in spec.get("volumes") or []:
            v = _clean(v) or {}
            if "emptyDir" in v:
                vols.append({"name": v.get("name"), "type": "emptyDir",
                             "size_limit": (_clean(v.get("emptyDir")) or {}).get("sizeLimit")})
            elif "persistentVolumeClaim" in v or "ephemeral" in v:
                pvcs.append(str(v.get("name")))
                vols.append({"name": v.get("name"), "type": "persistentVolumeClaim" if "persistentVolumeClaim" in v
                             else "ephemeral (volumeClaimTemplate)"})
        for t in (_clean(c.body.get("spec")) or {}).get("volumeClaimTemplates") or []:
            name = (_clean((_clean(t) or {}).get("metadata")) or {}).get("name")
            pvcs.append(str(name))
            vols.append({"name": name, "type": "volumeClaimTemplate"})
        item = _base(c, ephemeral_request=(facts.get("requests") or {}).get("ephemeral-storage"),
                     ephemeral_limit=(facts.get("limits") or {}).get("ephemeral-storage"),
                     volumes=vols, persistent_volumes=pvcs)
        if c.kind == GATEWAY:
            item["interceptors"] = _interceptors(c)
        out.append(item)
    return out


def _interceptors(c: Component) -> list[str] | Unknown:
    """The large-message / large-batch interceptors configured: in the interceptors file
    (GATEWAY_INTERCEPTOR_CONFIG_LOCATION, from its ConfigMap) or in any setting naming a plugin."""
    texts = [str(s.value) for k, s in c.settings.items() if k != "GATEWAY_INTERCEPTOR_CONFIG_LOCATION"
             and isinstance(s.value, str) and ("interceptor" in k.lower() or "Plugin" in s.value)]
    if c.interceptors_file is not None:
        where, content = c.interceptors_file
        if content is None and not texts:
            return Unknown(f"the interceptors file is {where}, whose content is not among the objects read", c.resource)
        texts.append(content or "")
    if not texts and _unseen(c):
        return Unknown(f"the interceptor configuration may be in {', '.join(_unseen(c))}, not among the objects read",
                       c.resource)
    return sorted({p for t in texts for p in _LARGE if p in t})


def ephemeral_storage(items: list[dict], console_min_ephemeral_storage: str = "2Gi",
                      cortex_min_ephemeral_storage: str = "10Gi") -> Verdict:
    control = "CDK-ST-01"
    if not items:
        return errored(control, f"no Conduktor workload found ({FINDERS})")
    findings = []
    mins = {CONSOLE: console_min_ephemeral_storage, CORTEX: cortex_min_ephemeral_storage}
    for i in items:
        kind = i["component"]
        if kind in mins:
            need = mins[kind]
            req = i.get("ephemeral_request")
            qreq = quantity(req)
            if qreq is None:
                sizes = ", ".join(f"{v['name']}: {v['type']}" + (f" sizeLimit {v['size_limit']}" if v.get('size_limit')
                                  else " without sizeLimit") for v in i.get("volumes") or []) or "no volumes"
                findings.append(Finding(i["resource"], f"{NAMES[kind]} requests no ephemeral-storage, so nothing "
                                        f"reserves {need} of local disk ({sizes})"))
            elif qreq < (quantity(need) or 0):
                findings.append(Finding(i["resource"], f"{NAMES[kind]} requests ephemeral-storage {req}, less than "
                                        f"{need}"))
            lim = quantity(i.get("ephemeral_limit"))
            if lim is not None and lim < (quantity(need) or 0):
                findings.append(Finding(i["resource"], f"{NAMES[kind]} limits ephemeral-storage to "
                                        f"{i.get('ephemeral_limit')}, less than {need}"))
            for v in i.get("volumes") or []:
                sl = quantity(v.get("size_limit"))
                if v["type"] == "emptyDir" and v.get("name") == "data" and sl is not None and sl < (quantity(need) or 0):
                    findings.append(Finding(i["resource"], f"volume data is an emptyDir capped at {v['size_limit']}, "
                                            f"less than {need}"))
        elif kind == GATEWAY and i.get("persistent_volumes"):
            plugins = i.get("interceptors") or []
            if not plugins:
                findings.append(Finding(i["resource"], f"Gateway mounts persistent volume(s) "
                                        f"{', '.join(i['persistent_volumes'])} but configures no large-message or "
                                        "large-batch interceptor (LargeMessageHandlingPlugin / LargeBatchHandlingPlugin) "
                                        "that would cache data on them"))
    ok = "; ".join(f"{i['resource']}: " + (f"ephemeral-storage request {i.get('ephemeral_request')}"
                                           if i["component"] in mins else
                                           ("no persistent volume" if not i.get("persistent_volumes") else
                                            f"persistent volume for {', '.join(i.get('interceptors') or [])}"))
                   for i in items)
    return summarise(control, findings, ok, items,
                     f"request ephemeral-storage >= {console_min_ephemeral_storage} for the Console "
                     f"(platform.resources) and >= {cortex_min_ephemeral_storage} for Cortex (platformCortex.resources); "
                     "remove PersistentVolumeClaims from the Gateway unless a large-message/batch interceptor uses them")


# --------------------------------------------------------------------------- security


def _gateway_listeners(c: Component) -> list[dict]:
    """The Gateway's client listeners: chart >= 3.20 (GATEWAY_LISTENER_NAMES + per-listener keys),
    else the legacy single listener (GATEWAY_SECURITY_PROTOCOL, GATEWAY_ROUTING_MECHANISM)."""
    names, where = fact(c, "GATEWAY_LISTENER_NAMES", "")
    if is_unknown(names):
        return [{"name": "(listeners)", "protocol": names, "routing": names, "from": where}]
    out = []
    for n in [x.strip().upper() for x in str(names).split(",") if x.strip()]:
        proto, pw = fact(c, f"GATEWAY_LISTENER_{n}_SECURITY_PROTOCOL")
        routing, rw = fact(c, f"GATEWAY_LISTENER_{n}_ROUTING", "PORT", "the Gateway's port-based routing")
        out.append({"name": n, "protocol": proto.upper() if isinstance(proto, str) else proto, "from": pw,
                    "routing": routing.upper() if isinstance(routing, str) else routing, "routing_from": rw})
    if out:
        return out
    proto, pw = fact(c, "GATEWAY_SECURITY_PROTOCOL")
    routing, rw = fact(c, "GATEWAY_ROUTING_MECHANISM", "port", "Gateway environment variables")
    return [{"name": "(single listener)", "protocol": proto.upper() if isinstance(proto, str) else proto, "from": pw,
             "routing": ("SNI" if str(routing).lower() == "host" else str(routing).upper()) if isinstance(routing, str)
             else routing, "routing_from": rw}]


def tls_items(estate: Estate, endpoints: Iterable[Any] = ()) -> list[dict]:
    """SEC-01 items; ``endpoints`` (asbuilt.model.endpoint.TlsEndpoint, live only) are what the
    handshakes with the endpoints the target names showed: each component's item carries those of
    its kind (``endpoint``: a list of them), else ``endpoint`` says that none was probed. An
    endpoint of a kind no workload among the objects is recognised as is an item of its own."""
    probed: dict[str, list[dict]] = {}
    for e in endpoints:
        probed.setdefault(e.component, []).append(e.to_item())
    out = _tls_object_items(estate, probed)
    for kind, found in sorted(probed.items()):
        if not estate.of(kind):
            out.append({"resource": found[0]["name"], "component": kind, "probe_only": True,
                        "recognised_by": "the endpoint the target names (conduktor section)", "endpoint": found})
    return out


def _tls_object_items(estate: Estate, probed: dict[str, list[dict]]) -> list[dict]:
    out = []
    for c in estate.of(CONSOLE):
        https = _is_set(c, "CDK_PLATFORM_HTTPS_CERT_PATH") and _is_set(c, "CDK_PLATFORM_HTTPS_KEY_PATH")
        ings = ingresses_to(estate.objects, [s["name"] for s in c.services], c.namespace)
        out.append(_base(c, https_in_pod=https,
                         https_from=c.where("CDK_PLATFORM_HTTPS_CERT_PATH") if https else "CDK_PLATFORM_HTTPS_CERT_PATH / "
                         "_KEY_PATH not set (config.platform.https not configured)",
                         tls_ingresses=[i["resource"] for i in ings if i["tls"]],
                         plain_ingresses=[i["resource"] for i in ings if not i["tls"]],
                         endpoint=probed.get(CONSOLE) or NOT_PROBED))
    for c in estate.of(GATEWAY):
        admin = _is_set(c, "GATEWAY_HTTPS_KEY_STORE_PATH")
        out.append(_base(c, admin_https=admin, admin_from=c.where("GATEWAY_HTTPS_KEY_STORE_PATH"),
                         listeners=[{k: v for k, v in li.items() if k in ("name", "protocol", "from")}
                                    for li in _gateway_listeners(c)],
                         keystore=_is_set(c, "GATEWAY_SSL_KEY_STORE_PATH"), endpoint=probed.get(GATEWAY) or NOT_PROBED))
    return out


_ENDPOINT_FIX = {
    "untrusted": "serve a certificate issued by the CA clients trust (the one conduktor.ca_file names), with its "
                 "intermediates in the chain",
    "hostname": "serve a certificate whose subjectAltName covers the host name clients use",
    "expired": "renew the certificate",
    "old-protocol": "enable TLS 1.2 or 1.3 on the endpoint and disable older versions",
    "handshake-failed": "serve TLS with a current cipher suite and a certificate clients can verify",
    "plain-http": "serve the Console over HTTPS and give its https:// URL",
}


def _endpoint_judgement(i: dict, findings: list, unknowns: list) -> list[str]:
    """Findings / unknown facts of the endpoints an item carries; the ok parts for the message."""
    ok = []
    eps = i.get("endpoint")
    if not isinstance(eps, list):
        return ok
    for e in eps:
        outcome = e["outcome"]
        if is_unknown(outcome):
            unknowns.append(UnknownFact(f"TLS handshake with {e['name']}", e.get("where") or e["address"],
                                        outcome.reason))
            continue
        if outcome != "ok":
            what = {"untrusted": f"presents a certificate that does not chain to {e['ca_file']}",
                    "hostname": f"presents a certificate not valid for {e['address'].rsplit(':', 1)[0]}",
                    "expired": "presents an expired (or not yet valid) certificate",
                    "old-protocol": "does not negotiate TLS 1.2 or later" + (
                        f" (it speaks {e['offered']})" if e.get("offered") else ""),
                    "plain-http": "is not served over TLS"}.get(outcome, "refused the TLS handshake")
            detail = f" ({e['problem']})" if e.get("problem") else ""
            findings.append(Finding(i["resource"], f"endpoint {e['name']} {what}{detail}: "
                                    f"{_ENDPOINT_FIX.get(outcome, _ENDPOINT_FIX['handshake-failed'])}"))
            continue
        part = f"{e['name']}: {e['tls_version']}, chain verified against {e['ca_file']}, host name valid"
        sasl = e.get("sasl")
        if sasl is not None:
            so = sasl.get("outcome")
            if is_unknown(so):
                unknowns.append(UnknownFact(f"SASL_SSL client connection to {e['name']}", e["address"], so.reason))
            elif so != "ok":
                findings.append(Finding(i["resource"], f"endpoint {e['name']}: the SASL_SSL client connection as "
                                        f"{sasl.get('username')} ({sasl.get('mechanism')}) failed: "
                                        f"{sasl.get('problem')}: check the client's credentials and the Gateway's "
                                        "SASL mechanism"))
            else:
                part += f"; SASL_SSL {sasl.get('mechanism')} as {sasl.get('username')}: metadata read " \
                        f"({sasl.get('topics')} topics)"
        ok.append(part)
    return ok


CLIENT_PROTOCOLS = ("SASL_SSL", "DELEGATED_SASL_SSL")


def https_and_sasl_ssl(items: list[dict]) -> Verdict:
    control = "CDK-SEC-01"
    if not items:
        return errored(control, f"no Console or Gateway workload found ({FINDERS})")
    findings, unknowns, probed_ok = [], [], []
    if all(i.get("probe_only") for i in items):  # a handshake covers an endpoint, not the deployment
        unknowns.append(UnknownFact("the Console and Gateway workloads", "the objects read",
                                    f"no Console or Gateway workload found ({FINDERS}): only the endpoints the "
                                    "target names were checked"))
    for i in items:
        probed_ok += _endpoint_judgement(i, findings, unknowns)
        if i.get("probe_only"):
            continue
        if i["component"] == CONSOLE:
            if not i.get("https_in_pod") and not i.get("tls_ingresses"):
                findings.append(Finding(i["resource"], "the Console serves plain HTTP: no certificate in the pod "
                                        "(CDK_PLATFORM_HTTPS_CERT_PATH / _KEY_PATH) and no Ingress with TLS routes to it"
                                        + (f" ({', '.join(i['plain_ingresses'])} has no spec.tls)"
                                           if i.get("plain_ingresses") else "")))
        elif i["component"] == GATEWAY:
            if not i.get("admin_https"):
                findings.append(Finding(i["resource"], "the Gateway admin API (GATEWAY_HTTP_PORT) is plain HTTP: "
                                        "GATEWAY_HTTPS_KEY_STORE_PATH is not set"))
            for li in i.get("listeners") or []:
                if li["protocol"] not in CLIENT_PROTOCOLS:
                    findings.append(Finding(i["resource"], f"Gateway listener {li['name']} accepts clients over "
                                            f"{li['protocol']} ({li['from']}), not SASL_SSL"))
                elif not i.get("keystore"):
                    findings.append(Finding(i["resource"], f"Gateway listener {li['name']} is {li['protocol']} but no "
                                            "keystore is given (GATEWAY_SSL_KEY_STORE_PATH)"))
    ok = "; ".join(f"{i['resource']}: " + ("HTTPS" if i["component"] == CONSOLE else
                                           "admin API HTTPS, clients " + ", ".join(f"{li['name']} {li['protocol']}"
                                                                                   for li in i.get("listeners") or []))
                   for i in items if not i.get("probe_only"))
    ok = "; ".join(x for x in (ok, "; ".join(dict.fromkeys(probed_ok))) if x)
    if not any(isinstance(i.get("endpoint"), list) for i in items):
        ok += f" ({NOT_PROBED})"
    return summarise(control, findings, ok, items,
                     "serve the Console over HTTPS (config.platform.https.existingSecret, or an Ingress with spec.tls); "
                     "give the Gateway admin API a keystore (GATEWAY_HTTPS_KEY_STORE_PATH) and every client listener "
                     "securityProtocol SASL_SSL (gateway.listeners.<name>.securityProtocol, or GATEWAY_SECURITY_PROTOCOL) "
                     "with a keystore (tls.enable, tls.secretRef); the endpoints clients use must present a "
                     "certificate that chains to the CA they trust, valid for their host name, over TLS >= 1.2",
                     unknowns)


def secret_items(estate: Estate) -> list[dict]:
    out = []
    for c in estate.components:
        for key, s in sorted(c.settings.items()):
            if not (sensitive(key) or s.value_kind == "secret-pattern"):
                continue
            state = s.value if is_unknown(s.value) else s.source
            out.append(_base(c, resource=f"{c.resource} {key}", workload=c.resource, key=key, origin=state,
                             where=s.where, value_kind=s.value_kind or "held in a Secret" if s.from_secret else
                             s.value_kind, **({"via": s.via} if s.via else {})))
        # A literal a later source overrides (a ConfigMap key under the same key from a Secret) is
        # not what the process reads, but it is still written in plain text where anyone who can
        # read that ConfigMap (or the Deployment) reads it: judged like any other literal.
        for s in c.shadowed:
            key = s.key
            if s.from_secret or is_unknown(s.value) or not (sensitive(key) or s.value_kind == "secret-pattern"):
                continue
            out.append(_base(c, resource=f"{c.resource} {key}", workload=c.resource, key=key, origin=s.source,
                             where=s.where, value_kind=s.value_kind, overridden_by=c.where(key),
                             **({"via": s.via} if s.via else {})))
        if c.kind == GATEWAY and c.setting("GATEWAY_ADMIN_API_USERS") is None:
            if c.unseen_secrets:
                out.append(_base(c, resource=f"{c.resource} GATEWAY_ADMIN_API_USERS", workload=c.resource,
                                 key="GATEWAY_ADMIN_API_USERS", origin="secret",
                                 where=f"expected in {', '.join(c.unseen_secrets)} (not among the objects read: "
                                       "its keys are not listed)", value_kind="held in a Secret"))
            else:
                out.append(_base(c, resource=f"{c.resource} GATEWAY_ADMIN_API_USERS", workload=c.resource,
                                 key="GATEWAY_ADMIN_API_USERS", origin="image default",
                                 where=f"{DOCUMENTED}: the Gateway image's admin user admin/conduktor",
                                 value_kind="literal"))
    return out


def secrets_from_secrets(items: list[dict]) -> Verdict:
    control = "CDK-SEC-02"
    if not items:
        return errored(control, f"no sensitive Conduktor setting found to check ({FINDERS}); no evidence that the "
                                "license, admin, database and Kafka credentials come from Secrets")
    findings = []
    for i in items:
        src, kind = i["origin"], i.get("value_kind")
        if src in ("secret", "secretKeyRef", "secret-file"):
            continue
        if src == "image default":
            findings.append(Finding(i["resource"], "GATEWAY_ADMIN_API_USERS is not set anywhere: the Gateway admin "
                                    "API keeps the image's default user admin/conduktor"))
        elif kind == "secret-pattern":
            findings.append(Finding(i["resource"], f"{i['key']} holds a credential written in plain text "
                                    f"({i['where']})" + (f", overridden at runtime by {i['overridden_by']} but "
                                                          "still readable there" if i.get("overridden_by") else "")))
        elif kind in ("empty", "reference", "setting"):
            continue
        elif i["key"].endswith("_URL") and kind == "literal":
            continue  # a connection URL without credentials in it (those are secret-pattern) is not a secret
        elif src in ("env", "configmap", "configMapKeyRef", "config-file", "configmap-file"):
            findings.append(Finding(i["resource"], f"{i['key']} is a literal in {i['where']}, not from a Secret"
                                    + (f" (overridden at runtime by {i['overridden_by']}, but the value stays "
                                       f"readable in {i['where']}: remove it there)" if i.get("overridden_by")
                                       else "")))
        elif src == "file":
            findings.append(Finding(i["resource"], f"{i['key']} comes from {i['where']}, not from a Secret"))
    shown = sorted({f"{i['key']} ({i['origin']})" for i in items})
    return summarise(control, findings, f"{len(items)} sensitive setting(s) come from Secrets: {', '.join(shown)}",
                     items,
                     "put the value in a Kubernetes Secret and reference it: console config.existingSecret / "
                     "existingLicenseSecret / platform.extraEnvVarsSecret, ${VAR} or *_FILE from a Secret in the "
                     "Console config; gateway gateway.secretRef or gateway.extraSecretEnvVars (secretKeyRef), never "
                     "gateway.env (it renders into a ConfigMap); set GATEWAY_ADMIN_API_USERS from a Secret; rotate "
                     "any value that was written in plain text")


def sso_items(estate: Estate) -> list[dict]:
    out = []
    for c in estate.of(CONSOLE):
        idx = sorted({int(m.group(1)) for k in c.settings if (m := re.match(r"CDK_SSO_OAUTH2_(\d+)_", k))})
        oidc = []
        for n in idx:
            secret = c.setting(f"CDK_SSO_OAUTH2_{n}_CLIENTSECRET")
            oidc.append({"index": n, "name": c.value(f"CDK_SSO_OAUTH2_{n}_NAME"),
                         "issuer": _is_set(c, f"CDK_SSO_OAUTH2_{n}_OPENID_ISSUER"),
                         "client_id": _is_set(c, f"CDK_SSO_OAUTH2_{n}_CLIENTID") or
                         _is_set(c, f"CDK_SSO_OAUTH2_{n}_CLIENT-ID"),
                         "client_secret": secret.where if secret is not None else None})
        ldap = any(k.startswith("CDK_SSO_LDAP_") for k in c.settings)

        def root(key: str) -> str | None:
            s = c.setting(key)
            if s is not None:
                return s.where
            if c.unseen_secrets:
                return (f"expected in {', '.join(c.unseen_secrets)} (not among the objects read; the Console does not "
                        "start without it)")
            return None

        out.append(_base(c, oidc=oidc, ldap=ldap, root_email=root("CDK_ADMIN_EMAIL"),
                         root_password=root("CDK_ADMIN_PASSWORD")))
    return out


def sso_and_root(items: list[dict]) -> Verdict:
    control = "CDK-SEC-03"
    if not items:
        return errored(control, f"no Console workload found ({FINDERS})")
    findings = []
    for i in items:
        good = [o for o in i.get("oidc") or [] if o["issuer"] and o["client_id"]]
        if not i.get("oidc") and not i.get("ldap"):
            findings.append(Finding(i["resource"], "no SSO is configured (no sso.oauth2 / CDK_SSO_OAUTH2_* and no "
                                    "sso.ldap / CDK_SSO_LDAP_*)"))
        elif not good and i.get("ldap"):
            findings.append(Finding(i["resource"], "SSO is LDAP only; the reference architecture prefers OIDC with "
                                    "discovery"))
        for o in i.get("oidc") or []:
            if not o["issuer"]:
                findings.append(Finding(i["resource"], f"OIDC provider {o['index']} has no openid.issuer "
                                        f"(CDK_SSO_OAUTH2_{o['index']}_OPENID_ISSUER): no discovery"))
            if not o["client_id"]:
                findings.append(Finding(i["resource"], f"OIDC provider {o['index']} has no client id"))
        for key, fact_ in (("CDK_ADMIN_EMAIL", i.get("root_email")), ("CDK_ADMIN_PASSWORD", i.get("root_password"))):
            if not fact_:
                findings.append(Finding(i["resource"], f"no root account: {key} is not set (config.admin.*)"))
    ok = "; ".join(f"{i['resource']}: OIDC " + ", ".join(str(o.get("name") or o["index"]) for o in i.get("oidc") or [])
                   + f"; root account from {i.get('root_email')}" for i in items)
    return summarise(control, findings, ok, items,
                     "configure OIDC with discovery under config.sso.oauth2 (name, client-id, client-secret from a "
                     "Secret, openid.issuer) and keep the root account (config.admin.email and password, from "
                     "config.existingSecret) as the break-glass login")


def container_items(estate: Estate) -> list[dict]:
    out = []
    for c in estate.components:
        for facts in c.containers():
            out.append({**facts, "component": c.kind, "recognised_by": c.recognised_by, **c.anchor})
    return out


def restricted_security(items: list[dict]) -> Verdict:
    control = "CDK-SEC-04"
    if not items:
        return errored(control, f"no Conduktor container found ({FINDERS})")
    findings = []
    for i in items:
        problems = []
        if i.get("run_as_user") == 0:
            problems.append("runAsUser is 0 (root)")
        elif i.get("run_as_non_root") is not True:
            problems.append("runAsNonRoot is not true (the image's user is not enforced)")
        if i.get("privileged") is True:
            problems.append("privileged: true")
        if i.get("allow_privilege_escalation") is not False:
            problems.append("allowPrivilegeEscalation is not false")
        if i.get("read_only_root_filesystem") is not True:
            problems.append("readOnlyRootFilesystem is not true")
        if problems:
            findings.append(Finding(i["resource"], "; ".join(problems)))
    return summarise(control, findings, f"{len(items)} Conduktor container(s) run non-root, unprivileged, without "
                     "privilege escalation, with a read-only root filesystem", items,
                     "set the security contexts (console platform.podSecurityContext / containerSecurityContext, "
                     "platformCortex.*, gateway gateway.podSecurityContext / gateway.securityContext: the gateway "
                     "chart renders none by default) with runAsNonRoot: true, a non-zero runAsUser (Console 10001, "
                     "Gateway 1001), privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true")


def resource_items(estate: Estate) -> list[dict]:
    return [{k: v for k, v in i.items() if k in ("resource", "requests", "limits", "component", "recognised_by",
                                                  "file", "line", "_anchor")} for i in container_items(estate)]


def requests_and_limits(items: list[dict]) -> Verdict:
    control = "CDK-OPS-01"
    if not items:
        return errored(control, f"no Conduktor container found ({FINDERS})")
    findings = []
    for i in items:
        missing = [f"{k}.{r}" for k in ("requests", "limits") for r in ("cpu", "memory") if not (i.get(k) or {}).get(r)]
        if missing:
            findings.append(Finding(i["resource"], f"no resources.{', resources.'.join(missing)}"))
    return summarise(control, findings, f"{len(items)} Conduktor container(s) set cpu and memory requests and limits",
                     items, "set resources.requests and resources.limits (cpu, memory) for every component: "
                     "platform.resources, platformCortex.resources, the gateway chart's resources")


def _monitor_matches(m: dict, c: Component) -> bool:
    ns_sel = m.get("ns_selector") or {}
    if ns_sel.get("any") is not True:
        names = ns_sel.get("matchNames") or [m["namespace"]]
        if c.namespace not in names:
            return False
    want = m.get("match_labels") or {}
    if not want:
        return False
    if m["kind"] == "PodMonitor":
        from asbuilt.model.conduktor import pod_labels

        labels = pod_labels(c.body)
        return all(labels.get(k) == v for k, v in want.items())
    return any(all((s.get("labels") or {}).get(k) == v for k, v in want.items()) for s in c.services)


def monitoring_items(estate: Estate) -> list[dict]:
    out = []
    rules = [m for m in estate.monitors if m["kind"] == "PrometheusRule"]
    for c in estate.of(CONSOLE, GATEWAY):
        scraped = [m["resource"] for m in estate.monitors if m["kind"] != "PrometheusRule" and _monitor_matches(m, c)]
        out.append(_base(c, scraped_by=scraped, alert_rules=[r["resource"] for r in rules
                                                             if r["namespace"] == c.namespace]))
    return out


def prometheus_monitoring(items: list[dict]) -> Verdict:
    control = "CDK-OPS-02"
    if not items:
        return errored(control, f"no Console or Gateway workload found ({FINDERS})")
    findings = []
    for i in items:
        if not i.get("scraped_by"):
            findings.append(Finding(i["resource"], f"no ServiceMonitor or PodMonitor selects the {NAMES[i['component']]}"
                                    " (its Services' or pods' labels)"))
        if not i.get("alert_rules"):
            findings.append(Finding(i["resource"], "no PrometheusRule (alerting rules) in its namespace"))
    return summarise(control, findings, "; ".join(f"{i['resource']}: scraped by {', '.join(i['scraped_by'])}; alerts "
                                                  f"{', '.join(i['alert_rules'])}" for i in items), items,
                     "enable the charts' monitoring (console platform.metrics.enabled and "
                     "platform.metrics.serviceMonitor.enabled; gateway metrics.prometheus.enable and "
                     "metrics.alerts.enable) with the Prometheus Operator CRDs installed, and add PrometheusRules for "
                     "pod CPU, memory, disk and error rates")


def logging_items(estate: Estate) -> list[dict]:
    out = []
    for c in estate.of(CONSOLE):
        fmt, fmt_from = fact(c, "CDK_ROOT_LOG_FORMAT", "TEXT", "Console logs plain text unless JSON is asked")
        cluster, cw = fact(c, "CDK_AUDITLOGPUBLISHER_CLUSTER", "", "no audit log export unless configured")
        topic, tw = fact(c, "CDK_AUDITLOGPUBLISHER_TOPICNAME", "", "no audit log export unless configured")
        audit = cluster if is_unknown(cluster) else topic if is_unknown(topic) else bool(cluster and topic)
        out.append(_base(c, log_format=fmt, log_format_from=fmt_from, audit=audit,
                         audit_from=f"{cw}; {tw}"))
    for c in estate.of(GATEWAY):
        fmt, fmt_from = fact(c, "LOG4J2_APPENDER_LAYOUT", "pattern", "the Gateway's log4j2 pattern layout")
        flag, fw = fact(c, "GATEWAY_FEATURE_FLAGS_AUDIT", "true", "audit events go to the Gateway's audit topic")
        out.append(_base(c, log_format=fmt, log_format_from=fmt_from,
                         audit=flag if is_unknown(flag) else str(flag).strip().lower() == "true", audit_from=fw))
    return out


def json_logs_and_audit(items: list[dict]) -> Verdict:
    control = "CDK-OPS-03"
    if not items:
        return errored(control, f"no Console or Gateway workload found ({FINDERS})")
    findings = []
    for i in items:
        if str(i["log_format"]).strip().lower() != "json":
            key = "CDK_ROOT_LOG_FORMAT" if i["component"] == CONSOLE else "LOG4J2_APPENDER_LAYOUT"
            findings.append(Finding(i["resource"], f"logs are not JSON: {key} is {i['log_format']!r} "
                                    f"({i['log_format_from']})"))
        if not i["audit"]:
            findings.append(Finding(i["resource"], ("audit logs are not exported to Kafka: "
                                                    "CDK_AUDITLOGPUBLISHER_CLUSTER / _TOPICNAME not set"
                                                    if i["component"] == CONSOLE else
                                                    "Gateway audit is off (GATEWAY_FEATURE_FLAGS_AUDIT)")
                                    + f" ({i['audit_from']})"))
    return summarise(control, findings, "; ".join(f"{i['resource']}: JSON logs, audit to Kafka" for i in items), items,
                     "set CDK_ROOT_LOG_FORMAT=JSON (platform.extraEnvVars) and config.audit_log_publisher (cluster, "
                     "topicName) for the Console; LOG4J2_APPENDER_LAYOUT=json and GATEWAY_FEATURE_FLAGS_AUDIT=true "
                     "for the Gateway")


def sni_items(estate: Estate) -> list[dict]:
    out = []
    for c in estate.of(GATEWAY):
        out.append(_base(c, listeners=[{k: v for k, v in li.items() if k in ("name", "routing", "protocol", "from",
                                                                                  "routing_from")}
                                       for li in _gateway_listeners(c)],
                         keystore=_is_set(c, "GATEWAY_SSL_KEY_STORE_PATH"),
                         load_balancers=[s["resource"] for s in c.services if s.get("type") == "LoadBalancer"]))
    return out


def sni_behind_load_balancer(items: list[dict]) -> Verdict:
    control = "CDK-NET-01"
    if not items:
        return errored(control, f"no Gateway workload found ({FINDERS})")
    findings = []
    for i in items:
        listeners = i.get("listeners") or []
        exposed = [li for li in listeners if li["name"] == "EXTERNAL"] or listeners
        for li in exposed:
            if li["routing"] != "SNI":
                findings.append(Finding(i["resource"], f"Gateway listener {li['name']} routes by {li['routing']} "
                                        f"({li.get('routing_from')}), not SNI"))
            elif li["protocol"] not in ("SSL", "SASL_SSL", "DELEGATED_SASL_SSL") or not i.get("keystore"):
                findings.append(Finding(i["resource"], f"Gateway listener {li['name']} routes by SNI but does not "
                                        f"terminate TLS itself ({li['protocol']}"
                                        + ("" if i.get("keystore") else ", no GATEWAY_SSL_KEY_STORE_PATH") + ")"))
        if not i.get("load_balancers"):
            findings.append(Finding(i["resource"], "no Service of type LoadBalancer selects the Gateway pods (the "
                                    "gateway chart's <fullname>-external, service.external.enable)"))
    return summarise(control, findings, "; ".join(f"{i['resource']}: SNI routing behind "
                                                  f"{', '.join(i['load_balancers'])}" for i in items), items,
                     "route by SNI (gateway.listeners.external.routing: sni with advertisedHost / advertisedHostPattern;"
                     " legacy GATEWAY_ROUTING_MECHANISM=host with GATEWAY_ADVERTISED_HOST and "
                     "GATEWAY_ADVERTISED_SNI_PORT) on a TLS listener, exposed by a LoadBalancer Service "
                     "(service.external.enable) with TLS passed through to the Gateway")


# --------------------------------------------------------------------------- live-only: database, principal


def database_items(servers: list) -> list[dict]:
    """CDK-DB-01/02 items from asbuilt.model.postgres.DatabaseServer objects."""
    out = []
    for s in servers:
        out.append({"resource": s.resource, "engine": s.engine, "version": s.version, "session_ssl": s.session_ssl,
                    "non_tls_refused": s.non_tls_refused, "non_tls_evidence": s.non_tls_evidence,
                    "rds_instance": s.rds_instance, "multi_az": s.multi_az,
                    "backup_retention_days": s.backup_retention_days, "streaming_replicas": s.streaming_replicas,
                    "backup_evidence": s.backup_evidence, "where": s.where, "settings_from": s.settings_from})
    return out


def _major(version: str) -> tuple[int, ...]:
    nums = re.findall(r"\d+", str(version))
    return tuple(int(n) for n in nums[:2]) if nums else ()


def database_version_tls(items: list[dict], min_version: str = "13") -> Verdict:
    control = "CDK-DB-01"
    if not items:
        return errored(control, "no Console database was reached (no CDK_DATABASE_URL / CDK_DATABASE_HOSTS_0_HOST "
                                "read from the Console deployment)")
    findings = []
    for i in items:
        if str(i["engine"]).lower() not in ("postgres", "postgresql"):
            findings.append(Finding(i["resource"], f"the Console database is {i['engine']}, not PostgreSQL"))
        if _major(i["version"]) < _major(min_version):
            findings.append(Finding(i["resource"], f"PostgreSQL {i['version']} is older than {min_version}"))
        if i["session_ssl"] is not True:
            findings.append(Finding(i["resource"], "the session is not encrypted (pg_stat_ssl.ssl is false)"))
        if i["non_tls_refused"] is not True:
            findings.append(Finding(i["resource"], "the server accepted a connection without TLS for the Console's user"
                                    + (f" ({i['non_tls_evidence']})" if i.get("non_tls_evidence") else "")))
    return summarise(control, findings, "; ".join(
        f"{i['resource']}: PostgreSQL {i['version']}, session over TLS, non-TLS refused ({i.get('non_tls_evidence')})"
        for i in items), items,
        f"run PostgreSQL >= {min_version} and require TLS for the Console's user on the server (hostssl-only "
        "pg_hba.conf entries and ssl = on; RDS: rds.force_ssl = 1) and in CDK_DATABASE_URL (sslmode=require or "
        "verify-full)")


def database_ha_backups(items: list[dict]) -> Verdict:
    control = "CDK-DB-02"
    if not items:
        return errored(control, "no Console database was reached")
    findings, unknowns = [], []
    for i in items:
        if i.get("rds_instance"):
            for key in ("multi_az", "backup_retention_days"):
                if is_unknown(i.get(key)) or i.get(key) is None:
                    unknowns.append(UnknownFact(f"{key.replace('_', ' ')} of {i['rds_instance']}", i["resource"],
                                                getattr(i.get(key), "reason", "the RDS API did not give it")))
            if i.get("multi_az") is False:
                findings.append(Finding(i["resource"], f"RDS instance {i['rds_instance']} is not Multi-AZ"))
            if isinstance(i.get("backup_retention_days"), int) and i["backup_retention_days"] <= 0:
                findings.append(Finding(i["resource"], f"RDS instance {i['rds_instance']} keeps no automated backups"))
            continue
        reps, ev = i.get("streaming_replicas"), i.get("backup_evidence")
        if reps is None or is_unknown(reps):
            unknowns.append(UnknownFact(f"replication of {i['resource']}", i["resource"],
                                        getattr(reps, "reason", "pg_stat_replication was not read")))
        elif reps < 1:
            findings.append(Finding(i["resource"], "no streaming replica (pg_stat_replication has no rows): the "
                                    "database is a single instance"))
        if ev is None or is_unknown(ev):
            unknowns.append(UnknownFact(f"backup evidence of {i['resource']}", i["resource"],
                                        getattr(ev, "reason", "the target names no backup evidence")))
        elif not str(ev).strip():
            findings.append(Finding(i["resource"], "no backup evidence"))
    return summarise(control, findings, "; ".join(f"{i['resource']}: " + (
        f"RDS {i['rds_instance']} Multi-AZ, backups {i.get('backup_retention_days')} days" if i.get("rds_instance")
        else f"{i.get('streaming_replicas')} streaming replica(s), backups: {i.get('backup_evidence')}") for i in items),
        items, "enable Multi-AZ and automated backups (RDS), or run a replicated PostgreSQL cluster with scheduled "
        "base backups and WAL archiving", unknowns)


def principal_items(principals: list) -> list[dict]:
    """CDK-SEC-05 items from asbuilt.model.kafka.KafkaPrincipal objects (role "gateway")."""
    from asbuilt.rules.conduktor_acls import DEFAULT_CLUSTER_ID, default_group_id

    out = []
    for p in principals:
        ctx = dict(p.context or {})
        cluster_id = ctx.get("cluster_id") or DEFAULT_CLUSTER_ID
        acls = p.acls if is_unknown(p.acls) else [dict(vars(a)) for a in p.acls]
        out.append({"resource": p.resource, "principal": p.principal, "role": p.role, "role_source": p.role_source,
                    "acls": acls, "where": p.where, "cluster_id": cluster_id,
                    "cluster_id_from": ctx.get("cluster_id_from") or (
                        "GATEWAY_CLUSTER_ID" if ctx.get("cluster_id") else f"{DOCUMENTED}: GATEWAY_CLUSTER_ID=gateway"),
                    "group_id": ctx.get("group_id") or default_group_id(cluster_id),
                    "group_id_from": "GATEWAY_GROUP_ID" if ctx.get("group_id") else
                    f"{DOCUMENTED}: GATEWAY_GROUP_ID=conduktor_<cluster id>",
                    "super_user": ctx.get("super_user")})
    return out


def gateway_principal(items: list[dict]) -> Verdict:
    from asbuilt.rules.conduktor_acls import broader, documented_acls, granted

    control = "CDK-SEC-05"
    mine = [i for i in items if i.get("role") == "gateway"]
    if not mine:
        return errored(control, "no Kafka principal of the Gateway was identified (the target names none and no "
                                "KAFKA_SASL_JAAS_CONFIG username was read)")
    from asbuilt.model.kafka import AclEntry

    findings, unknowns = [], []
    for i in mine:
        if i.get("super_user"):
            findings.append(Finding(i["resource"], f"{i['principal']} is a Kafka super user"))
        if is_unknown(i["acls"]):  # the ACLs could not be read: nothing to compare, name why
            unknowns.append(UnknownFact(f"the ACLs of {i['principal']}", i.get("where") or i["resource"],
                                        i["acls"].reason))
            continue
        acls = tuple(AclEntry(**a) for a in i["acls"])
        for need in documented_acls(i["principal"], i["cluster_id"], i["group_id"]):
            if not granted(acls, need):
                findings.append(Finding(i["resource"], f"missing: {need.describe()}"))
        for acl, why in broader(acls):
            findings.append(Finding(i["resource"], f"broader than the Gateway needs: {acl.describe()} ({why})"))
    evidence = [{**{k: v for k, v in i.items() if k != "acls"},
                 "acls": f"unknown: {i['acls'].reason}" if is_unknown(i["acls"]) else
                 [AclEntry(**a).describe() for a in i["acls"]]} for i in mine]
    return summarise(control, findings, "; ".join(f"{i['resource']}: the documented ACLs and nothing broader "
                                                  f"({len(i['acls'])} ACLs)" for i in mine
                                                  if not is_unknown(i["acls"])), evidence,
                     "grant the Gateway's own principal exactly the documented ACLs (Read/Write/Create/Describe on "
                     "prefix _conduktor_<cluster id>_, Read/Describe on its group, Describe on the cluster and on "
                     "topics) with kafka-acls.sh, and remove ALL, Alter/Delete on every topic, cluster Alter and "
                     "super-user status", unknowns)


# --------------------------------------------------------------------------- for the live readers


def console_database_settings(estate: Estate) -> list[dict]:
    """Where each Console's database settings are (for the CDK-DB-01 reader): host, port, name and
    user as values when written outside Secrets, else the Secret key that holds them (read by the
    live reader with its own access, never reported); ``url_from`` when CDK_DATABASE_URL is used.
    Console's documented default sslmode is ``prefer``."""
    out = []
    for c in estate.of(CONSOLE):
        def one(key: str) -> dict:
            s = c.setting(key)
            if s is None:
                return {"value": None, "where": None}
            return {"value": None if is_unknown(s.value) else s.value, "where": s.where, "source": s.source}

        out.append({"resource": c.resource, "url": one("CDK_DATABASE_URL"), "host": one("CDK_DATABASE_HOSTS_0_HOST"),
                    "port": one("CDK_DATABASE_HOSTS_0_PORT"), "name": one("CDK_DATABASE_NAME"),
                    "user": one("CDK_DATABASE_USERNAME"), "password": {"where": c.where("CDK_DATABASE_PASSWORD")},
                    "unread_sources": _unseen(c)})
    return out


def gateway_principal_context(estate: Estate) -> list[dict]:
    """Each Gateway's GATEWAY_CLUSTER_ID / GATEWAY_GROUP_ID (documented defaults: gateway,
    conduktor_<cluster id>) and where its Kafka credentials are: the ``context`` a
    KafkaPrincipal of role "gateway" carries for CDK-SEC-05."""
    from asbuilt.rules.conduktor_acls import DEFAULT_CLUSTER_ID, default_group_id

    out = []
    for c in estate.of(GATEWAY):
        cid, cw = fact(c, "GATEWAY_CLUSTER_ID", DEFAULT_CLUSTER_ID, "the Gateway image's cluster id")
        cid = cid if not is_unknown(cid) else DEFAULT_CLUSTER_ID
        gid, gw = fact(c, "GATEWAY_GROUP_ID", default_group_id(cid), "conduktor_<GATEWAY_CLUSTER_ID>")
        out.append({"resource": c.resource, "cluster_id": cid, "cluster_id_from": cw,
                    "group_id": None if is_unknown(gid) else gid, "group_id_from": gw,
                    "jaas_config_from": c.where("KAFKA_SASL_JAAS_CONFIG"),
                    "sasl_mechanism": c.value("KAFKA_SASL_MECHANISM")})
    return out
