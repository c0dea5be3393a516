"""Kubernetes manifests and Helm charts.

A chart is rendered with the real helm CLI (``helm template RELEASE CHART -n NS --values F...``,
helm >= 4.1 from ``asbuilt.tools``) exactly as the user deploys it; the output is split by its
``# Source:`` comments into one file per template under a temporary folder, which checkov's
Kubernetes runner then parses like any manifests. Findings name the chart's template file and
the line where the object's ``kind:`` is written (and, for values, the values file and line), not
the temporary rendering.

``AsbuiltRunner`` hooks into ``Runner.check_definitions``: it models the parsed objects as one
``K8sStack`` per chart or manifest set before the checks run.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from asbuilt.errors import RunError
from asbuilt.safeio import read_text
from asbuilt.static.estate import K8sObject, K8sStack, Loc, display_path

_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)


def missing_dependencies(chart: Path) -> list[str]:
    """The dependencies Chart.yaml (or a v1 chart's requirements.yaml) lists that charts/ does not
    hold, as ``name version (repository)``: helm cannot render the chart until
    `helm dependency build` fetches them."""
    import tarfile

    import yaml

    deps: list = []
    for name in ("Chart.yaml", "requirements.yaml"):
        try:
            doc = yaml.safe_load(read_text(chart / name, "chart", "iac", OSError)) or {}
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("dependencies"), list):
            deps += [d for d in doc["dependencies"] if isinstance(d, dict) and d.get("name")]
    if not deps:
        return []
    present: set[str] = set()
    charts_dir = chart / "charts"
    if charts_dir.is_dir():
        for entry in charts_dir.iterdir():
            if entry.is_dir() and (entry / "Chart.yaml").exists():
                try:
                    present.add(str((yaml.safe_load((entry / "Chart.yaml").read_text()) or {}).get("name") or entry.name))
                except (OSError, yaml.YAMLError, AttributeError):
                    present.add(entry.name)
            elif entry.name.endswith(".tgz"):
                try:
                    with tarfile.open(entry) as tf:
                        member = next((m for m in tf.getmembers() if m.name.count("/") == 1
                                       and m.name.endswith("/Chart.yaml")), None)
                        data = tf.extractfile(member).read() if member else b""
                    present.add(str((yaml.safe_load(data) or {}).get("name") or ""))
                except (OSError, tarfile.TarError, yaml.YAMLError, AttributeError):
                    present.add(re.sub(r"-\d[\w.+-]*\.tgz$", "", entry.name))
    missing = []
    for d in deps:
        if str(d.get("repository") or "").startswith("file://") and (chart / str(d["repository"])[7:]).is_dir():
            continue  # a local dependency helm reads from its folder
        if str(d["name"]) not in present:
            missing.append(f"{d['name']} {d.get('version') or ''}".strip()
                           + (f" ({d['repository']})" if d.get("repository") else ""))
    return missing


def render_chart(chart: Path, values: list[Path], release: str, namespace: str, out_dir: Path) -> dict[Path, Path]:
    """Render chart into out_dir; returns {rendered file: template file it came from}."""
    from asbuilt.tools import helm_binary, helm_env

    helm = helm_binary()
    home = out_dir / ".helm-home"
    home.mkdir(parents=True, exist_ok=True)
    argv = [str(helm), "template", release, str(chart), "--namespace", namespace]
    for v in values:
        argv += ["--values", str(v)]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=helm_env(home),
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunError(f"helm template {display_path(chart)} could not run: {exc}") from None
    if res.returncode != 0:
        lines = [ln.strip() for ln in (res.stderr or res.stdout).strip().splitlines() if ln.strip()]
        first = next((i for i, ln in enumerate(lines) if ln.lower().startswith("error")), 0)
        reason = " ".join(ln for ln in lines[first:first + 3] if not ln.startswith("Use --debug")) \
            if lines else f"exit {res.returncode}"
        hint = (f"; run `helm dependency build {display_path(chart)}` first" if "missing in charts/" in reason
                or "dependency build" in reason else "")
        raise RunError(f"helm template {display_path(chart)} failed: {reason[:300]}{hint}")
    mapping: dict[Path, Path] = {}
    chunks: dict[str, list[str]] = {}
    for doc in re.split(r"^---\s*$", res.stdout, flags=re.MULTILINE):
        m = _SOURCE.search(doc)
        if not m or not doc.strip():
            continue
        chunks.setdefault(m.group(1).strip(), []).append(doc.strip("\n"))
    for source, docs in chunks.items():
        rel = Path(source)
        rendered = out_dir / "rendered" / rel
        rendered.parent.mkdir(parents=True, exist_ok=True)
        rendered.write_text("\n---\n".join(docs) + "\n")
        mapping[rendered.resolve()] = chart / Path(*rel.parts[1:]) if len(rel.parts) > 1 else chart / rel
    if not mapping:
        raise RunError(f"helm template {display_path(chart)} rendered no Kubernetes objects")
    return mapping


def _kind_line(template: Path, kind: str, cache: dict[Path, list[str]], occurrence: int = 0) -> int:
    """The line of the occurrence-th `kind: <kind>` of a template (the last one when a `range` makes
    several objects from one)."""
    if template not in cache:
        try:
            cache[template] = read_text(template, "template", "iac", OSError).splitlines()
        except OSError:
            cache[template] = []
    lines = cache[template]
    found = [i for i, line in enumerate(lines, 1) if re.match(rf"^\s*kind:\s*{re.escape(kind)}\s*$", line)]
    if found:
        return found[min(occurrence, len(found) - 1)]
    for i, line in enumerate(lines, 1):
        if re.match(r"^\s*kind:", line):
            return i
    return 1


def build_stack(definitions: dict, flavour: str, name: str, namespace: str,
                mapping: dict[Path, Path] | None = None) -> K8sStack:
    stack = K8sStack(flavour, name, namespace)
    cache: dict[Path, list[str]] = {}
    seen: dict[tuple[Path, str], int] = {}
    for file, docs in sorted(definitions.items(), key=lambda kv: str(kv[0])):
        for conf in docs if isinstance(docs, list) else []:
            if not isinstance(conf, dict) or not conf.get("kind"):
                continue
            kind = str(conf.get("kind"))
            meta = conf.get("metadata") or {}
            ns = str(meta.get("namespace") or namespace)
            obj_name = str(meta.get("name") or "(unnamed)")
            address = f"{kind} {ns}/{obj_name}"
            path = Path(str(file)).resolve()
            if mapping and path in mapping:
                template = mapping[path]
                n = seen.get((template, kind), 0)
                seen[(template, kind)] = n + 1
                loc = Loc(display_path(template), _kind_line(template, kind, cache, n), address)
            else:
                start, end = int(conf.get("__startline__") or 1), int(conf.get("__endline__") or 0)
                if path not in cache:
                    try:
                        cache[path] = read_text(path, "manifest", "iac", OSError).splitlines()
                    except OSError:
                        cache[path] = []
                lines = cache[path]
                line = next((i for i in range(max(start - 1, 1), (end or start + 1) + 1)
                             if i <= len(lines) and re.match(rf"^kind:\s*{re.escape(kind)}\s*$", lines[i - 1])), start)
                loc = Loc(display_path(path), line, address)
            obj = K8sObject(kind, ns, obj_name, conf, loc, id(conf))
            stack.objects.append(obj)
            stack.by_conf[id(conf)] = obj
            if kind in ("Kustomization", "Component") and str(conf.get("apiVersion") or "").startswith(
                    "kustomize.config.k8s.io"):
                changes = kustomize_changes(conf, path.parent)
                if changes:
                    stack.unapplied.append({"file": loc.file, "line": loc.line, "changes": changes})
    return stack


# what makes `kustomize build` give other objects than the files it lists, as they are written
KUSTOMIZE_CHANGES = ("patches", "patchesStrategicMerge", "patchesJson6902", "replicas", "images", "helmCharts",
                     "configMapGenerator", "secretGenerator", "generators", "transformers", "replacements",
                     "components", "vars")


def kustomize_changes(conf: dict, folder: Path) -> list[str]:
    """The fields of a Kustomization that change what it builds from its files, and the resources
    it lists that are not local files or folders (remote bases: content the scan does not have)."""
    out = [k for k in KUSTOMIZE_CHANGES if conf.get(k)]
    for r in conf.get("resources") or conf.get("bases") or []:
        text = str(r)
        if "://" in text or text.startswith(("github.com/", "git@")) or not (folder / text).exists():
            out.append(f"resource {text[:120]}")
    return out


def stack_of_one(conf: dict) -> K8sStack:
    return build_stack({"(checkov)": [conf]}, "kubernetes", "(single object)", "default")


class KubernetesSource:
    """What one k8s runner run scans: a rendered chart or a set of manifest files."""

    def __init__(self, flavour: str, name: str, namespace: str, files: list[Path] | None = None,
                 root: Path | None = None, mapping: dict[Path, Path] | None = None, values: Any = None,
                 location: str = ""):
        self.flavour, self.name, self.namespace = flavour, name, namespace
        self.files, self.root, self.mapping, self.values = files, root, mapping, values
        self.location = location


def make_runner(source: KubernetesSource):
    from checkov.kubernetes.runner import Runner

    from asbuilt.static.checkbase import current

    class AsbuiltKubernetesRunner(Runner):
        def check_definitions(self, root_folder, runner_filter, report, collect_skip_comments=True):  # type: ignore[override]
            ctx = current()
            if ctx is not None:
                stack = build_stack(self.definitions, source.flavour, source.name, source.namespace, source.mapping)
                stack.values = source.values
                stack.location = source.location
                ctx.add_stack(stack)
            return super().check_definitions(root_folder, runner_filter, report, collect_skip_comments)

    return AsbuiltKubernetesRunner()


def is_manifest(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("apiVersion"), str) and isinstance(data.get("kind"), str)


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="asbuilt-static-"))
