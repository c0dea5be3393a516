"""Helm values with the file and line each value comes from.

A release's values are the chart's ``values.yaml`` overlaid by each ``--values`` file in order,
as helm merges them (maps merge key by key, anything else replaces, ``null`` deletes). Every
leaf keeps where it was written, so HELM-01 / IAM-06 / K8S-05 name ``values/production.yaml:31``
rather than the chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from asbuilt.errors import RunError
from asbuilt.safeio import check_duplicate_keys, loader_for, read_text
from asbuilt.static.estate import display_path

Path_ = tuple[Any, ...]


def _construct(node: yaml.Node, file: str, path: Path_, origins: dict[Path_, tuple[str, int]]) -> Any:
    origins[path] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        check_duplicate_keys(node)
        out = {}
        for k, v in node.value:
            key = _scalar(k) if isinstance(k, yaml.ScalarNode) else str(k.value)
            out[key] = _construct(v, file, path + (key,), origins)
            origins[path + (key,)] = (file, k.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, file, path + (i,), origins) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_yaml_with_lines(path: Path) -> tuple[Any, dict[Path_, tuple[str, int]]]:
    """(data, origins) of one YAML file; RunError (one line) when it cannot be read or parsed."""
    shown = display_path(path)
    text = read_text(path, "values", "iac", RunError)  # regular, bounded, UTF-8: one line otherwise
    try:
        node = yaml.compose(text, Loader=loader_for("iac"))  # alias expansion bounded
    except RecursionError:
        raise RunError(f"{shown}: not valid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise RunError(f"{shown}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    origins: dict[Path_, tuple[str, int]] = {}
    if node is None:
        return {}, origins
    try:
        return _construct(node, shown, (), origins), origins
    except yaml.YAMLError as exc:  # a duplicate key, a bad scalar
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise RunError(f"{shown}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except (ValueError, RecursionError) as exc:
        raise RunError(f"{shown}: not valid YAML: {exc}") from None


@dataclass
class Values:
    data: dict = field(default_factory=dict)
    origins: dict[Path_, tuple[str, int]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def get(self, *path: Any, default: Any = None) -> Any:
        cur: Any = self.data
        for p in path:
            if isinstance(cur, dict) and p in cur:
                cur = cur[p]
            elif isinstance(cur, list) and isinstance(p, int) and 0 <= p < len(cur):
                cur = cur[p]
            else:
                return default
        return cur

    def where(self, *path: Any) -> str:
        """file:line of the value at path (or of its nearest written parent)."""
        p = tuple(path)
        while p:
            if p in self.origins:
                f, line = self.origins[p]
                return f"{f}:{line}"
            p = p[:-1]
        return self.files[-1] if self.files else "(values)"

    def location(self, *path: Any) -> tuple[str, int]:
        text = self.where(*path)
        f, _, line = text.rpartition(":")
        return (f, int(line)) if line.isdigit() else (text, 0)

    def leaves(self) -> list[tuple[Path_, Any]]:
        out: list[tuple[Path_, Any]] = []

        def walk(node: Any, path: Path_) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    walk(v, path + (k,))
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, path + (i,))
            else:
                out.append((path, node))

        walk(self.data, ())
        return out


def _merge(base: Any, over: Any, base_o: dict, over_o: dict, path: Path_, out_o: dict) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = {}
        for k in list(base) + [k for k in over if k not in base]:
            if k in over:
                if over[k] is None:
                    continue  # helm: null deletes the key
                merged[k] = _merge(base.get(k), over[k], base_o, over_o, path + (k,), out_o)
            else:
                merged[k] = base[k]
                _copy(base_o, out_o, path + (k,))
        if path in over_o:
            out_o[path] = over_o[path]
        elif path in base_o:
            out_o[path] = base_o[path]
        return merged
    _copy(over_o, out_o, path)
    return over


def _copy(src: dict, dst: dict, prefix: Path_) -> None:
    n = len(prefix)
    for p, o in src.items():
        if p[:n] == prefix:
            dst[p] = o


def load_values(files: list[Path]) -> Values:
    """The merged values of files, in order (the chart's values.yaml first)."""
    values = Values()
    for f in files:
        data, origins = load_yaml_with_lines(f)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise RunError(f"{display_path(f)}: a values file must be a YAML mapping")
        out_o: dict[Path_, tuple[str, int]] = {}
        values.data = _merge(values.data, data, values.origins, origins, (), out_o)
        values.origins = out_o
        values.files.append(display_path(f))
    return values
