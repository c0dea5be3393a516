"""What `sandbox up` keeps of the cluster (asbuilt_sandbox.kube_reset): kube-apiserver's own objects
only, read from managedFields. The deletion itself is proven against the real kube-apiserver by
tests/sandbox/test_sandbox_restore.py."""

from __future__ import annotations

import pytest

from asbuilt_sandbox.kube_reset import system_made


def _obj(*managers: str) -> dict:
    return {"metadata": {"name": "x", "managedFields": [{"manager": m, "operation": "Update"} for m in managers]}}


@pytest.mark.parametrize("managers", [
    ("kube-apiserver",),  # bootstrap RBAC, the kubernetes Service, its leases and events
    ("api-priority-and-fairness-config-producer-v1",),
    ("api-priority-and-fairness-config-consumer-v1", "api-priority-and-fairness-config-producer-v1"),
    ("kube-apiserver", "kubectl-edit"),  # edited later: still kube-apiserver's, kept
])
def test_kube_apiservers_own_objects_are_kept(managers):
    assert system_made(_obj(*managers))


@pytest.mark.parametrize("managers", [
    ("helm",), ("Helm",), ("OpenAPI-Generator",), ("kubectl-create",), ("kubectl-client-side-apply",),
    ("OpenAPI-Generator", "helm"), ("kube-apiserver-lookalike",),
])
def test_everything_else_goes(managers):
    assert not system_made(_obj(*managers))


def test_an_object_without_managed_fields_goes():
    assert not system_made({"metadata": {"name": "x"}})
