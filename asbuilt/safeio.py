"""Bounded reading of every file asbuilt reads: regular files only, a size bound per kind, and
YAML with an alias-expansion bound and no duplicate keys.

Why: asbuilt is pointed at production from CI; a FIFO or ``/dev/zero`` given as a target file,
a 200 MB target file or a 499-byte YAML alias bomb must end in one line (exit 2), not in a hang
or a killed job.

* **Regular files only**: the path is ``os.stat``-ed first (which never blocks), anything but a
  regular file (directory, FIFO, device, socket) is refused; the file is then opened with
  ``O_NONBLOCK`` and checked again on the open descriptor (the path may have been swapped).
* **Size bounds** (bytes): ``config`` (target, profile, waivers, ``{file:}`` secrets, Helm values
  given on the command line are IaC) 1 MiB; ``results`` (results.json, baselines) 64 MiB; ``iac``
  (Terraform, CloudFormation, manifests, values, compose, Gradle) 20 MiB. Each can be changed with
  an environment variable: ``ASBUILT_MAX_CONFIG_BYTES``, ``ASBUILT_MAX_RESULTS_BYTES``,
  ``ASBUILT_MAX_IAC_BYTES``.
* **YAML**: PyYAML's SafeLoader, subclassed. PyYAML composes the whole node graph before
  building Python objects and shares aliased nodes, so the graph of a "billion laughs" document
  is tiny; ``BoundedLoader`` computes each document's *expanded* size over that graph (memoised,
  linear in the number of distinct nodes) before anything is constructed and refuses a document
  that would expand beyond ``max_nodes`` (or that refers to itself). Walking such a document later
  (pydantic, json.dumps, checkov) is what blows up memory, so the refusal must come first.
  Duplicate mapping keys are refused (which of two values a tool would use is not knowable).
  We stay on PyYAML (already a dependency, used by checkov) rather than adding ruamel.yaml, whose
  loader has no expansion bound either.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any

import yaml

from asbuilt.errors import InputError

MiB = 1024 * 1024
_DEFAULTS = {"config": 1 * MiB, "results": 64 * MiB, "iac": 20 * MiB}
_ENV = {"config": "ASBUILT_MAX_CONFIG_BYTES", "results": "ASBUILT_MAX_RESULTS_BYTES", "iac": "ASBUILT_MAX_IAC_BYTES"}
# Expanded YAML nodes per document (scalars, sequences, mappings after aliases are followed).
MAX_NODES = {"config": 200_000, "results": 2_000_000, "iac": 2_000_000}


def limit(kind: str) -> int:
    """The size bound in bytes of a kind of file (config, results, iac), from its env var or the default."""
    raw = os.environ.get(_ENV[kind])
    if raw:
        try:
            value = int(raw)
            if value > 0:
                return value
        except ValueError:
            pass
        raise InputError(f"{_ENV[kind]}={raw!r}: expected a positive number of bytes")
    return _DEFAULTS[kind]


def _human(n: int) -> str:
    return f"{n / MiB:g} MiB" if n >= MiB else f"{n} bytes"


def _kind_word(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_file(path: str | os.PathLike, what: str, kind: str = "config", error: type[Exception] = InputError) -> int:
    """Stat path (never blocks); refuse what is not a regular file within the bound. Returns its size."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: {what} file is {_kind_word(st.st_mode)}, not a regular file")
    bound = limit(kind)
    if st.st_size > bound:
        raise error(f"{path}: {what} file is {_human(st.st_size)}, over the {_human(bound)} limit for "
                    f"{kind} files (set {_ENV[kind]} to change it)")
    return st.st_size


def read_bytes(path: str | os.PathLike, what: str, kind: str = "config", error: type[Exception] = InputError) -> bytes:
    """The bytes of a regular file under the size bound of its kind; anything else is one-line `error`."""
    check_file(path, what, kind, error)
    bound = limit(kind)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"{path}: cannot read {what} file: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped between stat and open
            raise error(f"{path}: {what} file is {_kind_word(st.st_mode)}, not a regular file")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 * MiB, bound + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > bound:  # grew while being read
                raise error(f"{path}: {what} file is over the {_human(bound)} limit for {kind} files "
                            f"(set {_ENV[kind]} to change it)")
    except OSError as exc:
        raise error(f"{path}: cannot read {what} file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_text(path: str | os.PathLike, what: str, kind: str = "config", error: type[Exception] = InputError) -> str:
    """read_bytes decoded as UTF-8 (a BOM is dropped); a non-UTF-8 file is one-line `error`."""
    data = read_bytes(path, what, kind, error)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{path}: {what} file is not UTF-8 text (line {line}, byte {exc.start})") from None


# --------------------------------------------------------------------------- YAML


class YamlBoundError(yaml.YAMLError):
    """A document that would expand beyond the node bound, refers to itself, or repeats a key."""

    def __init__(self, problem: str, mark: Any = None):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


def expanded_size(node: yaml.Node, bound: int) -> int:
    """Nodes of the document once aliases are followed; YamlBoundError past bound or on a cycle."""
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in memo:
            return memo[key]
        if key in active:
            raise YamlBoundError("an alias refers to the node that contains it (recursive YAML)", n.start_mark)
        if isinstance(n, yaml.ScalarNode):
            memo[key] = 1
            return 1
        active.add(key)
        total = 1
        stack_children = n.value if isinstance(n, yaml.SequenceNode) else [c for kv in n.value for c in kv]
        for child in stack_children:
            total += size(child)
            if total > bound:
                raise YamlBoundError(f"the document expands to more than {bound} nodes (YAML aliases); "
                                     "refused", n.start_mark)
        active.discard(key)
        memo[key] = total
        return total

    import sys

    old = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(old, 20_000))
        return size(node)
    except RecursionError:
        raise YamlBoundError("the document is nested too deeply", node.start_mark) from None
    finally:
        sys.setrecursionlimit(old)


def check_duplicate_keys(node: yaml.MappingNode) -> None:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = key_node.value
        if key in seen:
            raise YamlBoundError(f"duplicate key {_show_key(key)} (first at line {seen[key].line + 1})",
                                 key_node.start_mark)
        seen[key] = key_node.start_mark


_IDENT = re.compile(r"^[A-Za-z0-9_.\-/]{1,64}$")


def _show_key(key: str) -> str:
    """A key is quoted only when it looks like an identifier (a secret typed as a key is not echoed)."""
    return repr(key) if _IDENT.match(key) else "(a key)"


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader with an expansion bound per document and duplicate-key refusal."""

    max_nodes = MAX_NODES["config"]

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        if node is not None:
            expanded_size(node, self.max_nodes)
        return node

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            check_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)


def loader_for(kind: str, base: type[yaml.SafeLoader] = BoundedLoader) -> type[yaml.SafeLoader]:
    """A BoundedLoader (or subclass `base`) with the node bound of kind."""
    return type(f"{base.__name__}_{kind}", (base,), {"max_nodes": MAX_NODES[kind]})


def yaml_error_line(exc: yaml.YAMLError) -> tuple[str, str]:
    """(':line' or '', problem) of a YAML error, for one-line messages."""
    mark = getattr(exc, "problem_mark", None)
    where = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or "invalid YAML"
    return where, str(problem)


# --------------------------------------------------------------------------- text written out

# C0 controls but tab and newline, DEL, C1 controls, lone surrogates (undecodable file names).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(text: str, keep_newlines: bool = True) -> str:
    """text with control characters / escape sequences made visible (``\\x1b``), safe for XML and terminals."""
    if not isinstance(text, str):
        return text
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                       text)
    if not keep_newlines:
        out = out.replace("\n", "\\n").replace("\t", " ")
    return out


def clean_tree(obj: Any) -> Any:
    """clean() applied to every string (keys too) of a JSON-like value."""
    if isinstance(obj, str):
        return clean(obj)
    if isinstance(obj, dict):
        return {clean_tree(k) if isinstance(k, str) else k: clean_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_tree(v) for v in obj]
    return obj
