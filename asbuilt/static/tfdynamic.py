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
    """The value of an expression over what is known statically, or None (not known):
    ``var.x``, ``local.x``, ``toset/tolist/tomap/values/keys`` of one, a for-expression over one
    (``[for r in var.rules : r if r.enabled]``, ``{for r in local.rules : "${r.port}" => r}``) and a
    conditional whose condition is known (``var.enabled ? [1] : []``, ``var.x != null ? [var.x] :
    []``, ``length(var.y) > 0 ? toset(var.y) : toset([])``), the forms registry modules write.
    ``variable(name)`` gives a variable's value (None for a null one) or raises KeyError."""
    got = _value(text.strip(), folder, variable, {})
    return None if got is _UNKNOWN or got is None else got


_UNKNOWN = object()  # not known statically (None is HCL's null)
_FOR_LIST = re.compile(r"^\[\s*for\s+(\w+)(?:\s*,\s*(\w+))?\s+in\s+(.+?)\s*:\s*(.+?)(?:\s+if\s+(.+?))?\s*\]$", re.S)
_FOR_MAP = re.compile(r"^\{\s*for\s+(\w+)(?:\s*,\s*(\w+))?\s+in\s+(.+?)\s*:\s*(.+?)\s*=>\s*(.+?)"
                      r"(?:\s+if\s+(.+?))?\s*\}$", re.S)
_REF = re.compile(r"^([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*|\[\"[^\"]*\"\]|\[\d+\])*)$")


def _top_level(text: str, sep: str) -> int:
    """Index of the first ``sep`` outside brackets and quotes, or -1."""
    depth, quote, i = 0, False, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quote = False
        elif ch == '"':
            quote = True
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            return i
        i += 1
    return -1


def _literal(text: str) -> Any:
    """A literal as written in HCL (or as python-hcl2 prints it), else _UNKNOWN."""
    import ast
    import json

    t = text.strip()
    if t in ("null", "None"):
        return None
    if t in ("true", "True"):
        return True
    if t in ("false", "False"):
        return False
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(t)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        return value if _known(value) else _UNKNOWN
    return _UNKNOWN


def _value(text: str, folder: str, variable: Any, scope: dict[str, Any]) -> Any:
    text = text.strip()
    if text.startswith("${") and text.endswith("}") and _WHOLE.match(text) and "${" not in text[2:]:
        text = text[2:-1].strip()
    if not text:
        return _UNKNOWN
    if text.startswith("(") and text.endswith(")") and _top_level(text[1:-1], ")") == -1:
        return _value(text[1:-1], folder, variable, scope)
    q = _top_level(text, "?")
    if q > 0:  # cond ? a : b
        rest = text[q + 1:]
        c = _top_level(rest, ":")
        if c < 0:
            return _UNKNOWN
        cond = _condition(text[:q], folder, variable, scope)
        if cond is _UNKNOWN:
            return _UNKNOWN
        return _value(rest[:c] if cond else rest[c + 1:], folder, variable, scope)
    w = _WRAPPERS.match(text)
    if w:
        inner = _value(w.group(2), folder, variable, scope)
        if w.group(1) in ("values", "keys"):
            if not isinstance(inner, dict):
                return _UNKNOWN
            return [inner[k] for k in sorted(inner)] if w.group(1) == "values" else sorted(inner)
        return inner
    m = re.fullmatch(r"length\((.*)\)", text, re.S)
    if m:
        inner = _value(m.group(1), folder, variable, scope)
        return len(inner) if isinstance(inner, (list, dict, str)) else _UNKNOWN
    for pattern, is_map in ((_FOR_LIST, False), (_FOR_MAP, True)):
        m = pattern.match(text)
        if m:
            return _for(m, is_map, folder, variable, scope)
    ref = _REF.match(text)
    if ref:
        head, path = ref.group(1), ref.group(2)
        if head in scope:
            found, v = _lookup(scope[head], path)
            return v if found else _UNKNOWN
        if head in ("var", "local") and path.startswith("."):
            name = re.match(r"\.([A-Za-z_][\w-]*)", path).group(1)
            rest = path[len(name) + 1:]
            if head == "local":
                locs = _locals(folder)
                if name not in locs:
                    return _UNKNOWN
                base = locs[name]
            else:
                try:
                    base = variable(name)
                except KeyError:
                    return _UNKNOWN
            if not _known(base):
                return _UNKNOWN
            found, v = _lookup(base, rest)
            return v if found else _UNKNOWN
    if text.startswith('"') and text.endswith('"') and "${" in text:  # a template: "${r.port}-${r.protocol}"
        parts = []
        for piece in re.split(r"(\$\{[^}]*\})", text[1:-1]):
            if piece.startswith("${"):
                v = _value(piece[2:-1], folder, variable, scope)
                if v is _UNKNOWN or isinstance(v, (dict, list)) or v is None:
                    return _UNKNOWN
                parts.append(str(v).lower() if isinstance(v, bool) else str(v))
            else:
                parts.append(piece)
        return "".join(parts)
    if text.startswith("[") and text.endswith("]") and "for " not in text.split("[", 1)[1][:5]:
        literal = _literal(text)
        if literal is not _UNKNOWN:
            return literal
        from asbuilt.static.hcl import _split_args

        items = []
        for piece in _split_args(text[1:-1]) or [text[1:-1]]:  # [var.x, "a"]: each element on its own
            piece = piece.strip("'") if piece.startswith("'${") else piece  # python-hcl2's '${var.x}'
            v = _value(piece, folder, variable, scope)
            if v is _UNKNOWN:
                return _UNKNOWN
            items.append(v)
        return items
    return _literal(text)


def _for(m: re.Match, is_map: bool, folder: str, variable: Any, scope: dict[str, Any]) -> Any:
    first, second, coll_text = m.group(1), m.group(2), m.group(3)
    if is_map:
        key_text, val_text, cond_text = m.group(4), m.group(5), m.group(6)
        if val_text.endswith("..."):
            return _UNKNOWN  # grouping mode
    else:
        val_text, cond_text, key_text = m.group(4), m.group(5), None
    coll = _value(coll_text, folder, variable, scope)
    if isinstance(coll, dict):
        pairs = [(k, v) for k, v in coll.items() if not str(k).startswith("__")]
    elif isinstance(coll, (list, set, tuple)):
        pairs = list(enumerate(coll))
    else:
        return _UNKNOWN
    out_list: list[Any] = []
    out_map: dict[str, Any] = {}
    for k, v in pairs:
        local = {**scope, **({first: k, second: v} if second else {first: v})}
        if cond_text is not None:
            keep = _condition(cond_text, folder, variable, local)
            if keep is _UNKNOWN:
                return _UNKNOWN
            if not keep:
                continue
        value = _value(val_text, folder, variable, local)
        if value is _UNKNOWN:
            return _UNKNOWN
        if is_map:
            key = _value(key_text, folder, variable, local)
            if key is _UNKNOWN or isinstance(key, (dict, list)) or key in out_map:
                return _UNKNOWN  # a duplicate key is Terraform's error, not a value
            out_map[str(key).lower() if isinstance(key, bool) else str(key)] = value
        else:
            out_list.append(value)
    return out_map if is_map else out_list


def _condition(text: str, folder: str, variable: Any, scope: dict[str, Any]) -> Any:
    """A boolean condition over known values: True, False or _UNKNOWN."""
    text = text.strip()
    for op in ("||", "&&"):  # the loosest first: a || b && c is a || (b && c)
        cut = _top_level(text, op)
        if cut > 0:
            a = _condition(text[:cut], folder, variable, scope)
            b = _condition(text[cut + 2:], folder, variable, scope)
            if a is _UNKNOWN or b is _UNKNOWN:
                return _UNKNOWN
            return (a and b) if op == "&&" else (a or b)
    if text.startswith("!") and not text.startswith("!="):
        inner = _condition(text[1:], folder, variable, scope)
        return _UNKNOWN if inner is _UNKNOWN else not inner
    for op in ("==", "!=", ">=", "<=", ">", "<"):
        cut = _top_level(text, op)
        if cut <= 0:
            continue
        a = _value(text[:cut], folder, variable, scope)
        b = _value(text[cut + len(op):], folder, variable, scope)
        if a is _UNKNOWN or b is _UNKNOWN:
            return _UNKNOWN
        if op in ("==", "!="):
            return (a == b) if op == "==" else (a != b)
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)):
            return _UNKNOWN
        return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]
    v = _value(text, folder, variable, scope)
    return v if isinstance(v, bool) else _UNKNOWN


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
    folder = os.path.dirname(str(file_path))
    raw_entries = [(block, _unwrap(spec)) for d in (raw or {}).get("dynamic", []) or [] if isinstance(d, dict)
                   for block, spec in d.items()]
    rendered_entries = [(block, body) for d in conf.get("dynamic") or [] if isinstance(d, dict)
                        for block, body in d.items()]
    # One entry per `dynamic` block as written, in order (a resource may have several of one name:
    # an ingress per rule family); checkov's rendering lists them the same way. When the HCL as
    # written cannot be read or the two do not line up, nothing is expanded, and the blocks whose
    # readers take unknowns are marked unknown rather than judged on checkov's guess at them.
    if raw is None or [b for b, _ in raw_entries] != [b for b, _ in rendered_entries]:
        raw_entries = [(block, {"for_each": "(the dynamic block as written could not be read)"})
                       for block, _ in rendered_entries]
    results: list[list[dict] | None] = []
    for (block, spec), (_, rendered_body) in zip(raw_entries, rendered_entries):
        results.append(_expand_one(block, spec, _unwrap(rendered_body), folder, variable))
    unknown = [(block, spec) for (block, spec), r in zip(raw_entries, results)
               if r is None and block in UNKNOWN_AWARE]
    if all(r is None for r in results) and not unknown:
        return None
    out = dict(conf)
    if unknown:  # how many blocks these make is not known: a marker the reader turns into unknown rules
        out[UNKNOWN_DYNAMIC] = [{"block": block, "for_each": _for_each_text(spec)} for block, spec in unknown]
    rest = [{block: body} for (block, body), r in zip(rendered_entries, results)
            if r is None and block not in UNKNOWN_AWARE]
    if rest:
        out["dynamic"] = rest
    else:
        out.pop("dynamic", None)
    for (block, _), blocks in zip(raw_entries, results):
        if blocks is not None:
            existing = out.get(block) or []
            out[block] = (existing if isinstance(existing, list) else [existing]) + blocks
    return out


# Blocks whose readers carry "a dynamic block not known statically" as unknown facts (the
# security group's inline ingress rules). Checkov's rendering of such a block's content is a guess
# (it can substitute an element of a different collection), so it is dropped for them, not judged.
UNKNOWN_AWARE = ("ingress",)
UNKNOWN_DYNAMIC = "__asbuilt_unknown_dynamic__"


def _for_each_text(spec: Any) -> str:
    text = str(_unwrap(spec.get("for_each")) if isinstance(spec, dict) else "?")
    m = _WHOLE.match(text)
    return (m.group(1) if m else text).replace("None", "null")[:200]


def _expand_one(block: str, spec: Any, rendered: Any, folder: str, variable: Any) -> list[dict] | None:
    """The blocks one ``dynamic`` block makes, or None when its for_each is not known."""
    if not isinstance(spec, dict):
        return None
    items = _items(collection(spec.get("for_each"), folder, variable))
    if items is None:
        return None
    if str(_unwrap(spec.get("for_each"))).replace(" ", "").startswith("${toset("):
        items = [(v, v) for _, v in items]  # a set's each.key is the element itself
    it = _unwrap(spec.get("iterator"))
    it = _WHOLE.match(it).group(1) if isinstance(it, str) and _WHOLE.match(it) else (it or block)
    content = _unwrap(spec.get("content")) or {}
    if isinstance(content, dict) and "dynamic" in content:
        return None  # nested dynamic blocks stay unexpanded
    rendered = _unwrap(rendered.get("content")) if isinstance(rendered, dict) and "content" in rendered else rendered
    rendered = rendered if isinstance(rendered, dict) else {}
    mentions = re.compile(rf"\b{re.escape(str(it))}\.(key|value)\b")
    for attr in list(content) if isinstance(content, dict) else []:
        if mentions.search(str(content[attr])):
            continue
        if _known(content[attr]):
            continue  # a literal (from_port = 9187): checkov's rendering of dynamic content can be wrong there
        whole = _WHOLE.match(str(_unwrap(content[attr]))) if isinstance(_unwrap(content[attr]), str) else None
        value = evaluate(whole.group(1), folder, variable) if whole else None
        if value is not None:  # values(var.x), local.y: what does not use the iterator
            content = {**content, attr: [value]}
        elif attr in rendered:  # as checkov evaluated it
            content = {**content, attr: rendered[attr]}
    return [_checkov_form(_substitute(content, str(it), k, v)) for k, v in items]


# --------------------------------------------------------------------------- conditionals checkov leaves

_COND = re.compile(r"\?.*:", re.S)
_FALLBACK = re.compile(r"^(try|lookup|coalesce)\((.*)\)$", re.S)


def raw_body(file_path: str, block: str, rtype: str, name: str) -> dict | None:
    """A resource / data block as written (python-hcl2, before checkov renders it), or None."""
    for entry in _parsed(str(file_path)).get(block, []) or []:
        body = (entry.get(rtype) or {}).get(name) if isinstance(entry, dict) else None
        if isinstance(body, dict):
            return body
    return None


def conditional(text: str, folder: str, variable: Any) -> tuple[bool, Any]:
    """(True, value) of a conditional expression whose condition is known, else (False, None)."""
    t = text.strip()
    whole = _WHOLE.match(t)
    t = whole.group(1) if whole and "${" not in whole.group(1) else t
    if _top_level(t, "?") <= 0:
        return False, None
    got = _value(t, folder, variable, {})
    if got is _UNKNOWN or (isinstance(got, str) and not _known(got)):
        return False, None
    return True, got


def _unset_variables(text: str, variable: Any) -> list[str]:
    out = []
    for name in re.findall(r"\bvar\.([A-Za-z_][\w-]*)", text):
        try:
            variable(name)
        except KeyError:
            out.append(name)
    return out


def settle(conf: dict, raw: dict | None, folder: str, variable: Any) -> dict | None:
    """A copy of conf with each top-level attribute that is a conditional (``var.x == "" ? a : b``,
    the form registry modules write) evaluated where its condition is known, or None when nothing
    changes. checkov leaves such a conditional as text when a variable in it is the empty string,
    and renders it to its ``null`` branch when that branch is ``null`` (``var.replicate_source_db ==
    "" ? var.backup_retention_period : null`` with the variable "" comes out null, read as "not
    set"). A conditional checkov rendered to null that cannot be evaluated here is put back as the
    expression it is, so it is unknown, not "not set". ``try(var.db.multi_az, true)`` /
    ``lookup()`` / ``coalesce()`` are evaluated here too where they can be: checkov renders
    ``try(var.db.multi_az, true)`` with ``db = {retention = 0}`` to the whole object."""
    if not isinstance(raw, dict):
        return None
    out = None
    for attr, rendered in conf.items():
        if attr.startswith("__") or attr in ("count", "for_each", "dynamic", "lifecycle", "depends_on"):
            continue
        text = _unwrap(raw.get(attr))
        if not isinstance(text, str):
            continue
        whole = _WHOLE.match(text.strip())
        if whole and _FALLBACK.match(whole.group(1).strip()):
            from asbuilt.static import hcl

            got = hcl.evaluate(whole.group(1), variable)  # try()'s fallback only past a known error
            if hcl.evaluated(got) and not isinstance(got, (dict, list)) and got != _unwrap(rendered):
                out = out if out is not None else dict(conf)
                out[attr] = [got]
            continue
        if not whole or not _COND.search(whole.group(1)) or _top_level(whole.group(1), "?") <= 0:
            continue
        value = _unwrap(rendered)
        got = _value(whole.group(1), folder, variable, {})
        if got is _UNKNOWN:
            if value is not None and not _unset_variables(whole.group(1), variable):
                continue  # checkov's value, or still the expression (unknown as it is)
            # checkov's null, or its pick of a branch over a variable that has no value (it takes
            # `var.environment == "production" ? 7 : 1` for 1): a guess; the expression, unknown
            got = whole.group(1)
        elif isinstance(got, str) and not _known(got):
            continue
        out = out if out is not None else dict(conf)
        out[attr] = [got]
    return out
