"""What a file in checks/ declares, and how checkov runs it.

Each file in ``checks/`` declares one control with ``control_check(...)``: the resource types it
anchors on per framework (Terraform, CloudFormation, Kubernetes kinds; or a file kind checkov has
no runner for: values, gradle, git, bundle, compose), the *facts* function that reads the
control's evidence out of a stack's whole-set model (``asbuilt.static.estate``), and the *rule*
adapter that calls the shared rule in ``asbuilt.rules`` with the profile's thresholds.

For each framework ``control_check`` instantiates a checkov custom check (``BaseResourceCheck``
for Terraform and CloudFormation, ``BaseK8Check`` for Kubernetes) with id ``ASB_<control>``
(e.g. ``ASB_VER_01``) and the control ID in its name. When checkov calls the check on a
resource, the check finds that resource in the scan's model (``ScanContext``, built before the
checks run), takes the facts anchored on it, calls the rule and answers PASSED / FAILED with the
rule's message; the facts and verdict are recorded so ``asbuilt.static.engine`` can judge each
control once per stack over every anchor (the message then names every failing resource).

Run by plain checkov (``checkov --external-checks-dir checks/...``, as the benchmark does), there
is no scan context: the check models the one resource it is given and judges it alone, so
cross-resource facts are unknown there. That is the point of running them through asbuilt.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from asbuilt.catalogue import Profile
from asbuilt.judge import PARTIAL_DEFAULT, judge, plain
from asbuilt.rules import Verdict

FILE_KINDS = ("values", "gradle", "git", "bundle", "compose", "composex")


def check_id(control: str) -> str:
    return "ASB_" + control.replace("-", "_")


def control_of(check_id_: str) -> str | None:
    if not check_id_.startswith("ASB_"):
        return None
    rest = check_id_[4:]
    head, _, tail = rest.rpartition("_")
    return f"{head.replace('_', '-')}-{tail}" if head else None


@dataclass
class Definition:
    control: str
    title: str
    rule: Callable[[list[dict], dict, Profile], Verdict] | None  # legacy form; a unit decides where given
    scope: str = "resource"  # resource: each anchor judged on its own items; stack: on the stack's items
    required: tuple[str, ...] = ()  # stack flavours where finding no item at all is judged (rule([]))
    aws: Callable | None = None          # facts(estate, ctx) for terraform + cloudformation stacks
    terraform: tuple[str, ...] = ()
    cloudformation: tuple[str, ...] = ()
    k8s: Callable | None = None          # facts(k8s_stack, ctx)
    kubernetes: tuple[str, ...] = ()
    files: dict[str, Callable] = field(default_factory=dict)  # kind -> facts(file_stack, ctx)
    source: str = ""
    partial: tuple[str, ...] = PARTIAL_DEFAULT  # item fields the rule judges with some elements unknown
    unit: Any = None  # the control's unit (asbuilt.controls): its rule, threshold binding and judgement
    context: Callable[[list[dict]], dict] | None = None  # rule arguments the stack's items give

    def judge(self, items: list[dict], profile: Profile) -> Verdict:
        """Three-way: items with unknown facts are named, never judged on their text (asbuilt.judge)."""
        if self.unit is not None:
            clean = [_clean(i) for i in items]
            return self.unit.decide(clean, profile, "static", **(self.context(clean) if self.context else {}))
        params = profile.params(self.control)
        verdict = judge(self.control, lambda known: self.rule([_clean(i) for i in known], params, profile),
                        [_clean(i) for i in items], self.partial)
        verdict.source = "static"
        verdict.evidence = plain(verdict.evidence)
        return verdict

    def facts_fn(self, flavour: str) -> Callable | None:
        if flavour in ("terraform", "cloudformation"):
            return self.aws
        if flavour in ("helm", "kubernetes"):
            return self.k8s
        return self.files.get(flavour)

    def applies_to(self, flavour: str) -> bool:
        return self.facts_fn(flavour) is not None


def _clean(item: dict) -> dict:
    return {k: v for k, v in item.items() if not k.startswith("_")}


DEFINITIONS: dict[str, Definition] = {}
_CHECKOV_CHECKS: dict[tuple[str, str], Any] = {}
_LOCK = threading.RLock()


def control_check(control: Any, title: str | None = None, *, rule: Callable | None = None, scope: str = "resource",
                  required: tuple[str, ...] = (), aws: Callable | None = None, terraform: tuple | list = (),
                  cloudformation: tuple | list = (), k8s: Callable | None = None, kubernetes: tuple | list = (),
                  files: dict[str, Callable] | None = None, context: Callable | None = None) -> Definition:
    """Declare the static check of one control (called once per file in checks/).

    ``control`` is the control's unit (asbuilt.controls): the check only says where the control
    anchors (resource types, kinds, file kinds) and which evidence it reads there; the unit's
    rule, thresholds and three-way judgement decide, as they do for the live step. The title
    comes from the catalogue. (A control ID with a ``rule`` is the older form.)"""
    unit = None
    if not isinstance(control, str):
        unit, control = control, control.id
        aws = aws if aws is not None else unit.evidence
    if title is None:
        from asbuilt.catalogue import load_catalogue

        title = load_catalogue().get(control).title
    defn = Definition(control, title, rule, scope, tuple(required), aws, tuple(terraform), tuple(cloudformation),
                      k8s, tuple(kubernetes), dict(files or {}), unit=unit, context=context,
                      partial=unit.partial if unit is not None else PARTIAL_DEFAULT)
    with _LOCK:
        DEFINITIONS[control] = defn
        if not _DEFER:  # loaded by checkov itself (--external-checks-dir): register at once
            for framework in FRAMEWORKS:
                register_framework(framework, [defn])
    return defn


FRAMEWORKS = ("terraform", "cloudformation", "kubernetes")
_DEFER = False  # asbuilt registers a framework's checkov checks only when a scan runs that framework


def register_framework(framework: str, definitions: list[Definition] | None = None) -> None:
    """Create (once) the checkov checks of framework for the given (default: all) definitions."""
    with _LOCK:
        for defn in definitions if definitions is not None else list(DEFINITIONS.values()):
            if getattr(defn, framework):
                _register(framework, defn)


def _register(framework: str, defn: Definition) -> None:
    """One checkov check per (control, framework) per process, however often the file is executed."""
    key = (defn.control, framework)
    existing = _CHECKOV_CHECKS.get(key)
    if existing is not None:
        existing.definition = defn  # a re-executed file (checkov loads external dirs per framework)
        return
    _CHECKOV_CHECKS[key] = _make_check(framework, defn)


def _make_check(framework: str, defn: Definition):
    from checkov.common.models.enums import CheckCategories

    name = f"{defn.control}: {defn.title}"
    cid = check_id(defn.control)
    if framework == "terraform":
        from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck as Tf

        class TerraformCheck(Tf):
            def __init__(self) -> None:
                self.definition = defn
                super().__init__(name=name, id=cid, categories=[CheckCategories.CONVENTION],
                                 supported_resources=list(defn.terraform))

            def scan_resource_conf(self, conf: dict) -> Any:
                return evaluate(self, "terraform", conf)

        return TerraformCheck()
    if framework == "cloudformation":
        from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck as Cfn

        class CloudFormationCheck(Cfn):
            def __init__(self) -> None:
                self.definition = defn
                super().__init__(name=name, id=cid, categories=[CheckCategories.CONVENTION],
                                 supported_resources=list(defn.cloudformation))

            def scan_resource_conf(self, conf: dict) -> Any:
                return evaluate(self, "cloudformation", conf)

        return CloudFormationCheck()
    from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

    class KubernetesCheck(BaseK8Check):
        def __init__(self) -> None:
            self.definition = defn
            super().__init__(name=name, id=cid, categories=[CheckCategories.CONVENTION],
                             supported_entities=list(defn.kubernetes))

        def scan_spec_conf(self, conf: dict) -> Any:
            return evaluate(self, "kubernetes", conf)

    return KubernetesCheck()


# --------------------------------------------------------------------------- the scan context


@dataclass
class AnchorResult:
    anchor: str
    resource: str
    file: str
    line: int
    items: list[dict]
    verdict: Verdict


class ScanContext:
    """Everything one `asbuilt static` scan knows: its stacks (models), results and errors."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self.stacks: list[Any] = []      # Estate | K8sStack | file stacks, in scan order
        self._conf: dict[int, tuple[Any, Any]] = {}
        self._not_created: set[int] = set()  # configurations of resources a stack does not create
        self.cfn_parameters: dict[str, Any] = {}  # CloudFormation parameter values given for the deploy
        self._facts: dict[tuple[str, int], list[dict]] = {}
        self.records: dict[str, dict[int, dict[str, AnchorResult]]] = {}
        self.errors: dict[str, list[str]] = {}
        self.notes: list[str] = []

    # stacks ------------------------------------------------------------------
    def add_stack(self, stack: Any) -> None:
        self.stacks.append(stack)
        for conf_id, node in getattr(stack, "by_conf", {}).items():
            self._conf[conf_id] = (stack, node)
        self._not_created.update(getattr(stack, "not_created", ()) or ())

    def lookup(self, conf: dict) -> tuple[Any, Any] | None:
        return self._conf.get(id(conf))

    def aws_estates(self) -> list[Any]:
        return [s for s in self.stacks if getattr(s, "flavour", "") in ("terraform", "cloudformation")]

    # facts and results -------------------------------------------------------
    def facts(self, defn: Definition, stack: Any) -> list[dict]:
        key = (defn.control, id(stack))
        if key not in self._facts:
            fn = defn.facts_fn(stack.flavour)
            self._facts[key] = list(fn(stack, self)) if fn else []
        return self._facts[key]

    def record(self, defn: Definition, stack: Any, result: AnchorResult) -> None:
        with _LOCK:
            self.records.setdefault(defn.control, {}).setdefault(id(stack), {})[result.anchor] = result

    def error(self, control: str, message: str) -> None:
        with _LOCK:
            self.errors.setdefault(control, []).append(message)


_CURRENT: ScanContext | None = None


def current() -> ScanContext | None:
    return _CURRENT


def set_current(ctx: ScanContext | None) -> None:
    global _CURRENT
    _CURRENT = ctx


def judge_anchor(defn: Definition, ctx: ScanContext, stack: Any, anchor: str, resource: str, file: str,
                 line: int) -> AnchorResult | None:
    """Judge one anchor (a resource checkov handed to a check, or a file) and record the result."""
    items = ctx.facts(defn, stack)
    mine = [i for i in items if i.get("_anchor") == anchor]
    if not mine:
        return None
    if defn.scope == "stack":
        verdict = defn.judge(items, ctx.profile)
        failing = set(verdict.resources())
        if verdict.status == "fail" and failing and resource not in failing \
                and not any(i.get("resource") in failing for i in mine):
            # the stack fails, but not because of this anchor
            verdict = Verdict(defn.control, "pass", f"{resource}: not among the failing resources", [], "static")
    else:
        verdict = defn.judge(mine, ctx.profile)
    result = AnchorResult(anchor, resource, file, line, mine, verdict)
    ctx.record(defn, stack, result)
    return result


def evaluate(check: Any, framework: str, conf: dict) -> Any:
    """The body of every asbuilt checkov check (see the module docstring)."""
    from checkov.common.models.enums import CheckResult

    defn: Definition = check.definition
    ctx = current()
    if ctx is None:
        ctx = _standalone(framework, conf, getattr(check, "entity_type", ""))
        if ctx is None:
            return CheckResult.UNKNOWN
    found = ctx.lookup(conf)
    if found is None:
        if id(conf) in ctx._not_created:  # a resource its stack does not create (Condition false)
            return CheckResult.UNKNOWN
        if current() is not None:
            ctx.error(defn.control, f"checkov handed {check.entity_path} to {check.id}, but asbuilt did not model it")
        return CheckResult.UNKNOWN
    stack, node = found
    try:
        res = judge_anchor(defn, ctx, stack, node.key, node.resource, node.loc.file, node.loc.line)
    except Exception as exc:  # a defect or an input the model did not expect: never a pass
        ctx.error(defn.control, f"{node.resource}: {defn.control} could not be evaluated: "
                                f"{type(exc).__name__}: {exc}")
        return CheckResult.UNKNOWN
    if res is None:
        return CheckResult.UNKNOWN
    check.details.append(res.verdict.message[:2000])
    if res.verdict.status == "pass":
        return CheckResult.PASSED
    if res.verdict.status == "fail":
        return CheckResult.FAILED
    return CheckResult.UNKNOWN  # could not decide (unknown facts): neither a pass nor a failure


def _standalone(framework: str, conf: dict, entity_type: str) -> ScanContext | None:
    """A context holding only this resource (plain checkov, no asbuilt scan around it)."""
    try:
        if framework == "terraform":
            from asbuilt.static.terraform import estate_of_one
            stack = estate_of_one(conf, entity_type)
        elif framework == "cloudformation":
            from asbuilt.static.cloudformation import estate_of_one
            stack = estate_of_one(conf, entity_type)
        else:
            from asbuilt.static.kubernetes import stack_of_one
            stack = stack_of_one(conf)
    except Exception:
        return None
    ctx = ScanContext(_default_profile())
    ctx.add_stack(stack)
    return ctx


@lru_cache(maxsize=1)
def _default_profile() -> Profile:
    from asbuilt.catalogue import load_profile

    return load_profile("conncentric-aws")


# --------------------------------------------------------------------------- checks from the units


_LOADED = False


def static_units() -> dict:
    """The control units (asbuilt.controls) that have a static side (anchors), by control ID."""
    from asbuilt.controls import all_units

    return {cid: u for cid, u in all_units().items() if u.static}


def declared_controls(directory: Path | None = None) -> set[str]:
    """Control IDs with a static check (no checkov import)."""
    return set(static_units())


def definition_of(unit: Any) -> Definition:
    """The static check of one unit: its anchors and evidence, judged by the unit."""
    return control_check(unit, terraform=unit.terraform, cloudformation=unit.cloudformation, aws=unit.evidence,
                         kubernetes=unit.kubernetes, k8s=unit.k8s, files=unit.files, scope=unit.scope,
                         required=unit.required, context=unit.context)


def load_checks(directory: Path | None = None) -> dict[str, Definition]:
    """Every static check, from the control units (once per process). asbuilt registers a
    framework's checkov checks only when a scan runs that framework; plain checkov loads
    checks/<framework>/ which registers them at once (``register_for_checkov``)."""
    global _LOADED, _DEFER
    with _LOCK:
        if _LOADED:
            return DEFINITIONS
        _DEFER = True
        try:
            for unit in static_units().values():
                definition_of(unit)
        finally:
            _DEFER = False
        _LOADED = True
        return DEFINITIONS


def register_for_checkov(framework: str) -> None:
    """Called by checks/<framework>/ when checkov itself loads asbuilt's checks
    (``checkov --external-checks-dir checks/aws``): one checkov check per control and framework."""
    load_checks()
    register_framework(framework)
