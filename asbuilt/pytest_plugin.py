"""The pytest plugin behind `asbuilt run`: options, fixtures for steps, verdict recording.

Scenarios (features/) carry their control IDs as tags (@HA_01); pytest-bdd turns tags into
markers. Steps call a rule and hand its Verdict to the ``verdict`` fixture. When a scenario
dies before a verdict (a probe could not read, a step is missing), every control it is tagged
with gets an ``error`` verdict with the reason, so nothing silently passes.

Parallel runs (`asbuilt run -n auto`, pytest-xdist): every worker has its own session, context
and AWS probe. A worker attaches each scenario's verdicts to the scenario's teardown report
(``user_properties``), which xdist sends to the controller; the controller records them as if it
had run the scenario, and prints the progress line. What does not belong to one scenario (the
verdicts of deselected @mutating scenarios, the AWS call counts, the collection order) travels in
``workeroutput`` at the end of each worker's session. The controller writes the verdicts file in
collection order, so a parallel run gives the same results as a serial one.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
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
        self.deselected: list[tuple[str, Verdict]] = []  # (nodeid, verdict) of deselected @mutating scenarios
        self.order: list[str] = []  # node ids in collection order
        self.worker_calls: Counter[str] = Counter()  # AWS calls made by xdist workers (controller only)
        # AWS calls by the kind of scenario that made them (SUITE-01: writes only in @mutating ones)
        self.calls_by_kind: dict[str, Counter[str]] = {"read_only": Counter(), "mutating": Counter()}
        self.crashed: list[str] = []  # scenarios whose xdist worker died (controller only)
        self._aws = None
        self.aws_error: str | None = None
        self.started = time.monotonic()

    def aws(self):
        from asbuilt.probes.aws import AwsProbe

        if self.target.aws is None:
            pytest.skip("the target file has no aws section")
        if self._aws is None:
            self._aws = AwsProbe(self.target.aws, allowed_networks=self.target.allowed_networks)
        return self._aws

    @property
    def aws_calls(self) -> dict[str, int]:
        return dict(self._aws.recorder.calls) if self._aws else {}


_CTX_KEY = pytest.StashKey[RunContext]()
_CURRENT_ITEM: list[str] = []
_PROP = "asbuilt_verdicts"  # user_properties key carrying a scenario's verdicts from an xdist worker
_OUTPUT = "asbuilt"  # workeroutput key carrying a worker's deselected verdicts, AWS calls, order
_BDD = "asbuilt_bdd_scenario"  # user_properties key carrying pytest-bdd's scenario report (cucumber.json)


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """The xdist controller of a parallel run (it runs no scenario itself)."""
    return not is_worker(config) and config.pluginmanager.has_plugin("dsession")


def _verdict_json(v: Verdict) -> dict[str, Any]:
    return v.to_json()


def _verdict_from(d: dict[str, Any]) -> Verdict:
    return Verdict.from_json(d)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("asbuilt")
    g.addoption("--asbuilt-target", help="target file (set by `asbuilt run`)")
    g.addoption("--asbuilt-profile", help="profile name or file")
    g.addoption("--asbuilt-verdicts", help="where to write the recorded verdicts (JSON)")
    g.addoption("--asbuilt-allow-mutating", action="store_true", help="run @mutating scenarios")
    g.addoption("--asbuilt-deadline", type=float, default=None,
                help="time.time() after which no scenario starts (asbuilt run --timeout)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Past the run's deadline, a scenario does not start: its controls are `error`, not skipped."""
    deadline = item.config.getoption("--asbuilt-deadline", default=None)
    ctx = item.config.stash.get(_CTX_KEY, None)
    if deadline is None or ctx is None or time.time() < deadline:
        return
    for cid in item_controls(item, ctx.catalogue):
        _add(ctx, item, Verdict(cid, "error", "run deadline reached (asbuilt run --timeout): scenario not run"))
    pytest.skip("run deadline reached")


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
                v = Verdict(cid, "skipped", "scenario writes to the target (@mutating); "
                            "this run is read-only (use --allow-mutating)")
                ctx.verdicts.append(v)
                ctx.deselected.append((item.nodeid, v))
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    ctx = session.config.stash.get(_CTX_KEY, None)
    if ctx is not None:
        ctx.order = [item.nodeid for item in session.items]


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


@pytest.fixture(scope="session")
def live_estate(asbuilt_run: RunContext, aws):
    """The estate model read from the AWS API (asbuilt.readers.aws_api), built once per run."""
    from asbuilt.readers.aws_api import AwsApiReader

    if getattr(asbuilt_run, "_reader", None) is None:
        asbuilt_run._reader = AwsApiReader(aws)
    return asbuilt_run._reader


@pytest.fixture(scope="session")
def decide(asbuilt_run: RunContext) -> Callable[..., Verdict]:
    """decide("HA-01", estate) -> the control's verdict from its unit (asbuilt.controls): its
    evidence slice of the model, its thresholds, the three-way judgement: as the static check."""
    from asbuilt.controls import unit

    def run(control: str, evidence: Any, **context: Any) -> Verdict:
        """evidence: the live estate (the unit takes its slice), or the items themselves for a
        unit without a model slice yet (its step shaped them)."""
        u = unit(control)
        items = evidence if isinstance(evidence, list) else u.evidence(evidence, asbuilt_run)
        return u.decide(items, asbuilt_run.profile, "live", **context)

    return run


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
    if ctx is None:
        return report
    if report.failed and call.excinfo is not None:
        # The exception's own line, not pytest's long traceback: that prints call arguments (a
        # pre-signed URL, a DSN) into junit/cucumber files. SUITE-03 would catch it; better not write it.
        exc = call.excinfo.value
        report.longrepr = f"{type(exc).__name__}: {str(exc)[:2000]}"
    if is_worker(item.config) and report.when == "call":
        _send_bdd_context(report)
    if report.when == "teardown":
        if is_worker(item.config):  # hand the scenario's verdicts to the xdist controller
            vs = ctx.by_item.get(item.nodeid, [])
            report.user_properties.append((_PROP, json.dumps([_verdict_json(v) for v in vs], default=str)))
        return report
    if report.when not in ("setup", "call"):
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


def _send_bdd_context(report: pytest.TestReport) -> None:
    """pytest-bdd keeps a scenario's report beside the TestReport object (a WeakKeyDictionary), which
    does not travel from an xdist worker: carry it in user_properties for the controller's cucumber.json."""
    try:
        from pytest_bdd.reporting import test_report_context_registry
    except ImportError:  # another pytest-bdd layout: cucumber.json of parallel runs stays empty
        return
    context = test_report_context_registry.get(report)
    if context is not None:
        report.user_properties.append((_BDD, json.dumps({"scenario": context.scenario, "name": context.name},
                                                        default=str)))


def _receive_bdd_context(report: pytest.TestReport) -> None:
    for key, value in getattr(report, "user_properties", []) or []:
        if key != _BDD:
            continue
        try:
            from pytest_bdd.reporting import ReportContext, test_report_context_registry
        except ImportError:
            return
        data = json.loads(value)
        test_report_context_registry[report] = ReportContext(scenario=data["scenario"], name=data["name"])


def _add(ctx: RunContext, item: pytest.Item, v: Verdict) -> None:
    ctx.verdicts.append(v)
    ctx.by_item.setdefault(item.nodeid, []).append(v)


_MARK = {"pass": "PASS ", "fail": "FAIL ", "error": "ERROR", "skipped": "SKIP "}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A progress line per scenario: worst verdict, its controls, the scenario name.

    On the xdist controller, first take what the worker sent with the report (tryfirst: before
    pytest-bdd's cucumber.json writer reads the scenario report)."""
    ctx = _ctx_from_report()
    if ctx is None or not _CONFIG or is_worker(_CONFIG[0]):
        return
    if report.when == "call" and is_controller(_CONFIG[0]):
        _receive_bdd_context(report)
    if report.when == "???" and is_controller(_CONFIG[0]):  # xdist: the worker running it crashed
        ctx.crashed.append(report.nodeid)
        return
    if report.when != "teardown":
        return
    if is_controller(_CONFIG[0]):  # a scenario a worker ran: record its verdicts here
        for key, value in getattr(report, "user_properties", []) or []:
            if key == _PROP and report.nodeid not in ctx.by_item:
                vs = [_verdict_from(d) for d in json.loads(value)]
                ctx.by_item[report.nodeid] = vs
                ctx.verdicts.extend(vs)
    vs = ctx.by_item.get(report.nodeid, [])
    if not vs:
        return
    order = {"fail": 3, "error": 2, "pass": 1, "skipped": 0}
    worst = max(vs, key=lambda v: order[v.status]).status
    ids = ",".join(sorted({v.control for v in vs}))
    name = report.nodeid.split("::")[-1].removeprefix("test_").replace("_", " ")
    # sys.__stdout__ (through the console scan): the progress line must reach the user even while
    # pytest captures output.
    from asbuilt.secrets_guard import console_stdout

    print(f"  {_MARK[worst]} {ids:<22} {name[:80]}", file=console_stdout(), flush=True)


_CONFIG: list[pytest.Config] = []


def _ctx_from_report() -> RunContext | None:
    return _CONFIG[0].stash.get(_CTX_KEY, None) if _CONFIG else None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG[:] = [session.config]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: a worker finished; take what it sent at the end of its session."""
    if not _CONFIG:
        return
    ctx = _CONFIG[0].stash.get(_CTX_KEY, None)
    raw = (getattr(node, "workeroutput", None) or {}).get(_OUTPUT)
    if ctx is None or not raw:
        return
    data = json.loads(raw)
    ctx.worker_calls.update(data.get("aws_calls", {}))
    for kind, calls in data.get("calls_by_kind", {}).items():
        ctx.calls_by_kind[kind].update(calls)
    if not ctx.order:  # every worker collects the same scenarios in the same order
        ctx.order = list(data.get("order", []))
    if not ctx.deselected:
        ctx.deselected = [(nodeid, _verdict_from(v)) for nodeid, v in data.get("deselected", [])]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Attribute the AWS calls of each scenario to its kind, read-only or @mutating (SUITE-01)."""
    ctx = item.config.stash.get(_CTX_KEY, None)
    before = _all_calls(ctx) if ctx is not None else None
    try:
        return (yield)
    finally:
        if ctx is not None and before is not None:
            kind = "mutating" if item.get_closest_marker("mutating") else "read_only"
            ctx.calls_by_kind[kind].update(_all_calls(ctx) - before)


def _all_calls(ctx: RunContext) -> Counter[str]:
    """AWS operations ("service:Operation") and Kubernetes requests ("k8s:verb:resource") so far."""
    calls = Counter(ctx.aws_calls)
    import sys as _sys

    k8s = _sys.modules.get("asbuilt.probes.k8s")
    if k8s is not None:
        calls.update(k8s.K8S_CALLS)
    return calls


def ordered_verdicts(ctx: RunContext) -> list[Verdict]:
    """Deselected scenarios first, then each scenario's verdicts in collection order (serial or not)."""
    out = [v for _, v in ctx.deselected]
    seen = set()
    for nodeid in [*ctx.order, *ctx.by_item]:
        if nodeid in seen:
            continue
        seen.add(nodeid)
        out.extend(ctx.by_item.get(nodeid, []))
    accounted = {id(v) for v in out}
    out += [v for v in ctx.verdicts if id(v) not in accounted]  # recorded outside any scenario
    return out


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ctx = session.config.stash.get(_CTX_KEY, None)
    out = session.config.getoption("--asbuilt-verdicts", default=None)
    if ctx is None or not out:
        return
    if is_worker(session.config):  # the controller writes the file; send it what it cannot get otherwise
        session.config.workeroutput[_OUTPUT] = json.dumps({
            "deselected": [(nodeid, _verdict_json(v)) for nodeid, v in ctx.deselected],
            "aws_calls": ctx.aws_calls,
            "calls_by_kind": {k: dict(v) for k, v in ctx.calls_by_kind.items()},
            "order": ctx.order,
        }, default=str)
        return
    calls = Counter(ctx.aws_calls)
    calls.update(ctx.worker_calls)
    doc = {
        "verdicts": [_verdict_json(v) for v in ordered_verdicts(ctx)],
        "aws_calls": dict(calls),
        "calls_by_kind": {k: dict(v) for k, v in ctx.calls_by_kind.items()},
        "crashed": ctx.crashed,
    }
    Path(out).write_text(json.dumps(doc, default=str))
