"""VER-*: engine versions meet the profile's minimums (EKS, RDS PostgreSQL, MSK Kafka, helm)."""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from asbuilt.model.facts import is_unknown
from asbuilt.rules import Finding, UnknownFact, Verdict, errored, summarise


# MSK names its versions 3.9.x, 3.7.x.kraft, 2.8.2.tiered: a release line, its metadata mode,
# its storage; the numbers before them are the version.
_MSK_SUFFIX = re.compile(r"(\.x)?(\.(kraft|tiered))?$", re.IGNORECASE)


def _version(text: str) -> Version | None:
    core = str(text).strip().lstrip("vV").split("-")[0].split("+")[0]
    core = _MSK_SUFFIX.sub("", core) if re.match(r"^\d+(\.\d+)*(\.x)?(\.(kraft|tiered))?$", core, re.I) else core
    try:
        return Version(core)
    except InvalidVersion:
        return None


def at_least(actual: str, minimum: str) -> bool | None:
    """Compare dotted versions; None when either is not a version."""
    a, m = _version(actual), _version(minimum)
    if a is None or m is None:
        return None
    return a >= m


def _check_min_version(control: str, items: list[dict], minimum: str, kind: str, fix: str) -> Verdict:
    """items: [{"resource": id, "version": "1.29", ...}]"""
    if not items:
        return errored(control, f"no {kind} found on the target to check")
    findings = []
    for item in items:
        ok = at_least(item.get("version") or "", minimum)
        if ok is None:
            findings.append(Finding(item['resource'], f"{kind} version {item.get('version')!r} is not a version number"))
        elif not ok:
            findings.append(Finding(item['resource'], f"{kind} version {item['version']} is below the minimum {minimum}"))
    ok_msg = ", ".join(f"{i['resource']}: {kind} {i['version']}" for i in items) + f" (>= {minimum})"
    return summarise(control, findings, ok_msg, items, fix.format(minimum=minimum))


def eks_version(clusters: list[dict], min_version: str) -> Verdict:
    """VER-01. clusters: [{"resource": arn or file:line, "version": "1.31"}]"""
    return _check_min_version(
        "VER-01", clusters, min_version, "EKS Kubernetes",
        "upgrade the cluster to Kubernetes {minimum} or later (aws_eks_cluster.version / "
        "AWS::EKS::Cluster Version; EKS upgrades one minor version at a time)",
    )


def rds_engine(instances: list[dict], engine: str, min_version: str) -> Verdict:
    """VER-02. instances: [{"resource": arn, "engine": "postgres", "version": "16.3"}]"""
    if not instances:
        return errored("VER-02", "no RDS instance found on the target to check")
    findings = []
    unknowns = []
    for inst in instances:
        if inst.get("engine") is None:  # not written: a restore from a snapshot, a replica of a source elsewhere
            unknowns.append(UnknownFact(f"engine of {inst['resource']}", inst["resource"],
                                        "not set in the code (a replica or a restore from a snapshot takes its "
                                        "source's engine)"))
        elif (inst.get("engine") or "").lower() not in (engine, f"aurora-{engine}" if engine == "postgresql" else engine):
            findings.append(Finding(inst['resource'], f"engine is {inst.get('engine')!r}, not {engine}"))
        elif inst.get("version") is None or is_unknown(inst.get("version")):  # a known wrong engine fails first
            v = inst.get("version")
            unknowns.append(UnknownFact(f"engine version of {inst['resource']}", getattr(v, "where", "") or
                                        inst["resource"], v.reason if is_unknown(v) else
                                        "not set in the code: RDS chooses its default version when it creates "
                                        "the instance"))
        else:
            ok = at_least(inst.get("version") or "", min_version)
            if not ok:
                findings.append(Finding(inst['resource'], f"PostgreSQL {inst.get('version')} is below the minimum {min_version}"))
    ok_msg = ", ".join(f"{i['resource']}: {i['engine']} {i['version']}" for i in instances) + f" (>= {min_version})"
    return summarise(
        "VER-02", findings, ok_msg, instances,
        f"run the platform database on RDS for PostgreSQL {min_version} or later (engine/engine_version; "
        "a major-version upgrade needs a snapshot and a maintenance window)", unknowns,
    )


def msk_version(clusters: list[dict], min_version: str) -> Verdict:
    """VER-03. clusters: [{"resource": arn, "version": "3.6.0"}]"""
    return _check_min_version(
        "VER-03", clusters, min_version, "MSK Kafka",
        "upgrade the MSK cluster to Apache Kafka {minimum} or later (kafka_version / KafkaVersion)",
    )


def helm_version(releases: list[dict], min_version: str) -> Verdict:
    """VER-04. releases: [{"resource": "release ns/name", "version": "4.1.0"}]"""
    return _check_min_version(
        "VER-04", releases, min_version, "helm",
        "deploy the release with helm {minimum} or later",
    )


def helm_release_writer(releases: list[dict], min_version: str) -> Verdict:
    """VER-04 from what a release record says about the helm that wrote it.

    releases: [{"resource": "helm release ns/name revision N", "helm_version": "4.1.2" or None,
    "helm_major": 4 / 3 / None}]. A release record does not store helm's full version; Helm 4
    records ``apply_method`` and Helm 3 does not, so the major version is usually all that can be
    read. A minimum this evidence cannot prove is reported as skipped with the reason, never a pass.
    """
    from asbuilt.rules import failed, passed, skipped

    if not releases:
        return errored("VER-04", "no helm release found on the target to check")
    minimum = _version(min_version)
    findings, unproven, ok = [], [], []
    for r in releases:
        full = r.get("helm_version")
        if full:
            good = at_least(full, min_version)
            if good:
                ok.append(f"{r['resource']}: helm {full}")
            else:
                findings.append(Finding(r["resource"], f"helm {full} is below {min_version}"))
            continue
        major = r.get("helm_major")
        if major is None:
            unproven.append(f"{r['resource']}: the release record does not say which helm wrote it")
        elif minimum is not None and major < minimum.major:
            findings.append(Finding(r['resource'], f"written by Helm {major} (no apply_method in the release record), "
                            f"below {min_version}"))
        elif minimum is not None and major > minimum.major or (minimum is not None and minimum.minor == 0):
            ok.append(f"{r['resource']}: written by Helm {major}")
        else:
            unproven.append(f"{r['resource']}: written by Helm {major}.x (the record keeps apply_method, not the "
                            f"minor version), so >= {min_version} cannot be proven from release metadata")
    if findings:
        return failed("VER-04", findings, releases, fix=f"upgrade the release with helm {min_version} or later")
    if unproven:
        return skipped("VER-04", "; ".join(unproven), releases)
    return passed("VER-04", "; ".join(ok) + f" (>= {min_version})", releases)
