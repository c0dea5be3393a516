"""INST-*: the two-pass installer: its log, idempotency, convergence, state that survives restarts.
One unit per control (see asbuilt.controls). Each takes one item per installer run, holding the
model objects of asbuilt.model.platform (the platform state before and after, the installer
log) and the run's facts; the rules are asbuilt.rules.installer's."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.model.platform import InstallerLog, PlatformState
from asbuilt.rules import Verdict, errored
from asbuilt.rules import installer


def _tables(state) -> dict:
    return state.tables if isinstance(state, PlatformState) else state


def _one(control: str, items: list[dict], what: str) -> dict | Verdict:
    if not items:
        return errored(control, f"no {what} found on the target to check")
    return items[0]


def installer_log(items: list[dict]) -> Verdict:
    """items: [{"resource": the Job, "job": its facts, "log": InstallerLog or None, "bundle_paths": [...]}]"""
    item = _one("INST-01", items, "installer Job")
    if isinstance(item, Verdict):
        return item
    log = item.get("log")
    return installer.installer_job_log(item["job"], log.as_evidence() if isinstance(log, InstallerLog) else log,
                                       item.get("bundle_paths"))


def idempotent(items: list[dict]) -> Verdict:
    """items: [{"resource", "before": PlatformState, "after": PlatformState, "run": installer run facts}]"""
    item = _one("INST-02", items, "installer run")
    if isinstance(item, Verdict):
        return item
    return installer.idempotent(_tables(item["before"]), _tables(item["after"]), item["run"])


def converges(items: list[dict]) -> Verdict:
    """items: [{"resource", "before", "after", "run", "modified": {"table", "name", "sha256"}, "new": {...}}]"""
    item = _one("INST-03", items, "installer run")
    if isinstance(item, Verdict):
        return item
    return installer.converges(_tables(item["before"]), _tables(item["after"]), item["run"], item["modified"],
                               item["new"])


def state_survives(items: list[dict]) -> Verdict:
    """items: [{"resource", "before": PlatformState, "after": PlatformState, "restarts": [...]}]"""
    item = _one("INST-04", items, "platform restart")
    if isinstance(item, Verdict):
        return item
    return installer.state_survives(_tables(item["before"]), _tables(item["after"]), item["restarts"])


INST_01 = Unit("INST-01", installer_log)
INST_02 = Unit("INST-02", idempotent)
INST_03 = Unit("INST-03", converges)
INST_04 = Unit("INST-04", state_survives)
