"""Helpers over checkov's parsed HCL: attribute access, references, policy documents.

checkov's Terraform parser (python-hcl2) wraps every attribute value in a list and every block
in a list of dicts; after checkov renders its graph, variables, locals, module inputs and
module outputs are substituted where they can be, and what cannot be evaluated (attributes only
known after apply, such as ``aws_vpc.main.id``) stays an expression string. These helpers read
both forms.
"""

from __future__ import annotations

import json
import re
from typing import Any

# aws_subnet.private, aws_subnet.private["us-east-1a"], data.aws_iam_policy_document.x.json,
# module.net.aws_vpc.main.id, values(aws_subnet.private)[*].id, aws_eks_cluster.main.vpc_config[0].x
REF = re.compile(
    r"(?<![\w\-])"
    r"(?P<module>(?:module\.[A-Za-z_][\w-]*(?:\[(?:\"[^\"]*\"|\d+)\])?\.)*)"
    r"(?P<data>data\.)?"
    r"(?P<type>aws_[a-z0-9_]+)\.(?P<name>[A-Za-z_][\w-]*)"
    r"(?P<index>\[(?:\"[^\"]*\"|\d+|\*)\])?"
    r"(?P<attr>(?:\.[A-Za-z_][\w]*|\[\d+\]|\[\*\])*)"
)
AZ = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d[a-z]$|^[a-z]{3,4}\d-az\d+$")


def unwrap(value: Any) -> Any:
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def get(conf: Any, *path: str, default: Any = None) -> Any:
    """conf["a"][0]["b"] ... unwrapped; ``default`` when absent."""
    cur = conf
    for key in path:
        cur = unwrap(cur)
        if not isinstance(cur, dict) or key not in cur:
            return default
        cur = cur[key]
    cur = unwrap(cur)
    return default if cur is None else cur


def blocks(conf: Any, name: str) -> list[dict]:
    """Every ``name { ... }`` block of conf (zero, one or many), including the content of
    ``dynamic "name"`` blocks: checkov keeps those unexpanded, with their iterator references
    (``ingress.value.port``) unresolved, which the readers then carry as unknown facts."""
    conf = unwrap(conf)
    if not isinstance(conf, dict):
        return []
    return _plain_blocks(conf, name) + [b for d in _plain_blocks(conf, "dynamic") for b in _plain_blocks(d, name)]


def _plain_blocks(conf: dict, name: str) -> list[dict]:
    value = conf.get(name)
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    out = []
    for v in value if isinstance(value, list) else [value]:
        v = unwrap(v) if isinstance(v, list) and len(v) == 1 and isinstance(v[0], dict) else v
        if isinstance(v, dict):
            out.append(v)
        elif isinstance(v, list):
            out += [x for x in v if isinstance(x, dict)]
    return out


def as_list(value: Any) -> list:
    value = unwrap(value)
    if value is None:
        return []
    if isinstance(value, list):
        out = []
        for v in value:
            v = unwrap(v)
            out += v if isinstance(v, list) else [v]
        return out
    return [value]


def to_int(value: Any) -> int | None:
    value = unwrap(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    return None


def to_bool(value: Any) -> bool | None:
    value = unwrap(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def is_literal(value: Any) -> bool:
    """A plain value, not an unevaluated expression."""
    if not isinstance(value, str):
        return value is not None
    return not (REF.search(value) or "${" in value or re.search(r"\b(var|local|module|each|count)\.", value)
                or re.search(r"\w\(", value) or ITERATOR.match(value))


# a dynamic block's iterator: ingress.value.port, setting.key
ITERATOR = re.compile(r"^[A-Za-z_][\w-]*\.(value|key)(\.[\w\[\]\"-]+)*$")


def parse_json_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def statements_of_document(doc: Any) -> list[dict]:
    """The raw statements of a JSON policy document (dict form)."""
    if isinstance(doc, str):
        doc = parse_json_text(doc)
    if not isinstance(doc, dict):
        return []
    st = doc.get("Statement") or doc.get("statement") or []
    if isinstance(st, dict):
        st = [st]
    return [s for s in st if isinstance(s, dict)]


def neutral_statement(raw: dict, where: str, render=lambda s: s) -> dict:
    """A JSON policy statement in the neutral form: the one reader of statements
    (``asbuilt.rules.iam_eval.neutral_statement``), as the live side reads them."""
    from asbuilt.rules.iam_eval import neutral_statement as neutral

    sid = raw.get("Sid")
    return neutral(raw, f"{where} statement {sid}" if sid else where, render)


# --------------------------------------------------------------------------- a few functions checkov leaves


_FAIL = object()   # not known statically
_ERROR = object()  # known, and an error in Terraform (an attribute a known object lacks): try() moves on


def _split_args(text: str) -> list[str] | None:
    args, depth, cur, quote = [], 0, "", False
    for i, ch in enumerate(text):
        if quote:
            cur += ch
            if ch == '"' and text[i - 1] != "\\":
                quote = False
            continue
        if ch == '"':
            quote = True
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if depth or quote:
        return None
    if cur.strip():
        args.append(cur.strip())
    return args


def evaluate(text: Any, variable: Any) -> Any:
    """The value of a small expression checkov's rendering leaves as text because an input is
    ``null``: ``coalesce(var.multi_az, true)``, ``try(var.backup.retention_days, 7)``,
    ``lookup(var.sizes, "db", "db.r6g.large")``. ``variable(name)`` gives a variable's value, or
    raises KeyError when it has none. Returns ``_FAIL`` (see ``evaluated``) when it cannot."""
    if not isinstance(text, str):
        return text
    t = text.strip()
    if t.startswith("${") and t.endswith("}"):
        t = t[2:-1].strip()
    if re.fullmatch(r"-?\d+", t):
        return int(t)
    if re.fullmatch(r"-?\d+\.\d+", t):
        return float(t)
    if t in ("true", "True", "false", "False"):
        return t in ("true", "True")
    if t in ("null", "None"):
        return None
    if re.fullmatch(r'"(?:[^"\\]|\\.)*"', t):
        return json.loads(t)
    m = re.fullmatch(r"var\.([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*|\[\"[^\"]*\"\]|\[\d+\])*)", t)
    if m:
        try:
            value = variable(m.group(1))
        except KeyError:
            return _FAIL
        for step in re.findall(r'\.([A-Za-z_][\w-]*)|\["([^"]*)"\]|\[(\d+)\]', m.group(2)):
            key = step[0] or step[1] or int(step[2])
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and isinstance(key, int) and key < len(value):
                value = value[key]
            elif isinstance(value, str) and not is_literal(value):
                return _FAIL  # an expression checkov left in the value: not known
            else:
                return _ERROR  # a known value without that attribute / element
        return value
    m = re.fullmatch(r"(coalesce|try|lookup)\((.*)\)", t, re.S)
    if m:
        args = _split_args(m.group(2))
        if not args:
            return _FAIL
        if m.group(1) == "try":  # the first argument that is not an error; an unknown one decides nothing
            for a in args:
                v = evaluate(a, variable)
                if v is _FAIL:
                    return _FAIL
                if v is not _ERROR:
                    return v
            return _FAIL
        if m.group(1) == "coalesce":  # the first that is not null or ""; an unknown before it decides nothing
            for a in args:
                v = evaluate(a, variable)
                if v is _FAIL or v is _ERROR:
                    return _FAIL
                if v is not None and v != "":
                    return v
            return _FAIL
        if len(args) in (2, 3):
            mapping, key = evaluate(args[0], variable), evaluate(args[1], variable)
            if isinstance(mapping, dict) and isinstance(key, str):
                if key in mapping:
                    return mapping[key]
                return evaluate(args[2], variable) if len(args) == 3 else _FAIL
        return _FAIL
    if re.fullmatch(r"[\w.:/-]+", t) and not REF.search(t) and not re.match(
            r"(var|local|module|data|each|count|path|self|terraform)\.", t):
        return t  # a string checkov put in without its quotes: coalesce(db.t3.micro, "db.r6g.large")
    return _FAIL


def evaluated(value: Any) -> bool:
    return value is not _FAIL and value is not _ERROR
