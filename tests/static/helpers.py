"""Helpers of the static tests: copies of the reference, text edits, bundle zips, in-process scans."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.helpers import ROOT

REFERENCE = ROOT / "examples" / "reference"
FIXTURES = Path(__file__).parent / "fixtures"
Edit = Callable[[Path], None]


# --------------------------------------------------------------------------- edits


def replace(rel: str, old: str, new: str, count: int = 1) -> Edit:
    """Replace the ``count``-th (1-based) occurrence of old in file rel (must exist)."""

    def apply(root: Path) -> None:
        path = root / rel
        text = path.read_text()
        assert old in text, f"{rel}: {old!r} not found (has the reference changed?)"
        idx = -1
        for _ in range(count):
            idx = text.index(old, idx + 1)
        path.write_text(text[:idx] + new + text[idx + len(old):])

    return apply


def append(rel: str, extra: str) -> Edit:
    def apply(root: Path) -> None:
        path = root / rel
        path.write_text(path.read_text().rstrip("\n") + "\n" + extra)

    return apply


def tf_default(var: str, value: str) -> Edit:
    """Set the default of Terraform variable var (in variables.tf)."""

    def apply(root: Path) -> None:
        path = root / "variables.tf"
        text = path.read_text()
        new, n = re.subn(rf'(variable "{var}" \{{.*?\n\s*default\s*=\s*)([^\n]+)', lambda m: m.group(1) + value,
                         text, count=1, flags=re.S)
        assert n == 1, f"variable {var} has no default"
        path.write_text(new)

    return apply


def cfn_default(rel: str, param: str, value: str) -> Edit:
    """Set the Default of a CloudFormation YAML parameter."""

    def apply(root: Path) -> None:
        path = root / rel
        text = path.read_text()
        new, n = re.subn(rf"(\n  {param}:\n(?:    [^\n]*\n)*?    Default: )([^\n]+)", lambda m: m.group(1) + value,
                         text, count=1)
        assert n == 1, f"parameter {param} not found"
        path.write_text(new)

    return apply


def json_edit(rel: str, fn: Callable[[dict], None]) -> Edit:
    """Edit a JSON template as data (it is kept in json.dumps(indent=2) form, so lines stay put)."""

    def apply(root: Path) -> None:
        path = root / rel
        doc = json.loads(path.read_text())
        fn(doc)
        path.write_text(json.dumps(doc, indent=2) + "\n")

    return apply


# --------------------------------------------------------------------------- inputs per flavour


@dataclass
class Flavour:
    """What to copy from the reference and what to scan, for one flavour."""

    name: str
    prepare: Callable[[Path], tuple[list[Path], list[Path]]]  # tmp -> (paths, values)
    edit_root: Callable[[Path], Path] = lambda tmp: tmp


def _copy(src: Path, dst: Path) -> Path:
    if src.is_dir():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    return dst


def prepare_terraform(tmp: Path) -> tuple[list[Path], list[Path]]:
    return [_copy(REFERENCE / "terraform", tmp / "terraform")], []


def prepare_cfn_yaml(tmp: Path) -> tuple[list[Path], list[Path]]:
    return [_copy(REFERENCE / "cloudformation" / "conncentric.yaml", tmp / "cfn" / "conncentric.yaml")], []


def prepare_cfn_json(tmp: Path) -> tuple[list[Path], list[Path]]:
    return [_copy(REFERENCE / "cloudformation" / "conncentric.json", tmp / "cfn" / "conncentric.json")], []


def prepare_helm(tmp: Path) -> tuple[list[Path], list[Path]]:
    chart = _copy(REFERENCE / "chart" / "conncentric", tmp / "chart" / "conncentric")
    values = _copy(REFERENCE / "values" / "production.yaml", tmp / "values" / "production.yaml")
    return [chart], [values]


def render_reference(dst: Path) -> Path:
    """The reference chart rendered with helm and the production values: plain manifests."""
    from asbuilt.tools import helm_binary, helm_env

    home = dst.parent / ".helm"
    home.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([str(helm_binary()), "template", "conncentric", str(REFERENCE / "chart" / "conncentric"),
                          "-n", "conncentric", "--values", str(REFERENCE / "values" / "production.yaml")],
                         capture_output=True, text=True, check=True, env=helm_env(home))
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(out.stdout)
    return dst


def prepare_manifests(tmp: Path) -> tuple[list[Path], list[Path]]:
    return [render_reference(tmp / "manifests" / "conncentric.yaml")], []


def prepare_compose(tmp: Path) -> tuple[list[Path], list[Path]]:
    return [_copy(FIXTURES / "compose" / "docker-compose.yml", tmp / "compose" / "docker-compose.yml")], []


def prepare_gradle(tmp: Path) -> tuple[list[Path], list[Path]]:
    _copy(REFERENCE / "plugin", tmp / "plugin")
    return [tmp / "plugin" / "build.gradle.kts"], []


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=asbuilt-tests", "-c", "user.email=tests@asbuilt.invalid",
                    "-c", "commit.gpgsign=false", *args], check=True, capture_output=True)


def prepare_git(tmp: Path) -> tuple[list[Path], list[Path]]:
    repo = _copy(REFERENCE / "plugin", tmp / "plugin-repo")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "plugin")
    # An ignored build output is not tracked: it must not count.
    (repo / "build" / "libs").mkdir(parents=True)
    (repo / "build" / "libs" / "my-custom-processor-1.0.0.jar").write_bytes(stand_in_jar())
    return [repo], []


def stand_in_jar() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        zf.writestr("com/example/Processor.class", b"\xca\xfe\xba\xbe")
    return buf.getvalue()


def bundle_entries() -> dict[str, bytes]:
    """The reference bundle (examples/reference/bundle) as zip entries, with a stand-in plugin JAR."""
    src = REFERENCE / "bundle"
    entries = {}
    for f in sorted(src.rglob("*")):
        if f.is_file() and f.name != "README.md":
            entries[f.relative_to(src).as_posix()] = f.read_bytes()
    entries["plugins/my-custom-processor-1.0.0.jar"] = stand_in_jar()
    return entries


def write_zip(path: Path, entries: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return path


def prepare_bundle(tmp: Path) -> tuple[list[Path], list[Path]]:
    return [write_zip(tmp / "bundle" / "custom-bundle-v1.0.0.zip", bundle_entries())], []


FLAVOURS = {
    "terraform": Flavour("terraform", prepare_terraform, lambda tmp: tmp / "terraform"),
    "cloudformation-yaml": Flavour("cloudformation-yaml", prepare_cfn_yaml, lambda tmp: tmp / "cfn"),
    "cloudformation-json": Flavour("cloudformation-json", prepare_cfn_json, lambda tmp: tmp / "cfn"),
    "helm": Flavour("helm", prepare_helm),
    "manifests": Flavour("manifests", prepare_manifests, lambda tmp: tmp / "manifests"),
    "compose": Flavour("compose", prepare_compose, lambda tmp: tmp / "compose"),
    "gradle": Flavour("gradle", prepare_gradle, lambda tmp: tmp / "plugin"),
    "git": Flavour("git", prepare_git, lambda tmp: tmp / "plugin-repo"),
    "bundle": Flavour("bundle", prepare_bundle, lambda tmp: tmp / "bundle"),
}


@dataclass
class Variant:
    """A copy of the reference that violates exactly one control."""

    id: str
    control: str
    flavour: str
    edits: list[Edit]
    file: str           # the file the failure message must name (with a line)
    anchor: str         # text on that line (the resource / object / value the message points at)
    words: list[str] = field(default_factory=list)  # more text the message must contain
    with_paths: list[str] = field(default_factory=list)  # other flavours scanned alongside (cross-flavour)

    def __str__(self) -> str:
        return self.id


# --------------------------------------------------------------------------- scanning


def statuses(verdicts) -> dict[str, str]:
    return {v.control: v.status for v in verdicts}


def scan(paths: list[Path], values: list[Path], report_dir: Path, profile: str = "conncentric-aws"):
    from asbuilt import static
    from asbuilt.catalogue import load_profile

    return static.scan(paths, load_profile(profile), values, report_dir)
