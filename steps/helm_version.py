"""VER-04: which helm wrote the platform release (from the release record)."""

from __future__ import annotations

from pytest_bdd import given, then



@given("the helm release of the platform", target_fixture="helm_release_records")
def helm_release_records(kube):
    release = kube.current_release()
    ns = release.get("namespace") or kube.namespace
    return [{
        "resource": f"helm release {ns}/{release.get('name')} revision {release.get('version')}",
        # Helm 4 records how it applied the manifests (server-side apply by default); Helm 3 does not.
        "helm_major": 4 if "apply_method" in release else 3,
        "apply_method": release.get("apply_method"),
        "helm_version": None,
    }]


@then("it was deployed with helm at least at the profile minimum")
def helm_version_at_least(helm_release_records, decide, verdict):
    verdict(decide("VER-04", helm_release_records))
