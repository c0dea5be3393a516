"""SUITE-01..03: the suite's own safety, decided on every run from what the run did.

* SUITE-01: outside ``@mutating`` scenarios the run performed only read operations.
* SUITE-02: every AWS operation the run performed is allowed by the policy the suite ships
  (``deploy/aws/``), evaluated with the same IAM evaluator the IAM controls use.
* SUITE-03: no secret value (the target's resolved secret references, URL signatures) appears in
  any file the run wrote (``asbuilt.secrets_guard``).
"""

from __future__ import annotations

import json
from pathlib import Path

from asbuilt.paths import suite_root
from asbuilt.rules import Verdict, failed, passed, skipped

REDACTED_WORD = "[REDACTED]"
COVERED = ("SUITE-01", "SUITE-02", "SUITE-03")  # decided by every run (asbuilt.runner)
REPORT_FILES = ("results.json", "junit.xml", "cucumber.json", "results.sarif", "report.html", "drift.md", "drift.json",
                "results.ocsf.json")
DEPLOY = suite_root() / "deploy" / "aws"  # shipped beside features/ (asbuilt.paths.suite_root)
READ_PREFIXES = ("Describe", "Get", "List", "Head", "Simulate", "Lookup", "Search", "BatchGet", "Filter")

# boto3 service names whose IAM prefix differs
_IAM_PREFIX = {"elbv2": "elasticloadbalancing", "elb": "elasticloadbalancing"}
# boto3 operations whose IAM action has another name (documented in the service authorization reference)
_IAM_ACTION = {
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:HeadObject": "s3:GetObject",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListObjects": "s3:ListBucket",
    "s3:ListObjectVersions": "s3:ListBucketVersions",
    "s3:GetBucketTagging": "s3:GetBucketTagging",
    "s3:DeleteObjects": "s3:DeleteObject",
}
# Operations that need no permission at all.
_NO_PERMISSION = {"sts:GetCallerIdentity"}


def is_read(op: str) -> bool:
    if op.startswith("k8s:"):
        return op.split(":")[1] in ("get", "list", "watch")
    return op.split(":", 1)[-1].startswith(READ_PREFIXES)


def rbac_rules(mutating: bool) -> list[tuple[set[str], set[str]]]:
    """(verbs, resources) of the shipped RBAC: the auditor roles, plus asbuilt-mutating if asked."""
    import yaml

    out = []
    for doc in yaml.safe_load_all((DEPLOY.parent / "kubernetes" / "rbac.yaml").read_text()):
        name = doc["metadata"]["name"]
        if name == "asbuilt-mutating" and not mutating:
            continue
        for rule in doc.get("rules", []):
            # a request is recorded as "<resource>" (core, apps, ...) or "<resource>.<group>" (a CRD's kind)
            names = set(rule["resources"]) | {f"{r}.{g}" for r in rule["resources"] for g in rule.get("apiGroups", []) if g}
            out.append((set(rule["verbs"]), names))
    return out


def k8s_allowed(op: str, mutating: bool) -> bool:
    _, verb, resource = op.split(":", 2)
    return any(verb in verbs and resource in resources for verbs, resources in rbac_rules(mutating))


def iam_action(op: str) -> str:
    """'elbv2:DescribeListeners' -> 'elasticloadbalancing:DescribeListeners'."""
    service, name = op.split(":", 1)
    key = f"{service}:{name}"
    if key in _IAM_ACTION:
        return _IAM_ACTION[key]
    return f"{_IAM_PREFIX.get(service, service)}:{name}"


def read_only(calls: dict[str, dict[str, int]], k8s_writes: list[str] | None = None) -> Verdict:
    """SUITE-01. calls: operation -> {"read_only": n, "mutating": n} (counts per scenario kind)."""
    if not calls and not k8s_writes:
        return skipped("SUITE-01", "no live AWS call was made by this run")
    bad = sorted(op for op, ctx in calls.items() if ctx.get("read_only") and not is_read(op))
    bad += sorted(k8s_writes or [])
    writes_in_mutating = sorted(op for op, ctx in calls.items() if ctx.get("mutating") and not is_read(op))
    evidence = [{"resource": "aws", "operations": sorted(calls), "writes_in_mutating_scenarios": writes_in_mutating}]
    if bad:
        return failed("SUITE-01", f"the suite wrote outside @mutating scenarios: {', '.join(bad)}. "
                      "Fix: a probe must only read; move the write into a scenario tagged @mutating", evidence)
    # Distinct operations, not call counts: a parallel run makes more calls (one cache per worker)
    # and must still give the serial run's verdict and message.
    return passed("SUITE-01", f"{len(calls)} distinct AWS operations and Kubernetes requests, only reads outside "
                  "@mutating scenarios "
                  f"({len(writes_in_mutating)} write operation(s) inside them)", evidence)


def load_policy(name: str) -> dict:
    return json.loads((DEPLOY / name).read_text())


def policy_coverage(ops: list[str], mutating_ops: list[str]) -> Verdict:
    """SUITE-02: every recorded operation is allowed by the shipped read-only policy (or, inside
    @mutating scenarios, by the read-only policy plus the narrow mutating one)."""
    from asbuilt.rules.iam_eval import normalise

    if not ops and not mutating_ops:
        return skipped("SUITE-02", "no live AWS call was made by this run")
    readonly = normalise(load_policy("asbuilt-readonly-policy.json"))
    mutating = normalise(load_policy("asbuilt-mutating-policy.json"))
    missing = []
    for op in sorted(set(ops)):
        if op.startswith("k8s:"):
            if not k8s_allowed(op, mutating=False):
                missing.append(f"{op} (auditor RBAC)")
            continue
        if op in _NO_PERMISSION:
            continue
        if not _allowed_anywhere(readonly, iam_action(op)):
            missing.append(f"{iam_action(op)} (read-only policy)")
    for op in sorted(set(mutating_ops)):
        if op.startswith("k8s:"):
            if not k8s_allowed(op, mutating=True):
                missing.append(f"{op} (mutating RBAC)")
            continue
        if op in _NO_PERMISSION:
            continue
        action = iam_action(op)
        if not (_allowed_anywhere(readonly, action) or _allowed_anywhere(mutating, action)):
            missing.append(f"{action} (mutating policy)")
    evidence = [{"resource": "deploy/aws", "checked_operations": sorted(set(ops) | set(mutating_ops)),
                 "method": "action-level: is the action allowed by some Allow statement of the shipped policies "
                           "(resource scoping of the mutating policy is checked by tests/test_suite_safety.py)"}]
    if missing:
        return failed("SUITE-02", "the shipped policy does not allow: " + ", ".join(missing)
                      + ". Fix: add it to deploy/aws/ or deploy/kubernetes/rbac.yaml (read-only unless only "
                      "@mutating scenarios use it)",
                      evidence)
    return passed("SUITE-02", f"all {len(set(ops) | set(mutating_ops))} AWS operations and Kubernetes requests of "
                  "this run are allowed by the shipped policy and RBAC", evidence)


def _allowed_anywhere(statements: list[dict], action: str) -> bool:
    from asbuilt.rules.iam_eval import action_matches

    return any(st["effect"] == "Allow" and any(action_matches(a, action) for a in st["actions"])
               for st in statements)


def secrets(findings: list[dict], files: int, redactions: int, console: list[dict] | None = None,
            secret_values: int | None = None) -> Verdict:
    """SUITE-03: the written files (findings) and what the run printed (console: stdout/stderr)."""
    evidence = [{"resource": "report-dir", "files_scanned": files, "redactions_applied": redactions}]
    if console is not None:
        evidence.append({"resource": "console", "streams_scanned": ["stdout", "stderr"],
                         "secret_values_known": secret_values})
    if findings:
        where = ", ".join(sorted({f"{Path(f['resource']).name} ({f['what']})" for f in findings}))
        return failed("SUITE-03", f"secret material in written files: {where}. Fix: redact it at the source "
                      "(asbuilt.secrets_guard) before it is written", evidence + findings)
    if console:
        where = ", ".join(sorted({f"{f['resource']} ({f['what']})" for f in console}))
        return failed("SUITE-03", f"secret material reached the run's console output: {where} (replaced by "
                      f"{REDACTED_WORD} before it was printed). Fix: redact it at the source (asbuilt.secrets_guard)",
                      evidence + console)
    scope = f"the {files} files this run wrote" + (" or its stdout/stderr" if console is not None else "")
    return passed("SUITE-03", f"no secret value or URL signature in {scope}"
                  + (f" ({redactions} redaction(s) applied before writing)" if redactions else ""), evidence)


def run_verdicts(calls_by_kind: dict[str, dict[str, int]]) -> list[Verdict]:
    """SUITE-01 and SUITE-02 from the AWS calls of a live run, by the kind of scenario that made them."""
    ro = calls_by_kind.get("read_only", {})
    mut = calls_by_kind.get("mutating", {})
    ops: dict[str, dict[str, int]] = {}
    for op, n in ro.items():
        ops.setdefault(op, {})["read_only"] = n
    for op, n in mut.items():
        ops.setdefault(op, {})["mutating"] = n
    return [read_only(ops), policy_coverage(list(ro), list(mut))]


def scan_reports(report_dir: Path, secret_values: list[str], redactions: int,
                 console: list[dict] | None = None) -> Verdict:
    """SUITE-03 over the files of the report dir and the run's console output so far: scrub what
    slipped through, judge what remains."""
    from asbuilt.secrets_guard import scan, scrub_file

    files = [report_dir / f for f in REPORT_FILES if (report_dir / f).exists()]
    scrubbed = sum(scrub_file(f, secret_values) for f in files)
    verdict = secrets(scan(files, secret_values), len(files), redactions,
                      list(console) if console is not None else None, len(secret_values))
    if scrubbed and verdict.status == "pass":
        # A secret reached a written file past the first layer: fixed in place, but a suite defect.
        verdict = failed("SUITE-03", f"{scrubbed} secret value(s) reached written report files and were scrubbed "
                         "after writing. Fix: redact them at the source (asbuilt.secrets_guard.redact_verdicts)",
                         verdict.evidence)
    return verdict
