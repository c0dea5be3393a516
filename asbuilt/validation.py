"""Reading user files (targets, profiles, waivers) with one-line errors instead of tracebacks."""

from __future__ import annotations

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


def one_line(path: Path | str, exc: ValidationError) -> str:
    """The first validation problem as `file: field.path: what was expected`."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-")) or "(top level)"
    kind = err["type"]
    if kind == "missing":
        return f"{path}: {loc}: required field is missing"
    if kind == "extra_forbidden":
        return f"{path}: {loc}: unknown key"
    if kind in _TYPE_WORDS:
        got = type(err.get("input")).__name__
        # The value itself is not echoed: it may be a secret typed into the wrong field.
        return f"{path}: {loc}: expected {_TYPE_WORDS[kind]}, got {got}"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{path}: {loc}: {msg}"
