"""Reading user files (targets, profiles, waivers) with one-line errors instead of tracebacks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from asbuilt.errors import InputError

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def load_yaml_file(path: Path, what: str) -> Any:
    """Parse a YAML file; unreadable, empty, oversized, non-regular or malformed files are
    InputErrors naming the file (read through asbuilt.safeio: bounded, no alias bombs, no duplicate keys)."""
    from asbuilt.safeio import loader_for, read_text, yaml_error_line

    path = Path(path).expanduser()
    text = read_text(path, what, "config")
    try:
        data = yaml.load(text, Loader=loader_for("config"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = yaml_error_line(exc)[1]
        raise InputError(f"{path}:{where}: malformed YAML: {problem}") from None
    except RecursionError:
        raise InputError(f"{path}: malformed YAML: nested too deeply") from None
    if data is None:
        raise InputError(f"{path}: {what} file is empty")
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top of the {what} file, got {type(data).__name__}")
    return data


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def _location(loc: tuple, data: Any) -> str:
    """``aws.timeouts.read``; a key that does not look like an identifier (it may be a secret pasted
    in the wrong place, or control characters) is not quoted: it is named by its position in its
    mapping (``aws.#3``), or ``(a key)`` when the position is not known."""
    parts: list[str] = []
    node = data
    for p in loc:
        if isinstance(p, str) and p.startswith("function-"):
            continue
        if isinstance(p, int):  # a list index (or an integer key): a number is no secret
            parts.append(str(p))
            if isinstance(node, list):
                node = node[p] if 0 <= p < len(node) else None
            else:
                node = node.get(p) if isinstance(node, dict) else None
            continue
        if isinstance(p, str) and _IDENTIFIER.match(p):
            parts.append(p)
        else:
            keys = list(node) if isinstance(node, dict) else []
            match = [i for i, k in enumerate(keys) if k == p or str(k) == str(p)]
            parts.append(f"#{match[0] + 1}" if match else "(a key)")
        node = node.get(p) if isinstance(node, dict) and p in node else None
    return ".".join(parts) or "(top level)"


def one_line(path: Path | str, exc: ValidationError, data: Any = None) -> str:
    """The first validation problem as `file: field.path: what was expected`. ``data`` (what was
    validated) gives the position of a key that is not quoted."""
    err = exc.errors()[0]
    loc = _location(tuple(err["loc"]), data)
    kind = err["type"]
    if kind == "missing":
        return f"{path}: {loc}: required field is missing"
    if kind == "extra_forbidden":
        parent, _, key = loc.rpartition(".")
        if key.startswith(("#", "(")):  # not quoted: its position in its mapping
            return f"{path}: {parent or '(top level)'}: unknown key {key}"
        return f"{path}: {loc}: unknown key"
    if kind in _TYPE_WORDS:
        got = type(err.get("input")).__name__
        # The value itself is not echoed: it may be a secret typed into the wrong field.
        return f"{path}: {loc}: expected {_TYPE_WORDS[kind]}, got {got}"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{path}: {loc}: {msg}"
