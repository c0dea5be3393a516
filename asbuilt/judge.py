"""Three-way judgement of one control over model items whose facts may be unknown.

Every control is judged here, whatever read its evidence:

1. An item whose facts include an ``Unknown`` is set aside, and each unknown fact is named
   (field, where, why); the rule never sees an unknown value. Fields the rule itself can judge
   with some elements unknown (``partial``: the zones of a resource's subnets, its security
   groups) are left to the rule, which reports those unknowns itself.
2. The rule judges the known items.
3. ``fail`` when the known facts already violate the control (whatever the unknown ones are);
   otherwise ``error`` naming every unknown fact when there is one; otherwise the rule's verdict.
   With nothing known and nothing unknown, the rule's own "nothing found" verdict stands.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from asbuilt.model.facts import Unknown
from asbuilt.verdict import UnknownFact, Verdict, error_message

PARTIAL_DEFAULT: tuple[str, ...] = ("zones", "security_groups")


def _unknowns_in(value: Any, path: str) -> list[tuple[str, Unknown]]:
    if isinstance(value, Unknown):
        return [(path, value)]
    if isinstance(value, dict):
        return [u for k, v in value.items() for u in _unknowns_in(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, (list, tuple)):
        return [u for i, v in enumerate(value) for u in _unknowns_in(v, f"{path}[{i}]")]
    return []


def unknown_facts(item: dict, partial: Iterable[str] = PARTIAL_DEFAULT) -> list[UnknownFact]:
    """The unknown facts of one item outside its ``partial`` fields."""
    skip = set(partial)
    resource = str(item.get("resource", ""))
    out = []
    for key, value in item.items():
        if key.startswith("_") or key in skip or key in ("resource", "file", "line"):
            continue
        for path, u in _unknowns_in(value, key):
            out.append(UnknownFact(f"{path.replace('_', ' ')} of {resource}" if resource else path,
                                   u.where or resource, u.reason))
    return out


def judge(control: str, rule: Callable[[list[dict]], Verdict], items: list[dict],
          partial: Iterable[str] = PARTIAL_DEFAULT, extra_unknowns: list[UnknownFact] | None = None) -> Verdict:
    """The verdict of ``rule`` over ``items`` (see the module docstring)."""
    partial = tuple(partial)
    known_items: list[dict] = []
    unknowns: list[UnknownFact] = list(extra_unknowns or [])
    for item in items:
        facts = unknown_facts(item, partial)
        if facts:
            unknowns += facts
        else:
            known_items.append(item)
    if known_items or not unknowns:
        verdict = rule(known_items)
    else:
        verdict = None
    if verdict is not None and verdict.status == "fail":
        verdict.unknowns = [*verdict.unknowns, *unknowns]  # recorded, but the known violation decides
        return verdict
    if unknowns:
        all_unknowns = [*(verdict.unknowns if verdict is not None else []), *unknowns]
        evidence = [_plain(i) for i in items]
        return Verdict(control, "error", error_message(all_unknowns), evidence,
                       verdict.source if verdict is not None else "live", unknowns=all_unknowns)
    return verdict  # type: ignore[return-value]


def _plain(value: Any) -> Any:
    """Evidence as JSON: an unknown fact shows as {"unknown": reason, ...}, never as a value."""
    if isinstance(value, Unknown):
        return value.to_json()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


plain = _plain
