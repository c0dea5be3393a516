"""Control units: one per control ID, found from the ID in one guess.

``HA-01`` is ``asbuilt/controls/ha.py: HA_01``; ``S3-02`` is ``asbuilt/controls/s3.py: S3_02``;
``SUITE-03`` is ``asbuilt/controls/suite.py: SUITE_03``. A unit holds what makes the control:

* ``rule``: the pure function that judges the control's items (``asbuilt.rules.<area>``);
* ``bind``: how the profile's thresholds (and, for a few, another control's: HELM-01 takes
  NET-02's broker ports) become the rule's arguments: written once, for live and static alike;
* ``evidence``: the slice of the estate model the control reads (``asbuilt.static.facts``),
  where the control has a static side;
* ``partial``: the item fields the rule itself judges with some elements unknown.

``decide(items, profile)`` is the one way a control is judged, by a live step and by a static
check: three-way (``asbuilt.judge``): fail on a known violation, error naming every unknown
fact, else pass. The catalogue entry (title, severity, requirement, remediation) stays data in
``asbuilt/catalogue/controls.yaml``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from asbuilt.judge import PARTIAL_DEFAULT, judge, plain
from asbuilt.verdict import Verdict


def _all_params(profile: Any, control: str) -> dict[str, Any]:
    return profile.params(control)


@dataclass(frozen=True)
class Unit:
    id: str
    rule: Callable[..., Verdict]
    # the control's own thresholds the rule takes: name -> type, or (type, default)
    thresholds: dict[str, Any] = field(default_factory=dict)
    bind: Callable[[Any], dict[str, Any]] | None = None  # profile -> further arguments (another control's)
    evidence: Callable | None = None                      # facts(stack, ctx) over the estate model
    partial: tuple[str, ...] = PARTIAL_DEFAULT
    # Where the static check anchors (its checkov checks are generated from these, asbuilt.static.checkbase):
    terraform: tuple[str, ...] = ()        # resource types
    cloudformation: tuple[str, ...] = ()   # resource types
    kubernetes: tuple[str, ...] = ()       # kinds, with ``k8s`` the evidence over manifests / rendered charts
    k8s: Callable | None = None
    files: dict[str, Callable] = field(default_factory=dict)  # file kind (values, gradle, git, bundle, compose) -> evidence
    scope: str = "resource"                # resource: each anchor judged alone; stack: over the whole stack
    required: tuple[str, ...] = ()         # stack flavours where finding nothing at all is judged
    context: Callable[[list[dict]], dict] | None = None  # rule arguments the stack's items give

    @property
    def static(self) -> bool:
        return bool(self.terraform or self.cloudformation or self.kubernetes or self.files)

    def arguments(self, profile: Any) -> dict[str, Any]:
        """The rule's keyword arguments from the profile (the same for live and static)."""
        params = _all_params(profile, self.id)
        out: dict[str, Any] = {}
        for name, spec in self.thresholds.items():
            kind, default = spec if isinstance(spec, tuple) else (spec, None)
            value = params.get(name, default)
            out[name] = [kind(v) for v in value] if isinstance(value, list) else kind(value)
        if self.bind is not None:
            out.update(self.bind(profile))
        return out

    def decide(self, items: list[dict], profile: Any, source: str = "live", **context: Any) -> Verdict:
        """The verdict of this control over ``items`` (see the module docstring). ``context``:
        arguments that come from the target rather than the profile (the installer's namespace)."""
        kwargs = {**self.arguments(profile), **context}
        items = [{k: v for k, v in i.items() if not str(k).startswith("_")} for i in items]  # no anchors
        verdict = judge(self.id, lambda known: self.rule(known, **kwargs), items, self.partial)
        verdict.source = source  # type: ignore[assignment]
        verdict.evidence = plain(verdict.evidence)
        return verdict


_MODULES = {"VER": "ver", "SIZE": "size", "HA": "ha", "NET": "net", "IAM": "iam", "S3": "s3", "ECR": "ecr",
            "SDK": "sdk", "K8S": "k8s", "HELM": "helm", "INST": "inst", "BNDL": "bndl", "MSG": "msg", "CDK": "cdk",
            "SUITE": "suite", "CPX": "cpx"}


def module_of(control_id: str) -> str:
    """The module holding a control's unit: the ID's prefix, lower-cased (CDK-HA-01 -> cdk)."""
    prefix = control_id.split("-", 1)[0]
    return f"asbuilt.controls.{_MODULES.get(prefix, prefix.lower())}"


def unit(control_id: str) -> Unit:
    """The unit of a control ID (KeyError when it has none)."""
    try:
        module = importlib.import_module(module_of(control_id))
    except ModuleNotFoundError:
        raise KeyError(control_id) from None
    found = getattr(module, control_id.replace("-", "_"), None)
    if not isinstance(found, Unit):
        raise KeyError(control_id)
    return found


def all_units() -> dict[str, Unit]:
    out: dict[str, Unit] = {}
    for name in sorted(set(_MODULES.values())):
        try:
            module = importlib.import_module(f"asbuilt.controls.{name}")
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            if isinstance(value, Unit):
                out[value.id] = value
    return out
