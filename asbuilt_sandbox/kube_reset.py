"""Put the sandbox's kube-apiserver back to what a fresh one holds, before each ``sandbox up``.

etcd keeps its data across ``sandbox down`` / ``up`` (and a warm ``up`` keeps kube-apiserver
running), so whatever an earlier release, a drift, a test or a user (``kubectl create``) added
would otherwise still be there and ``up`` would not give the conforming reference. ``reset``
deletes every object that kube-apiserver did not make itself:

* every namespaced object, of every kind the API serves (found by discovery, so a kind added by
  a CRD goes too), in every namespace: the whole of ``conncentric``; in ``default``,
  ``kube-system``, ``kube-public`` and ``kube-node-lease`` all but kube-apiserver's own objects;
* every namespace other than those (and other than the ones named in ``keep_namespaces``);
* every cluster-scoped object kube-apiserver did not make (the ``alb`` IngressClass, a
  ClusterRole a test added, ...).

"Made by kube-apiserver" is read from the object's ``managedFields``: the API server's own
controllers (bootstrap RBAC, priority classes, flow control, the ``kubernetes`` Service, its
identity leases) write through its loopback client, whose field managers are listed in
``SYSTEM_MANAGERS``; nothing the sandbox, helm, kubectl or a Python client writes carries those
names. An object one of them wrote is kept even when someone edited it later: kube-apiserver
re-creates some of its objects, not all (bootstrap RBAC only at its start), so deleting an
edited one would leave the API server short of it.

No kube-controller-manager runs in the sandbox, so nothing would finish a deletion that waits
on a controller: deletes use ``propagationPolicy=Background`` (no ``orphan``/``foregroundDeletion``
finalizer is added), finalizers an object carries are removed first, a Deployment's Pods are
deleted as objects of their own (the agent stands in for the garbage collector, and it is
stopped while this runs), and a namespace is emptied first and then finalized by this module,
as the namespace controller would.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Field managers of kube-apiserver's own writers (its loopback client and named controllers).
SYSTEM_MANAGERS = ("kube-apiserver", "api-priority-and-fairness-config-producer-v1",
                   "api-priority-and-fairness-config-consumer-v1")
DELETE_OPTIONS = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background",
                  "gracePeriodSeconds": 0}
TIMEOUT = 15.0


class _Api:
    """Raw JSON calls on a kubernetes ``ApiClient`` (no model objects, any kind)."""

    def __init__(self, client, timeout: float = TIMEOUT):
        self.client = client
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None, query: list | None = None,
             content_type: str = "application/json") -> tuple[int, dict]:
        """(HTTP status, JSON body); 404, 405 and 409 are answers (gone, not served, conflict),
        any other failure raises."""
        m, url, headers, payload, _ = self.client.param_serialize(
            method=method, resource_path=path, query_params=query or [], body=body,
            header_params={"Accept": "application/json", "Content-Type": content_type},
            auth_settings=["BearerToken"])
        resp = self.client.call_api(m, url, header_params=headers, body=payload, _request_timeout=self.timeout)
        data = resp.read()
        if resp.status >= 300 and resp.status not in (404, 405, 409):
            raise RuntimeError(f"{method} {path}: HTTP {resp.status} {resp.reason}: {data[:200]!r}")
        try:
            return resp.status, json.loads(data or b"{}")
        except ValueError:
            return resp.status, {}

    def get(self, path: str, query: list | None = None) -> dict:
        return self.call("GET", path, query=query)[1]


def system_made(obj: dict) -> bool:
    managers = {m.get("manager", "") for m in (obj.get("metadata") or {}).get("managedFields") or []}
    return any(m in SYSTEM_MANAGERS for m in managers)


def resources(api: _Api) -> Iterator[tuple[str, str, bool]]:
    """(group/version path, resource name, namespaced) of every listable, deletable kind."""
    group_versions = ["/api/v1"]
    for group in api.get("/apis").get("groups", []):
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        if preferred:
            group_versions.append(f"/apis/{preferred}")
    for gv in group_versions:
        for r in api.get(gv).get("resources", []):
            verbs = set(r.get("verbs") or [])
            if "/" in r["name"] or not {"list", "delete"} <= verbs:
                continue
            yield gv, r["name"], bool(r.get("namespaced"))


def _delete(api: _Api, path: str, obj: dict) -> bool:
    if (obj.get("metadata") or {}).get("finalizers"):
        api.call("PATCH", path, {"metadata": {"finalizers": None}}, content_type="application/merge-patch+json")
    status, _ = api.call("DELETE", path, DELETE_OPTIONS)
    return status < 300


def reset(client, keep_namespaces: tuple[str, ...] = ()) -> dict[str, Any]:
    """Delete what kube-apiserver did not make (see the module docstring); returns what went, by kind."""
    api = _Api(client)
    kinds = list(resources(api))
    namespaces = [n["metadata"]["name"] for n in api.get("/api/v1/namespaces").get("items", [])]
    removed: dict[str, int] = {}
    ordered = sorted(kinds, key=lambda k: k[1] == "namespaces")  # namespaces last: emptied first
    for gv, name, namespaced in ordered:
        if name == "events" and gv != "/api/v1":
            continue  # events.k8s.io serves the same objects as core/v1 events
        if name == "namespaces":
            for ns in namespaces:
                if ns in SYSTEM_NAMESPACES or ns in keep_namespaces:
                    continue
                if _delete_namespace(api, ns):
                    removed["namespaces"] = removed.get("namespaces", 0) + 1
            continue
        scopes = [f"{gv}/namespaces/{ns}/{name}" for ns in namespaces] if namespaced else [f"{gv}/{name}"]
        for base in scopes:
            status, listed = api.call("GET", base)
            if status >= 300:
                continue
            for obj in listed.get("items", []):
                if system_made(obj):
                    continue
                if _delete(api, f"{base}/{obj['metadata']['name']}", obj):
                    removed[name] = removed.get(name, 0) + 1
    return removed


def _delete_namespace(api: _Api, ns: str) -> bool:
    path = f"/api/v1/namespaces/{ns}"
    status, _ = api.call("DELETE", path, DELETE_OPTIONS)
    if status >= 300:
        return False
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        status, obj = api.call("GET", path)
        if status == 404:
            return True
        # What the namespace controller does once the namespace is empty: drop its finalizers.
        obj.setdefault("spec", {})["finalizers"] = []
        obj["metadata"]["finalizers"] = None
        api.call("PUT", f"{path}/finalize", obj)
        api.call("DELETE", path, DELETE_OPTIONS)
        time.sleep(0.1)
    raise RuntimeError(f"namespace {ns} was not deleted within {TIMEOUT:.0f}s")
