"""INST-01..04: the two-pass installer's behaviour (the seed's chapter 4), from plain evidence.

Snapshots are ``asbuilt.probes.platform_state.snapshot`` results: {table: [row]} with each row's
id, name, sha256, content_sha256, version, created_at, updated_at, xmin. No rule sees content.
"""

from __future__ import annotations

from asbuilt.rules import Finding, Verdict, errored, failed, passed, summarise

SEED_LINES = (
    "Pass 1: Applying Conncentric Essentials...",
    "Pass 1: Complete.",
    "Pass 2: Downloading Custom Bundle from ",
    "Pass 2: Applying Custom Bundle...",
    "Pass 2: Complete.",
    "Installer finished successfully.",
)
STATE_TABLES = ("adapter_configurations", "pipeline_definitions")


def _diff(before: dict, after: dict, skip: set[tuple[str, str]] = frozenset()) -> list[str]:
    from asbuilt.probes.platform_state import FIELDS

    lines = []
    for table in sorted(set(before) | set(after)):
        b = {r["name"]: r for r in before.get(table, [])}
        a = {r["name"]: r for r in after.get(table, [])}
        for name in sorted(set(b) | set(a)):
            if (table, name) in skip:
                continue
            if name not in a:
                lines.append(f"{table}/{name}: removed")
            elif name not in b:
                lines.append(f"{table}/{name}: added (version {a[name].get('version')})")
            else:
                changes = [k for k in FIELDS if b[name].get(k) != a[name].get(k)]
                if changes:
                    detail = ", ".join(
                        f"{k} {b[name].get(k)} -> {a[name].get(k)}" if k in ("version", "updated_at") else k
                        for k in changes)
                    lines.append(f"{table}/{name}: {detail}")
    return lines


def _count(snap: dict) -> int:
    return sum(len(rows) for rows in snap.values())


def _row(snap: dict, table: str, name: str) -> dict | None:
    return next((r for r in snap.get(table, []) if r["name"] == name), None)


def log_lines_in_order(lines: list[str]) -> tuple[int, list[int]]:
    """How many of the seed's lines appear in order, and at which log line numbers (1-based)."""
    i = 0
    at: list[int] = []
    for n, line in enumerate(lines, start=1):
        if i < len(SEED_LINES) and line.strip().startswith(SEED_LINES[i]):
            at.append(n)
            i += 1
    return i, at


def installer_job_log(job: dict, log: dict | None, bundle_paths: list[str] | None = None) -> Verdict:
    """INST-01. job: {"resource", "outcome": "complete"|"failed"|None, "state"}; log: {"resource", "source",
    "lines"}; bundle_paths: the URL paths of the release's bundles (each must have its download line)."""
    if job.get("missing"):
        return failed("INST-01", f"{job['resource']}: no installer Job for the current revision. Fix: check the "
                                 "release's hooks (helm get hooks) and re-run helm upgrade", [job])
    if job.get("outcome") == "failed":
        return failed("INST-01", f"{job['resource']}: the installer Job failed ({job.get('state')}). Fix: read its "
                                 "log (kubectl logs job/<name> -n <namespace>) and fix the first failing step", [job])
    if job.get("outcome") != "complete":
        return errored("INST-01", f"{job['resource']}: not complete ({job.get('state')})", [job])
    if log is None:
        return errored("INST-01", f"{job['resource']}: completed, but no log to read", [job])
    lines = log.get("lines") or []
    seen, at = log_lines_in_order(lines)
    evidence = [job, {"resource": log["resource"], "source": log.get("source"), "lines": lines[-40:],
                      "seed_lines_found_at": at}]
    findings = []
    if seen < len(SEED_LINES):
        missing = SEED_LINES[seen].strip()
        after = f" after line {at[-1]}" if at else ""
        findings.append(Finding(log['resource'], f"the log lacks {missing!r}{after} (the seed's lines must appear in "
                        f"order: Pass 1 complete, Pass 2 download + apply complete, Installer finished successfully)"))
    downloads = [line for line in lines if line.strip().startswith(SEED_LINES[2])]
    for path in bundle_paths or []:
        if path and not any(path in line for line in downloads):
            findings.append(Finding(log['resource'], f"no Pass 2 download of the release's bundle {path}"))
    return summarise("INST-01", findings,
                     f"{job['resource']} completed; {log['resource']} shows the seed's six lines in order "
                     f"(lines {', '.join(map(str, at))})", evidence,
                     "read the Job's log and fix the first failing or missing step (a 403 on download: IAM-01..03 "
                     "or an expired pre-signed URL; a rejected bundle: BNDL-01; a database error: NET-04), then "
                     "re-run the installer with the next helm upgrade")


def _run_problem(control: str, run: dict) -> Verdict | None:
    if run.get("outcome") != "complete":
        tail = " | ".join((run.get("lines") or [])[-3:])
        return failed(control, f"{run.get('resource')}: the installer run failed (exit {run.get('exit_code')}"
                               f"{'; ' + run['stderr'] if run.get('stderr') else ''}; log: {tail or 'empty'}). Fix: "
                               "read the installer log; a run with valid inputs must succeed", [run])
    return None


def idempotent(before: dict, after: dict, run: dict) -> Verdict:
    """INST-02: a re-run with the same inputs leaves every stored item as it was."""
    bad = _run_problem("INST-02", run)
    if bad:
        return bad
    if _count(before) == 0:
        return errored("INST-02", "the platform state is empty before the re-run: nothing to compare "
                                  "(has the installer ever run? see INST-01)", [run])
    changes = _diff(before, after)
    summary = {"resource": "platform state", "items_before": _count(before), "items_after": _count(after),
               "changes": changes[:50]}
    if changes:
        shown = "; ".join(changes[:8]) + (f"; and {len(changes) - 8} more" if len(changes) > 8 else "")
        return failed("INST-02", f"{run['resource']}: re-running the installer with the same inputs changed "
                                 f"{len(changes)} stored item(s): {shown}. Fix: this is an installer defect "
                                 "(unchanged items must not be rewritten); report it with this evidence and pin the "
                                 "last installer version that passed", [run, summary])
    return passed("INST-02", f"{run['resource']} completed in {run.get('seconds')}s and left all "
                             f"{_count(after)} stored items unchanged (ids, content hashes, versions, timestamps, "
                             "row versions)", [run, summary])


def converges(before: dict, after: dict, run: dict, modified: dict, new: dict) -> Verdict:
    """INST-03. modified / new: {"table", "name", "sha256"} of the item changed / added in the bundle."""
    bad = _run_problem("INST-03", run)
    if bad:
        return bad
    findings = []
    mb, ma = _row(before, modified["table"], modified["name"]), _row(after, modified["table"], modified["name"])
    where_m = f"{modified['table']}/{modified['name']}"
    if mb is None:
        return errored("INST-03", f"{where_m}: not in the platform state before the test run (the preparing run "
                                  "did not create it)", [run])
    if ma is None:
        findings.append(Finding(where_m, "the modified item disappeared"))
    else:
        if ma["id"] != mb["id"]:
            findings.append(Finding(where_m, f"updated by replacement (id {mb['id']} -> {ma['id']}), not in place"))
        if ma["sha256"] != modified["sha256"]:
            findings.append(Finding(where_m, f"not updated (stored sha256 {ma['sha256'][:12]}..., the bundle's "
                            f"{modified['sha256'][:12]}...)"))
        elif int(ma.get("version") or 0) <= int(mb.get("version") or 0) and \
                ma.get("updated_at") == mb.get("updated_at"):
            findings.append(Finding(where_m, "content changed but neither version nor updated_at moved"))
    na = _row(after, new["table"], new["name"])
    where_n = f"{new['table']}/{new['name']}"
    if _row(before, new["table"], new["name"]) is not None:
        return errored("INST-03", f"{where_n}: already present before the test run; it cannot show creation", [run])
    if na is None:
        findings.append(Finding(where_n, "the new item was not created"))
    elif na["sha256"] != new["sha256"]:
        findings.append(Finding(where_n, f"created with sha256 {na['sha256'][:12]}..., not the bundle's "
                        f"{new['sha256'][:12]}..."))
    others = _diff(before, after, skip={(modified["table"], modified["name"]), (new["table"], new["name"])})
    if others:
        shown = "; ".join(others[:6]) + (f"; and {len(others) - 6} more" if len(others) > 6 else "")
        findings.append(Finding("", f"{len(others)} other item(s) changed though their content did not: {shown}"))
    evidence = [run, {"resource": where_m, "before": mb, "after": ma}, {"resource": where_n, "after": na},
                {"resource": "other items", "changed": others[:50], "count": _count(after) - 2}]
    return summarise("INST-03", findings,
                     f"{where_m} updated in place (id {mb['id']}, version {mb.get('version')} -> "
                     f"{(ma or {}).get('version')}), {where_n} created, the other {_count(after) - 2} items untouched",
                     evidence,
                     "keep item identities stable between bundle versions (same manifest names); if they are "
                     "stable and the installer still duplicates, skips or rewrites items, report the installer "
                     "defect with this evidence and pin the last version that passed")


def state_survives(before: dict, after: dict, restarts: list[dict]) -> Verdict:
    """INST-04: the adapter configurations and pipeline definitions present before the Orchestrator/Adapter
    restart are still there (same id, same content) after it. restarts: [{"resource", "pods_before",
    "pods_after", "seconds", "simulated"}]."""
    tracked = {t: before.get(t, []) for t in STATE_TABLES}
    if not any(tracked.values()):
        return errored("INST-04", "no adapter configurations or pipeline definitions before the restart: nothing "
                                  "to show surviving (see INST-01)", restarts)
    not_replaced = [r["resource"] for r in restarts if set(r.get("pods_before") or []) &
                    set(r.get("pods_after") or [])]
    if not_replaced:
        return errored("INST-04", f"the restart did not replace the pods of {', '.join(not_replaced)}", restarts)
    findings = []
    for table, rows in tracked.items():
        a = {r["name"]: r for r in after.get(table, [])}
        for r in rows:
            now = a.get(r["name"])
            if now is None:
                findings.append(Finding(f"{table}/{r['name']}", "gone after the restart"))
            elif now["id"] != r["id"] or now["content_sha256"] != r["content_sha256"]:
                findings.append(Finding(f"{table}/{r['name']}", "changed by the restart (id or content)"))
    n = sum(len(v) for v in tracked.values())
    evidence = restarts + [{"resource": "platform state", "tracked_items": n,
                            "after": {t: len(after.get(t, [])) for t in STATE_TABLES}}]
    if findings:
        restarted = ", ".join(r["resource"] for r in restarts)
        for f in findings:
            f.what = f"{f.what} (after restarting {restarted})"
        shown = findings[:6] + ([Finding("", f"and {len(findings) - 6} more")] if len(findings) > 6 else [])
        return failed("INST-04", shown, evidence,
                      fix="point the Orchestrator and Adapter at the RDS database (datasource host, database, "
                          "a Secret for the credentials), keep no state in the pod (emptyDir, container "
                          "filesystem), and make sure nothing recreates the schema on start (e.g. "
                          "hibernate ddl-auto create)")
    return passed("INST-04", f"all {n} adapter configurations and pipeline definitions are unchanged in PostgreSQL "
                             f"after restarting {', '.join(r['resource'] for r in restarts)}", evidence)
