"""SUITE-*: the suite's own safety, decided on every run from what the run did (asbuilt.pipeline).
One unit per control (see asbuilt.controls). Their evidence is the run's own record, not the
estate: one item per run. The pipeline decides them through asbuilt.suite_controls, whose
functions these units' rules are."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import Verdict, errored
from asbuilt import suite_controls


def _read_only(items: list[dict]) -> Verdict:
    """SUITE-01. items: [{"resource": "the run", "calls": {op: {"read_only": n, "mutating": n}}, "k8s_writes": []}]"""
    if not items:
        return errored("SUITE-01", "no record of the run's calls to check")
    return suite_controls.read_only(items[0].get("calls") or {}, items[0].get("k8s_writes"))


def _policy(items: list[dict]) -> Verdict:
    """SUITE-02. items: [{"resource": "the run", "read_only_ops": [...], "mutating_ops": [...]}]"""
    if not items:
        return errored("SUITE-02", "no record of the run's calls to check")
    return suite_controls.policy_coverage(list(items[0].get("read_only_ops") or []),
                                          list(items[0].get("mutating_ops") or []))


def _secrets(items: list[dict]) -> Verdict:
    """SUITE-03. items: [{"resource": "report-dir", "findings": [...], "files": n, "redactions": n,
    "console": [...] or None, "secret_values": n}]"""
    if not items:
        return errored("SUITE-03", "no written report to check")
    i = items[0]
    return suite_controls.secrets(i.get("findings") or [], int(i.get("files") or 0), int(i.get("redactions") or 0),
                                  i.get("console"), i.get("secret_values"))


SUITE_01 = Unit("SUITE-01", _read_only)
SUITE_02 = Unit("SUITE-02", _policy)
SUITE_03 = Unit("SUITE-03", _secrets)
