"""The pytest plugin behind `asbuilt run`: options, fixtures for steps, verdict recording.

Scenarios (features/) carry their control IDs as tags (@HA_01); pytest-bdd turns tags into
markers. Steps call a rule and hand its Verdict to the ``verdict`` fixture. When a scenario
dies before a verdict (a probe could not read, a step is missing), every control it is tagged
with gets an ``error`` verdict with the reason, so nothing silently passes.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from asbuilt.catalogue import Catalogue, Profile, load_catalogue, load_profile
from asbuilt.probes import ProbeError
from asbuilt.rules import Verdict
from asbuilt.target import Target, load_target


class VerdictFailed(AssertionError):
    """Raised after a failing verdict is recorded, so the scenario shows as failed in JUnit/Cucumber."""


class RunContext:
    """Everything a run shares: target, profile, recorded verdicts, probes (created lazily)."""

    def __init__(self, target: Target, profile: Profile, catalogue: Catalogue, allow_mutating: bool):
        self.target = target
        self.profile = profile
        self.catalogue = catalogue
        self.allow_mutating = allow_mutating
        self.verdicts: list[Verdict] = []
        self.by_item: dict[str, list[Verdict]] = {}
        self._aws = None
        self.aws_error: str | None = None
        self.started = time.monotonic()

    def aws(self):
        from asbuilt.probes.aws import AwsProbe

        if self.target.aws is None:
            pytest.skip("the target file has no aws section")
        if self._aws is None:
            self._aws = AwsProbe(self.target.aws)
        return self._aws

    @property
    def aws_calls(self) -> dict[str, int]:
        return dict(self._aws.recorder.calls) if self._aws else {}


_CTX_KEY = pytest.StashKey[RunContext]()
_CURRENT_ITEM: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("asbuilt")
    g.addoption("--asbuilt-target", help="target file (set by `asbuilt run`)")
    g.addoption("--asbuilt-profile", help="profile name or file")
    g.addoption("--asbuilt-verdicts", help="where to write the recorded verdicts (JSON)")
    g.addoption("--asbuilt-allow-mutating", action="store_true", help="run @mutating scenarios")


def pytest_configure(config: pytest.Config) -> None:
    catalogue = load_catalogue()
    # Register every control ID and profile as a marker so tags are known (and -m can select).
    for control in catalogue.controls:
        config.addinivalue_line("markers", f"{control.marker}: {control.id} {control.title}")
    for name in ("conncentric_aws", "conduktor_k8s", "composex_ecs"):
        config.addinivalue_line("markers", f"{name}: scenarios of the profile")
    config.addinivalue_line("markers", "mutating: the scenario writes to the target (dedicated prefix, cleaned up)")
    target_path = config.getoption("--asbuilt-target", default=None)
    if target_path:
        target = load_target(target_path)
        profile = load_profile(config.getoption("--asbuilt-profile") or target.profile or "conncentric-aws")
        allow = bool(config.getoption("--asbuilt-allow-mutating")) or getattr(target, "allow_mutating", False)
        config.stash[_CTX_KEY] = RunContext(target, profile, catalogue, allow)


def item_controls(item: pytest.Item, catalogue: Catalogue) -> list[str]:
    return sorted({catalogue.by_marker[m.name].id for m in item.iter_markers() if m.name in catalogue.by_marker})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ctx = config.stash.get(_CTX_KEY, None)
    if ctx is None:
        return
    keep, drop = [], []
    for item in items:
        if item.get_closest_marker("mutating") and not ctx.allow_mutating:
            # Read-only run: the controls of this scenario are reported skipped, with the reason.
            for cid in item_controls(item, ctx.catalogue):
                ctx.verdicts.append(Verdict(cid, "skipped", "scenario writes to the target (@mutating); "
                                            "this run is read-only (use --allow-mutating)"))
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def asbuilt_run(request: pytest.FixtureRequest) -> RunContext:
    ctx = request.config.stash.get(_CTX_KEY, None)
    if ctx is None:
        pytest.skip("not an asbuilt run (no --asbuilt-target)")
    return ctx


@pytest.fixture(scope="session")
def target(asbuilt_run: RunContext) -> Target:
    return asbuilt_run.target


@pytest.fixture(scope="session")
def aws(asbuilt_run: RunContext):
    return asbuilt_run.aws()


@pytest.fixture(scope="session")
def params(asbuilt_run: RunContext) -> Callable[[str], dict[str, Any]]:
    """params("HA-03") -> the profile's thresholds for that control."""
    return asbuilt_run.profile.params


@pytest.fixture
def verdict(asbuilt_run: RunContext, request: pytest.FixtureRequest) -> Callable[[Verdict], Verdict]:
    """Record a rule's verdict; a failing one also fails the scenario."""
    nodeid = request.node.nodeid

    def record(v: Verdict) -> Verdict:
        v.source = "live"
        asbuilt_run.verdicts.append(v)
        asbuilt_run.by_item.setdefault(nodeid, []).append(v)
        if v.status == "fail":
            raise VerdictFailed(f"{v.control}: {v.message}")
        if v.status == "error":
            raise ProbeError(f"{v.control}: {v.message}")
        return v

    return record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    ctx = item.config.stash.get(_CTX_KEY, None)
    if ctx is None or report.when not in ("setup", "call"):
        return report
    controls = item_controls(item, ctx.catalogue)
    recorded = {v.control for v in ctx.by_item.get(item.nodeid, [])}
    missing = [c for c in controls if c not in recorded]
    if not missing:
        return report
    if report.skipped and call.excinfo is not None:
        reason = str(call.excinfo.value.msg if hasattr(call.excinfo.value, "msg") else call.excinfo.value)
        for cid in missing:
            _add(ctx, item, Verdict(cid, "skipped", reason))
    elif report.failed and call.excinfo is not None:
        exc = call.excinfo.value
        if isinstance(exc, ProbeError):
            reason = str(exc)
        elif isinstance(exc, VerdictFailed):
            reason = f"scenario stopped after another control failed: {exc}"
        else:
            reason = f"step error ({type(exc).__name__}): {str(exc).splitlines()[0] if str(exc) else ''}"[:400]
        for cid in missing:
            _add(ctx, item, Verdict(cid, "error", reason))
    elif report.when == "call" and report.passed:
        # A scenario that passed without recording a verdict for a control it is tagged with
        # proved nothing about that control: an error, never a pass.
        for cid in missing:
            _add(ctx, item, Verdict(cid, "error", "scenario recorded no verdict for this control (suite defect)"))
    return report


def _add(ctx: RunContext, item: pytest.Item, v: Verdict) -> None:
    ctx.verdicts.append(v)
    ctx.by_item.setdefault(item.nodeid, []).append(v)


_MARK = {"pass": "PASS ", "fail": "FAIL ", "error": "ERROR", "skipped": "SKIP "}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A progress line per scenario: worst verdict, its controls, the scenario name."""
    if report.when != "teardown":
        return
    ctx = _ctx_from_report()
    if ctx is None:
        return
    vs = ctx.by_item.get(report.nodeid, [])
    if not vs:
        return
    order = {"fail": 3, "error": 2, "pass": 1, "skipped": 0}
    worst = max(vs, key=lambda v: order[v.status]).status
    ids = ",".join(sorted({v.control for v in vs}))
    name = report.nodeid.split("::")[-1].removeprefix("test_").replace("_", " ")
    # sys.__stdout__: the progress line must reach the user even while pytest captures output.
    print(f"  {_MARK[worst]} {ids:<22} {name[:80]}", file=sys.__stdout__, flush=True)


_CONFIG: list[pytest.Config] = []


def _ctx_from_report() -> RunContext | None:
    return _CONFIG[0].stash.get(_CTX_KEY, None) if _CONFIG else None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG[:] = [session.config]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ctx = session.config.stash.get(_CTX_KEY, None)
    out = session.config.getoption("--asbuilt-verdicts", default=None)
    if ctx is None or not out:
        return
    doc = {
        "verdicts": [
            {"control": v.control, "status": v.status, "message": v.message, "evidence": v.evidence, "source": v.source}
            for v in ctx.verdicts
        ],
        "aws_calls": ctx.aws_calls,
    }
    Path(out).write_text(json.dumps(doc, default=str))
