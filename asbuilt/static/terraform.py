"""Terraform: checkov's parse and graph rendering, then the whole-set model (see estate.py).

checkov resolves variables (defaults, tfvars), locals, ``for_each`` / ``count`` expansion and
local modules (module inputs and outputs) when it builds its graph; ``Runner.check_tf_definition``
then holds rendered definitions, one per file, and runs the resource checks. ``AsbuiltRunner``
hooks in exactly there: it builds the estate of each root module from the rendered definitions
(resolving the references checkov leaves as expressions, such as ``aws_security_group.rds.id``
or ``values(aws_subnet.private)[*].id``, to the resources they name), registers it in the scan
context, and lets checkov run the checks, which read it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from asbuilt.model.facts import Unknown, is_unknown, terraform_reason
from asbuilt.static import hcl
from asbuilt.static.estate import (
    NOT_IN_STACK,
    Bucket, Database, EksCluster, Estate, LoadBalancer, Loc, Msk, Node, NodeGroup, Peering, Repository, Role,
    SecurityGroup, Subnet, Vpc, display_path,
)


@dataclass
class TfRes:
    block: str       # resource | data
    type: str
    name: str        # with instance key: private["us-east-1a"]
    address: str     # module.x.aws_subnet.private["us-east-1a"] (data.: module.x.data.aws_...)
    base: str        # address without the instance key
    prefix: str      # module.x. or ""
    conf: dict
    file: str
    line: int
    conf_id: int = 0  # id() of checkov's configuration when conf is asbuilt's expanded copy of it

    @property
    def loc(self) -> Loc:
        return Loc(display_path(self.file), self.line, self.address)


def _module_prefix(key: Any) -> str:
    mod = getattr(key, "tf_source_modules", None)
    names = []
    while mod is not None:
        idx = getattr(mod, "foreach_idx", None)
        suffix = ""
        if idx is not None:
            suffix = f'["{idx}"]' if isinstance(idx, str) else f"[{idx}]"
        names.append(f"module.{mod.name}{suffix}.")
        mod = getattr(mod, "nested_tf_module", None)
    return "".join(reversed(names))


def _strip_index(name: str) -> str:
    return re.sub(r"\[[^\]]*\]$", "", name)


class TfIndex:
    """Every resource / data block / variable of one root module, by address."""

    def __init__(self) -> None:
        self.resources: dict[str, TfRes] = {}
        self.by_base: dict[str, list[TfRes]] = {}
        self.variables: dict[str, Any] = {}  # prefix + name -> default
        self.module_calls: dict[str, dict] = {}  # prefix + name -> {"source", "file", "line", "loaded"}
        self.loaded_modules: set[str] = set()    # module prefixes whose resources checkov loaded
        self.by_id: dict[str, str] = {}  # literal id / ARN -> address (plan and state JSON: existing resources)
        self._dynamic: list = []
        self._values: dict[str, Any] = {}  # variable values as Terraform has them (lists kept lists)
        self.inputs: dict[str, Any] = {}   # the root module's tfvars / --var-file / --var values

    def add_definitions(self, definitions: dict) -> None:
        for key, file_def in definitions.items():
            file_path = getattr(key, "file_path", key)
            prefix = _module_prefix(key)
            pending_dynamic = []
            for block in ("resource", "data"):
                for entry in file_def.get(block, []) or []:
                    for rtype, named in entry.items():
                        if not isinstance(named, dict):
                            continue
                        for name, conf in named.items():
                            if isinstance(conf, dict) and not _not_created(conf):
                                res = self.add(block, rtype, name, conf, file_path, prefix)
                                if block == "resource" and "dynamic" in conf:
                                    pending_dynamic.append(res)
            if prefix:
                self.loaded_modules.add(prefix)
            for entry in file_def.get("module", []) or []:
                if not isinstance(entry, dict):
                    continue
                for name, body in entry.items():
                    if isinstance(body, dict):
                        source = hcl.unwrap(body.get("source"))
                        self.module_calls[f"{prefix}module.{name}"] = {
                            "name": name, "source": str(source) if source is not None else "?",
                            "file": str(file_path), "line": _line(body)}
            for entry in file_def.get("variable", []) or []:
                for name, body in entry.items():
                    if isinstance(body, dict) and "default" in body:
                        self.variables[prefix + name] = hcl.unwrap(body["default"])
                        d = body["default"]  # one list layer is checkov's: a list default stays a list
                        self._values[prefix + name] = d[0] if isinstance(d, list) and len(d) == 1 else d
            self._dynamic.append((pending_dynamic, prefix))
        for name, value in self.inputs.items():  # given values win over defaults (root module only)
            self._values[name] = value
            self.variables[name] = hcl.unwrap(value)
        from asbuilt.static.tfdynamic import expand, raw_body, settle

        for res in list(self.resources.values()):  # once every variable is known
            raw = raw_body(res.file, res.block, res.type, _strip_index(res.name))
            fixed = settle(res.conf, raw, os.path.dirname(res.file),
                           lambda n, p=res.prefix: self.known_value(p, n))
            if fixed is not None:
                res.conf_id, res.conf = id(res.conf), fixed
        for pending, prefix in self._dynamic:
            for res in pending:
                copy = expand(res.conf, res.file, res.type, _strip_index(res.name),
                              lambda n, p=prefix: self.variable_value(p, n))  # KeyError: no value
                if copy is not None:
                    res.conf_id, res.conf = res.conf_id or id(res.conf), copy
        self._dynamic = []

    def variable_value(self, prefix: str, name: str) -> Any:
        """A variable's value as Terraform has it (None for a null default); KeyError without one."""
        if prefix + name in self._values:
            return self._values[prefix + name]
        if not prefix and name in self._values:
            return self._values[name]
        raise KeyError(name)

    def known_value(self, prefix: str, name: str) -> Any:
        """variable_value, and KeyError too for a value that is an expression checkov passed into a
        module as text (``module.net.vpc_id``, ``aws_vpc.main.id``): not a value to compare."""
        value = self.variable_value(prefix, name)
        if isinstance(value, str) and not hcl.is_literal(value):
            raise KeyError(name)
        return value

    def add(self, block: str, rtype: str, name: str, conf: dict, file_path: str, prefix: str) -> TfRes:
        data = "data." if block == "data" else ""
        address = f"{prefix}{data}{rtype}.{name}"
        res = TfRes(block, rtype, name, address, f"{prefix}{data}{rtype}.{_strip_index(name)}", prefix, conf,
                    str(file_path), _line(conf))
        self.resources[address] = res
        self.by_base.setdefault(res.base, []).append(res)
        return res

    def missing_modules(self) -> dict[str, dict]:
        """Module calls whose code checkov did not load (a registry/git source not on disk)."""
        out = {}
        for key, call in self.module_calls.items():
            loaded = any(p.startswith(f"{key}.") or p.startswith(f"{key}[") for p in self.loaded_modules)
            if not loaded:
                out[key] = call
        return out

    def of_type(self, *types: str) -> list[TfRes]:
        return [r for r in self.resources.values() if r.type in types and r.block == "resource"]

    # ------------------------------------------------------------ references

    def refs(self, value: Any, prefix: str = "") -> list[tuple[TfRes, str]]:
        """(resource, attribute path) for every reference in value (strings, lists, dicts)."""
        out: list[tuple[TfRes, str]] = []
        for text in _strings(value):
            for m in hcl.REF.finditer(text):
                out += self._resolve(m, prefix)
        return out

    def _resolve(self, m: re.Match, prefix: str) -> list[tuple[TfRes, str]]:
        rel = f"{m.group('module')}{m.group('data') or ''}{m.group('type')}.{m.group('name')}"
        candidates = self.by_base.get(prefix + rel) or self.by_base.get(rel)
        if not candidates and not m.group("module"):
            # module outputs rendered into the caller keep the module's own (relative) references
            tail = "." + rel
            candidates = [r for base, rs in self.by_base.items() if base.endswith(tail) for r in rs]
        if not candidates:
            return []
        index = m.group("index")
        if index and index != "[*]":
            want = index.strip("[]").strip('"')
            picked = [r for r in candidates if r.name.endswith(f'["{want}"]') or r.name.endswith(f"[{want}]")]
            candidates = picked or candidates
        # by address: checkov's graph does not keep one order across processes, and evidence must
        # not change between two runs over the same code (drift compares it)
        return [(r, (m.group("attr") or "").lstrip(".")) for r in sorted(candidates, key=lambda r: r.address)]

    def variable(self, prefix: str, name: str) -> Any:
        return self.variables.get(prefix + name, self.variables.get(name))


def _not_created(conf: dict) -> bool:
    """A resource whose count is 0 or whose for_each is empty once rendered is not created: it
    is not in the model (checkov does not check it either). An unresolved count is kept."""
    if "count" in conf:
        n = hcl.to_int(hcl.unwrap(conf.get("count")))
        if n == 0:
            return True
    if "for_each" in conf:
        each = conf.get("for_each")
        while isinstance(each, list) and len(each) == 1 and isinstance(each[0], (list, dict)):
            each = each[0]
        if each in ([], {}):
            return True
    return False


def _line(conf: Any) -> int:
    """A block's first line; checkov gives a list of lines for blocks written with ``dynamic``."""
    value = conf.get("__start_line__") if isinstance(conf, dict) else None
    if isinstance(value, list):
        value = min((v for v in value if isinstance(v, int)), default=None)
    return value if isinstance(value, int) and value > 0 else 1


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() if not str(k).startswith("__") for s in _strings(v)]
    return []


class TerraformModel:
    """Builds the Estate of one root module from its rendered definitions."""

    def __init__(self, index: TfIndex, name: str):
        self.ix = index
        self.estate = Estate("terraform", name)
        self.missing = {v["name"]: v["source"] for v in index.missing_modules().values()}
        self.estate.resolved_modules = sorted(p.rstrip(".") for p in index.loaded_modules)
        self.estate.unresolved_modules = [
            {"module": k, "source": v["source"], "file": display_path(v["file"]), "line": v["line"]}
            for k, v in sorted(index.missing_modules().items())]

    # -------------------------------------------------------------- known or unknown

    def unknown(self, value: Any, where: Any) -> Unknown:
        if is_unknown(value):  # already unknown (a plan's after-apply value): keep its reason
            return value if value.where or not where else Unknown(value.reason, str(where), value.expression)
        text = str(value)
        # the module the expression is in: its variables are the ones the reason can name
        prefix = re.match(r'(?:module\.[A-Za-z_][\w-]*(?:\[[^\]]*\])?\.)*', getattr(where, "address", "") or "").group(0)

        def has_value(name: str) -> bool:
            try:
                self.ix.variable_value(prefix, name)
                return True
            except KeyError:
                return False
        return Unknown(terraform_reason(text, self.missing, has_value), str(where), text[:200])

    def scalar(self, res: TfRes, value: Any, default: Any = None) -> Any:
        """A literal attribute value; ``default`` (the provider's) when absent; Unknown when an
        expression checkov could not evaluate."""
        value = hcl.unwrap(value)
        if value is None:
            return default
        if isinstance(value, (dict, list)):
            return value
        if not hcl.is_literal(value):
            v = hcl.evaluate(value, lambda name: self.ix.variable_value(res.prefix, name))
            if hcl.evaluated(v) and not isinstance(v, (dict, list)):
                return default if v is None else v  # coalesce(var.x, true) with x null, try(...), lookup(...)
            if "?" in str(value):  # a conditional checkov substituted but did not evaluate: False ? "Enabled" : "Disabled"
                from asbuilt.static.tfdynamic import conditional

                found, v = conditional(str(value), os.path.dirname(res.file),
                                       lambda n: self.ix.known_value(res.prefix, n))
                if found and not isinstance(v, (dict, list)):
                    return default if v is None else v
            return self.unknown(value, res.loc)
        return value

    def text(self, res: TfRes, value: Any, default: Any = None) -> Any:
        v = self.scalar(res, value, default)
        return v if v is None or is_unknown(v) else _text(v)

    def int(self, res: TfRes, value: Any, default: Any = None) -> Any:
        v = self.scalar(res, value, default)
        if v is None or is_unknown(v):
            return v
        n = hcl.to_int(v)
        return n if n is not None else self.unknown(v, res.loc)

    def bool(self, res: TfRes, value: Any, default: Any = None) -> Any:
        v = self.scalar(res, value, default)
        if v is None or is_unknown(v):
            return v
        b = hcl.to_bool(v)
        return b if b is not None else self.unknown(v, res.loc)

    # -------------------------------------------------------------- values

    def keys(self, value: Any, prefix: str, kinds: tuple[str, ...] = ()) -> list[str]:
        """Keys of the resources value refers to (literal ids kept as they are)."""
        out: list = []
        items = hcl.as_list(value)
        if isinstance(hcl.unwrap(value), str) and not hcl.is_literal(hcl.unwrap(value)) \
                and not self.ix.refs(value, prefix):
            # the whole list is one expression checkov could not evaluate (var.subnet_ids, module.vpc.x)
            return [self.unknown(hcl.unwrap(value), "")]
        for item in items:
            if is_unknown(item):
                out.append(item)
                continue
            if isinstance(item, str) and not hcl.REF.search(item) and hcl.is_literal(item):
                out.append(self.ix.by_id.get(item, item))
                continue
            found = self.ix.refs(item, prefix)
            if not found and item is not None and not isinstance(item, (dict, list)):
                out.append(self.unknown(item, ""))
                continue
            for res, attr in found:
                if kinds and res.type not in kinds:
                    continue
                if res.type == "aws_eks_cluster" and "cluster_security_group_id" in attr:
                    out.append(f"{res.address}#cluster_security_group")
                else:
                    out.append(res.address)
        return list(dict.fromkeys(out))

    def key(self, value: Any, prefix: str, kinds: tuple[str, ...] = ()) -> Any:
        found = self.keys(value, prefix, kinds)
        return found[0] if found else None

    def render(self, text: Any, prefix: str) -> str:
        """A string with each reference replaced by the canonical text of what it names."""
        text = str(text)

        def sub(m: re.Match) -> str:
            found = self.ix._resolve(m, prefix)
            if not found:
                return m.group(0)
            return "|".join(dict.fromkeys(self.canonical(r, a) for r, a in found))

        return hcl.REF.sub(sub, text)

    def canonical(self, res: TfRes, attr: str) -> str:
        if res.type == "aws_s3_bucket":
            name = self._bucket_name(res)
            return name if attr in ("id", "bucket") else f"arn:aws:s3:::{name}"
        if res.type == "aws_kms_key":
            return f"<kms-key {res.address}>"
        if res.type == "aws_kms_alias":
            target = self.keys(hcl.get(res.conf, "target_key_id"), res.prefix, ("aws_kms_key",))
            return f"<kms-key {target[0]}>" if target else f"<kms-alias {res.address}>"
        if res.type == "aws_iam_openid_connect_provider":
            return f"<oidc-provider {res.address}>"
        if res.type == "aws_iam_role":
            name = hcl.get(res.conf, "name")
            return f"<iam-role {name if hcl.is_literal(name) else res.address}>"
        if res.type == "aws_vpc" and attr == "cidr_block":
            cidr = hcl.get(res.conf, "cidr_block")
            return str(cidr) if hcl.is_literal(cidr) else f"<{res.address}.cidr_block>"
        if res.type == "aws_subnet" and attr == "cidr_block":
            cidr = hcl.get(res.conf, "cidr_block")
            return str(cidr) if hcl.is_literal(cidr) else f"<{res.address}.cidr_block>"
        return f"<{res.address}{'.' + attr if attr else ''}>"

    def _bucket_name(self, res: TfRes) -> str:
        name = hcl.get(res.conf, "bucket")
        return str(name) if name is not None and not is_unknown(name) and hcl.is_literal(name) else f"<{res.address}>"

    def zone(self, res: TfRes) -> str | None:
        for attr in ("availability_zone", "availability_zone_id"):
            z = hcl.get(res.conf, attr)
            if z is None:
                continue
            if is_unknown(z):
                return z
            z = str(z)
            if hcl.AZ.match(z):
                return z
            m = re.search(r"data\.aws_availability_zones\.[\w-]+\.(?:names|zone_ids)\[\"?(\d+)\"?\]", z)
            if m:
                return f"az#{m.group(1)}"
            m = re.fullmatch(r"var\.([\w-]+)\[\"?(\d+)\"?\]", z) or re.fullmatch(
                r"element\(var\.([\w-]+),\s*\"?(\d+)\"?\)", z)
            if m:
                values = hcl.as_list(self.ix.variable(res.prefix, m.group(1)))
                i = int(m.group(2))
                if values and hcl.AZ.match(str(values[i % len(values)])):
                    return str(values[i % len(values)])
        return None

    def cidr(self, value: Any, prefix: str) -> str | None:
        if value is None or is_unknown(hcl.unwrap(value)):
            return hcl.unwrap(value)
        text = self.render(value, prefix)
        return text if not text.startswith("<") and hcl.is_literal(text) else None

    def loc(self, res: TfRes) -> Loc:
        return res.loc

    def node_kwargs(self, res: TfRes) -> dict:
        return {"key": res.address, "loc": res.loc, "conf_id": res.conf_id or id(res.conf)}

    # -------------------------------------------------------------- policies

    def document(self, value: Any, prefix: str, where: str) -> list[dict]:
        """Neutral statements of a policy given as jsonencode(), a JSON string or a policy document data source."""
        value = hcl.unwrap(value)
        if value is None:
            return []
        if is_unknown(value):
            return [value]
        if isinstance(value, dict):
            return [hcl.neutral_statement(s, where, lambda t: self.render(t, prefix))
                    for s in hcl.statements_of_document(value)]
        text = str(value).strip()
        refs = self.ix.refs(text, prefix)
        docs = [r for r, _ in refs if r.type == "aws_iam_policy_document" and r.block == "data"]
        if docs and not text.startswith("{"):
            out = []
            for d in docs:
                out += self._data_document(d)
            return out
        policies = [r for r, a in refs if r.type == "aws_iam_policy" and a in ("policy", "")]
        if policies and not text.startswith("{"):
            return [s for p in policies for s in self.document(hcl.get(p.conf, "policy"), p.prefix, str(p.loc))]
        parsed = hcl.parse_json_text(text)
        if parsed is None:
            parsed = hcl.parse_json_text(self.render(text, prefix))
        if parsed is None:  # an expression checkov could not evaluate: its statements are unknown
            return [self.unknown(text, where)]
        return [hcl.neutral_statement(s, where, lambda t: self.render(t, prefix))
                for s in hcl.statements_of_document(parsed)]

    def _data_document(self, res: TfRes) -> list[dict]:
        out = []
        for st in hcl.blocks(res.conf, "statement"):
            def principal_blocks(name: str) -> dict[str, list[str]]:
                found: dict[str, list[str]] = {}
                for p in hcl.blocks(st, name):
                    ptype = str(hcl.get(p, "type") or "AWS")
                    found.setdefault(ptype, []).extend(self.render(x, res.prefix)
                                                       for x in hcl.as_list(hcl.get(p, "identifiers")))
                # type "*" renders as "Principal": "*", which AWS reads as {"AWS": "*"}
                if "*" in found:
                    found.setdefault("AWS", []).extend(found.pop("*"))
                return found

            principals = principal_blocks("principals")
            conditions: dict[str, dict[str, list[str]]] = {}
            for c in hcl.blocks(st, "condition"):
                test = str(hcl.get(c, "test") or "")
                var = self.render(hcl.get(c, "variable") or "", res.prefix)
                conditions.setdefault(test, {}).setdefault(var, []).extend(
                    self.render(x, res.prefix) for x in hcl.as_list(hcl.get(c, "values")))
            sid = hcl.get(st, "sid")
            out.append({
                "resource": f"{res.loc}" + (f" statement {sid}" if sid else ""),
                "sid": sid,
                "effect": str(hcl.get(st, "effect") or "Allow"),
                "actions": [str(a) for a in hcl.as_list(hcl.get(st, "actions"))],
                "not_actions": [str(a) for a in hcl.as_list(hcl.get(st, "not_actions"))],
                "resources": [self.render(r, res.prefix) for r in hcl.as_list(hcl.get(st, "resources"))],
                "not_resources": [self.render(r, res.prefix) for r in hcl.as_list(hcl.get(st, "not_resources"))],
                "principals": principals,
                "not_principals": principal_blocks("not_principals"),
                "conditions": conditions,
            })
        return out

    # -------------------------------------------------------------- build

    def build(self) -> Estate:
        e = self.estate
        ix = self.ix
        for r in ix.of_type("aws_vpc"):
            e.add(e.vpcs, Vpc(**self.node_kwargs(r), cidr=self.cidr(hcl.get(r.conf, "cidr_block"), r.prefix)))
        for r in ix.of_type("aws_subnet"):
            e.add(e.subnets, Subnet(**self.node_kwargs(r), zone=self.zone(r),
                                    vpc=self.key(hcl.get(r.conf, "vpc_id"), r.prefix),
                                    cidr=self.cidr(hcl.get(r.conf, "cidr_block"), r.prefix)))
        self._security_groups()
        for r in ix.of_type("aws_eks_cluster"):
            vpc = hcl.get(r.conf, "vpc_config")
            e.add(e.clusters, EksCluster(
                **self.node_kwargs(r), version=self.text(r, hcl.get(r.conf, "version")),
                subnets=self.keys(hcl.get(vpc, "subnet_ids"), r.prefix),
                security_groups=self.keys(hcl.get(vpc, "security_group_ids"), r.prefix)))
        self._nodegroups()
        self._databases()
        for r in ix.of_type("aws_msk_cluster"):
            info = hcl.get(r.conf, "broker_node_group_info")
            transit = hcl.get(r.conf, "encryption_info", "encryption_in_transit")
            e.add(e.msk, Msk(
                **self.node_kwargs(r), version=self.text(r, hcl.get(r.conf, "kafka_version")),
                broker_count=self.int(r, hcl.get(r.conf, "number_of_broker_nodes")),
                instance_type=self.text(r, hcl.get(info, "instance_type")),
                subnets=self.keys(hcl.get(info, "client_subnets"), r.prefix),
                security_groups=self.keys(hcl.get(info, "security_groups"), r.prefix),
                client_broker=self.text(r, hcl.get(transit, "client_broker"), default="TLS")))  # provider default
        self._load_balancers()
        self._buckets()
        for r in ix.of_type("aws_iam_openid_connect_provider"):
            e.add(e.oidc_providers, Node(**self.node_kwargs(r)))
        self._roles()
        for r in ix.of_type("aws_ecr_repository"):
            name = hcl.get(r.conf, "name")
            e.add(e.repositories, Repository(**self.node_kwargs(r), name=str(name) if hcl.is_literal(name) else None))
        self._peerings()
        for r in ix.of_type("aws_rds_cluster"):
            e.not_modelled_database(r.address, "aws_rds_cluster", r.loc.file, r.loc.line)
        for r in ix.of_type("aws_msk_serverless_cluster"):
            e.not_modelled_msk(r.address, "aws_msk_serverless_cluster", r.loc.file, r.loc.line)
        e.locate_unknowns()
        return e

    def _security_groups(self) -> None:
        e, ix = self.estate, self.ix
        for r in ix.of_type("aws_security_group"):
            sg = SecurityGroup(**self.node_kwargs(r), vpc=self.key(hcl.get(r.conf, "vpc_id"), r.prefix))
            whole = hcl.unwrap(r.conf.get("ingress"))
            if is_unknown(whole):  # a plan's inline rules known only after apply: not "no rules"
                sg.ingress.append({"resource": str(r.loc), "protocol": whole, "from_port": whole, "to_port": whole,
                                   "cidrs_v4": [whole], "cidrs_v6": [], "groups": [], "prefix_lists": []})
            from asbuilt.static.tfdynamic import UNKNOWN_DYNAMIC

            for dyn in r.conf.get(UNKNOWN_DYNAMIC) or []:  # a dynamic "ingress" whose for_each is not known
                u = Unknown(f'the rules of the dynamic "ingress" block with for_each = {dyn["for_each"]} are not known '
                            "statically (give the variables it reads with --var / --var-file, or scan a plan file)",
                            str(r.loc), dyn["for_each"])
                sg.ingress.append({"resource": str(r.loc), "protocol": u, "from_port": u, "to_port": u,
                                   "cidrs_v4": [u], "cidrs_v6": [], "groups": [], "prefix_lists": []})
            for blk in hcl.blocks(r.conf, "ingress"):
                groups = self.keys(hcl.get(blk, "security_groups"), r.prefix)
                if hcl.to_bool(hcl.get(blk, "self")):
                    groups.append(sg.key)
                sg.ingress.append(self._rule(str(r.loc), hcl.get(blk, "protocol"), hcl.get(blk, "from_port"),
                                             hcl.get(blk, "to_port"), hcl.get(blk, "cidr_blocks"),
                                             hcl.get(blk, "ipv6_cidr_blocks"), groups,
                                             hcl.get(blk, "prefix_list_ids"), r.prefix))
            e.add(e.security_groups, sg)
        for r in ix.of_type("aws_security_group_rule"):
            if str(hcl.get(r.conf, "type") or "") != "ingress":
                continue
            for target in self.keys(hcl.get(r.conf, "security_group_id"), r.prefix):
                groups = self.keys(hcl.get(r.conf, "source_security_group_id"), r.prefix)
                if hcl.to_bool(hcl.get(r.conf, "self")):
                    groups.append(target)
                self._group(target).ingress.append(self._rule(
                    str(r.loc), hcl.get(r.conf, "protocol"), hcl.get(r.conf, "from_port"), hcl.get(r.conf, "to_port"),
                    hcl.get(r.conf, "cidr_blocks"), hcl.get(r.conf, "ipv6_cidr_blocks"), groups,
                    hcl.get(r.conf, "prefix_list_ids"), r.prefix))
        for r in ix.of_type("aws_vpc_security_group_ingress_rule"):
            for target in self.keys(hcl.get(r.conf, "security_group_id"), r.prefix):
                self._group(target).ingress.append(self._rule(
                    str(r.loc), hcl.get(r.conf, "ip_protocol"), hcl.get(r.conf, "from_port"),
                    hcl.get(r.conf, "to_port"), hcl.get(r.conf, "cidr_ipv4"), hcl.get(r.conf, "cidr_ipv6"),
                    self.keys(hcl.get(r.conf, "referenced_security_group_id"), r.prefix),
                    hcl.get(r.conf, "prefix_list_id"), r.prefix))

    def _group(self, key: str) -> SecurityGroup:
        e = self.estate
        if key not in e.security_groups:  # a group defined elsewhere (an id, the EKS cluster group)
            e.security_groups[key] = SecurityGroup(key=key, loc=Loc(NOT_IN_STACK, 0, key))
        return e.security_groups[key]

    def _rule(self, where: str, protocol: Any, from_port: Any, to_port: Any, v4: Any, v6: Any, groups: list[str],
              prefix_lists: Any, prefix: str) -> dict:
        raw = hcl.unwrap(protocol)
        proto: Any = raw if is_unknown(raw) else str(raw if raw is not None else "-1").lower()
        if raw is not None and not is_unknown(raw) and not hcl.is_literal(raw):
            proto = self.unknown(raw, where)

        def port(value: Any) -> Any:
            value = hcl.unwrap(value)
            if value is None:
                return None
            n = hcl.to_int(value)
            return n if n is not None else self.unknown(value, where)

        def cidrs(value: Any) -> list:
            if isinstance(hcl.unwrap(value), str) and not hcl.is_literal(hcl.unwrap(value)) \
                    and not self.ix.refs(value, prefix):
                return [self.unknown(hcl.unwrap(value), where)]
            out = []
            for c in hcl.as_list(value):
                if is_unknown(c):
                    out.append(c)
                    continue
                text = self.render(c, prefix)
                out.append(text if hcl.is_literal(text) and not text.startswith("<") else self.unknown(c, where))
            return out

        return {
            "resource": where,
            "protocol": proto,
            "from_port": port(from_port),
            "to_port": port(to_port),
            "cidrs_v4": cidrs(v4),
            "cidrs_v6": cidrs(v6),
            "groups": groups,
            "prefix_lists": [self.render(p, prefix) for p in hcl.as_list(prefix_lists)],
        }

    def _nodegroups(self) -> None:
        e, ix = self.estate, self.ix
        clusters_by_name = {str(hcl.get(r.conf, "name")): r.address for r in ix.of_type("aws_eks_cluster")}
        templates = {r.address: r for r in ix.of_type("aws_launch_template")}
        for r in ix.of_type("aws_eks_node_group"):
            cluster_value = hcl.get(r.conf, "cluster_name")
            cluster = clusters_by_name.get(str(cluster_value)) or self.key(cluster_value, r.prefix, ("aws_eks_cluster",))
            scaling = hcl.get(r.conf, "scaling_config")
            raw_types = hcl.get(r.conf, "instance_types")
            types: Any = [t if is_unknown(t) else str(t)
                          for t in (self.scalar(r, x) for x in hcl.as_list(raw_types))]
            groups: list[str] = []
            lt = hcl.get(r.conf, "launch_template")
            if lt is not None:
                for key in self.keys(hcl.get(lt, "id"), r.prefix, ("aws_launch_template",)) + \
                        self.keys(hcl.get(lt, "name"), r.prefix, ("aws_launch_template",)):
                    tpl = templates.get(key)
                    if tpl is None:
                        continue
                    groups += self.keys(hcl.get(tpl.conf, "vpc_security_group_ids"), tpl.prefix)
                    for ni in hcl.blocks(tpl.conf, "network_interfaces"):
                        groups += self.keys(hcl.get(ni, "security_groups"), tpl.prefix)
                    if not types and hcl.get(tpl.conf, "instance_type"):
                        types = [self.text(tpl, hcl.get(tpl.conf, "instance_type"))]
            e.add(e.nodegroups, NodeGroup(
                **self.node_kwargs(r), cluster=cluster, instance_types=types,
                min_size=self.int(r, hcl.get(scaling, "min_size")),
                desired_size=self.int(r, hcl.get(scaling, "desired_size")),
                subnets=self.keys(hcl.get(r.conf, "subnet_ids"), r.prefix),
                security_groups=list(dict.fromkeys(groups))))

    def _databases(self) -> None:
        e, ix = self.estate, self.ix
        subnet_groups = {r.address: r for r in ix.of_type("aws_db_subnet_group")}
        by_name = {str(hcl.get(r.conf, "name")): r for r in subnet_groups.values()}
        for r in ix.of_type("aws_db_instance"):
            sg_value = hcl.get(r.conf, "db_subnet_group_name")
            group = None
            for key in self.keys(sg_value, r.prefix, ("aws_db_subnet_group",)):
                group = subnet_groups.get(key)
            if group is None and sg_value is not None:
                group = by_name.get(str(sg_value))
            subnets = self.keys(hcl.get(group.conf, "subnet_ids"), group.prefix) if group else []
            engine_v, version_v = hcl.get(r.conf, "engine"), hcl.get(r.conf, "engine_version")
            r_src = r
            source_v = hcl.get(r.conf, "replicate_source_db")
            if engine_v is None and source_v is not None:  # a read replica takes its source's engine
                sources = [ref for ref, _attr in self.ix.refs(source_v, r.prefix) if ref.type == "aws_db_instance"]
                # checkov renders a known reference (aws_db_instance.main.identifier) to its value
                sources += [o for o in ix.of_type("aws_db_instance")
                            if o is not r and str(hcl.get(o.conf, "identifier")) == str(source_v)]
                if sources:
                    r_src = sources[0]
                    engine_v = hcl.get(r_src.conf, "engine")
                    version_v = version_v if version_v is not None else hcl.get(r_src.conf, "engine_version")
            e.add(e.databases, Database(
                **self.node_kwargs(r), engine=self.text(r_src, engine_v),
                version=self.text(r_src, version_v),
                instance_class=self.text(r, hcl.get(r.conf, "instance_class")),
                multi_az=self.bool(r, hcl.get(r.conf, "multi_az"), default=False),  # provider default
                backup_retention_days=self._retention(r, source_v),
                security_groups=self.keys(hcl.get(r.conf, "vpc_security_group_ids"), r.prefix),
                subnets=subnets))

    def _retention(self, r: TfRes, source: Any) -> Any:
        """backup_retention_period; left out, RDS's default: 1 day for a new instance (as the
        CloudFormation reader has it), for a read replica not a value the code gives."""
        value = hcl.get(r.conf, "backup_retention_period")
        if value is not None:
            return self.int(r, value)
        if source is None or source == "":
            return 1
        return Unknown("backup_retention_period is not set on this read replica: the retention RDS gives it is not "
                       "in the code (set it, or scan a plan file)", str(r.loc))

    def _load_balancers(self) -> None:
        e, ix = self.estate, self.ix
        for r in ix.of_type("aws_lb", "aws_alb"):
            subnets = self.keys(hcl.get(r.conf, "subnets"), r.prefix)
            for m in hcl.blocks(r.conf, "subnet_mapping"):
                subnets += self.keys(hcl.get(m, "subnet_id"), r.prefix)
            internal = self.bool(r, hcl.get(r.conf, "internal"), default=False)
            e.add(e.load_balancers, LoadBalancer(
                **self.node_kwargs(r), lb_type=str(hcl.get(r.conf, "load_balancer_type") or "application"),
                scheme=internal if is_unknown(internal) else ("internal" if internal else "internet-facing"),
                subnets=subnets,
                security_groups=self.keys(hcl.get(r.conf, "security_groups"), r.prefix)))
        for r in ix.of_type("aws_lb_listener", "aws_alb_listener"):
            for lb in self.keys(hcl.get(r.conf, "load_balancer_arn"), r.prefix, ("aws_lb", "aws_alb")):
                if lb not in e.load_balancers:
                    continue
                actions = hcl.blocks(r.conf, "default_action")
                first = actions[0] if actions else {}
                redirect = hcl.get(first, "redirect")
                protocol = self.text(r, hcl.get(r.conf, "protocol"), default="HTTP")
                e.load_balancers[lb].listeners.append({
                    "resource": str(r.loc),
                    "port": self.int(r, hcl.get(r.conf, "port")),
                    "protocol": protocol if is_unknown(protocol) else protocol.upper(),
                    "action": self.text(r, hcl.get(first, "type")),
                    "redirect_protocol": self.text(r, hcl.get(redirect, "protocol")) if redirect else None,
                })

    def _buckets(self) -> None:
        e, ix = self.estate, self.ix
        by_name: dict[str, str] = {}
        for r in ix.of_type("aws_s3_bucket"):
            name = self._bucket_name(r)
            b = Bucket(**self.node_kwargs(r), name=name, arn=f"arn:aws:s3:::{name}")
            legacy = hcl.get(r.conf, "versioning")
            if legacy is not None:
                b.versioning = "Enabled" if hcl.to_bool(hcl.get(legacy, "enabled")) else "Suspended"
            sse = hcl.get(r.conf, "server_side_encryption_configuration", "rule", "apply_server_side_encryption_by_default")
            if sse is not None:
                b.sse = self.text(r, hcl.get(sse, "sse_algorithm"))
                b.kms_key = self._key_ref(hcl.get(sse, "kms_master_key_id"), r.prefix)
            e.add(e.buckets, b)
            by_name[name] = b.key

        def target(res: TfRes) -> Bucket | None:
            value = hcl.get(res.conf, "bucket")
            for key in self.keys(value, res.prefix, ("aws_s3_bucket",)):
                if key in e.buckets:
                    return e.buckets[key]
            key = by_name.get(str(value))
            return e.buckets.get(key) if key else None

        for r in ix.of_type("aws_s3_bucket_versioning"):
            b = target(r)
            if b:
                b.versioning = self.text(r, hcl.get(r.conf, "versioning_configuration", "status"))
                b.versioning_loc = r.loc
        for r in ix.of_type("aws_s3_bucket_server_side_encryption_configuration"):
            b = target(r)
            if b:
                sse = hcl.get(r.conf, "rule", "apply_server_side_encryption_by_default")
                b.sse = self.text(r, hcl.get(sse, "sse_algorithm"))
                b.kms_key = self._key_ref(hcl.get(sse, "kms_master_key_id"), r.prefix)
                b.encryption_loc = r.loc
        for r in ix.of_type("aws_s3_bucket_public_access_block"):
            b = target(r)
            if b:
                b.public_access_block = {f: bool(hcl.to_bool(hcl.get(r.conf, f))) for f in
                                         ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                          "restrict_public_buckets")}
                b.public_access_loc = r.loc

    def _key_ref(self, value: Any, prefix: str) -> str | None:
        if value is None:
            return None
        return self.render(value, prefix)

    def _roles(self) -> None:
        e, ix = self.estate, self.ix
        by_name: dict[str, str] = {}
        for r in ix.of_type("aws_iam_role"):
            name = hcl.get(r.conf, "name")
            role = Role(**self.node_kwargs(r), name=str(name) if hcl.is_literal(name) else None)
            role.trust = self.document(hcl.get(r.conf, "assume_role_policy"), r.prefix, str(r.loc))
            for blk in hcl.blocks(r.conf, "inline_policy"):
                role.statements += self.document(hcl.get(blk, "policy"), r.prefix, str(r.loc))
            for arn in hcl.as_list(hcl.get(r.conf, "managed_policy_arns")):
                role.statements += self._attached(arn, r.prefix, str(r.loc))
            e.add(e.roles, role)
            if role.name:
                by_name[role.name] = role.key

        def roles_of(value: Any, prefix: str) -> list[Role]:
            out = []
            for v in hcl.as_list(value):
                keys = [by_name.get(k, k) for k in self.keys(v, prefix, ("aws_iam_role",))]
                out += [e.roles[k] for k in keys if k in e.roles]
            return out

        for r in ix.of_type("aws_iam_role_policy"):
            for role in roles_of(hcl.get(r.conf, "role"), r.prefix):
                role.statements += self.document(hcl.get(r.conf, "policy"), r.prefix, str(r.loc))
        for r in ix.of_type("aws_iam_role_policy_attachment"):
            for role in roles_of(hcl.get(r.conf, "role"), r.prefix):
                role.statements += self._attached(hcl.get(r.conf, "policy_arn"), r.prefix, str(r.loc))
        for r in ix.of_type("aws_iam_policy_attachment"):
            for role in roles_of(hcl.get(r.conf, "roles"), r.prefix):
                role.statements += self._attached(hcl.get(r.conf, "policy_arn"), r.prefix, str(r.loc))

    def _attached(self, arn: Any, prefix: str, where: str) -> list[dict]:
        policies = [res for res, _ in self.ix.refs(arn, prefix) if res.type == "aws_iam_policy"]
        if policies:
            return [s for p in policies for s in self.document(hcl.get(p.conf, "policy"), p.prefix, str(p.loc))]
        return [Unknown(f"policy {hcl.unwrap(arn)} is not defined in this stack (an AWS-managed or imported "
                        "policy), so what it grants is not known", where, str(hcl.unwrap(arn))[:200])]

    def _peerings(self) -> None:
        e, ix = self.estate, self.ix
        routed: set[str] = set()
        for r in ix.of_type("aws_route"):
            routed.update(self.keys(hcl.get(r.conf, "vpc_peering_connection_id"), r.prefix))
        for r in ix.of_type("aws_route_table"):
            for route in hcl.blocks(r.conf, "route"):
                routed.update(self.keys(hcl.get(route, "vpc_peering_connection_id"), r.prefix))
        for r in ix.of_type("aws_vpc_peering_connection"):
            e.add(e.peerings, Peering(
                **self.node_kwargs(r),
                vpcs=(self.key(hcl.get(r.conf, "vpc_id"), r.prefix), self.key(hcl.get(r.conf, "peer_vpc_id"), r.prefix)),
                routed=r.address in routed))


def _text(value: Any) -> str | None:
    value = hcl.unwrap(value)
    if value is None:
        return None
    if isinstance(value, float) and not value.is_integer():
        return repr(value)
    return str(value)


def group_definitions(definitions: dict) -> dict[str, dict]:
    """Split rendered definitions by root module: the folder of the top-level caller."""
    roots: dict[str, dict] = {}
    for key, file_def in definitions.items():
        mod = getattr(key, "tf_source_modules", None)
        top = getattr(key, "file_path", str(key))
        while mod is not None:
            top = mod.path
            mod = getattr(mod, "nested_tf_module", None)
        roots.setdefault(os.path.dirname(str(top)), {})[key] = file_def
    return roots


def variable_inputs(folder: str, var_files: list[str] | None = None) -> dict[str, Any]:
    """The values a root module's variables are given, in Terraform's order (later wins):
    terraform.tfvars, terraform.tfvars.json, *.auto.tfvars(.json) in the folder, then each
    --var-file / --var. checkov renders resources with them; asbuilt's own evaluation of what
    checkov leaves (conditionals, try(), dynamic blocks) needs them too, not only the defaults."""
    files = [os.path.join(folder, f) for f in ("terraform.tfvars", "terraform.tfvars.json")]
    try:
        files += sorted(os.path.join(folder, f) for f in os.listdir(folder)
                        if f.endswith((".auto.tfvars", ".auto.tfvars.json")))
    except OSError:
        pass
    files += [str(f) for f in var_files or []]
    out: dict[str, Any] = {}
    for path in files:
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as fh:
                if path.endswith(".json"):
                    loaded = json.load(fh)
                else:
                    import hcl2

                    loaded = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in hcl2.load(fh).items()}
        except Exception:  # checkov reads the file too and says what is wrong with it
            continue
        if isinstance(loaded, dict):
            out.update({k: v for k, v in loaded.items() if not str(k).startswith("__")})
    return out


def build_estates(definitions: dict, var_files: list[str] | None = None) -> list[Estate]:
    estates = []
    for folder, defs in sorted(group_definitions(definitions).items()):
        ix = TfIndex()
        ix.inputs = variable_inputs(folder, var_files)
        ix.add_definitions(defs)
        estates.append(TerraformModel(ix, display_path(folder)).build())
    return estates


def estate_of_one(conf: dict, entity_type: str) -> Estate:
    """The model of a single resource (plain checkov runs; see checkbase)."""
    ix = TfIndex()
    address = str(conf.get("__address__") or f"{entity_type}.x")
    name = address.rsplit(".", 1)[-1] if address.startswith(entity_type) else "x"
    ix.add("resource", entity_type, _strip_index(address.split(entity_type + ".", 1)[-1]) if "." in address else name,
           conf, "(checkov)", "")
    return TerraformModel(ix, "(single resource)").build()


def make_runner():
    """A checkov Terraform runner that models each root module before the checks run."""
    from checkov.terraform.runner import Runner

    from asbuilt.static.checkbase import current

    class AsbuiltTerraformRunner(Runner):
        def check_tf_definition(self, report, root_folder, runner_filter, collect_skip_comments=True):  # type: ignore[override]
            ctx = current()
            if ctx is not None and self.definitions:
                from asbuilt.static.tfdynamic import use_parsed

                parser = getattr(getattr(self, "graph_manager", None), "parser", None) or getattr(self, "parser", None)
                parsed = getattr(parser, "out_definitions", None) or {}
                use_parsed({str(getattr(k, "file_path", k)): v for k, v in parsed.items()})
                for estate in build_estates(self.definitions, getattr(runner_filter, "var_files", None)):
                    ctx.add_stack(estate)
            return super().check_tf_definition(report, root_folder, runner_filter, collect_skip_comments)

    return AsbuiltTerraformRunner()


def debug_dump(estate: Estate) -> str:  # pragma: no cover - a developer aid
    from dataclasses import asdict

    return json.dumps({k: {str(kk): asdict(vv) for kk, vv in v.items()} for k, v in estate.__dict__.items()
                       if isinstance(v, dict) and k != "by_conf"}, indent=1, default=str)
