"""Known and unknown facts.

A field of the estate model holds either its value (where it came from is the object's
location: file:line, ARN, kind/namespace/name) or an ``Unknown``: the reason the code or the
API did not give it (a variable without a value, an output of a module that is not on disk, an
attribute known only after apply, an intrinsic resolved at deploy time, an API the endpoint
does not implement). ``Unknown`` is not a value: it compares equal to nothing but another
Unknown with the same reason, and refuses to be used as a truth value, so a rule cannot judge
it by accident (``if db.multi_az`` on an unknown raises instead of failing or passing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class UnknownUsedAsValue(TypeError):
    """A rule tested an unknown fact as if it were a value (a defect in the rule)."""


@dataclass(frozen=True)
class Unknown:
    reason: str
    where: str = ""
    expression: str = ""  # the unresolved text, kept for the evidence only: never judged

    def __bool__(self) -> bool:
        raise UnknownUsedAsValue(f"an unknown fact was used as a value ({self.reason})")

    def __str__(self) -> str:
        return f"unknown ({self.reason})"

    def to_json(self) -> dict[str, Any]:
        out = {"unknown": self.reason}
        if self.where:
            out["where"] = self.where
        if self.expression:
            out["expression"] = self.expression
        return out


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def known(value: Any) -> bool:
    return not isinstance(value, Unknown)


def first_unknown(values: Any) -> Unknown | None:
    for v in values if isinstance(values, (list, tuple, set)) else [values]:
        if isinstance(v, Unknown):
            return v
    return None


def known_values(values: list) -> list:
    return [v for v in values if not isinstance(v, Unknown)]


_VAR = re.compile(r"\bvar\.([A-Za-z_][\w-]*)")
_MODULE = re.compile(r"\bmodule\.([A-Za-z_][\w-]*)\.?([\w-]*)")
_LOCAL = re.compile(r"\blocal\.([A-Za-z_][\w-]*)")
_DATA = re.compile(r"\bdata\.([a-z0-9_]+)\.([\w-]+)")
_RES = re.compile(r"\b(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.?([\w]*)")
_EACH = re.compile(r"\b(each|count)\.(key|value|index)")


def terraform_reason(expression: str, modules_missing: dict[str, str] | None = None,
                     has_value: Any = None) -> str:
    """Why a Terraform expression has no value a static reader can know. ``has_value(name)``, when
    given, says whether a variable has a value: the reason names one that has none, not merely the
    first the expression mentions (``var.x == "" ? var.engine : null`` with x defaulted)."""
    text = str(expression)
    m = _MODULE.search(text)
    if m:
        source = (modules_missing or {}).get(m.group(1))
        if source is not None:
            return (f"output {m.group(2) or '?'} of module {m.group(1)}, whose source {source!r} is not on disk "
                    "(a plan file decides it)")
        return f"output {m.group(2) or '?'} of module {m.group(1)} could not be resolved"
    names = [v.group(1) for v in _VAR.finditer(text)]
    unset = [n for n in names if has_value is None or not has_value(n)]
    if unset:
        return (f"variable {unset[0]} has no value (give it with asbuilt static --var {unset[0]}=... or "
                "--var-file, or scan a plan file)")
    m = _LOCAL.search(text)
    if m:
        return f"local {m.group(1)} could not be evaluated"
    m = _DATA.search(text)
    if m:
        return f"data source {m.group(1)}.{m.group(2)} is read only at plan time"
    m = re.match(r"^([A-Za-z_][\w-]*)\.(value|key)\b", text)
    if m and m.group(1) not in ("each", "count", "var", "local", "module", "data"):
        return (f"{text} comes from the for_each of a dynamic \"{m.group(1)}\" block, which is not expanded "
                "statically (scan a plan file to decide it)")
    m = _EACH.search(text)
    if m:
        return f"{m.group(1)}.{m.group(2)} could not be resolved"
    m = _RES.search(text)
    if m:
        attr = f".{m.group(3)}" if m.group(3) else ""
        return f"{m.group(1)}.{m.group(2)}{attr} is known only after apply"
    return f"the expression {text[:80]!r} could not be evaluated"
