"""One static scan: find the inputs, run checkov with asbuilt's checks, judge each control.

1. **Inputs** (``Inputs``): the paths of a target's ``static`` section, or the PATHs of
   ``asbuilt static``, sorted into Terraform roots, CloudFormation templates, manifests, charts
   (+ values files), compose files, Gradle builds, Git repositories and bundle zips. A missing
   path, an unreadable or unparseable file, a failing helm and finding nothing to scan are
   errors (``RunError``: exit 2, one line), never a pass.
2. **checkov** runs its Terraform, CloudFormation and Kubernetes runners (charts rendered with
   helm first) with asbuilt's custom checks only (built-in checks off unless asked for); each
   runner models its stacks before the checks run (see ``asbuilt.static.estate``). No network:
   no API key, no guideline or module download, mapping download skipped.
3. The **file checks** (values, Gradle, Git, bundles, compose) run the same way without checkov.
4. **Judgement**: each control is judged once per stack over every anchor's facts (the rule's
   message names every failing resource with file:line and the fix), the stacks' verdicts merge
   into one static verdict per control.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from asbuilt.catalogue import Profile, load_catalogue
from asbuilt.errors import InputError, RunError
from asbuilt.rules import Verdict
from asbuilt.verdict import UnknownFact, error_message, fail_message
from asbuilt.static.checkbase import (
    DEFINITIONS, FILE_KINDS, ScanContext, check_id, control_of, judge_anchor, load_checks, register_framework,
    set_current,
)
from asbuilt.static.estate import display_path
from asbuilt.console import progress_note

# No network and no parallel forks during a scan; set before checkov is imported.
for _k, _v in {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_PARALLELIZATION_TYPE": "none", "CKV_NO_DOWNLOAD": "TRUE",
               "SKIP_DOWNLOAD": "TRUE", "LOG_LEVEL": "ERROR", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}.items():
    os.environ.setdefault(_k, _v)

SKIP_DIRS = {".git", ".terraform", "node_modules", "build", ".gradle", "__pycache__", ".venv", "venv", ".tox",
             ".idea", ".pytest_cache"}
YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json", ".template")


@dataclass
class ChartInput:
    path: Path
    values: list[Path]
    release: str | None = None    # default: the chart's name (as `helm install <chart-name> <chart>`)
    namespace: str | None = None  # default: the release's name

    def __post_init__(self) -> None:
        if self.release is None:
            self.release = _chart_name(self.path)
        if self.namespace is None:
            self.namespace = self.release


def _chart_name(chart: Path) -> str:
    try:
        doc = yaml.safe_load((chart / "Chart.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        doc = {}
    name = doc.get("name") if isinstance(doc, dict) else None
    return str(name) if name else chart.name


@dataclass
class Inputs:
    terraform: list[Path] = field(default_factory=list)
    terraform_plans: list[Path] = field(default_factory=list)  # `terraform show -json` of a plan or a state
    cloudformation: list[Path] = field(default_factory=list)
    manifests: list[list[Path]] = field(default_factory=list)
    charts: list[ChartInput] = field(default_factory=list)
    compose: list[Path] = field(default_factory=list)
    gradle: list[Path] = field(default_factory=list)
    repos: list[tuple[Path, bool]] = field(default_factory=list)
    bundles: list[Path] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # non-regular files a walk left out (notes)
    tf_var_files: list[Path] = field(default_factory=list)  # --var-file
    tf_vars: list[str] = field(default_factory=list)        # --var NAME=VALUE
    cfn_parameters: dict[str, str] = field(default_factory=dict)  # --parameter NAME=VALUE (CloudFormation)

    def empty(self) -> bool:
        return not (self.terraform or self.terraform_plans or self.cloudformation or any(self.manifests) or self.charts or self.compose
                    or self.gradle or self.bundles)

    def summary(self) -> dict[str, Any]:
        return {
            "terraform": [display_path(p) for p in self.terraform],
            "terraform_plans": [display_path(p) for p in self.terraform_plans],
            "cloudformation": [display_path(p) for p in self.cloudformation],
            "manifests": [display_path(p) for group in self.manifests for p in group],
            "charts": [{"chart": display_path(c.path), "values": [display_path(v) for v in c.values],
                        "release": c.release, "namespace": c.namespace} for c in self.charts],
            "compose": [display_path(p) for p in self.compose],
            "gradle": [display_path(p) for p in self.gradle],
            "repos": [display_path(p) for p, _ in self.repos],
            "bundles": [display_path(p) for p in self.bundles],
        }


# --------------------------------------------------------------------------- discovery


from asbuilt.safeio import BoundedLoader, loader_for  # noqa: E402


class _CfnLoader(BoundedLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, ...) read as plain values; bounded
    (alias expansion, duplicate keys: asbuilt.safeio)."""

    max_nodes = loader_for("iac").max_nodes


def _any_tag(loader: BoundedLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {f"!{suffix}": loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {f"!{suffix}": loader.construct_sequence(node, deep=True)}
    return {f"!{suffix}": loader.construct_mapping(node, deep=True)}


_CfnLoader.add_multi_constructor("!", _any_tag)


def _load_docs(path: Path) -> list[Any]:
    from asbuilt.safeio import read_text

    shown = display_path(path)
    text = read_text(path, "IaC", "iac", RunError)
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        import json

        try:
            return [json.loads(text)]
        except RecursionError:
            raise RunError(f"{shown}: not valid JSON: nested too deeply") from None
        except ValueError as exc:
            if suffix != ".template":  # AWS's samples name YAML templates .template too
                raise RunError(f"{shown}: not valid JSON: {exc}") from None
    try:
        return [d for d in yaml.load_all(text, Loader=_CfnLoader) if d is not None]
    except RecursionError:
        raise RunError(f"{shown}: not valid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise RunError(f"{shown}{where}: not valid {'JSON or ' if suffix == '.template' else ''}YAML: "
                       f"{getattr(exc, 'problem', None) or exc}") from None


def _is_cfn(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if "AWSTemplateFormatVersion" in doc:
        return True
    res = doc.get("Resources")
    return isinstance(res, dict) and any(isinstance(r, dict) and str(r.get("Type", "")).startswith(("AWS::", "Custom::"))
                                         for r in res.values())


# Non-regular files met by a walk (FIFOs, devices, sockets): skipped, listed in the run's notes.
_SKIPPED: list[str] = []


def _regular(path: Path) -> bool:
    """A regular file (after symlinks)? Never opens it: a FIFO named main.tf must not block the walk."""
    import stat

    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """(files, chart dirs) under root, skipping build / VCS folders and not descending into charts.
    Anything but a regular file is left out with a note (``_SKIPPED``)."""
    files, charts = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        if (d / "Chart.yaml").exists():
            charts.append(d)
            dirnames[:] = []
            continue
        dirnames[:] = sorted(n for n in dirnames if n not in SKIP_DIRS and not n.startswith("."))
        for f in sorted(filenames):
            if _regular(d / f):
                files.append(d / f)
            else:
                note = f"{display_path(d / f)}: not a regular file (FIFO, device, socket or broken link): skipped"
                if note not in _SKIPPED:
                    _SKIPPED.append(note)
    return files, charts


TF_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json")


def precheck_terraform(root: Path) -> None:
    """checkov reads Terraform itself: hand it only regular files within the IaC bound, so a 50 MB
    .tf is one line instead of checkov's tracebacks (and a FIFO never reaches its parser)."""
    from asbuilt.safeio import check_file

    if root.is_file() or not root.exists():
        check_file(root, "Terraform", "iac", RunError)
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(n for n in dirnames if not n.startswith(".") and n not in SKIP_DIRS)
        for f in filenames:
            if f.lower().endswith(TF_SUFFIXES):
                p = Path(dirpath) / f
                if not _regular(p):
                    raise RunError(f"{display_path(p)}: Terraform file is not a regular file (FIFO, device or "
                                   "broken link): remove it or scan another folder")
                check_file(p, "Terraform", "iac", RunError)


def _classify_file(path: Path, inputs: Inputs, manifests: list[Path], values: list[Path], tf_seen: list[bool]) -> None:
    name = path.name.lower()
    if name.endswith(".tf"):
        tf_seen[0] = True
        return
    if name in ("build.gradle.kts", "build.gradle"):
        inputs.gradle.append(path)
        return
    if name.endswith(".zip"):
        inputs.bundles.append(path)
        return
    if not name.endswith(YAML_SUFFIXES + JSON_SUFFIXES) or path.resolve() in {v.resolve() for v in values}:
        return
    if name.endswith(".json") and name in ("package.json", "package-lock.json", "tsconfig.json"):
        return
    docs = _load_docs(path)
    from asbuilt.static.files import is_compose
    from asbuilt.static.kubernetes import is_manifest
    from asbuilt.static.tfplan import kind_of

    if name.endswith(".json") and docs and kind_of(docs[0]):
        inputs.terraform_plans.append(path)
    elif any(_is_cfn(d) for d in docs):
        inputs.cloudformation.append(path)
    elif any(is_manifest(d) for d in docs):
        manifests.append(path)
    elif docs and is_compose(path, docs[0]):
        inputs.compose.append(path)
    else:
        inputs.ignored.append(display_path(path))


def discover_paths(paths: list[Path], values: list[Path], release: str | None = None,
                   namespace: str | None = None) -> Inputs:
    """Inputs of `asbuilt static PATH...` (each PATH a folder or a file)."""
    _SKIPPED.clear()
    inputs = Inputs()
    for v in values:
        if not Path(v).expanduser().exists():
            raise RunError(f"{v}: values file not found")
        from asbuilt.safeio import check_file

        check_file(Path(v).expanduser(), "values", "iac", RunError)
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise RunError(f"{raw}: no such file or directory")
        manifests: list[Path] = []
        tf_seen = [False]
        if path.is_dir():
            files, charts = _walk(path)
            for c in charts:
                inputs.charts.append(ChartInput(c, list(values), release, namespace))
            for f in files:
                try:
                    _classify_file(f, inputs, manifests, values, tf_seen)
                except RunError as exc:
                    # a file the walk met, not one the user named: one note for it, not the end of
                    # the run (a .env.template, a YAML file PyYAML refuses)
                    note = str(exc)
                    if note not in _SKIPPED:
                        _SKIPPED.append(note)
            if tf_seen[0]:
                inputs.terraform.append(path)
        else:
            if path.name == "Chart.yaml":
                inputs.charts.append(ChartInput(path.parent, list(values), release, namespace))
            else:
                _classify_file(path, inputs, manifests, values, tf_seen)
                if tf_seen[0]:
                    inputs.terraform.append(path)
        if manifests:
            inputs.manifests.append(manifests)
        if path.is_dir():
            inputs.repos.append((path, False))  # SDK-01: JARs Git tracks below the scanned folder
        elif path.name in ("build.gradle.kts", "build.gradle"):
            inputs.repos.append((path.parent, False))
    if values and not inputs.charts:
        raise RunError("--values was given but no Helm chart (a folder with Chart.yaml) is among the paths")
    inputs.skipped, _SKIPPED[:] = list(_SKIPPED), []
    return inputs


def discover_target(target: Any, profile: Any = None) -> Inputs:
    """Inputs of a target file's static section (paths relative to the target file's folder).
    With ``profile`` (a Profile or a built-in profile's name), a chart or manifest entry whose
    ``profiles`` does not name it (by the built-in profile it is, or extends) is left out of this
    run, with a note saying so; an entry without ``profiles`` is judged by every profile."""
    base = Path(target.source).resolve().parent if getattr(target, "source", None) else Path.cwd()
    st = target.static
    _SKIPPED.clear()
    run_profile = getattr(profile, "base", profile)
    scoped_out: list[str] = []

    def in_scope(entry: Any, what: str) -> bool:
        names = list(getattr(entry, "profiles", None) or [])
        if not names or run_profile is None or run_profile in names:
            return True
        scoped_out.append(f"{what}: not judged by profile {run_profile} (the target's entry names profiles "
                          f"{', '.join(names)})")
        return False

    def resolve(p: Path) -> Path:
        full = Path(p).expanduser()
        full = full if full.is_absolute() else base / full
        if not full.exists():
            raise RunError(f"target {target.name}: static path {p} not found ({display_path(full)})")
        return full

    inputs = Inputs()
    for p in st.terraform:
        inputs.terraform.append(resolve(p))
    for p in st.terraform_plan:
        inputs.terraform_plans.append(resolve(p))
    for p in st.cloudformation_parameter_files:  # the files first: values written in the target win
        inputs.cfn_parameters.update(cfn_parameter_file(resolve(p)))
    inputs.cfn_parameters.update({str(k): _param_text(v) for k, v in st.cloudformation_parameters.items()})
    for p in st.cloudformation:
        full = resolve(p)
        files = [full] if full.is_file() else [f for f in _walk(full)[0] if f.suffix.lower() in YAML_SUFFIXES + JSON_SUFFIXES]
        for f in files:
            if any(_is_cfn(d) for d in _load_docs(f)):
                inputs.cloudformation.append(f)
            elif full.is_file():
                raise RunError(f"{display_path(f)}: not a CloudFormation template")
    for c in st.charts:
        if not in_scope(c, f"chart {c.path}"):
            continue
        chart = resolve(c.path)
        if not (chart / "Chart.yaml").exists():
            raise RunError(f"target {target.name}: {display_path(chart)} is not a Helm chart (no Chart.yaml)")
        inputs.charts.append(ChartInput(chart, [resolve(v) for v in c.values], c.release, c.namespace))
    for m in st.manifests:
        p = getattr(m, "path", m)
        if not in_scope(m, f"manifests {p}"):
            continue
        full = resolve(p)
        files = [full] if full.is_file() else [f for f in _walk(full)[0] if f.suffix.lower() in YAML_SUFFIXES + JSON_SUFFIXES]
        from asbuilt.static.kubernetes import is_manifest

        group = [f for f in files if any(is_manifest(d) for d in _load_docs(f))]
        if not group:
            raise RunError(f"target {target.name}: no Kubernetes manifest in {display_path(full)}")
        inputs.manifests.append(group)
    for p in st.compose:
        full = resolve(p)
        inputs.compose += [full] if full.is_file() else [f for f in _walk(full)[0] if f.name.lower().startswith(
            ("docker-compose", "compose")) and f.suffix.lower() in YAML_SUFFIXES]
    for p in st.gradle:
        full = resolve(p)
        builds = [full] if full.is_file() else [f for f in _walk(full)[0] if f.name in ("build.gradle.kts", "build.gradle")]
        if not builds:
            raise RunError(f"target {target.name}: no build.gradle(.kts) in {display_path(full)}")
        inputs.gradle += builds
        inputs.repos.append((full, False))
    for p in st.repos:
        inputs.repos.append((resolve(p), True))
    for p in st.bundles:
        inputs.bundles.append(resolve(p))
    inputs.skipped, _SKIPPED[:] = [*_SKIPPED, *scoped_out], []
    return inputs


# --------------------------------------------------------------------------- running


@dataclass
class ScanResult:
    verdicts: list[Verdict]
    anchors: list[dict]           # every judged anchor: control, status, file, line, message (SARIF)
    builtin_findings: list[dict]  # checkov's own checks, when asked for
    inputs: dict[str, Any]
    notes: list[str]
    seconds: float
    coverage: dict[str, Any] = field(default_factory=dict)


def _quiet_checkov() -> None:
    for name in ("checkov", "bc", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _filter(framework: str, controls: set[str], builtins: bool, var_files: list[Path] | None = None):
    from checkov.runner_filter import RunnerFilter

    ids = None if builtins else sorted(check_id(c) for c in controls) or ["ASB_NONE"]
    return RunnerFilter(framework=[framework], checks=ids, show_progress_bar=False, download_external_modules=False,
                        run_image_referencer=False, include_all_checkov_policies=True,
                        var_files=[str(v) for v in var_files] if var_files else None)


def tf_var_file(assignments: list[str], workdir: Path) -> Path | None:
    """--var NAME=VALUE as a .tfvars file checkov reads like -var-file (values that are HCL/JSON
    literals - numbers, bools, lists, maps - kept as they are; anything else a string)."""
    import json
    import re

    if not assignments:
        return None
    lines = []
    for a in assignments:
        name, sep, value = a.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][\w-]*", name.strip()):
            raise InputError(f"--var {name.strip()[:40]!r}: expected NAME=VALUE")
        v = value.strip()
        literal = re.fullmatch(r"-?\d+(\.\d+)?|true|false|null", v) or v[:1] in "[{"
        lines.append(f"{name.strip()} = {v if literal else json.dumps(value)}")
    path = workdir / "asbuilt-cli.auto.tfvars"
    path.write_text("\n".join(lines) + "\n")
    return path


def cfn_parameters(assignments: list[str]) -> dict[str, str]:
    """--parameter NAME=VALUE (as `aws cloudformation deploy --parameter-overrides` takes them)."""
    import re

    out: dict[str, str] = {}
    for a in assignments:
        name, sep, value = a.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9]+", name.strip()):
            raise InputError(f"--parameter {name.strip()[:40]!r}: expected NAME=VALUE (NAME alphanumeric, as "
                             "CloudFormation parameters are)")
        out[name.strip()] = value
    return out


def cfn_parameter_file(path: Path) -> dict[str, str]:
    """Parameter values from a file, in the forms the AWS tools write them (JSON or YAML):
    ``[{"ParameterKey": k, "ParameterValue": v}, ...]`` (create-stack/update-stack ``--parameters
    file://``), ``{"Parameters": {k: v}}`` (a CodePipeline template configuration), ``["k=v", ...]``
    (deploy ``--parameter-overrides file://``) or a plain ``{k: v}`` mapping. A parameter with
    ``UsePreviousValue`` has no value here: it stays undecided."""
    from asbuilt.safeio import check_file

    check_file(path, "CloudFormation parameters", "config", InputError)
    where = f"--parameter-file {display_path(path)}"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: not JSON or YAML ({' '.join(str(exc).split())[:120]})") from None
    if isinstance(doc, dict) and "Parameters" in doc:  # a template configuration: its Parameters mapping
        doc = doc["Parameters"] if isinstance(doc["Parameters"], dict) else None
    out: dict[str, str] = {}
    if isinstance(doc, list) and all(isinstance(i, str) for i in doc):
        return cfn_parameters(doc)
    if isinstance(doc, list) and all(isinstance(i, dict) and "ParameterKey" in i for i in doc):
        for item in doc:
            if "ParameterValue" in item and not item.get("UsePreviousValue"):
                out[str(item["ParameterKey"])] = _param_text(item["ParameterValue"])
        return out
    if isinstance(doc, dict) and all(isinstance(v, (str, int, float, bool, list)) for v in doc.values()):
        return {str(k): _param_text(v) for k, v in doc.items()}
    raise InputError(f"{where}: expected a list of ParameterKey/ParameterValue, a list of NAME=VALUE, "
                     "{\"Parameters\": {NAME: VALUE}} or a NAME: VALUE mapping")


def _param_text(value: Any) -> str:
    """A parameter value as CloudFormation receives it: a string (lists comma-delimited)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_param_text(v) for v in value)
    return str(value)


def _reports(result: Any) -> list[Any]:
    return result if isinstance(result, list) else [result]


class DeadlineReached(RunError):
    """The run's --timeout passed during the static phase."""


class Scan:
    def __init__(self, inputs: Inputs, profile: Profile, controls: set[str] | None = None, builtins: bool = False,
                 deadline: float | None = None):
        self.inputs = inputs
        self.deadline = deadline  # time.time() after which the scan stops (asbuilt run --timeout)
        self.profile = profile
        self.builtins = builtins
        load_checks()
        catalogue = load_catalogue()
        in_profile = {c.id for c in catalogue.for_profile(profile.base) if c.static}
        self.controls = {c for c in DEFINITIONS if c in in_profile and (controls is None or c in controls)}
        self.ctx = ScanContext(profile)
        self.ctx.cfn_parameters = dict(inputs.cfn_parameters)
        self.builtin_findings: list[dict] = []
        self.mappings: dict[Path, Path] = {}
        self.workdir: Path | None = None

    def run(self) -> ScanResult:
        started = time.monotonic()
        if self.inputs.empty():
            raise RunError("nothing to scan: no Terraform, CloudFormation, manifest, Helm chart, compose file, "
                           "Gradle build or bundle zip found")
        _quiet_checkov()
        from asbuilt.static.kubernetes import new_workdir

        self.workdir = new_workdir()
        self.ctx.notes.extend(self.inputs.skipped)
        set_current(self.ctx)
        try:
            self._terraform()
            self.check_deadline()
            self._terraform_plans()
            self.check_deadline()
            self._cloudformation()
            self._kubernetes()
            self.check_deadline()
            self._files()
            self.check_deadline()
            verdicts, anchors = self._judge()
        finally:
            set_current(None)
            shutil.rmtree(self.workdir, ignore_errors=True)
        return ScanResult(verdicts, anchors, self.builtin_findings, self.inputs.summary(), self.ctx.notes,
                          time.monotonic() - started, self._coverage())

    def check_deadline(self) -> None:
        if self.deadline is not None and time.time() >= self.deadline:
            raise DeadlineReached("run deadline reached during the static phase")

    # checkov frameworks ---------------------------------------------------
    def _run_checkov(self, framework: str, runner: Any, root: Path | None = None, files: list[Path] | None = None) -> list:
        register_framework(framework)
        var_files = None
        if framework == "terraform":
            extra = tf_var_file(self.inputs.tf_vars, self.workdir) if self.inputs.tf_vars and self.workdir else None
            var_files = [*self.inputs.tf_var_files, *([extra] if extra else [])]
        try:
            result = runner.run(root_folder=str(root) if root else None, files=[str(f) for f in files] if files else None,
                                runner_filter=_filter(framework, self.controls, self.builtins, var_files))
        except RunError:
            raise
        except Exception as exc:  # a checkov failure is an error of the run, never a silent pass
            where = display_path(root) if root else ", ".join(display_path(f) for f in files or [])
            raise RunError(f"checkov could not scan {where} ({framework}): {type(exc).__name__}: {exc}") from None
        reports = _reports(result)
        for report in reports:
            errors = list(getattr(report, "parsing_errors", []) or [])
            if errors:
                raise RunError(f"{display_path(errors[0])}: checkov could not parse it ({framework})"
                               + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
            if self.builtins:
                self._collect_builtins(framework, report)
        return reports

    def _terraform(self) -> None:
        from asbuilt.static.terraform import make_runner

        for root in self.inputs.terraform:
            progress_note(f"static: terraform {display_path(root)}")
            precheck_terraform(root)
            self.check_deadline()
            before = len(self.ctx.stacks)
            if root.is_file():
                self._run_checkov("terraform", make_runner(), files=[root])
            else:
                self._run_checkov("terraform", make_runner(), root=root)
            if len(self.ctx.stacks) == before:
                raise RunError(f"{display_path(root)}: checkov found no Terraform resources to check")

    def _terraform_plans(self) -> None:
        """Plan / state JSON: read into the same estate as HCL (asbuilt.static.tfplan) and judged here,
        anchor by anchor, as checkov would hand each resource to a check."""
        if not self.inputs.terraform_plans:
            return
        from asbuilt.static.tfplan import build_estate

        for path in self.inputs.terraform_plans:
            self.check_deadline()
            try:
                estate = build_estate(path)
            except RunError:
                raise
            except Exception as exc:  # a plan shaped in a way the reader did not expect: never a pass
                message = f"{display_path(path)}: the Terraform plan could not be modelled: {type(exc).__name__}: {exc}"
                for control in sorted(self.controls):
                    if DEFINITIONS[control].applies_to("terraform"):
                        self.ctx.error(control, message[:500])
                self.ctx.notes.append(message[:500])
                continue
            self.ctx.add_stack(estate)
            self._judge_anchors(estate)

    def _judge_anchors(self, stack: Any) -> None:
        """Judge every anchor of every control over a stack no checkov runner sees."""
        nodes = {n.key: n for n in stack.nodes()} if hasattr(stack, "nodes") else {}
        for control in sorted(self.controls):
            defn = DEFINITIONS[control]
            if not defn.applies_to(stack.flavour):
                continue
            try:
                anchors = {i.get("_anchor") for i in self.ctx.facts(defn, stack)}
                for anchor in sorted(anchors, key=str):
                    node = nodes.get(anchor, stack)
                    file, line = node.loc.file, node.loc.line
                    if stack.flavour == "composex":  # one anchor per item, placed where the item is
                        first = next(i for i in self.ctx.facts(defn, stack) if i.get("_anchor") == anchor)
                        file, line = first.get("file") or file, first.get("line") or line
                    judge_anchor(defn, self.ctx, stack, anchor, node.resource, file, line)
            except (RunError, InputError):
                raise
            except Exception as exc:
                self.ctx.error(control, f"{getattr(stack, 'name', '?')}: {control} could not be evaluated: "
                                        f"{type(exc).__name__}: {exc}")

    def _cloudformation(self) -> None:
        if not self.inputs.cloudformation:
            return
        from asbuilt.static.cloudformation import make_runner

        before = {id(s) for s in self.ctx.stacks}
        self._run_checkov("cloudformation", make_runner(), files=self.inputs.cloudformation)
        modelled = {Path(s.name).resolve() for s in self.ctx.stacks if id(s) not in before}
        for f in self.inputs.cloudformation:
            if f.resolve() not in modelled:
                raise RunError(f"{display_path(f)}: checkov could not parse it as a CloudFormation template")

    def _kubernetes(self) -> None:
        from asbuilt.static.files import values_stack
        from asbuilt.static.kubernetes import KubernetesSource, make_runner, render_chart
        from asbuilt.static.values import load_values

        assert self.workdir is not None
        for group in self.inputs.manifests:
            self.check_deadline()
            progress_note(f"static: manifests {display_path(group[0])}")
            name = ", ".join(display_path(f) for f in group[:3]) + (" ..." if len(group) > 3 else "")
            src = KubernetesSource("kubernetes", name, "default", files=group, location=display_path(group[0]))
            self._run_checkov("kubernetes", make_runner(src), files=group)
        from asbuilt.static.kubernetes import missing_dependencies

        for i, chart in enumerate(self.inputs.charts):
            self.check_deadline()
            chart_values = [chart.path / "values.yaml"] if (chart.path / "values.yaml").exists() else []
            values = load_values(chart_values + list(chart.values))
            missing = missing_dependencies(chart.path)
            if missing:
                # helm cannot render it: every control over the rendered chart is an error naming why
                message = (f"{display_path(chart.path / 'Chart.yaml')}: the chart's dependencies "
                           f"{', '.join(missing)} are not in charts/, so it cannot be rendered; run "
                           f"`helm dependency build {display_path(chart.path)}` and scan again")
                for control in sorted(self.controls):
                    if DEFINITIONS[control].applies_to("helm"):
                        self.ctx.error(control, message)
                self.ctx.notes.append(message)
                self.ctx.add_stack(values_stack(chart.path, values, chart.release, chart.namespace))
                continue
            out = self.workdir / f"chart-{i}"
            progress_note(f"static: rendering chart {display_path(chart.path)}")
            mapping = render_chart(chart.path, chart.values, chart.release, chart.namespace, out)
            self.mappings.update(mapping)
            name = f"{display_path(chart.path)} (release {chart.namespace}/{chart.release})"
            src = KubernetesSource("helm", name, chart.namespace, root=out / "rendered", mapping=mapping, values=values,
                                   location=display_path(chart.path / "Chart.yaml"))
            self._run_checkov("kubernetes", make_runner(src), root=out / "rendered")
            self.ctx.add_stack(values_stack(chart.path, values, chart.release, chart.namespace))

    # files -----------------------------------------------------------------
    def _files(self) -> None:
        from asbuilt.static.files import bundle_stack, compose_stack, git_stack, gradle_stack

        for f in self.inputs.gradle:
            self.ctx.add_stack(gradle_stack(f))
        seen = set()
        for path, whole in self.inputs.repos:
            stack = git_stack(path, whole)
            if stack is None:
                if whole:
                    raise RunError(f"{display_path(path)}: not a Git repository (needed for SDK-01)")
                self.ctx.notes.append(f"{display_path(path)} is not in a Git repository: SDK-01 not checked there")
                continue
            if stack.name not in seen:
                seen.add(stack.name)
                self.ctx.add_stack(stack)
        for f in self.inputs.bundles:
            self.ctx.add_stack(bundle_stack(f))
        for f in self.inputs.compose:
            self.ctx.add_stack(compose_stack(f))
        if any(DEFINITIONS[c].applies_to("composex") for c in self.controls):  # ComposeX projects (CPX-*)
            from asbuilt.static.compose import project_stacks

            for stack in project_stacks(self.inputs.compose):
                self.ctx.add_stack(stack)
        for stack in [s for s in self.ctx.stacks if getattr(s, "flavour", "") in FILE_KINDS]:
            self._judge_anchors(stack)

    # judgement ------------------------------------------------------------
    def _judge(self) -> tuple[list[Verdict], list[dict]]:
        verdicts: list[Verdict] = []
        anchors: list[dict] = []
        for control in sorted(self.controls):
            defn = DEFINITIONS[control]
            per_stack: list[Verdict] = []
            for stack in self.ctx.stacks:
                if not defn.applies_to(stack.flavour):
                    continue
                try:
                    expected = {i.get("_anchor") for i in self.ctx.facts(defn, stack)}
                except Exception as exc:
                    self.ctx.error(control, f"{stack.name}: {type(exc).__name__}: {exc}")
                    continue
                recs = self.ctx.records.get(control, {}).get(id(stack), {})
                missing = expected - set(recs)
                if missing:
                    self.ctx.error(control, f"{stack.name}: checkov did not run {check_id(control)} on "
                                            f"{', '.join(sorted(map(str, missing))[:5])}")
                items = [i for r in recs.values() for i in r.items]
                if items:
                    per_stack.append(defn.judge(items, self.profile))
                elif stack.flavour in defn.required:
                    verdict = defn.judge([], self.profile)
                    where = getattr(stack, "location", "") or stack.name
                    if verdict.status == "fail":  # nothing to anchor on: point at the chart itself
                        for f in verdict.findings:
                            if not f.resource:
                                f.resource, f.location = where, {"file": where, "line": 0}
                        verdict.message = fail_message(verdict.findings, verdict.fix) if verdict.findings \
                            else f"{where}: {verdict.message}"
                    per_stack.append(verdict)
                    if verdict.status == "fail":
                        anchors.append({"control": control, "status": "fail", "resource": stack.name,
                                        "file": where, "line": 0,
                                        "message": verdict.message})
                for r in recs.values():
                    anchors.append({"control": control, "status": r.verdict.status, "resource": r.resource,
                                    "file": r.file, "line": r.line, "message": r.verdict.message,
                                    "findings": r.verdict.findings, "fix": r.verdict.fix})  # SARIF: one result each
                blind = _unresolved_modules_verdict(control, stack, per_stack[-1] if items or
                                                    stack.flavour in defn.required else None) \
                    or _kustomized_verdict(control, stack, per_stack[-1] if items or stack.flavour in defn.required
                                           else None)
                if blind is not None:
                    if items or stack.flavour in defn.required:
                        per_stack[-1] = blind
                    else:
                        per_stack.append(blind)
            errors = self.ctx.errors.get(control, [])
            if errors:
                per_stack.append(Verdict(control, "error", "; ".join(errors), [], "static"))
            merged = merge_verdicts(control, per_stack)
            if merged is not None:
                verdicts.append(merged)
        return verdicts, anchors

    def _coverage(self) -> dict[str, Any]:
        """What this scan read: files, stacks with their resources per type, modules resolved and
        not, and what it could not read (run.coverage.static in results.json)."""
        stacks, files, resources, unresolved, resolved = [], set(), {}, [], []
        for s in self.ctx.stacks:
            flavour = getattr(s, "flavour", "")
            per: dict[str, int] = {}
            if hasattr(s, "nodes"):  # an AWS estate
                for n in s.nodes():
                    if n.loc.line:
                        files.add(n.loc.file)
                        per[type(n).__name__] = per.get(type(n).__name__, 0) + 1
                unresolved += list(getattr(s, "unresolved_modules", []) or [])
                resolved += list(getattr(s, "resolved_modules", []) or [])
            elif hasattr(s, "objects"):  # manifests / a rendered chart
                for o in s.objects:
                    files.add(o.loc.file)
                    per[o.kind] = per.get(o.kind, 0) + 1
            else:
                loc = getattr(s, "loc", None)
                if loc is not None:
                    files.add(loc.file)
                per[flavour] = 1
            for k, v in per.items():
                resources[k] = resources.get(k, 0) + v
            stacks.append({"name": getattr(s, "name", ""), "flavour": flavour, "resources": per})
        return {"files_read": len(files), "stacks": stacks, "resources": dict(sorted(resources.items())),
                "modules_resolved": sorted(set(resolved)), "modules_unresolved": unresolved,
                "not_read": list(self.ctx.notes)}

    # builtins -------------------------------------------------------------
    def _collect_builtins(self, framework: str, report: Any) -> None:
        for rec in getattr(report, "failed_checks", []) or []:
            if control_of(rec.check_id):
                continue
            path = Path(str(rec.file_abs_path or rec.file_path))
            shown = display_path(self.mappings.get(path.resolve(), path))
            line = (rec.file_line_range or [0])[0]
            self.builtin_findings.append({
                "check_id": rec.check_id, "check_name": rec.check_name, "framework": framework,
                "resource": rec.resource, "file": shown, "line": line,
                "severity": str(getattr(rec, "severity", None) or "") or None,
                "label": "checkov built-in check (not a reference-architecture control)",
            })


def _unresolved_modules_verdict(control: str, stack: Any, verdict: Verdict | None) -> Verdict | None:
    """A Terraform stack that calls modules whose code is not on disk cannot pass a control over
    AWS resources: those modules may create (or be) what the control is about. A known failure
    stands; a pass, or finding nothing to judge, becomes error naming the modules."""
    flavour = getattr(stack, "flavour", "")
    mods = getattr(stack, "unresolved_modules", None) or [] if flavour in ("terraform", "cloudformation") else []
    types = set(DEFINITIONS[control].cloudformation) if control in DEFINITIONS else set()
    undecided = [u for u in getattr(stack, "undecided_resources", None) or [] if u.get("type") in types]
    if not mods and not undecided:
        return None
    if verdict is not None and verdict.status == "fail":
        return None
    unknowns = [UnknownFact(m["fact"], f"{m['file']}:{m['line']} ({m['module']})", f"{m['why']}; {m['hint']}")
                if m.get("fact") else
                UnknownFact(f"what {m['module']} creates", f"{m['file']}:{m['line']} ({m['module']})",
                            f"its source {m['source']!r} is not on disk; run `terraform init` or scan a plan file "
                            "(`terraform show -json`) to decide")
                for m in mods]
    unknowns += [UnknownFact(u.get("fact") or f"whether {u['resource']} is created",
                             f"{u['file']}:{u['line']} ({u['resource']})",
                             u["reason"] + u.get("hint", "; give the parameter with --parameter NAME=VALUE"))
                 for u in undecided]
    if verdict is not None and verdict.status == "error":
        unknowns = [*verdict.unknowns, *unknowns]
    return Verdict(control, "error", error_message(unknowns), verdict.evidence if verdict else [], "static",
                   unknowns=unknowns)


def _kustomized_verdict(control: str, stack: Any, verdict: Verdict | None) -> Verdict | None:
    """Manifests that a kustomization among them patches (or adds to) when it is built are not what
    is deployed: no control passes, fails or finds nothing on them as written; error naming the
    kustomization and what it changes, with the way to scan what it builds."""
    kust = getattr(stack, "unapplied", None) or []
    if not kust:
        return None
    unknowns = [UnknownFact(f"what {k['file']} builds", f"{k['file']}:{k['line']}",
                            f"kustomize changes the manifests as written ({', '.join(k['changes'][:6])}), and asbuilt "
                            f"reads them as written; scan what it builds (`kubectl kustomize "
                            f"{str(Path(k['file']).parent)} > built.yaml`, then `asbuilt static built.yaml`)")
                for k in kust]
    return Verdict(control, "error", error_message(unknowns), verdict.evidence if verdict else [], "static",
                   unknowns=unknowns)


def merge_verdicts(control: str, verdicts: list[Verdict]) -> Verdict | None:
    """One static verdict of a control from its verdicts per stack: fail > error > pass."""
    if not verdicts:
        return None
    evidence = [e for v in verdicts for e in v.evidence]
    failing = [v for v in verdicts if v.status == "fail"]
    if failing:
        findings = [f for v in failing for f in v.findings]
        fixes = list(dict.fromkeys(v.fix for v in failing if v.fix))
        texts = [fail_message(v.findings, "") if v.findings else v.message for v in failing]
        message = "; ".join(texts) + (f". Fix: {' / '.join(fixes)}" if fixes else "")
        return Verdict(control, "fail", message, evidence, "static", findings=findings, fix=" / ".join(fixes))
    errors = [v for v in verdicts if v.status == "error"]
    if errors:
        unknowns = [u for v in errors for u in v.unknowns]
        return Verdict(control, "error", "; ".join(v.message for v in errors), evidence, "static", unknowns=unknowns)
    return Verdict(control, "pass", "; ".join(v.message for v in verdicts), evidence, "static")
