"""HELM-01: the release values the installer and the platform depend on.

Input (from the release's values, live, or the merged values files, static)::

    {"resource": "release conncentric/conncentric" or "values/production.yaml",
     "installer_enabled": {"value": True, "resource": "values/production.yaml:31"},
     "bundle_urls": [{"resource": "values/production.yaml:35", **rules.iam.describe_url(url)}],
     "bootstrap_servers": {"value": "b-1...:9094,b-2...:9094", "resource": "values/production.yaml:12"},
     "expected_brokers": ["b-1...:9094", ...] or None,   # the MSK cluster's bootstrap brokers when known
     "tls_only_brokers": True | False | None}            # MSK client-broker is TLS-only (9092 closed)
"""

from __future__ import annotations

import re

from asbuilt.rules import Finding, Verdict, errored, summarise

_S3_HOST = re.compile(r"(^|\.)s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$")


def _where(field: dict | None, fallback: str) -> str:
    return (field or {}).get("resource") or fallback


def release_values(releases: list[dict], ports: list[int]) -> Verdict:
    """HELM-01. releases: see the module docstring; ports: the MSK client ports (NET-02)."""
    if not releases:
        return errored("HELM-01", "no release values found on the target to check")
    findings = []
    allowed = {int(p) for p in ports}
    for r in releases:
        enabled = r.get("installer_enabled") or {}
        if enabled.get("value") is not True:
            findings.append(Finding(_where(enabled, r['resource']), f"installer.enabled is {enabled.get('value')!r}, not true"))
        for u in r.get("bundle_urls") or []:
            if u.get("scheme") != "https":
                findings.append(Finding(u['resource'], f"bundle URL {u.get('url')} is not https"))
            elif not (_S3_HOST.search(u.get("host") or "") or u.get("presigned")):
                findings.append(Finding(u['resource'], f"bundle URL {u.get('url')} is neither an S3 object URL nor a "
                                "pre-signed URL"))
        boot = r.get("bootstrap_servers") or {}
        where = _where(boot, r["resource"])
        servers = [s.strip() for s in str(boot.get("value") or "").split(",") if s.strip()]
        if not servers:
            findings.append(Finding(where, "env.KAFKA_BOOTSTRAP_SERVERS is not set"))
        for s in servers:
            host, _, port = s.rpartition(":")
            if not port.isdigit() or int(port) not in allowed:
                findings.append(Finding(where, f"broker {s} is not on port {' or '.join(map(str, sorted(allowed)))}"))
            elif r.get("tls_only_brokers") and int(port) != max(allowed):
                findings.append(Finding(where, f"broker {s} uses port {port} but the MSK cluster only listens with TLS "
                                f"on {max(allowed)}"))
        expected = r.get("expected_brokers")
        if expected is not None and servers and set(servers) != {str(e) for e in expected}:
            findings.append(Finding(where, f"env.KAFKA_BOOTSTRAP_SERVERS ({', '.join(servers)}) does not match the MSK "
                            f"bootstrap brokers ({', '.join(expected)})"))
    ok = ", ".join(f"{r['resource']}: installer enabled, {len(r.get('bundle_urls') or [])} https bundle URL(s), "
                   f"brokers on {'/'.join(map(str, sorted(allowed)))}" for r in releases)
    return summarise(
        "HELM-01", findings, ok, releases,
        "set installer.enabled: true, give each installer.customBundleUrls entry as an https S3 object URL or a "
        "pre-signed URL, and set env.KAFKA_BOOTSTRAP_SERVERS to the MSK bootstrap brokers "
        "(aws kafka get-bootstrap-brokers: BootstrapBrokerStringTls on 9094)",
    )
