"""Terraform plan and state JSON (``terraform show -json``): the same estate as the HCL reader.

A plan (``terraform show -json PLANFILE``) carries ``planned_values`` (every resource instance
that will exist after apply, child modules and ``count`` / ``for_each`` instances by address),
``resource_changes`` (per instance: ``change.after``, ``after_unknown`` for the values known
only after apply, ``after_sensitive``), ``configuration`` (the expressions, with the
references each one makes) and ``prior_state``. A state (``terraform show -json``, or of a
state file) carries ``values`` only, every value known.

This is how a root that calls registry modules gets decided: the plan holds what the modules
create. The reader turns each instance into the same ``TfRes`` the HCL reader makes (the values
in the shape checkov's parser gives, which ``asbuilt.static.hcl`` reads), and
``TerraformModel`` builds the estate from it. So one model serves both, and every control reads
plan and HCL the same way.

- A value in ``after_unknown`` is an ``Unknown`` ("known only after apply") unless its
  configuration expression refers to other resources; then it is that reference (``${...}``),
  followed through ``var.`` inputs of child modules and ``module.X.output`` outputs, so an
  ``aws_db_instance`` in a registry module is tied to the security group another module makes
  even though neither id exists yet.
- Literal ids and ARNs of resources that already exist (state, no-op / update changes) are tied
  to the resource that has them.
- Resources being destroyed (``["delete"]``) or forgotten are not in the model; neither is a
  deposed object.
- Sensitive values (``sensitive_values`` / ``after_sensitive``) are never read: each becomes an
  unknown "sensitive value (not read)"; no control needs one, and none can reach a report.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from asbuilt.errors import RunError
from asbuilt.model.facts import Unknown
from asbuilt.static.estate import Estate, display_path
from asbuilt.static.terraform import TerraformModel, TfIndex, TfRes, _strip_index

SENSITIVE = "a sensitive value (not read)"


def kind_of(doc: Any) -> str | None:
    """"plan" or "state" for ``terraform show -json`` output, else None (decided by content)."""
    if not isinstance(doc, dict) or "format_version" not in doc:
        return None
    if any(k in doc for k in ("planned_values", "resource_changes", "prior_state")) and (
            "planned_values" in doc or "configuration" in doc):
        return "plan"
    if "values" in doc and isinstance(doc.get("values"), (dict, type(None))) and "terraform_version" in doc:
        return "state"
    if set(doc) <= {"format_version", "terraform_version"}:
        return "state"  # an empty state
    return None


def _instance_name(r: dict) -> str:
    name = str(r.get("name", ""))
    if "index" in r:
        idx = r["index"]
        name += f"[{json.dumps(idx)}]" if isinstance(idx, str) else f"[{idx}]"
    return name


def _walk_modules(module: Any) -> list[dict]:
    out: list[dict] = []
    if not isinstance(module, dict):
        return out
    out += [r for r in module.get("resources") or [] if isinstance(r, dict)]
    for child in module.get("child_modules") or []:
        out += _walk_modules(child)
    return out


def _module_parts(address: str) -> list[str]:
    """module.a["x"].module.b.aws_x.y[0] -> ["a", "b"] (call names, without instance keys)."""
    parts = []
    rest = address
    while rest.startswith("module."):
        m = re.match(r'module\.([A-Za-z_][\w-]*)(\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?\.', rest)
        if not m:
            break
        parts.append(m.group(1))
        rest = rest[m.end():]
    return parts


def _prefix_of(address: str) -> str:
    m = re.match(r'((?:module\.[A-Za-z_][\w-]*(?:\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?\.)*)', address)
    return m.group(1) if m else ""


def _is_expression(e: Any) -> bool:
    return isinstance(e, dict) and ("references" in e or "constant_value" in e) and not any(
        isinstance(v, (dict, list)) and k not in ("references", "constant_value") for k, v in e.items())


class PlanIndex(TfIndex):
    """A TfIndex filled from plan / state JSON instead of checkov's rendered HCL."""

    def __init__(self, path: Path, doc: dict, kind: str, text: str) -> None:
        super().__init__()
        self.path, self.doc, self.kind = path, doc, kind
        self.lines = _address_lines(text)
        self.config_root = ((doc.get("configuration") or {}).get("root_module") or {}) if kind == "plan" else {}
        self.by_id: dict[str, str] = {}
        self._load()

    # ------------------------------------------------------------------ loading

    def _load(self) -> None:
        doc = self.doc
        if self.kind == "state":
            values = doc.get("values") or {}
            resources = _walk_modules(values.get("root_module"))
            changes: dict[str, dict] = {}
        else:
            resources = _walk_modules((doc.get("planned_values") or {}).get("root_module"))
            changes = {}
            for rc in doc.get("resource_changes") or []:
                if isinstance(rc, dict) and not rc.get("deposed") and isinstance(rc.get("change"), dict):
                    changes[str(rc.get("address"))] = rc
        seen = set()
        for r in resources:
            address = str(r.get("address") or "")
            rc = changes.get(address)
            actions = (rc or {}).get("change", {}).get("actions") or []
            if _gone(actions):
                continue
            seen.add(address)
            self._add_instance(r, rc)
        for address, rc in changes.items():  # an instance planned_values leaves out (all of it unknown)
            actions = rc["change"].get("actions") or []
            if address in seen or _gone(actions) or rc["change"].get("after") is None:
                continue
            self._add_instance({k: rc.get(k) for k in ("address", "mode", "type", "name", "index") if k in rc}, rc)
        for res in self.resources.values():
            for attr in ("id", "arn"):
                v = res.conf.get(attr)
                if isinstance(v, str) and v:
                    self.by_id.setdefault(v, res.address)
        self._module_calls(self.config_root, "")

    def _module_calls(self, module: dict, prefix: str) -> None:
        for name, call in (module.get("module_calls") or {}).items():
            if not isinstance(call, dict):
                continue
            key = f"{prefix}module.{name}"
            self.module_calls[key] = {"name": name, "source": str(call.get("source") or "?"),
                                      "file": str(self.path), "line": 1}
            self.loaded_modules.add(key + ".")
            self._module_calls(call.get("module") or {}, key + ".")
        if not prefix:  # modules seen only in the values (a state has no configuration)
            for res in self.resources.values():
                prefix = res.prefix
                while prefix:
                    self.loaded_modules.add(prefix)
                    prefix = _parent_prefix(prefix)

    def _add_instance(self, r: dict, rc: dict | None) -> None:
        address = str(r.get("address") or "")
        rtype = str(r.get("type") or "")
        if not address or not rtype:
            return
        block = "data" if r.get("mode") == "data" else "resource"
        prefix = _prefix_of(address)
        config = self._config_of(address, block, rtype, str(r.get("name", "")))
        expressions = (config or {}).get("expressions") or {}
        if rc is not None and isinstance(rc["change"].get("after"), dict):
            change = rc["change"]
            values = change.get("after") or {}
            unknown = change.get("after_unknown") or {}
            sensitive = change.get("after_sensitive") or {}
        else:
            values = r.get("values") or {}
            unknown = {}
            sensitive = r.get("sensitive_values") or {}
        line = self.lines.get(address, 1)
        where = f"{display_path(self.path)}:{line} ({address})"
        conf = _merge(values, unknown, sensitive, expressions, lambda refs, attr: self._reference(
            refs, prefix, address, attr, where), where, address, "")
        if not isinstance(conf, dict):
            conf = {}
        conf["__address__"] = address
        name = _instance_name(r)
        data = "data." if block == "data" else ""
        res = TfRes(block, rtype, name, address, f"{prefix}{data}{rtype}.{_strip_index(name)}", prefix, conf,
                    str(self.path), line)
        self.resources[address] = res
        self.by_base.setdefault(res.base, []).append(res)

    def _config_module(self, prefix: str) -> dict | None:
        module = self.config_root
        for name in _module_parts(prefix):
            call = (module.get("module_calls") or {}).get(name)
            if not isinstance(call, dict):
                return None
            module = call.get("module") or {}
        return module

    def _config_of(self, address: str, block: str, rtype: str, name: str) -> dict | None:
        module = self._config_module(_prefix_of(address))
        if not module:
            return None
        mode = "data" if block == "data" else "managed"
        for c in module.get("resources") or []:
            if isinstance(c, dict) and c.get("type") == rtype and c.get("name") == name and \
                    (c.get("mode") or "managed") == mode:
                return c
        return None

    # ------------------------------------------------------------------ references

    def _reference(self, refs: list[str], prefix: str, address: str, attr: str, where: str) -> Any:
        """What an after-apply value refers to: ``${address.attr}`` strings of the resources it
        names (followed through module inputs and outputs), or Unknown when it names none."""
        found: list[str] = []
        for ref in _most_specific(refs):
            found += self._follow(ref, prefix, depth=0)
        found = list(dict.fromkeys(found))
        if found:
            return ["${" + f + "}" for f in found] if len(found) > 1 else "${" + found[0] + "}"
        return Unknown(f"{attr} of {address} is known only after apply (the plan does not give it)", where,
                       f"{address}.{attr}")

    def _follow(self, ref: str, prefix: str, depth: int) -> list[str]:
        if depth > 12:
            return []
        module = self._config_module(prefix) or {}
        m = re.match(r"var\.([A-Za-z_][\w-]*)", ref)
        if m:
            if not prefix:
                return []
            parent = _parent_prefix(prefix)
            call = ((self._config_module(parent) or {}).get("module_calls") or {}).get(_module_parts(prefix)[-1]) or {}
            expr = (call.get("expressions") or {}).get(m.group(1))
            out: list[str] = []
            for r in _most_specific((expr or {}).get("references") or []):
                out += self._follow(r, parent, depth + 1)
            return out
        m = re.match(r"module\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.([A-Za-z_][\w-]*)", ref)
        if m:
            call = (module.get("module_calls") or {}).get(m.group(1)) or {}
            out_expr = (((call.get("module") or {}).get("outputs") or {}).get(m.group(2)) or {}).get("expression")
            child = self._child_prefixes(prefix, m.group(1))
            out = []
            for c in child:
                for r in _most_specific((out_expr or {}).get("references") or []):
                    out += self._follow(r, c, depth + 1)
            return out
        if ref.startswith(("local.", "each.", "count.", "path.", "terraform.", "self.")):
            return []
        from asbuilt.static import hcl

        rm = hcl.REF.match(ref)
        if rm:
            rel = f"{rm.group('data') or ''}{rm.group('type')}.{rm.group('name')}"
            if (prefix + rel) in self.by_base:
                return [prefix + ref]
        return []

    def _child_prefixes(self, prefix: str, name: str) -> list[str]:
        """The instance prefixes of module call name under prefix (module.x. or module.x["a"]. ...)."""
        want = re.compile(re.escape(prefix) + r"module\." + re.escape(name) + r'(\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?\.')
        found = sorted({m.group(0) for r in self.resources.values() for m in [want.match(r.prefix)] if m})
        return found or [f"{prefix}module.{name}."]


def _parent_prefix(prefix: str) -> str:
    parts = re.findall(r'module\.[A-Za-z_][\w-]*(?:\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?\.', prefix)
    return "".join(parts[:-1])


def _most_specific(refs: list[str]) -> list[str]:
    """Terraform lists every step of a reference (a.b[0].id, a.b[0], a.b): keep the longest."""
    refs = [str(r) for r in refs if isinstance(r, str)]
    return [r for r in refs if not any(o != r and (o.startswith(r + ".") or o.startswith(r + "[")) for o in refs)]


def _gone(actions: list) -> bool:
    """An instance being destroyed (delete, not a replacement) or removed from state (forget)."""
    return actions in (["delete"], ["forget"]) or (bool(actions) and "create" not in actions and
                                                  all(a in ("delete", "forget") for a in actions))


def _merge(value: Any, unknown: Any, sensitive: Any, expr: Any, ref: Any, where: str, address: str, path: str) -> Any:
    """after + after_unknown + after_sensitive, with the configuration's references, as one value."""
    attr = path or "?"
    if sensitive is True:
        return Unknown(SENSITIVE, where, f"{address}.{attr}")
    if unknown is True:
        refs = expr.get("references") if isinstance(expr, dict) else None
        if refs:
            return ref(refs, attr)
        return Unknown(f"{attr} of {address} is known only after apply (the plan does not give it)", where,
                       f"{address}.{attr}")
    if isinstance(value, dict) or isinstance(unknown, dict):
        v = value if isinstance(value, dict) else {}
        u = unknown if isinstance(unknown, dict) else {}
        s = sensitive if isinstance(sensitive, dict) else {}
        e = expr if isinstance(expr, dict) and not _is_expression(expr) else {}
        return {k: _merge(v.get(k), u.get(k), s.get(k), e.get(k), ref, where, address, f"{path}.{k}" if path else k)
                for k in dict.fromkeys([*v, *u])}
    if isinstance(value, list) or isinstance(unknown, list):
        v = value if isinstance(value, list) else []
        u = unknown if isinstance(unknown, list) else []
        s = sensitive if isinstance(sensitive, list) else []
        n = max(len(v), len(u))
        if any(x is True for x in u) and _is_expression(expr) and expr.get("references"):
            # some elements known only after apply: the references say which resources they are
            known = [v[i] for i in range(len(v)) if not (i < len(u) and u[i] is True) and v[i] is not None]
            refd = ref(expr["references"], attr)
            return known + (refd if isinstance(refd, list) else [refd])
        blocks = expr if isinstance(expr, list) else [expr] * n if isinstance(expr, dict) and not _is_expression(expr) \
            else []
        return [_merge(v[i] if i < len(v) else None, u[i] if i < len(u) else None, s[i] if i < len(s) else None,
                       blocks[i] if i < len(blocks) else None, ref, where, address, f"{path}[{i}]") for i in range(n)]
    return value


def _address_lines(text: str) -> dict[str, int]:
    """The first line of each ``"address": "..."`` in the file (where a finding points)."""
    out: dict[str, int] = {}
    for m in re.finditer(r'"address"\s*:\s*("(?:[^"\\]|\\.)*")', text):
        try:
            address = json.loads(m.group(1))
        except ValueError:
            continue
        if address not in out:
            out[address] = text.count("\n", 0, m.start()) + 1
    return out


def load(path: Path) -> tuple[dict, str, str]:
    """(document, kind, text) of a plan / state JSON file; RunError (one line) when it is not one."""
    from asbuilt.safeio import read_text

    text = read_text(path, "Terraform plan", "iac", RunError)
    try:
        doc = json.loads(text)
    except RecursionError:
        raise RunError(f"{display_path(path)}: not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise RunError(f"{display_path(path)}: not valid JSON: {exc}") from None
    kind = kind_of(doc)
    if kind is None:
        raise RunError(f"{display_path(path)}: not Terraform plan or state JSON (expected `terraform show -json` "
                       "output: format_version with planned_values or values)")
    major = str(doc.get("format_version", "1")).split(".")[0]
    if major != "1":
        raise RunError(f"{display_path(path)}: Terraform JSON format_version {doc.get('format_version')} is not "
                       "supported (1.x is)")
    return doc, kind, text


def build_estate(path: Path) -> Estate:
    doc, kind, text = load(path)
    ix = PlanIndex(path, doc, kind, text)
    if not ix.resources:
        raise RunError(f"{display_path(path)}: the Terraform {kind} has no resources to check")
    model = TerraformModel(ix, f"{display_path(path)} (terraform {kind})")
    return model.build()
