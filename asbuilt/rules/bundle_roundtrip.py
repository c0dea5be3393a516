"""BNDL-02 (round trip through the bucket) and BNDL-03 (an applied bundle is in platform state)."""

from __future__ import annotations

from asbuilt.rules import Finding, Verdict, errored, summarise
from asbuilt.rules.iam import UNVERIFIED_FIX, presign_enforcement


def round_trip(facts: dict, max_expiry_seconds: int) -> Verdict:
    """BNDL-02. facts::

        {"resource": "s3://bucket/asbuilt-selftest/<id>/custom-bundle.zip", "versioning": "Enabled" | None,
         "uploads": [{"version_id", "sha256"}, {"version_id", "sha256"}],    # the previous, then the current
         "versions_listed": int, "previous_download_sha256": sha | None,   # GET of the first version id
         "s3_download_sha256": sha, "presigned": {"expires_seconds", "signature_version", "download_sha256",
                                                  "refusals": asbuilt.probes.bundle_store.refusals (live)}}
    """
    uploads = facts.get("uploads") or []
    if len(uploads) < 2:
        return errored("BNDL-02", f"{facts.get('resource')}: the round trip did not upload two versions", [facts])
    previous, current = uploads[0], uploads[-1]
    where = facts["resource"]
    findings = []
    if facts.get("s3_download_sha256") != current["sha256"]:
        findings.append(Finding(where, f"downloaded through S3 with sha256 {str(facts.get('s3_download_sha256'))[:16]}..., "
                        f"uploaded {current['sha256'][:16]}..."))
    pre = facts.get("presigned") or {}
    if pre.get("download_sha256") != current["sha256"]:
        findings.append(Finding(where, f"downloaded through its pre-signed URL with sha256 "
                        f"{str(pre.get('download_sha256'))[:16]}..., uploaded {current['sha256'][:16]}..."))
    if pre.get("signature_version") != "v4":
        findings.append(Finding(where, "the pre-signed URL is not SigV4"))
    secs = pre.get("expires_seconds")
    if not isinstance(secs, int) or secs <= 0 or secs > max_expiry_seconds:
        findings.append(Finding(where, f"the pre-signed URL is valid for {secs} s, not within (0, {max_expiry_seconds}]"))
    kept = (previous.get("version_id") not in (None, "null") and previous.get("version_id") != current.get("version_id")
            and facts.get("previous_download_sha256") == previous["sha256"]
            and int(facts.get("versions_listed") or 0) >= 2)
    # live: whether what serves the URL verifies it (a tampered and an expired URL refused)
    enforced, clause = presign_enforcement(where, pre.get("refusals"))
    findings += enforced
    if not kept:
        findings.append(Finding(where, f"the bucket did not keep the previous version (versioning "
                        f"{facts.get('versioning') or 'not enabled'}; {facts.get('versions_listed')} version(s) listed "
                        "after two uploads)"))
    fix = ("enable versioning on the bundle bucket (S3-01) and remove whatever rewrites objects (lifecycle "
           "transitions, replication into the same key, a proxy in front of pre-signed URLs); compare "
           "SHA-256 (aws s3 cp --checksum-algorithm SHA256), not the ETag")
    if enforced:
        fix = UNVERIFIED_FIX if len(findings) == len(enforced) else f"{fix}; {UNVERIFIED_FIX}"
    return summarise("BNDL-02", findings,
                     f"{where}: two uploads kept as two versions; S3 and a SigV4 pre-signed URL (valid {secs} s) "
                     f"return the uploaded bytes (sha256 {current['sha256'][:16]}...)" + (f"; {clause}" if clause else ""),
                     [facts], fix)


def bundle_in_state(bundle: dict, snapshot: dict) -> Verdict:
    """BNDL-03. bundle: {"resource", "entries": [{"name", "kind", "table", "item_name", "sha256"}]};
    snapshot: asbuilt.probes.platform_state.snapshot."""
    entries = [e for e in bundle.get("entries") or [] if e.get("kind") != "directory"]
    if not entries:
        return errored("BNDL-03", f"{bundle.get('resource')}: the bundle has no items to look for", [bundle])
    findings = []
    checked = []
    for e in entries:
        rows = {r["name"]: r for r in snapshot.get(e["table"], [])}
        row = rows.get(e["item_name"])
        where = f"{e['table']}/{e['item_name']} (from {e['name']})"
        if row is None:
            findings.append(Finding(where, "not in the platform state"))
            continue
        if row["sha256"] != e["sha256"]:
            findings.append(Finding(where, f"stored sha256 {row['sha256'][:12]}... differs from the bundle's "
                            f"{e['sha256'][:12]}..."))
        elif e["kind"] == "artifact" and row.get("content_sha256") and row["content_sha256"] != e["sha256"]:
            findings.append(Finding(where, f"the stored bytes hash to {row['content_sha256'][:12]}..., not the bundle's "
                            f"{e['sha256'][:12]}..."))
        checked.append({"item": where, "sha256": e["sha256"], "stored_id": row["id"], "version": row.get("version")})
    evidence = [{"resource": bundle["resource"], "entries": len(entries), "checked": checked,
                 **{k: v for k, v in bundle.items() if k not in ("resource", "entries", "data")}}]
    if findings:  # say first how much of the bundle is missing, then each item
        findings.insert(0, Finding(bundle["resource"], f"{len(findings)} of {len(entries)} item(s) missing or different"))
    return summarise("BNDL-03", findings,
                     f"{bundle['resource']}: all {len(entries)} manifest/plugin/artifact items are in the platform "
                     "state with matching checksums", evidence,
                     "read the installer log for items skipped or rejected during Pass 2 and fix them in the bundle, "
                     "then re-run the installer (helm upgrade); valid items still missing or different are an "
                     "installer defect to report with this evidence")
