"""Every static control fails, alone, on a copy of the reference that violates exactly it.

For each variant (tests/static/variants.py): the control's static verdict is ``fail``; its message
names the file and the line of the failing resource (checked against the file itself) and the
fix; and no other control changes verdict against the unmodified reference of the same flavour.
Each variant scans only the flavour it changes, in-process, to keep the suite fast.
"""

from __future__ import annotations

import re
import shutil

import pytest

from asbuilt.catalogue import load_catalogue
from tests.static.helpers import FLAVOURS, Variant, bundle_entries, git, scan, statuses, write_zip
from tests.static.variants import CLOUDFORMATION_JSON, CLOUDFORMATION_YAML, FILES, HELM, MANIFESTS, TERRAFORM

VARIANTS = TERRAFORM + CLOUDFORMATION_YAML + CLOUDFORMATION_JSON + HELM + MANIFESTS + FILES
_BASELINES: dict[str, dict[str, str]] = {}


def baseline(flavour: str, tmp_path_factory) -> dict[str, str]:
    if flavour not in _BASELINES:
        tmp = tmp_path_factory.mktemp(f"baseline-{flavour}")
        paths, values = FLAVOURS[flavour].prepare(tmp)
        result = scan(paths, values, tmp / "reports")
        found = statuses(result.verdicts)
        assert set(found.values()) <= {"pass"}, {v.control: v.message for v in result.verdicts if v.status != "pass"}
        _BASELINES[flavour] = found
    return _BASELINES[flavour]


def assert_points_at(message: str, root, file: str, anchor: str) -> None:
    """The message names file:line, and that line of the (edited) file holds the anchor text."""
    hits = re.findall(rf"([^\s(;,]*{re.escape(file)}):(\d+)", message)
    assert hits, f"no {file}:<line> in: {message}"
    candidates = [p for p in root.rglob(file.rsplit("/", 1)[-1])]
    for name, line in hits:
        for path in candidates:
            lines = path.read_text().splitlines()
            if 0 < int(line) <= len(lines) and anchor in lines[int(line) - 1]:
                return
    raise AssertionError(f"none of {hits} is a line holding {anchor!r}: {message}")


def run_variant(variant: Variant, tmp_path, tmp_path_factory):
    flavour = FLAVOURS[variant.flavour]
    paths, values = flavour.prepare(tmp_path)
    root = flavour.edit_root(tmp_path)
    for edit in variant.edits:
        edit(root)
    result = scan(paths, values, tmp_path / "reports")
    return result, baseline(variant.flavour, tmp_path_factory)


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_variant_fails_only_its_control(variant: Variant, tmp_path, tmp_path_factory):
    result, base = run_variant(variant, tmp_path, tmp_path_factory)
    found = statuses(result.verdicts)
    by_id = {v.control: v for v in result.verdicts}
    assert found.get(variant.control) == "fail", by_id.get(variant.control)
    message = by_id[variant.control].message
    assert_points_at(message, tmp_path, variant.file, variant.anchor)
    assert "Fix: " in message, message
    for word in variant.words:
        assert word in message, f"{word!r} not in: {message}"
    changed = {c: (base.get(c), s) for c, s in found.items() if c != variant.control and base.get(c) != s}
    missing = {c: (s, None) for c, s in base.items() if c not in found}
    assert not changed and not missing, f"other controls changed verdict: {changed or missing}"
    # The SARIF result of the failing control points at the same place.
    import json

    sarif = json.loads((tmp_path / "reports" / "results.sarif").read_text())
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == variant.control]
    assert results, "no SARIF result for the failing control"
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)


def test_every_static_control_has_a_broken_fixture():
    """Coverage of this file: each static control of the profile has at least one variant per
    flavour it applies to (the file-based ones are in the tests below)."""
    from asbuilt.static.checkbase import DEFINITIONS, load_checks

    load_checks()
    cat = load_catalogue()
    static_ids = {c.id for c in cat.for_profile("conncentric-aws") if c.static}
    covered: dict[str, set[str]] = {}
    for v in VARIANTS:
        covered.setdefault(v.control, set()).add(v.flavour)
    covered.setdefault("SDK-01", set()).add("git")        # test_sdk01_committed_jar
    covered.setdefault("BNDL-01", set()).add("bundle")    # test_bndl01_*
    assert static_ids <= set(covered), f"no broken fixture for {sorted(static_ids - set(covered))}"
    for control in static_ids:
        defn = DEFINITIONS[control]
        wanted = set()
        if defn.terraform:
            wanted.add("terraform")
        if defn.cloudformation:
            wanted.add("cloudformation-yaml")
        if defn.kubernetes:
            wanted.add("manifests")
            wanted.add("helm")
        for kind in defn.files:
            wanted.add({"values": "helm", "git": "git", "bundle": "bundle", "gradle": "gradle",
                        "compose": "compose"}[kind])
        assert wanted <= covered[control], f"{control}: no broken fixture for {sorted(wanted - covered[control])}"


# --------------------------------------------------------------------------- SDK-01 (Git)


def test_sdk01_committed_jar(tmp_path, tmp_path_factory):
    flavour = FLAVOURS["git"]
    paths, values = flavour.prepare(tmp_path)
    repo = paths[0]
    base = baseline("git", tmp_path_factory)
    (repo / "libs").mkdir()
    (repo / "libs" / "conncentric-sdk-1.0.0.jar").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    git(repo, "add", "-f", "libs/conncentric-sdk-1.0.0.jar")
    git(repo, "commit", "-q", "-m", "oops")
    result = scan(paths, values, tmp_path / "reports")
    by_id = {v.control: v for v in result.verdicts}
    assert by_id["SDK-01"].status == "fail"
    msg = by_id["SDK-01"].message
    assert "libs/conncentric-sdk-1.0.0.jar" in msg and "Conncentric SDK JAR" in msg and "Fix: " in msg, msg
    assert "git rm --cached" in msg
    assert {c: v.status for c, v in by_id.items() if c != "SDK-01"} == {c: s for c, s in base.items() if c != "SDK-01"}


def test_sdk01_untracked_and_ignored_jars_pass(tmp_path):
    paths, values = FLAVOURS["git"].prepare(tmp_path)
    (paths[0] / "scratch.jar").write_bytes(b"PK")  # untracked
    result = scan(paths, values, tmp_path / "reports")
    assert {v.control: v.status for v in result.verdicts}["SDK-01"] == "pass"


# --------------------------------------------------------------------------- BNDL-01 (zips)


@pytest.mark.parametrize("name, change, words", [
    ("extra-top-level", lambda e: e.update({"README.md": b"hello"}), ["README.md", "manifests/"]),
    ("zip-slip", lambda e: e.update({"../evil.sh": b"#!/bin/sh"}), ["../evil.sh", "'..'"]),
    ("absolute", lambda e: e.update({"/etc/cron.d/x": b"x"}), ["/etc/cron.d/x", "absolute path"]),
    ("not-a-jar", lambda e: e.update({"plugins/readme.txt": b"x"}), ["plugins/readme.txt", "JAR files only"]),
    ("bad-manifest", lambda e: e.update({"manifests/broken.json": b"{not json"}), ["manifests/broken.json",
                                                                                     "not valid JSON"]),
])
def test_bndl01_broken_bundle(name, change, words, tmp_path, tmp_path_factory):
    base = baseline("bundle", tmp_path_factory)
    entries = bundle_entries()
    change(entries)
    zpath = write_zip(tmp_path / "bundle" / f"{name}.zip", entries)
    result = scan([zpath], [], tmp_path / "reports")
    by_id = {v.control: v for v in result.verdicts}
    assert by_id["BNDL-01"].status == "fail"
    msg = by_id["BNDL-01"].message
    assert f"{name}.zip" in msg and "Fix: " in msg, msg
    for w in words:
        assert w in msg, msg
    assert {c: v.status for c, v in by_id.items() if c != "BNDL-01"} == {c: s for c, s in base.items() if c != "BNDL-01"}


def test_bndl01_link_and_size_limits(tmp_path):
    from asbuilt.catalogue import load_profile
    from asbuilt.static import scan as static_scan

    zpath = write_zip(tmp_path / "b.zip", bundle_entries(), links={"artifacts/link": "/etc/passwd"})
    result = scan([zpath], [], tmp_path / "r1")
    msg = {v.control: v for v in result.verdicts}["BNDL-01"].message
    assert "artifacts/link" in msg and "link" in msg.split("artifacts/link", 1)[1], msg
    profile_file = tmp_path / "small.yaml"
    profile_file.write_text("name: small\nextends: conncentric-aws\nthresholds:\n  BNDL-01: {max_entries: 2}\n")
    ok = write_zip(tmp_path / "ok.zip", bundle_entries())
    result = static_scan([ok], load_profile(str(profile_file)), [], tmp_path / "r2")
    msg = {v.control: v for v in result.verdicts}["BNDL-01"].message
    assert " 2" in msg and ("bound" in msg or "limit" in msg), msg


def test_not_a_zip_is_a_finding(tmp_path):
    bad = tmp_path / "bundle.zip"
    bad.write_text("not a zip")
    result = scan([bad], [], tmp_path / "r")
    v = {v.control: v for v in result.verdicts}["BNDL-01"]
    assert v.status == "fail" and "not a zip file" in v.message


# --------------------------------------------------------------------------- cross-flavour


def test_irsa_annotation_must_name_the_installer_role_of_the_iac(tmp_path):
    """IAM-02 across flavours: the chart's annotation names a role the Terraform does not define."""
    tf, _ = FLAVOURS["terraform"].prepare(tmp_path)
    chart, values = FLAVOURS["helm"].prepare(tmp_path)
    v = values[0]
    v.write_text(v.read_text().replace("role/conncentric-installer-s3-read", "role/someone-else"))
    result = scan(tf + chart, values, tmp_path / "reports")
    by_id = {x.control: x for x in result.verdicts}
    assert by_id["IAM-02"].status == "fail", by_id["IAM-02"].message
    assert "someone-else" in by_id["IAM-02"].message and "conncentric-installer-s3-read" in by_id["IAM-02"].message
    assert {c for c, x in by_id.items() if x.status != "pass"} == {"IAM-02"}


def test_plaintext_brokers_with_a_tls_only_cluster(tmp_path):
    """HELM-01 across flavours: 9092 brokers in the values while the scanned MSK cluster is TLS-only."""
    tf, _ = FLAVOURS["terraform"].prepare(tmp_path)
    chart, values = FLAVOURS["helm"].prepare(tmp_path)
    v = values[0]
    v.write_text(v.read_text().replace(":9094", ":9092"))
    result = scan(tf + chart, values, tmp_path / "reports")
    by_id = {x.control: x for x in result.verdicts}
    assert by_id["HELM-01"].status == "fail" and "only listens with TLS on 9094" in by_id["HELM-01"].message
    assert {c for c, x in by_id.items() if x.status != "pass"} == {"HELM-01"}
    shutil.rmtree(tmp_path / "terraform")


def test_chart_without_ingress_or_installer_account(tmp_path):
    """Stack-level controls fail when the chart renders no object to anchor on at all."""
    paths, values = FLAVOURS["helm"].prepare(tmp_path)
    v = values[0]
    v.write_text(v.read_text().replace("ingress:\n  enabled: true", "ingress:\n  enabled: false"))
    (paths[0] / "templates" / "serviceaccount.yaml").write_text("")
    result = scan(paths, values, tmp_path / "reports")
    by_id = {x.control: x for x in result.verdicts}
    for control, words in (("K8S-02", "there is no Ingress"), ("IAM-02", "no service account conncentric/conncentric-installer")):
        assert by_id[control].status == "fail", by_id[control]
        assert words in by_id[control].message and "Chart.yaml" in by_id[control].message, by_id[control].message
