"""An IAM policy evaluator for identity policies: would this principal be allowed ``action`` on
``resource``? Pure, no I/O; used where the endpoint does not implement
``iam:SimulatePrincipalPolicy`` (moto, LocalStack community) and by the static side.

Why not a library: the maintained Python IAM packages lint or expand policies (parliament,
policyuniverse, cloudsplaining, policy_sentry) but none decides a request against a set of
documents (explicit Deny > Allow > implicit deny, NotAction / NotResource, conditions). The
evaluation logic is small and documented by AWS ("Policy evaluation logic"), so it lives here
with its tests (tests/live/test_iam_eval.py).

What is modelled, as AWS evaluates a request within one account:
* ``Effect`` Allow/Deny; an explicit Deny in any document wins, else an Allow, else implicit deny.
* ``Action`` / ``NotAction`` (string or list), case-insensitive, wildcards ``*`` and ``?``.
* ``Resource`` / ``NotResource``, case-sensitive, wildcards ``*`` (may span ``/`` and ``:``) and ``?``;
  policy variables ``${...}`` are replaced from the request context, else left unmatched.
* ``Condition``: the string, ARN, numeric, Bool and Null operators with ``...IfExists`` and the
  ``ForAnyValue:``/``ForAllValues:`` qualifiers, against a request context; a key the context does
  not hold makes the condition *unknown* (not false), so the answer becomes ``conditional``
  rather than a guess.
* A permissions boundary: the effective decision is the intersection (``combine``).
Not modelled: resource-based policies, SCPs/RCPs and session policies (a live run states that
in its evidence).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Literal

Decision = Literal["allowed", "conditional", "explicit_deny", "implicit_deny"]
ALLOWED: tuple[str, ...] = ("allowed",)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def normalise(document: dict | None, resource: str = "") -> list[dict]:
    """A policy document (from the API) -> statements in the neutral form (``neutral_statement``)."""
    out = []
    for i, st in enumerate(_as_list((document or {}).get("Statement"))):
        if not isinstance(st, dict):
            continue
        sid = st.get("Sid")
        where = f"{resource} statement {sid or i + 1}" if resource else (sid or f"statement {i + 1}")
        out.append(neutral_statement(st, where))
    return out


def _flat(value: Any) -> list:
    """Flatten lists; keep strings and intrinsic dicts ({"Fn::Sub": ...}) for a renderer."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    return [value]


def neutral_statement(raw: dict, where: str, render: Callable[[Any], str] = str) -> dict:
    """One policy statement in the neutral form of ``asbuilt.rules.iam``, whatever it was read
    from (the IAM API, a Terraform jsonencode() or policy document, a CloudFormation template):
    ``{"resource", "sid", "effect", "actions", "not_actions", "resources", "not_resources",
    "principals": {type: [values]}, "not_principals", "conditions": {op: {key: [values]}}}``.
    ``"Principal": "*"`` is ``{"AWS": ["*"]}`` (AWS treats the two alike). ``render`` turns what
    a static reader could not resolve into its canonical text; parser keys (``__startline__``)
    are ignored."""
    conditions: dict[str, dict[str, list[str]]] = {}
    for op, body in (raw.get("Condition") or {}).items():
        if str(op).startswith("__") or not isinstance(body, dict):
            continue
        conditions[str(op)] = {render(str(k)): [render(x) for x in _flat(v)]
                               for k, v in body.items() if not str(k).startswith("__")}
    return {
        "resource": where,
        "sid": raw.get("Sid"),
        "effect": str(raw.get("Effect", "Allow")),
        "actions": [str(a) for a in _flat(raw.get("Action"))],
        "not_actions": [str(a) for a in _flat(raw.get("NotAction"))],
        "resources": [render(x) for x in _flat(raw.get("Resource"))],
        "not_resources": [render(x) for x in _flat(raw.get("NotResource"))],
        "principals": principals_of(raw.get("Principal"), render),
        "not_principals": principals_of(raw.get("NotPrincipal"), render),
        "conditions": conditions,
    }


def principals_of(value: Any, render: Callable[[Any], str] = str) -> dict[str, list[str]]:
    if value is None:
        return {}
    if value == "*" or value == ["*"]:
        return {"AWS": ["*"]}
    if isinstance(value, dict):
        return {str(k): [render(x) for x in _flat(v)] for k, v in value.items() if not str(k).startswith("__")}
    return {"AWS": [render(x) for x in _flat(value)]}


@lru_cache(maxsize=4096)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern:
    # fnmatch.translate also treats [...] as a class; IAM has no such syntax, so escape brackets first.
    escaped = pattern.replace("[", "\x00").replace("]", "\x01")
    rx = fnmatch.translate(escaped).replace("\x00", r"\[").replace("\x01", r"\]")
    return re.compile(rx, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    return bool(_glob(pattern.strip(), False).match(action.strip()))


_VAR = re.compile(r"\$\{([^}]+)\}")


def resource_matches(pattern: str, resource: str, context: dict | None = None) -> bool:
    if pattern == "*":
        return True
    ctx = {k.lower(): v for k, v in (context or {}).items()}

    def sub(m: re.Match) -> str:
        key = m.group(1).lower()
        if key in ("*", "?", "$"):
            return {"*": "[*]", "?": "[?]", "$": "$"}[key]  # literal characters
        value = ctx.get(key)
        return str(_as_list(value)[0]) if value is not None else "\x02"  # unmatched
    pattern = _VAR.sub(sub, pattern)
    if "\x02" in pattern:
        return False
    return bool(_glob(pattern, True).match(resource))


# -- conditions ----------------------------------------------------------------------------
Tri = Literal[True, False, None]  # None: unknown (the context lacks the key)


def _num(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _compare(base: str, have: str, want: str) -> bool:
    if base in ("StringEquals", "ArnEquals"):
        return have == want
    if base == "StringEqualsIgnoreCase":
        return have.lower() == want.lower()
    if base in ("StringLike", "ArnLike"):
        return bool(_glob(want, True).match(have))
    if base == "Bool":
        return have.lower() == want.lower()
    if base.startswith("Numeric"):
        a, b = _num(have), _num(want)
        if a is None or b is None:
            return False
        return {"NumericEquals": a == b, "NumericLessThan": a < b, "NumericLessThanEquals": a <= b,
                "NumericGreaterThan": a > b, "NumericGreaterThanEquals": a >= b}.get(base, False)
    if base in ("IpAddress",):
        import ipaddress

        try:
            return ipaddress.ip_address(have) in ipaddress.ip_network(want, strict=False)
        except ValueError:
            return False
    return False


_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
            "NumericNotEquals": "NumericEquals", "NotIpAddress": "IpAddress"}
_KNOWN = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", "IpAddress",
          "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
          "NumericGreaterThanEquals", "Null", *_NEGATED}


def condition_holds(conditions: dict, context: dict | None) -> Tri:
    """All operators and keys of a Condition block (AND); values of one key are ORed."""
    ctx = {k.lower(): _as_list(v) for k, v in (context or {}).items()}
    result: Tri = True
    for raw_op, keys in (conditions or {}).items():
        qualifier, _, op = raw_op.rpartition(":")
        if_exists = op.endswith("IfExists")
        base = op[: -len("IfExists")] if if_exists else op
        if base not in _KNOWN:
            result = None if result is not False else False
            continue
        for key, wanted in (keys or {}).items():
            wanted = [str(w) for w in _as_list(wanted)]
            have = ctx.get(key.lower())
            ok: Tri
            if base == "Null":
                ok = None if have is None else ((str(wanted[0]).lower() == "true") == (not have))
            elif have is None:
                ok = True if if_exists else None
            else:
                negated = base in _NEGATED
                cmp = _NEGATED.get(base, base)
                matches = [any(_compare(cmp, str(h), w) for w in wanted) for h in have]
                if qualifier == "ForAllValues":
                    hit = all(matches)
                else:  # ForAnyValue or single-valued
                    hit = any(matches)
                ok = (not hit) if negated else hit
            if ok is False:
                return False
            if ok is None:
                result = None
    return result


# -- evaluation ----------------------------------------------------------------------------
@dataclass
class Evaluation:
    action: str
    resource: str
    decision: Decision
    matched: list[str] = field(default_factory=list)  # the statements that decided

    def as_dict(self) -> dict:
        return {"action": self.action, "resource": self.resource, "decision": self.decision,
                "statements": self.matched}


def _applies(st: dict, action: str, resource: str, context: dict | None) -> Tri:
    if st.get("not_actions"):
        if any(action_matches(p, action) for p in st["not_actions"]):
            return False
    elif not any(action_matches(p, action) for p in st.get("actions") or []):
        return False
    if st.get("not_resources"):
        if any(resource_matches(p, resource, context) for p in st["not_resources"]):
            return False
    elif not any(resource_matches(p, resource, context) for p in st.get("resources") or []):
        return False
    if st.get("conditions"):
        return condition_holds(st["conditions"], context)
    return True


def evaluate(statements: Iterable[dict], action: str, resource: str, context: dict | None = None) -> Evaluation:
    """Decide one request against identity-policy statements (neutral form, see ``normalise``)."""
    deny_yes, deny_maybe, allow_yes, allow_maybe = [], [], [], []
    for st in statements:
        applies = _applies(st, action, resource, context)
        if applies is False:
            continue
        name = str(st.get("resource") or st.get("sid") or "statement")
        if str(st.get("effect", "Allow")).lower() == "deny":
            (deny_yes if applies else deny_maybe).append(name)
        else:
            (allow_yes if applies else allow_maybe).append(name)
    if deny_yes:
        return Evaluation(action, resource, "explicit_deny", deny_yes)
    if allow_yes and not deny_maybe:
        return Evaluation(action, resource, "allowed", allow_yes)
    if allow_yes or allow_maybe:
        return Evaluation(action, resource, "conditional", allow_yes + allow_maybe + deny_maybe)
    return Evaluation(action, resource, "implicit_deny", [])


def combine(identity: Evaluation, boundary: Evaluation | None) -> Evaluation:
    """The effective decision under a permissions boundary: both must allow; a deny in either wins."""
    if boundary is None:
        return identity
    for e in (identity, boundary):
        if e.decision == "explicit_deny":
            return Evaluation(identity.action, identity.resource, "explicit_deny", e.matched)
    if identity.decision == "allowed" and boundary.decision == "allowed":
        return identity
    if identity.decision in ("allowed", "conditional") and boundary.decision in ("allowed", "conditional"):
        return Evaluation(identity.action, identity.resource, "conditional", identity.matched + boundary.matched)
    why = identity.matched if identity.decision == "implicit_deny" else ["not allowed by the permissions boundary"]
    return Evaluation(identity.action, identity.resource, "implicit_deny", why)
