"""Inputs checkov has no runner for: Helm release values, Gradle builds, Git-tracked JARs, bundle
zips, compose files. Each becomes a small *file stack* with the facts its controls need; the
checks in ``checks/files/`` judge them with the same rule functions (run by
``asbuilt.static.engine``, not by checkov).
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asbuilt.errors import RunError
from asbuilt.static.estate import Loc, display_path


@dataclass
class FileStack:
    flavour: str  # values | gradle | git | bundle | compose
    name: str
    loc: Loc
    data: Any = None
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.flavour}:{self.name}"

    @property
    def resource(self) -> str:
        return str(self.loc) if self.loc.line else self.name


# --------------------------------------------------------------------------- Gradle (SDK-02)
#
# There is no checkov runner for Kotlin script (or Groovy) build files, so SDK-02 reads them
# here: comments are blanked (lines kept), then dependency declarations, `repositories { }`
# blocks and their `maven { url ...; credentials { ... } }` entries are found with their lines.
# This is a reader for the declarative subset the seed documents, not a Kotlin interpreter:
# dependencies declared through version catalogs or custom functions are not seen.

_DEP = re.compile(r"""\b(compileOnly|implementation|api|runtimeOnly|compile|testImplementation|testCompileOnly|"""
                  r"""annotationProcessor|compileOnlyApi)\s*\(?\s*["']([^"']+)["']""")
_DEP_MAP = re.compile(r"""\b(compileOnly|implementation|api|runtimeOnly|compile)\s*\(?\s*group\s*[:=]\s*["']([^"']+)["']"""
                      r"""\s*,\s*name\s*[:=]\s*["']([^"']+)["'](?:\s*,\s*version\s*[:=]\s*["']([^"']*)["'])?""")
_LOCAL = re.compile(r"""\b(files|fileTree)\s*\(([^)]*)\)""")


def _blank_comments(text: str) -> str:
    out = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.DOTALL)
    return re.sub(r"(?m)(^|[^:\"'])//.*$", lambda m: m.group(1), out)


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _block_after(text: str, start: int) -> tuple[int, int] | None:
    """(open, close) of the brace block starting at or after start."""
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return i, j
    return None


def _value_source(expr: str | None) -> dict | None:
    if expr is None:
        return None
    e = expr.strip()
    if re.search(r"System\.getenv\(|providers\.environmentVariable\(|\benv\[|System\.env", e):
        return {"source": "env"}
    if re.search(r"findProperty\(|property\(|providers\.gradleProperty\(|\bextra\[|properties\[|project\.\w+", e):
        return {"source": "property"}
    if re.fullmatch(r"""["'][^"'$]*["']""", e):
        return {"source": "literal"}
    return {"source": "unknown"}


def parse_gradle(path: Path) -> dict:
    """The SDK-02 facts of one build file (and the repositories of its settings file)."""
    from asbuilt.safeio import read_text

    shown = display_path(path)
    raw = read_text(path, "Gradle build", "iac", RunError)
    if raw.count("{") != raw.count("}"):
        raise RunError(f"{shown}: cannot parse: unbalanced braces ({raw.count('{')} '{{' and {raw.count('}')} '}}')")
    texts = [(path, _blank_comments(raw))]
    for settings in ("settings.gradle.kts", "settings.gradle"):
        sp = path.parent / settings
        if sp.exists() and sp != path:
            texts.append((sp, _blank_comments(read_text(sp, "Gradle settings", "iac", RunError))))
    deps, local, repos = [], [], []
    text = texts[0][1]
    for m in _DEP.finditer(text):
        if "conncentric-sdk" in m.group(2):
            deps.append({"resource": f"{shown}:{_line_of(text, m.start())}", "configuration": m.group(1),
                         "notation": m.group(2)})
    for m in _DEP_MAP.finditer(text):
        if m.group(3) == "conncentric-sdk":
            deps.append({"resource": f"{shown}:{_line_of(text, m.start())}", "configuration": m.group(1),
                         "notation": f"{m.group(2)}:{m.group(3)}:{m.group(4) or ''}"})
    for m in _LOCAL.finditer(text):
        if ".jar" in m.group(2) or "conncentric" in m.group(2) or m.group(1) == "fileTree":
            local.append({"resource": f"{shown}:{_line_of(text, m.start())}", "text": m.group(0)[:120]})
    for file, t in texts:
        fshown = display_path(file)
        for rm in re.finditer(r"\brepositories\s*\{", t):
            block = _block_after(t, rm.start())
            if not block:
                continue
            body_start, body_end = block
            body = t[body_start:body_end]
            for pm in re.finditer(r"\b(mavenCentral|google|gradlePluginPortal|mavenLocal|jcenter)\s*\(", body):
                repos.append({"resource": f"{fshown}:{_line_of(t, body_start + pm.start())}", "kind": pm.group(1),
                              "url": None, "credentials": None})
            for mm in re.finditer(r"\bmaven\s*(\(\s*(?:url\s*=\s*)?(?:uri\()?\s*[\"']([^\"']+)[\"']\)?\s*\)|\{)", body):
                line = _line_of(t, body_start + mm.start())
                url, creds = mm.group(2), None
                if mm.group(1).startswith("{"):
                    inner = _block_after(body, mm.start())
                    chunk = body[inner[0]:inner[1]] if inner else ""
                    um = re.search(r"""\burl\s*=?\s*(?:uri\()?\s*["']([^"']+)["']""", chunk) or \
                        re.search(r"""setUrl\(\s*["']([^"']+)["']""", chunk)
                    url = um.group(1) if um else None
                    cm = re.search(r"\bcredentials\s*(\{|\()", chunk)
                    if cm and cm.group(1) == "(":
                        creds = {"username": {"source": "property"}, "password": {"source": "property"}}
                    elif cm:
                        cb = _block_after(chunk, cm.start())
                        cbody = chunk[cb[0] + 1:cb[1]] if cb else ""

                        def field_expr(name: str) -> str | None:
                            fm = re.search(rf"\b{name}\s*=\s*(.+)", cbody) or re.search(rf"\b{name}\s+(.+)", cbody)
                            return fm.group(1).strip().rstrip(";") if fm else None

                        creds = {"username": _value_source(field_expr("username")),
                                 "password": _value_source(field_expr("password"))}
                        pw_line = re.search(r"\bpassword\b", cbody)
                        if pw_line:
                            line = _line_of(t, body_start + inner[0] + cb[0] + 1 + pw_line.start())  # type: ignore[index]
                repos.append({"resource": f"{fshown}:{line}", "kind": "maven", "url": url, "credentials": creds})
    return {"resource": shown, "sdk_dependencies": deps, "local_jars": local, "repositories": repos}


def gradle_stack(path: Path) -> FileStack:
    return FileStack("gradle", display_path(path), Loc(display_path(path), 1, "build file"), parse_gradle(path))


# --------------------------------------------------------------------------- Git (SDK-01)


def git_stack(path: Path, whole_repo: bool) -> FileStack | None:
    """The JARs Git tracks in path's repository (all of it, or only below path); None outside Git."""
    path = path.resolve()
    where = path if path.is_dir() else path.parent
    try:
        top = subprocess.run(["git", "-C", str(where), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunError(f"git is needed for SDK-01 and could not run: {exc}") from None
    if top.returncode != 0:
        return None
    root = Path(top.stdout.strip())
    spec = [] if whole_repo else ["--", str(path.relative_to(root)) if path != root else "."]
    res = subprocess.run(["git", "-C", str(root), "ls-files", "-z", *spec], capture_output=True, text=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise RunError(f"git ls-files failed in {display_path(root)}: {res.stderr.strip()[:200]}")
    jars = sorted(f for f in res.stdout.split("\0") if f.lower().endswith(".jar"))
    scope = "the whole repository" if whole_repo or path == root else f"{display_path(path)}"
    shown = display_path(root)
    shown = f"repository {root.name}" if shown == "." else f"repository {shown}"
    name = f"{shown} (git ls-files, {scope})"
    return FileStack("git", name, Loc(display_path(root), 0, "git repository"), {"jars": jars},
                     {"root": str(root)})


# --------------------------------------------------------------------------- bundle zips (BNDL-01)


def read_entries(path: Path, max_manifest_bytes: int = 10 * 1024 * 1024) -> dict:
    """The entry list of a bundle zip (the facts asbuilt.rules.bundle judges)."""
    shown = display_path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RunError(f"{shown}: cannot read: {exc.strerror}") from None
    try:
        with zipfile.ZipFile(path) as zf:
            entries = []
            for info in zf.infolist():
                mode = (info.external_attr >> 16) & 0o170000
                entry = {"name": info.filename, "size": info.file_size, "compressed_size": info.compress_size,
                         "is_dir": info.is_dir(), "is_symlink": mode == 0o120000, "json_valid": None}
                if info.filename.startswith("manifests/") and info.filename.lower().endswith(".json") \
                        and info.file_size <= max_manifest_bytes and not entry["is_symlink"]:
                    try:
                        json.loads(zf.read(info))
                        entry["json_valid"] = True
                    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, RuntimeError):
                        entry["json_valid"] = False
                entries.append(entry)
    except zipfile.BadZipFile:
        return {"resource": shown, "zip_bytes": size, "entries": [], "error": "not a zip file"}
    return {"resource": shown, "zip_bytes": size, "entries": entries}


def bundle_stack(path: Path) -> FileStack:
    if not path.is_file():
        raise RunError(f"{display_path(path)}: bundle zip not found")
    return FileStack("bundle", display_path(path), Loc(display_path(path), 0, "bundle"), {"path": str(path)})


def bundle_facts(path: Path, limits: dict) -> dict:
    """BNDL-01 facts of a zip: the problems asbuilt.bundle.verify finds (the project's bundle
    validator, also behind `asbuilt bundle verify`), or, without it, the entry list for
    asbuilt.rules.bundle to judge."""
    try:
        from asbuilt import bundle as validator
    except ImportError:
        validator = None
    if validator is None or not hasattr(validator, "verify"):
        return read_entries(path)
    from asbuilt.errors import InputError

    known = {k: int(limits[k]) for k in ("max_zip_bytes", "max_uncompressed_bytes", "max_entries") if k in limits}
    try:
        result = validator.scan(path, validator.Limits(**known)) if hasattr(validator, "scan") else None
        problems = result.problems if result is not None else validator.verify(path, validator.Limits(**known))
        count = len(result.entries) if result is not None else None
    except InputError as exc:
        raise RunError(str(exc)) from None
    return {"resource": display_path(path), "zip_bytes": path.stat().st_size, "problems": list(problems),
            "entry_count": count, "validator": "asbuilt.bundle.verify"}


# --------------------------------------------------------------------------- compose files


def compose_stack(path: Path) -> FileStack:
    from asbuilt.static.values import load_yaml_with_lines

    data, origins = load_yaml_with_lines(path)
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise RunError(f"{display_path(path)}: not a compose file (no services mapping)")
    return FileStack("compose", display_path(path), Loc(display_path(path), 1, "compose file"), data,
                     {"origins": origins})


def is_compose(path: Path, data: Any) -> bool:
    name = path.name.lower()
    named = name.startswith(("docker-compose", "compose")) and name.endswith((".yml", ".yaml"))
    return isinstance(data, dict) and isinstance(data.get("services"), dict) and (named or "version" in data)


# --------------------------------------------------------------------------- Helm release values


def values_stack(chart: Path, values: Any, release: str, namespace: str) -> FileStack:
    shown = ", ".join(values.files) or display_path(chart)
    return FileStack("values", f"{display_path(chart)} release {namespace}/{release}",
                     Loc(values.files[-1] if values.files else display_path(chart), 0, f"release {namespace}/{release}"),
                     values, {"chart": display_path(chart), "release": release, "namespace": namespace, "files": shown})
