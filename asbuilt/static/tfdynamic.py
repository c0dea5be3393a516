"""``dynamic`` blocks expanded where their ``for_each`` is known.

checkov's rendering keeps a ``dynamic "ingress"`` block as one unexpanded content block and drops
its ``for_each``: iterator references (``ingress.value.port``) stay as text, which the readers
carry as unknown facts. When the collection is a literal, a ``local`` whose value is a literal, or
a variable with a known value (default, tfvars, ``--var``), the block is expanded here the way
Terraform expands it, one block per element with ``<iterator>.key`` / ``<iterator>.value``
substituted, from the HCL as written (python-hcl2, the parser checkov uses). Anything else stays
as checkov gave it, so it stays unknown.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

_WHOLE = re.compile(r"^\$\{(.*)\}$", re.S)
_WRAPPERS = re.compile(r"^(toset|tolist|tomap|values|keys)\((.*)\)$", re.S)


@lru_cache(maxsize=256)
def _parse(path: str, stamp: tuple) -> dict:
    import hcl2

    try:
        with open(path, encoding="utf-8") as fh:
            return hcl2.load(fh)
    except Exception:  # checkov parsed it; a file hcl2 alone refuses keeps checkov's rendering
        return {}


_CHECKOV_PARSED: dict[str, dict] = {}  # what checkov's parser already read (real path -> hcl2 payload)


def use_parsed(loaded: dict | None) -> None:
    """Reuse the files checkov's Terraform parser has parsed (the HCL as written, before its graph
    renders it), so nothing is parsed twice; called by asbuilt's Terraform runner before it models
    a scan."""
    _CHECKOV_PARSED.clear()
    for path, payload in (loaded or {}).items():
        if isinstance(payload, dict):
            _CHECKOV_PARSED[os.path.realpath(str(path))] = payload


def _parsed(path: str) -> dict:
    found = _CHECKOV_PARSED.get(os.path.realpath(str(path)))
    if found is not None:
        return found
    try:
        st = os.stat(path)
        return _parse(path, (st.st_mtime_ns, st.st_size, st.st_ino))
    except OSError:
        return {}


def _unwrap(v: Any) -> Any:
    while isinstance(v, list) and len(v) == 1:
        v = v[0]
    return v


def _locals(folder: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        names = sorted(f for f in os.listdir(folder) if f.endswith(".tf"))
    except OSError:
        return out
    for f in names:
        for block in _parsed(os.path.join(folder, f)).get("locals", []) or []:
            for k, v in block.items():
                if not k.startswith("__"):
                    out[k] = _unwrap(v) if not (isinstance(v, list) and len(v) == 1 and isinstance(v[0], list)) \
                        else v[0]
    return out


def _known(value: Any) -> bool:
    """A value with no expression left in it."""
    if isinstance(value, str):
        return "${" not in value
    if isinstance(value, list):
        return all(_known(v) for v in value)
    if isinstance(value, dict):
        return all(_known(v) for k, v in value.items() if not str(k).startswith("__"))
    return True


def collection(expr: Any, folder: str, variable: Any) -> Any:
    """The value of a for_each expression, or None when it is not known statically."""
    expr = expr[0] if isinstance(expr, list) and len(expr) == 1 else expr
    if not isinstance(expr, str):
        return expr if _known(expr) else None
    m = _WHOLE.match(expr.strip())
    return evaluate(m.group(1), folder, variable) if m else None


def evaluate(text: str, folder: str, variable: Any) -> Any:
    """A small expression (var.x, local.x, toset/tolist/tomap/values/keys of one) or None."""
    text = text.strip()
    w = _WRAPPERS.match(text)
    if w:
        inner = evaluate(w.group(2), folder, variable)
        if w.group(1) in ("values", "keys"):
            if not isinstance(inner, dict):
                return None
            return [inner[k] for k in sorted(inner)] if w.group(1) == "values" else sorted(inner)
        return inner
    m = re.fullmatch(r"local\.([A-Za-z_][\w-]*)", text)
    if m:
        value = _locals(folder).get(m.group(1))
        return value if value is not None and _known(value) else None
    m = re.fullmatch(r"var\.([A-Za-z_][\w-]*)", text)
    if m:
        value = variable(m.group(1))
        return value if value is not None and _known(value) else None
    return None


def _items(value: Any) -> list[tuple[Any, Any]] | None:
    if isinstance(value, dict):
        return [(k, v) for k, v in value.items() if not str(k).startswith("__")]
    if isinstance(value, list):
        return [(i, v) for i, v in enumerate(value)]
    return None


def _lookup(value: Any, path: str) -> tuple[bool, Any]:
    """value.a.b / value["a"] / value[0] -> (found, element)."""
    for step in re.findall(r'\.([A-Za-z_][\w-]*)|\["([^"]*)"\]|\[(\d+)\]', path):
        key = step[0] or step[1] or (int(step[2]) if step[2] else None)
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            return False, None
    return True, value


def _substitute(value: Any, it: str, key: Any, element: Any) -> Any:
    if isinstance(value, list):
        return [_substitute(v, it, key, element) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, it, key, element) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    ref = re.compile(rf"\b{re.escape(it)}\.(key|value)((?:\.[A-Za-z_][\w-]*|\[\"[^\"]*\"\]|\[\d+\])*)")

    def resolve(m: re.Match) -> tuple[bool, Any]:
        if m.group(1) == "key":
            return (True, key) if not m.group(2) else (False, None)
        return _lookup(element, m.group(2))

    whole = _WHOLE.match(value)
    if whole:
        m = ref.fullmatch(whole.group(1).strip())
        if m:
            found, v = resolve(m)
            return v if found else value
    def interpolate(mm: re.Match) -> str:
        inner = mm.group(1).strip()
        m = ref.fullmatch(inner)
        if m:
            found, v = resolve(m)
            if found and not isinstance(v, (dict, list)):
                return str(v).lower() if isinstance(v, bool) else str(v)
        return mm.group(0)

    out = re.sub(r"\$\{([^}]*)\}", interpolate, value)
    return out


def _checkov_form(value: Any) -> Any:
    """Unresolved ``${expr}`` as checkov's rendering leaves it (``expr``)."""
    if isinstance(value, list):
        return [_checkov_form(v) for v in value]
    if isinstance(value, dict):
        return {k: _checkov_form(v) for k, v in value.items()}
    if isinstance(value, str):
        m = _WHOLE.match(value)
        if m and "${" not in m.group(1):
            return m.group(1)
    return value


def _rendered_content(conf: dict, block: str) -> dict:
    for d in conf.get("dynamic") or []:
        if isinstance(d, dict) and block in d:
            body = _unwrap(d[block])
            if isinstance(body, dict):
                return body
    return {}


def expand(conf: dict, file_path: str, rtype: str, name: str, variable: Any) -> dict | None:
    """A copy of conf with each dynamic block whose for_each is known expanded, or None if none is."""
    if "dynamic" not in conf:
        return None
    raw = None
    for entry in _parsed(str(file_path)).get("resource", []) or []:
        body = (entry.get(rtype) or {}).get(name) if isinstance(entry, dict) else None
        if isinstance(body, dict):
            raw = body
            break
    if raw is None:
        return None
    folder = os.path.dirname(str(file_path))
    expanded: dict[str, list[dict]] = {}
    for d in raw.get("dynamic", []) or []:
        for block, spec in (d.items() if isinstance(d, dict) else []):
            spec = _unwrap(spec)
            if not isinstance(spec, dict) or block in expanded:
                continue
            items = _items(collection(spec.get("for_each"), folder, variable))
            if items is None:
                continue
            if str(_unwrap(spec.get("for_each"))).replace(" ", "").startswith("${toset("):
                items = [(v, v) for _, v in items]  # a set's each.key is the element itself
            it = _unwrap(spec.get("iterator"))
            it = _WHOLE.match(it).group(1) if isinstance(it, str) and _WHOLE.match(it) else (it or block)
            content = _unwrap(spec.get("content")) or {}
            if isinstance(content, dict) and "dynamic" in content:
                continue  # nested dynamic blocks stay unexpanded
            rendered = _rendered_content(conf, block)
            mentions = re.compile(rf"\b{re.escape(str(it))}\.(key|value)\b")
            for attr in list(content) if isinstance(content, dict) else []:
                if mentions.search(str(content[attr])):
                    continue
                whole = _WHOLE.match(str(_unwrap(content[attr]))) if isinstance(_unwrap(content[attr]), str) else None
                value = evaluate(whole.group(1), folder, variable) if whole else None
                if value is not None:  # values(var.x), local.y: what does not use the iterator
                    content = {**content, attr: [value]}
                elif attr in rendered:  # as checkov evaluated it
                    content = {**content, attr: rendered[attr]}
            expanded[block] = [_checkov_form(_substitute(content, str(it), k, v)) for k, v in items]
    if not expanded:
        return None
    out = dict(conf)
    rest = []
    for d in conf.get("dynamic") or []:
        if isinstance(d, dict):
            left = {k: v for k, v in d.items() if k not in expanded}
            if left:
                rest.append(left)
    if rest:
        out["dynamic"] = rest
    else:
        out.pop("dynamic", None)
    for block, blocks in expanded.items():
        existing = out.get(block) or []
        out[block] = (existing if isinstance(existing, list) else [existing]) + blocks
    return out
