"""BNDL-01: a custom bundle's layout, as pure logic over the zip's entry list.

Entries are given as ``{"name": "manifests/a.json", "size": 123 (uncompressed),
"compressed_size": 80, "is_dir": False, "is_symlink": False, "json_valid": True | False | None}``
(``json_valid`` only for manifests, None when not read). Reading the zip is
``asbuilt.static.bundlezip.read_entries`` (or whatever builds the bundle); this module never
opens a file.
"""

from __future__ import annotations

import posixpath
import re

from asbuilt.rules import Finding, Verdict, errored, summarise

TOP_LEVEL = {"manifests": ".json", "plugins": ".jar", "artifacts": None}


def entry_problems(entries: list[dict], zip_bytes: int, max_zip_bytes: int, max_uncompressed_bytes: int,
                   max_entries: int) -> list[str]:
    """Every layout problem of one bundle, one line each (empty: a valid bundle)."""
    problems = []
    if zip_bytes > max_zip_bytes:
        problems.append(f"the zip is {zip_bytes} bytes, over the limit of {max_zip_bytes}")
    if len(entries) > max_entries:
        problems.append(f"{len(entries)} entries, over the limit of {max_entries}")
    total = sum(int(e.get("size") or 0) for e in entries)
    if total > max_uncompressed_bytes:
        problems.append(f"{total} bytes uncompressed, over the limit of {max_uncompressed_bytes}")
    seen: set[str] = set()
    files = 0
    for e in entries:
        name = str(e.get("name") or "")
        norm = name.replace("\\", "/")
        if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
            problems.append(f"{name}: absolute path")
            continue
        parts = [p for p in norm.split("/") if p not in ("", ".")]
        if ".." in norm.split("/"):
            problems.append(f"{name}: path contains '..'")
            continue
        if e.get("is_symlink"):
            problems.append(f"{name}: a link")
            continue
        key = posixpath.normpath(norm).lower()
        if key in seen:
            problems.append(f"{name}: duplicate entry")
        seen.add(key)
        if not parts:
            continue
        top = parts[0]
        if top not in TOP_LEVEL:
            problems.append(f"{name}: not under manifests/, plugins/ or artifacts/")
            continue
        if e.get("is_dir") or norm.endswith("/"):
            continue
        files += 1
        want = TOP_LEVEL[top]
        if want and not norm.lower().endswith(want):
            kind = "JSON adapter manifests" if top == "manifests" else "JAR files"
            problems.append(f"{name}: {top}/ holds {kind} only")
        elif top == "manifests" and e.get("json_valid") is False:
            problems.append(f"{name}: not valid JSON")
        if e.get("compressed_size") and int(e.get("size") or 0) > 200 * int(e["compressed_size"]) > 0 and \
                int(e.get("size") or 0) > 10 * 1024 * 1024:
            problems.append(f"{name}: compression ratio over 200:1 (a zip bomb?)")
    if not files:
        problems.append("the bundle holds no files")
    return problems


def bundle_layout(bundles: list[dict], max_zip_bytes: int, max_uncompressed_bytes: int, max_entries: int) -> Verdict:
    """BNDL-01. bundles: [{"resource": zip path or S3 object, "zip_bytes": int,
    and either "problems": [one line each] (from a verifier that read the zip itself, such as
    asbuilt.bundle.verify) or "entries": [entry...] (judged here by entry_problems),
    "error": "not a zip file" (optional: unreadable)}]"""
    if not bundles:
        return errored("BNDL-01", "no bundle found on the target to check")
    findings = []
    for b in bundles:
        if b.get("error"):
            findings.append(Finding(b['resource'], f"{b['error']}"))
            continue
        problems = b["problems"] if "problems" in b else entry_problems(
            b.get("entries") or [], int(b.get("zip_bytes") or 0), max_zip_bytes, max_uncompressed_bytes, max_entries)
        for p in problems:
            findings.append(Finding(b['resource'], f"{p}"))
    evidence = [{k: v for k, v in b.items() if k != "entries"} |
                {"entry_count": b.get("entry_count", len(b.get("entries") or []))} for b in bundles]
    ok = ", ".join(f"{b['resource']}: " + (f"{b['entry_count']} entries" if b.get("entry_count") is not None else
                                           f"{len(b.get('entries') or [])} entries") +
                   " under manifests/, plugins/, artifacts/" for b in bundles)
    return summarise(
        "BNDL-01", findings, ok, evidence,
        "rebuild the bundle with only manifests/ (JSON), plugins/ (JARs) and artifacts/ at the top level, relative "
        "paths without '..' or links, within the size limits (asbuilt bundle build DIR -o ZIP)",
    )
