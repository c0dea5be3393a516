"""The ComposeX reader (CPX-01/02/05): a base ``docker-compose.yml`` and its ``envs/<env>.yml``
overrides, merged per environment with the library ComposeX itself merges with
(``compose_x_render``, PyPI ``compose-x-render``: the first file is the base, maps merge
recursively, lists concatenate, ``secrets``/``volumes`` de-duplicated, ``ports`` merged by
target), then validated against that library's compose-spec JSON schema, every problem placed at
file:line. The model (``asbuilt.model.compose``) carries each service's environment variables by
*kind* (never a value), its secrets with what backs them (``x-secrets`` = AWS Secrets Manager),
its image and the FROM lines of the Dockerfile its ``build:`` names.

How the library is used, and why not all of it:

* Files are parsed here with asbuilt's bounded safe YAML loader (``compose_x_render`` reads
  with PyYAML's full ``CLoader``, which constructs arbitrary tags), then handed to the library's
  ``merge_config_files``, and the merged file to ``ComposeDefinition(content=...)``, which
  renders ports and validates; on a validation error every error is listed with the same schema.
* The library interpolates ``${VAR}`` from *this* process's environment while it merges. A
  static reader must not: what the shell will hold at deploy time is unknown. So ``$`` is escaped
  before the merge (the library skips ``\\$``) and restored after: ``${VAR}`` stays as written,
  and a credential that needs it is ``Unknown`` (CPX-02 error), never judged on our shell.
* ``${VAR:-default}`` is validated with its default (what ComposeX renders when the shell does
  not set it); a schema error on a value that still holds a ``${VAR}`` without a default is an
  unknown, not a failure.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from asbuilt.errors import RunError
from asbuilt.model.compose import (
    BaseImage, ComposeEnvironment, ComposeProject, EnvVar, Image, MergeProblem, SecretUse, Workload,
    secret_bearing,
)
from asbuilt.model.facts import Unknown
from asbuilt.static.estate import Loc, display_path

BASE_NAMES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
ENVS_DIR = "envs"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, ${NAME:+alt}, $NAME; $$ is a literal $
_INTERP = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def shell_vars(value: Any) -> list[str]:
    """The ${VAR}s in a value that only the shell can give (no default in the file)."""
    if not isinstance(value, str):
        return []
    out = []
    for m in _INTERP.finditer(value):
        if m.group(0) == "$$":
            continue
        name, op = m.group(1) or m.group(4), m.group(2)
        if op in (None, "?", ":?", "+", ":+"):  # no default written in the file
            out.append(name)
    return out


def with_defaults(value: Any) -> Any:
    """The value with each ${VAR:-default} replaced by its default (${VAR} without one is kept)."""
    if isinstance(value, dict):
        return {k: with_defaults(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_defaults(v) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$" or m.group(2) not in ("-", ":-"):
            return m.group(0)
        return m.group(3) or ""

    return _INTERP.sub(sub, value)


def _escape(value: Any, undo: bool = False) -> Any:
    if isinstance(value, dict):
        return {k: _escape(v, undo) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v, undo) for v in value]
    if isinstance(value, str):
        return value.replace("\\$", "$") if undo else value.replace("$", "\\$")
    return value


# --------------------------------------------------------------------------- finding projects


def find_projects(files: list[Path]) -> list[tuple[Path, list[Path]]]:
    """(base, overrides) for each base compose file among ``files``: a file named like a base
    compose file that is not itself inside an ``envs/`` folder; its overrides are the YAML files
    of the ``envs/`` folder beside it (one per environment), sorted."""
    out, seen = [], set()
    for f in files:
        f = Path(f)
        if f.name.lower() not in BASE_NAMES or f.parent.name == ENVS_DIR or f.resolve() in seen:
            continue
        seen.add(f.resolve())
        envs = f.parent / ENVS_DIR
        overrides = sorted(p for p in envs.iterdir() if p.is_file() and p.suffix.lower() in (".yml", ".yaml")) \
            if envs.is_dir() else []
        out.append((f, overrides))
    return out


# --------------------------------------------------------------------------- one file


def _load(path: Path) -> tuple[Any, dict]:
    """(data, origins) of one compose file, bounded and safe (asbuilt.safeio), YAML merge keys
    (``<<: *common``, as compose files use them for shared settings) applied."""
    import yaml

    from asbuilt.safeio import loader_for, read_text
    from asbuilt.static.values import _construct

    shown = display_path(path)
    text = read_text(path, "compose", "iac", RunError)
    try:
        node = yaml.compose(text, Loader=loader_for("iac"))
        if node is None:
            return {}, {}
        flattener = yaml.SafeLoader("")
        try:
            stack, seen = [node], set()
            while stack:
                n = stack.pop()
                if id(n) in seen:
                    continue
                seen.add(id(n))
                if isinstance(n, yaml.MappingNode):
                    flattener.flatten_mapping(n)
                    stack += [v for pair in n.value for v in pair]
                elif isinstance(n, yaml.SequenceNode):
                    stack += list(n.value)
        finally:
            flattener.dispose()
        origins: dict = {}
        return _construct(node, shown, (), origins), origins
    except RecursionError:
        raise RunError(f"{shown}: not valid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RunError(f"{shown}{f':{mark.line + 1}' if mark else ''}: not valid YAML: "
                       f"{getattr(exc, 'problem', None) or exc}") from None
    except ValueError as exc:
        raise RunError(f"{shown}: not valid YAML: {exc}") from None


class _Doc:
    def __init__(self, path: Path):
        self.path = path
        self.shown = display_path(path)
        self.data, self.origins = _load(path)
        if not isinstance(self.data, dict):
            raise RunError(f"{self.shown}: not a compose file (the top level is not a mapping)")

    def line(self, *path: Any) -> int | None:
        got = self.origins.get(tuple(path))
        return got[1] if got else None

    def at(self, *path: Any) -> str:
        """file:line of the deepest part of ``path`` this file writes ("" when it writes none)."""
        p = tuple(path)
        while p:
            n = self.line(*p)
            if n is not None:
                return f"{self.shown}:{n}"
            p = p[:-1]
        return ""

    def get(self, *path: Any) -> Any:
        cur: Any = self.data
        for p in path:
            if isinstance(cur, dict) and p in cur:
                cur = cur[p]
            elif isinstance(cur, list) and isinstance(p, int) and 0 <= p < len(cur):
                cur = cur[p]
            else:
                return None
        return cur


def _where(docs: list[_Doc], *path: Any) -> str:
    """file:line where ``path`` is written: the last file that writes it exactly, else the
    deepest written part, later files first."""
    for d in reversed(docs):
        n = d.line(*path)
        if n is not None:
            return f"{d.shown}:{n}"
    best, depth = "", -1
    for d in reversed(docs):
        p = tuple(path)
        while p and d.line(*p) is None:
            p = p[:-1]
        if p and len(p) > depth:
            best, depth = d.at(*p), len(p)
    return best or f"{docs[0].shown}:1"


def _env_entries(doc: _Doc, svc: str) -> dict[str, tuple[Any, str]]:
    """name -> (value, file:line) of one file's ``environment:`` of one service."""
    env = doc.get("services", svc, "environment")
    out: dict[str, tuple[Any, str]] = {}
    if isinstance(env, dict):
        for k, v in env.items():
            out[str(k)] = (v, f"{doc.shown}:{doc.line('services', svc, 'environment', k) or 1}")
    elif isinstance(env, list):
        for i, entry in enumerate(env):
            name, sep, val = str(entry).partition("=")
            out[name.strip()] = (val if sep else None, f"{doc.shown}:{doc.line('services', svc, 'environment', i) or 1}")
    return out


def _kind(value: Any) -> tuple[str | Unknown, str, tuple[str, ...]]:
    """(kind, source, shell vars) of one variable's value."""
    from asbuilt.rules.k8s import classify_value

    needs = tuple(shell_vars(value))
    if needs:
        return (Unknown(f"its value is interpolated from the shell at deploy time ({', '.join('${' + n + '}' for n in needs)})"
                        ": the file does not say where it comes from", expression=", ".join(needs)),
                "environment", needs)
    resolved = with_defaults(value)
    if resolved != value:
        return classify_value(resolved), "default", ()
    return classify_value(value), "environment", ()


def uses_sasl(env: dict[str, Any]) -> bool:
    """Does a container authenticate to Kafka with SASL (so it needs a credential)? A
    ``*_SECURITY_PROTOCOL`` of SASL_SSL / SASL_PLAINTEXT, or a ``*_SASL_MECHANISM`` set."""
    for k, v in env.items():
        name, text = str(k).upper(), str(with_defaults(v) if v is not None else "").upper()
        if name.endswith("_SECURITY_PROTOCOL") and text.startswith("SASL"):
            return True
        if name.endswith("_SASL_MECHANISM") and text:
            return True
    return False


def _env_file_vars(path: Path, where_decl: str) -> list[EnvVar] | Unknown:
    from asbuilt.rules.k8s import classify_value
    from asbuilt.safeio import read_text

    if not path.is_file():
        return Unknown(f"env_file {display_path(path)} is not on disk", where_decl)
    text = read_text(path, "env_file", "iac", RunError)
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, val = line.removeprefix("export ").partition("=")
        out.append(EnvVar(name.strip(), classify_value(val.strip().strip("'\"")), "env_file",
                          f"{display_path(path)}:{n}"))
    return out


# --------------------------------------------------------------------------- Dockerfiles

_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE)
_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_]\w*)(?:=(\S*))?\s*$", re.IGNORECASE)


def dockerfile_bases(path: Path) -> list[BaseImage]:
    """The FROM lines of a Dockerfile (ARG defaults before FROM applied; a FROM of an earlier
    stage marked as such; a FROM that needs a build arg without default is Unknown)."""
    from asbuilt.safeio import read_text

    text = read_text(path, "Dockerfile", "iac", RunError)
    shown = display_path(path)
    args: dict[str, str | None] = {}
    stages: set[str] = set()
    out = []
    for n, raw in enumerate(text.replace("\\\n", " ").splitlines(), 1):
        if raw.lstrip().startswith("#"):
            continue
        m = _ARG.match(raw)
        if m and not out:
            args[m.group(1)] = m.group(2)
            continue
        m = _FROM.match(raw)
        if not m:
            continue
        ref = m.group(1)
        missing = [v for v in shell_vars(ref) if args.get(v) is None]
        if missing:
            value: str | Unknown = Unknown(f"FROM {ref} needs build argument(s) {', '.join(missing)} without a default",
                                           f"{shown}:{n}", ref)
        else:
            value = re.sub(r"\$\{?([A-Za-z_]\w*)\}?", lambda a: args.get(a.group(1)) or "", ref)
        out.append(BaseImage(value, f"{shown}:{n}", stage=isinstance(value, str) and value.lower() in stages))
        if m.group(2):
            stages.add(m.group(2).lower())
    return out


# --------------------------------------------------------------------------- the merge


def _merge(base: _Doc, override: _Doc) -> dict:
    from compose_x_render.compose_x_render import merge_config_files

    merged = _escape(copy.deepcopy(base.data))
    merge_config_files(merged, _escape(copy.deepcopy(override.data)))
    return _escape(merged, undo=True)


def _schema() -> dict:
    import json

    from importlib.resources import files

    return json.loads(files("compose_x_render").joinpath("compose-spec.json").read_text())


def _validate(merged: dict, docs: list[_Doc]) -> list[MergeProblem]:
    """Validation of the merged file the way ComposeX validates it (ComposeDefinition), every
    error placed at file:line; an error on a value holding a ${VAR} without default is unknown."""
    import jsonschema
    from compose_x_render.compose_x_render import ComposeDefinition

    content = with_defaults(copy.deepcopy(merged))
    try:
        ComposeDefinition([], content=copy.deepcopy(content), no_interpolate=True)
        return []
    except jsonschema.ValidationError:
        pass
    except Exception as exc:  # the library could not render it (ports it cannot parse, ...)
        what = f"compose_x_render cannot render the merged file: {type(exc).__name__}: {exc}"
        services = {k: b for k, b in (content.get("services") or {}).items() if isinstance(b, dict)}
        pending = sorted({v for b in services.values() for v in shell_vars(str(b.get("ports", "")))})
        svc = next((k for k, b in services.items() if shell_vars(str(b.get("ports", "")))), None)
        where = _where(docs, "services", svc, "ports") if svc else (docs[-1].at() or f"{docs[-1].shown}:1")
        return [MergeProblem(where, what, Unknown(f"ports hold {', '.join('${' + v + '}' for v in pending)}, which "
                                                  "only the shell gives", where) if pending else None)]
    schema = _schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    out = []
    for err in sorted(validator.iter_errors(content), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(err.absolute_path)
        where = _where(docs, *path) if path else f"{docs[0].shown}:1"
        at = "/".join(map(str, path)) or "(top level)"
        what = f"{at}: {err.message[:300]}"
        needs = shell_vars(str(err.instance)) if isinstance(err.instance, (str, int, float)) else []
        out.append(MergeProblem(where, what, Unknown(f"{at} holds ${{{needs[0]}}}, which only the shell gives: "
                                                     "whether the merged file is valid depends on it", where)
                                if needs else None))
    return out


# --------------------------------------------------------------------------- services


def _secrets_of(svc: str, merged: dict, docs: list[_Doc]) -> list[SecretUse]:
    listed = (merged.get("services", {}).get(svc) or {}).get("secrets") or []
    declared = merged.get("secrets") or {}
    out = []
    for entry in listed:
        name = entry.get("source") if isinstance(entry, dict) else str(entry)
        where = ""
        for d in reversed(docs):
            items = d.get("services", svc, "secrets") or []
            for i, e in enumerate(items if isinstance(items, list) else []):
                if (e.get("source") if isinstance(e, dict) else str(e)) == name:
                    where = f"{d.shown}:{d.line('services', svc, 'secrets', i) or 1}"
                    break
            if where:
                break
        decl = declared.get(name) if isinstance(declared, dict) else None
        declared_at = _where(docs, "secrets", name) if isinstance(decl, dict) else ""
        backend, secret_name, var_names = "undefined", "", ()
        if isinstance(decl, dict):
            xs = decl.get("x-secrets")
            if isinstance(xs, dict) and (xs.get("Name") or xs.get("Lookup")):
                backend = "secretsmanager"
                secret_name = str(xs.get("Name") or xs.get("Lookup"))
                var_names = tuple(str(k.get("VarName") or k.get("SecretKey")) for k in xs.get("JsonKeys") or []
                                  if isinstance(k, dict))
            elif "file" in decl:
                backend = "file"
            elif "environment" in decl:
                backend = "environment"
            elif decl.get("external"):
                backend = "external"
        out.append(SecretUse(str(name), backend, where or _where(docs, "services", svc, "secrets"), secret_name,
                             declared_at, None, var_names))
    return out


def _build_dockerfile(build: Any, project_dir: Path) -> Path | None:
    if build is None:
        return None
    if isinstance(build, str):
        return project_dir / build / "Dockerfile"
    if isinstance(build, dict):
        return project_dir / str(build.get("context", ".")) / str(build.get("dockerfile", "Dockerfile"))
    return None


def _workloads(env: str, merged: dict, docs: list[_Doc], project_dir: Path) -> list[Workload]:
    out = []
    services = merged.get("services") if isinstance(merged.get("services"), dict) else {}
    for svc, body in services.items():
        body = body if isinstance(body, dict) else {}
        where = _where(docs[:1] if docs[0].line("services", svc) else docs, "services", svc)
        w = Workload(f"{where} (service {svc}, env {env})", str(svc), env, where)
        entries: dict[str, tuple[Any, str]] = {}
        for d in docs:
            entries.update(_env_entries(d, svc))
        for name, (value, at) in entries.items():
            kind, source, needs = _kind(value)
            w.environment.append(EnvVar(name, kind, source, at, needs))
        env_files = body.get("env_file")
        for i, ef in enumerate([env_files] if isinstance(env_files, (str, dict)) else env_files or []):
            rel = ef.get("path") if isinstance(ef, dict) else ef
            decl = _where(docs, "services", svc, "env_file")
            got = _env_file_vars(project_dir / str(rel), decl)
            if isinstance(got, Unknown):
                w.environment.append(EnvVar(f"(env_file {rel})", got, "env_file", decl))
            else:
                w.environment += got
        w.secrets = _secrets_of(svc, merged, docs)
        w.context["sasl"] = uses_sasl({k: v for k, (v, _) in entries.items()})
        if "image" in body:
            ref = body.get("image")
            w.image = Image(str(ref) if ref is not None else "", _where(docs, "services", svc, "image"))
        dockerfile = _build_dockerfile(body.get("build"), project_dir)
        if dockerfile is not None:
            if dockerfile.is_file():
                w.build_dockerfile = display_path(dockerfile)
                w.base_images = dockerfile_bases(dockerfile)
            else:
                w.build_dockerfile = Unknown(f"the Dockerfile {display_path(dockerfile)} that build: names is not on disk",
                                             _where(docs, "services", svc, "build"))
        for key, var in (("group_id", "CONNECT_GROUP_ID"), ("config_topic", "CONNECT_CONFIG_STORAGE_TOPIC"),
                         ("offset_topic", "CONNECT_OFFSET_STORAGE_TOPIC"),
                         ("status_topic", "CONNECT_STATUS_STORAGE_TOPIC")):
            if var in entries and entries[var][0] is not None and not shell_vars(entries[var][0]):
                w.context[key] = str(with_defaults(entries[var][0]))
        out.append(w)
    return out


def read_project(base: Path, overrides: list[Path]) -> ComposeProject:
    """The project's model: one ComposeEnvironment per override (RunError for a file that
    cannot be read or is not YAML: a run error, one line)."""
    b = _Doc(base)
    project = ComposeProject(b.shown, b.shown, [display_path(o) for o in overrides])
    if not isinstance(b.data.get("services"), dict):
        project.base_problems.append(MergeProblem(f"{b.shown}:1", "the base file has no services mapping"))
    for o in overrides:
        d = _Doc(o)
        env = ComposeEnvironment(o.stem, d.shown)
        try:
            merged = _merge(b, d)
        except Exception as exc:  # the library refuses the merge (a list over a map, ...)
            detail = " ".join(str(a) if not isinstance(a, type) else a.__name__ for a in getattr(exc, "args", ()))
            env.problems.append(MergeProblem(d.at() or f"{d.shown}:1",
                                             f"compose_x_render cannot merge it with {b.shown}: {detail or exc}"))
            project.environments.append(env)
            continue
        env.problems = _validate(merged, [b, d])
        env.services = _workloads(env.name, merged, [b, d], base.parent)
        project.environments.append(env)
    if not overrides:  # no override: CPX-01 fails on that; the other controls still read the base alone
        env = ComposeEnvironment("base only", b.shown, merged_with="the base file alone")
        env.problems = _validate(copy.deepcopy(b.data), [b])
        env.services = _workloads(env.name, b.data, [b], base.parent)
        project.environments.append(env)
    return project


# --------------------------------------------------------------------------- the file stack


def project_stacks(files: list[Path]) -> list[Any]:
    """One ``composex`` file stack per base compose file (asbuilt.static.engine)."""
    from asbuilt.static.files import FileStack

    try:
        import compose_x_render.compose_x_render  # noqa: F401
    except ImportError:
        raise RunError("compose-x-render is not installed (CPX-01 merges ComposeX projects with it): "
                       "pip install 'compose-x-render>=1.1,<2'") from None
    out = []
    for base, overrides in find_projects(files):
        project = read_project(base, overrides)
        out.append(FileStack("composex", project.resource, Loc(project.resource, 1, "ComposeX project"), project))
    return out


# --------------------------------------------------------------------------- evidence (the units' slices)


def _item(s: Any, resource: str, where: str, **facts: Any) -> dict:
    file, _, line = where.rpartition(":")
    return {"resource": resource, **facts, "file": file or s.loc.file, "line": int(line) if line.isdigit() else 1,
            "_anchor": f"{s.key}#{resource}"}


def _problem(p: MergeProblem) -> dict:
    return {"where": p.where, "what": p.what, **({"unknown": p.unknown} if p.unknown is not None else {})}


def merge_facts(s: Any, ctx: Any = None) -> list[dict]:
    """CPX-01: the project (base, overrides) and each environment's merge problems."""
    p: ComposeProject = s.data
    out = [_item(s, p.resource, f"{p.base}:1", kind="project", overrides=list(p.overrides),
                 problems=[_problem(x) for x in p.base_problems])]
    for e in p.environments:
        out.append(_item(s, f"{e.override} (env {e.name})", f"{e.override}:1", kind="environment", env=e.name,
                         merged_with=f"{p.base} + {e.override} ({e.merged_with})",
                         problems=[_problem(x) for x in e.problems]))
    return out


def workload_credentials(w: Workload) -> dict:
    """CPX-02's facts of one workload (compose service or ECS container): the same shape live and static."""
    return {
        "service": w.name, "env": w.env,
        "needs_credentials": bool(w.context.get("sasl")),
        "credentials": [{"name": v.name, "kind": v.kind, "source": v.source, "where": v.where}
                        for v in w.environment if secret_bearing(v.name) or v.name.startswith("(env_file")
                        or v.kind == "secret-pattern"],
        "secrets": [{"name": x.name, "backend": x.backend, "where": x.where, "secret_name": x.secret_name,
                     "declared_at": x.declared_at, "var_names": list(x.var_names),
                     **({"exists": x.exists} if x.exists is not None else {})} for x in w.secrets],
    }


def credential_facts(s: Any, ctx: Any = None) -> list[dict]:
    """CPX-02 over every service of every environment's merged file."""
    p: ComposeProject = s.data
    return [_item(s, w.resource, w.where, **workload_credentials(w)) for e in p.environments for w in e.services]


def image_facts(s: Any, ctx: Any = None) -> list[dict]:
    """CPX-05: each service's image and the FROM lines of the Dockerfile it builds (one item per
    distinct image line, with the environments it is in)."""
    p: ComposeProject = s.data
    seen: dict[tuple, dict] = {}
    for e in p.environments:
        for w in e.services:
            key = (w.name, w.image.where if w.image else "", str(w.image.ref) if w.image else "",
                   str(w.build_dockerfile))
            if key in seen:
                seen[key]["envs"].append(e.name)
                continue
            where = w.image.where if w.image else w.where
            seen[key] = _item(s, f"{where} (service {w.name})", where, service=w.name, envs=[e.name],
                              image=w.image.ref if w.image else None,
                              dockerfile=w.build_dockerfile,
                              base_images=[{"ref": b.ref, "where": b.where, "stage": b.stage} for b in w.base_images])
    return list(seen.values())
