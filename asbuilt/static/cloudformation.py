"""CloudFormation (YAML and JSON): checkov's parse and graph rendering, then the whole-set model.

checkov parses both template forms (short-form YAML tags included) with line numbers, and its
graph substitutes parameter defaults for ``Ref`` and simple ``Fn::Sub``. What remains are the
intrinsics that name other resources (``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` with ``${X.Attr}``,
``Fn::Join``, ``Fn::Select`` over ``Fn::GetAZs``...), which ``CfnModel`` resolves itself while
building the estate of each template (one template = one stack). ``AsbuiltRunner`` hooks into
``Runner.check_definitions``, after rendering and before the checks run.
"""

from __future__ import annotations

import json
import re
from typing import Any

from asbuilt.model.facts import Unknown, is_unknown
from asbuilt.static import hcl
from asbuilt.static.estate import (
    NOT_IN_STACK,
    Bucket, Database, EksCluster, Estate, LoadBalancer, Loc, Msk, Node, NodeGroup, Peering, Repository, Role,
    SecurityGroup, Subnet, Vpc, display_path,
)

_SAME_EVERYWHERE = {"AWS::AccountId", "AWS::Partition", "AWS::Region", "AWS::URLSuffix"}
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")
# a dynamic reference ({{resolve:ssm:name}}, ssm-secure, secretsmanager): its value is read at deploy
_DYNAMIC_REF = re.compile(r"\{\{resolve:(ssm-secure|ssm|secretsmanager):[^}]*\}\}")


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


NO_VALUE = object()  # Ref AWS::NoValue: the property is left out


def _short_form(value: Any) -> Any:
    """A template as asbuilt's YAML loader reads it (``{"!Ref": x}``) in the long form (``Ref``,
    ``Fn::If``, ``Condition``)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = str(k)
            if key.startswith("!"):
                key = {"!Ref": "Ref", "!Condition": "Condition"}.get(key, "Fn::" + key[1:])
            out[key] = _short_form(v)
        return out
    if isinstance(value, list):
        return [_short_form(v) for v in value]
    return value


def _raw_template(file: str) -> dict:
    """The template as written (checkov's rendered definitions drop Conditions and each
    resource's Condition, and put parameter defaults in for Ref)."""
    from pathlib import Path

    try:
        from asbuilt.static.engine import _load_docs

        docs = _load_docs(Path(file))
    except Exception:
        return {}
    doc = docs[0] if docs else {}
    return _short_form(doc) if isinstance(doc, dict) else {}


class CfnModel:
    def __init__(self, template: dict, file: str, parameters: dict[str, Any] | None = None,
                 passed: dict[str, Any] | None = None):
        """``parameters``: the values given for the deploy (--parameter, a target's
        cloudformation_parameters). ``passed``: for a template deployed as a nested stack of a scanned
        parent, the values its parent's ``Parameters`` give (text, or Unknown); they replace
        ``parameters``, which are the root stack's."""
        self.file = file
        self.display = display_path(file)
        self.resources: dict[str, dict] = {k: v for k, v in (template.get("Resources") or {}).items()
                                           if isinstance(v, dict) and not str(k).startswith("__")}
        self.parameters = template.get("Parameters") or {}
        self.estate = Estate("cloudformation", self.display)
        given = parameters if passed is None else {k: v for k, v in passed.items() if not is_unknown(v)}
        self.given = {str(k): v for k, v in (given or {}).items() if str(k) in self.parameters}
        # parameters a parent stack passes with a value known only at deploy (their defaults do not apply)
        self.from_parent: dict[str, Unknown] = {str(k): v for k, v in (passed or {}).items()
                                                if is_unknown(v) and str(k) in self.parameters}
        raw = _raw_template(file) if file != "(checkov)" else {}
        self.conditions: dict = raw.get("Conditions") or template.get("Conditions") or {}
        self.mappings: dict = raw.get("Mappings") or template.get("Mappings") or {}
        raw_resources = raw.get("Resources") or {}
        # checkov put the parameters' defaults in for Ref: with other values given, read the template as written
        self._raw_props = {n: (raw_resources.get(n) or {}).get("Properties") or {} for n in self.resources} \
            if (self.given or self.from_parent or any(self.ssm_parameter(p) for p in self.parameters)) \
            and raw_resources else {}
        self._props: dict[str, dict] = {}
        self._deciding: set[str] = set()
        for name in list(self.resources):
            cond = (raw_resources.get(name) or {}).get("Condition") or self.resources[name].get("Condition")
            if not isinstance(cond, str):
                continue
            created = self.condition(cond)
            if created is True:
                continue
            if is_unknown(created):  # it may or may not be created: a control over its type cannot pass
                loc = self.loc(name)
                self.estate.undecided_resources.append({
                    "resource": name, "type": self.type_of(name), "file": loc.file, "line": loc.line,
                    "reason": f"whether {name} is created depends on condition {cond}, which could not be decided "
                              f"({created.reason})"})
            self.estate.not_created.add(id(self.resources[name]))
            del self.resources[name]  # condition false: not created, not in the model

    # ------------------------------------------------------------------ conditions and parameters

    def param_value(self, name: str) -> Any:
        """The value a parameter takes: the one given for the deploy, else its Default; None if neither."""
        if name in self.from_parent or self.ssm_parameter(name) is not None:
            return None
        if name in self.given:
            return self.given[name]
        return self.param_default(name)

    def ssm_parameter(self, name: str) -> str | None:
        """For a parameter of type AWS::SSM::Parameter::Value<...>: the SSM parameter whose value it
        takes at deploy (its given value or default is that parameter's name, not the value)."""
        param = self.parameters.get(name)
        if not isinstance(param, dict):
            return None
        ptype = (param.get("Properties") or {}).get("Type") if param.get("Type") == "parameters" else param.get("Type")
        if not str(ptype or "").startswith("AWS::SSM::Parameter::Value"):
            return None
        named = self.given.get(name, self.param_default(name))
        return str(named) if named is not None else "(no name given)"

    def condition(self, name: str) -> Any:
        """True / False, or Unknown when it depends on a value known only at deploy."""
        if name not in self.conditions:
            return Unknown(f"condition {name} is not defined in the template")
        if name in self._deciding:
            return Unknown(f"condition {name} refers to itself")
        self._deciding.add(name)
        try:
            return self._truth(self.conditions[name])
        finally:
            self._deciding.discard(name)

    def _truth(self, v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        if isinstance(v, dict):
            if "Condition" in v and isinstance(v["Condition"], str):
                return self.condition(v["Condition"])
            args = next((v[k] for k in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or") if k in v), None)
            args = args if isinstance(args, list) else [args]
            if "Fn::Equals" in v and len(args) == 2:
                a, b = (self._scalar(x) for x in args)
                for x in (a, b):
                    if is_unknown(x):
                        return x
                return _text(a) == _text(b)
            if "Fn::Not" in v and args:
                x = self._truth(args[0])
                return x if is_unknown(x) else not x
            if "Fn::And" in v or "Fn::Or" in v:
                values = [self._truth(x) for x in args]
                decisive = "Fn::Or" in v  # True decides an Or, False an And
                if any(x is decisive for x in values):
                    return decisive
                unknown = next((x for x in values if is_unknown(x)), None)
                return unknown if unknown is not None else not decisive
        return Unknown(f"{str(_clean(v))[:80]} is not a condition asbuilt can evaluate")

    def find_in_map(self, args: Any) -> Any:
        """The value ``Fn::FindInMap [MapName, TopKey, SecondKey]`` gives (keys may be Refs to
        parameters with a value), or Unknown saying which key is not known. A fourth argument
        ``{"DefaultValue": x}`` (AWS::LanguageExtensions) is taken when the keys are not in the map."""
        if not isinstance(args, list) or len(args) < 3:
            return Unknown(f"Fn::FindInMap {str(_clean(args))[:80]} is not [MapName, TopKey, SecondKey]")
        keys = [self._scalar(self.resolve(a)) for a in args[:3]]
        for k in keys:
            if is_unknown(k):
                return Unknown(f"a key of Fn::FindInMap {str(_clean(args[:3]))[:80]} is not known ({k.reason})")
        name, top, second = (_text(k) for k in keys)
        mapping = self.mappings.get(name)
        if not isinstance(mapping, dict):
            return Unknown(f"Fn::FindInMap names mapping {name}, which the template does not define")
        entry = mapping.get(top)
        if isinstance(entry, dict) and second in entry:
            return entry[second]
        default = args[3].get("DefaultValue") if len(args) > 3 and isinstance(args[3], dict) else None
        if default is not None:
            return default
        return Unknown(f"mapping {name} has no {top}/{second} (the deploy would fail)")

    def _scalar(self, v: Any) -> Any:
        if isinstance(v, dict) and "Ref" in v:
            ref = str(v["Ref"])
            if ref in self.parameters:
                val = self.param_value(ref)
                return self.unknown(v) if val is None else val
            return self.unknown(v)
        if isinstance(v, dict) and "Fn::If" in v:
            return self._scalar(self.resolve(v))
        if isinstance(v, dict):
            text = self.render(v)
            return self.unknown(v) if not text or "<" in text else text
        return v

    def resolve(self, value: Any) -> Any:
        """value with each Fn::If whose condition is decidable replaced by its branch, and
        ``Ref AWS::NoValue`` left out; an undecidable Fn::If stays (an unknown fact downstream)."""
        if isinstance(value, dict):
            if "Fn::FindInMap" in value:
                found = self.find_in_map(value["Fn::FindInMap"])
                return value if is_unknown(found) else self.resolve(found)
            if "Fn::If" in value and isinstance(value["Fn::If"], list) and len(value["Fn::If"]) == 3:
                cond, yes, no = value["Fn::If"]
                truth = self.condition(str(cond))
                if truth is True or truth is False:
                    return self.resolve(yes if truth else no)
                return value
            if value.get("Ref") == "AWS::NoValue" and len([k for k in value if not str(k).startswith("__")]) == 1:
                return NO_VALUE
            out = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in out.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [x for x in (self.resolve(v) for v in value) if x is not NO_VALUE]
        return value

    # ------------------------------------------------------------------ intrinsics

    def props(self, name: str) -> dict:
        if name not in self._props:
            raw = self._raw_props.get(name) if self._raw_props else None
            props = raw if raw is not None else (self.resources[name].get("Properties") or {})
            resolved = self.resolve(props)
            self._props[name] = resolved if isinstance(resolved, dict) else {}
        return self._props[name]

    def type_of(self, name: str) -> str:
        return str(self.resources.get(name, {}).get("Type", ""))

    def target(self, value: Any) -> tuple[str, str | None] | None:
        """(logical id, attribute) a Ref / GetAtt / single-variable Sub names, if a resource."""
        if isinstance(value, dict):
            if "Ref" in value and str(value["Ref"]) in self.resources:
                return str(value["Ref"]), None
            if "Fn::GetAtt" in value:
                ga = value["Fn::GetAtt"]
                if isinstance(ga, str):
                    ga = ga.split(".", 1)
                if isinstance(ga, list) and ga and str(ga[0]) in self.resources:
                    return str(ga[0]), (str(ga[1]) if len(ga) > 1 else None)
            if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
                m = re.fullmatch(r"\$\{([^}]+)\}", value["Fn::Sub"].strip())
                if m:
                    name, _, attr = m.group(1).partition(".")
                    if name in self.resources:
                        return name, attr or None
        return None

    def keys(self, value: Any) -> list:
        """Logical ids (or literal ids) a value names; an Unknown for each part that cannot be
        resolved before deploy (a parameter without a default, an import, a condition)."""
        out: list = []
        if isinstance(value, dict) and "Ref" in value and str(value["Ref"]) not in self.resources:
            default = self.param_value(str(value["Ref"]))
            if default is None:
                return [self.unknown(value)]
            value = [d.strip() for d in str(default).split(",")] if isinstance(default, str) else default
        for v in value if isinstance(value, list) else ([] if value is None else [value]):
            t = self.target(v)
            if t:
                name, attr = t
                if self.type_of(name) == "AWS::EKS::Cluster" and attr == "ClusterSecurityGroupId":
                    out.append(f"{name}#cluster_security_group")
                else:
                    out.append(name)
            elif isinstance(v, str) and _DYNAMIC_REF.search(v):
                out.append(self.unknown(v))
            elif isinstance(v, (str, int)):
                out.append(str(v))
            elif isinstance(v, dict):
                text = self.render(v)
                out.append(text if text and "<" not in text and not _DYNAMIC_REF.search(text) else self.unknown(v))
        return out

    # ------------------------------------------------------------------ known or unknown

    def reason(self, value: Any) -> str:
        """Why a CloudFormation value cannot be known before deploy."""
        if isinstance(value, dict):
            if "Ref" in value:
                ref = str(value["Ref"])
                if ref in self.resources:
                    return f"{ref} is known only after deploy"
                if ref in self.from_parent:
                    return self.from_parent[ref].reason
                if self.ssm_parameter(ref) is not None:
                    return (f"parameter {ref} is the value SSM parameter {self.ssm_parameter(ref)} holds when the "
                            "stack is deployed")
                if ref in self.parameters:
                    return f"parameter {ref} has no default: its value is given only when the stack is deployed"
                if ref.startswith("AWS::"):
                    return f"pseudo parameter {ref} is known only at deploy time"
                return f"Ref {ref} names neither a parameter nor a resource of this template"
            if "Fn::ImportValue" in value:
                return "Fn::ImportValue is resolved from another stack at deploy time"
            if "Fn::FindInMap" in value:
                found = self.find_in_map(value["Fn::FindInMap"])
                return found.reason if is_unknown(found) else "Fn::FindInMap gives a value that is not known"
            if "Fn::If" in value:
                cond = value["Fn::If"][0] if isinstance(value["Fn::If"], list) and value["Fn::If"] else "?"
                why = self.condition(str(cond))
                return f"condition {cond} could not be decided" + (f" ({why.reason})" if is_unknown(why) else "")
            if "Fn::Select" in value and isinstance(value["Fn::Select"], list) and len(value["Fn::Select"]) == 2:
                return self.reason(value["Fn::Select"][1])
            if "Fn::Split" in value and isinstance(value["Fn::Split"], list) and len(value["Fn::Split"]) == 2:
                return self.reason(value["Fn::Split"][1])
            if "Fn::Join" in value and isinstance(value["Fn::Join"], list) and len(value["Fn::Join"]) == 2 \
                    and isinstance(value["Fn::Join"][1], list):
                part = next((x for x in value["Fn::Join"][1] if isinstance(x, dict) and "<" in self.render(x)), None)
                if part is not None:
                    return self.reason(part)
            if "Fn::GetAtt" in value:
                t = self.target(value)
                if t and t[1] and t[1].startswith("Outputs.") and self.type_of(t[0]) in NESTED_STACKS:
                    return f"output {t[1][len('Outputs.'):]} of nested stack {t[0]} is known only after deploy"
                return f"Fn::GetAtt {value['Fn::GetAtt']} is known only after deploy"
            for k in value:
                if not str(k).startswith("__"):
                    return f"intrinsic {k} could not be resolved before deploy"
        if isinstance(value, str) and _DYNAMIC_REF.search(value):
            m = _DYNAMIC_REF.search(value)
            return f"dynamic reference {m.group(0)[:100]} is resolved from {m.group(1)} when the stack is deployed"
        return f"{str(value)[:60]!r} could not be resolved before deploy"

    def unknown(self, value: Any, where: str = "") -> Unknown:
        return Unknown(self.reason(value), where, str(_clean(value))[:200])

    def passed_value(self, value: Any) -> Any:
        """The text a parameter of a nested stack receives (lists comma-joined, as CloudFormation
        passes them), Unknown when known only at deploy, None when left out (AWS::NoValue)."""
        v = self.resolve(value)
        if v is NO_VALUE or v is None:
            return None
        if isinstance(v, (str, int, float, bool)):
            return _text(v)
        if isinstance(v, list):
            parts = [self.passed_value(x) for x in v]
            bad = next((x for x in parts if is_unknown(x)), None)
            return bad if bad is not None else ",".join(str(x) for x in parts if x is not None)
        if isinstance(v, dict) and "Ref" in v and str(v["Ref"]) in self.parameters:
            d = self.param_value(str(v["Ref"]))
            if d is None:
                return self.unknown(v)
            return ",".join(map(str, d)) if isinstance(d, list) else _text(d)
        text = self.render(v) if isinstance(v, dict) else None
        return text if text and "<" not in text else self.unknown(v)

    def block(self, value: Any, where: Any = "") -> Any:
        """A property that holds a block ({...}): the block, {} when absent, or Unknown when it is an
        intrinsic left after resolve() (an undecidable Fn::If, an import, a parameter): reading its
        keys would read the intrinsic's own arguments as the block's settings."""
        if _opaque(value):
            return self.unknown(value, str(where))
        return value if isinstance(value, dict) else {}

    def items(self, value: Any, where: Any = "") -> list:
        """A property that holds a list of blocks: its blocks, with an Unknown for the list or for
        each element that is an intrinsic left after resolve()."""
        if _opaque(value):
            return [self.unknown(value, str(where))]
        if not isinstance(value, list):
            return []
        return [self.unknown(v, str(where)) if _opaque(v) else v for v in value if isinstance(v, dict)]

    def value(self, value: Any, default: Any = None) -> Any:
        """A property value: literal, rendered intrinsic, the default when absent, or Unknown."""
        if value is None:
            return default
        if isinstance(value, str) and _DYNAMIC_REF.search(value):
            return self.unknown(value)
        if isinstance(value, (str, int, float, bool)):
            return value
        if isinstance(value, dict):
            if "Ref" in value and str(value["Ref"]) in self.parameters:
                d = self.param_value(str(value["Ref"]))
                if isinstance(d, str) and _DYNAMIC_REF.search(d):
                    return self.unknown(d)
                return self.unknown(value) if d is None else d
            text = self.render(value)
            if _DYNAMIC_REF.search(text):
                return self.unknown(text)
            return self.unknown(value) if not text or "<" in text else text
        return value

    def text(self, value: Any, default: Any = None) -> Any:
        v = self.value(value, default)
        return v if v is None or is_unknown(v) else _text(v)

    def int(self, value: Any, default: Any = None) -> Any:
        v = self.value(value, default)
        if v is None or is_unknown(v):
            return v
        n = hcl.to_int(v)
        return n if n is not None else self.unknown(v)

    def bool(self, value: Any, default: Any = None) -> Any:
        v = self.value(value, default)
        if v is None or is_unknown(v):
            return v
        b = hcl.to_bool(v)
        return b if b is not None else self.unknown(v)

    def canonical(self, name: str, attr: str | None) -> str:
        rtype = self.type_of(name)
        props = self.props(name)
        if rtype == "AWS::S3::Bucket":
            bname = self.text(props.get("BucketName"))  # a literal, or a parameter's value (!Ref, !Sub)
            bname = bname if isinstance(bname, str) and bname else f"<{name}>"
            return f"arn:aws:s3:::{bname}" if attr == "Arn" else bname
        if rtype == "AWS::KMS::Key":
            return f"<kms-key {name}>"
        if rtype == "AWS::KMS::Alias":
            t = self.target(props.get("TargetKeyId"))
            return f"<kms-key {t[0]}>" if t else f"<kms-alias {name}>"
        if rtype == "AWS::IAM::OIDCProvider":
            return f"<oidc-provider {name}>"
        if rtype == "AWS::IAM::Role":
            rname = self.text(props.get("RoleName"))
            return f"<iam-role {rname if isinstance(rname, str) and rname else name}>"
        if rtype == "AWS::EC2::VPC" and attr == "CidrBlock":
            cidr = props.get("CidrBlock")
            return str(cidr) if isinstance(cidr, str) else f"<{name}.CidrBlock>"
        return f"<{name}{'.' + attr if attr else ''}>"

    def render(self, value: Any, local: dict | None = None) -> str:
        """The text of a value with its intrinsics resolved as far as a static reader can."""
        if value is None:
            return ""
        if isinstance(value, (str, int, float, bool)):
            return str(value).lower() if isinstance(value, bool) else str(value)
        if isinstance(value, list):
            return ",".join(self.render(v, local) for v in value)
        if not isinstance(value, dict):
            return str(value)
        t = self.target(value)
        if t:
            return self.canonical(*t)
        if "Ref" in value:
            ref = str(value["Ref"])
            default = self.param_value(ref)
            return str(default) if default is not None else f"<{ref}>"
        if "Fn::Sub" in value:
            body = value["Fn::Sub"]
            variables: dict = {}
            if isinstance(body, list):
                body, variables = (body + [{}])[:2]
                variables = {k: v for k, v in (variables or {}).items() if not str(k).startswith("__")}

            def sub(m: re.Match) -> str:
                var = m.group(1)
                if var in variables:
                    return self.render(variables[var], local)
                name, _, attr = var.partition(".")
                if name in self.resources:
                    return self.canonical(name, attr or None)
                default = self.param_value(name)
                return str(default) if default is not None else f"<{var}>"

            return _SUB_VAR.sub(sub, str(body))
        if "Fn::Join" in value:
            sep, parts = (value["Fn::Join"] + ["", []])[:2]
            return str(sep).join(self.render(p, local) for p in (parts if isinstance(parts, list) else [parts]))
        if "Fn::Select" in value:
            index, source = (value["Fn::Select"] + [0, []])[:2]
            i = hcl.to_int(index)
            if isinstance(source, dict) and "Fn::GetAZs" in source:
                return f"az#{i}"
            if isinstance(source, list) and i is not None and 0 <= i < len(source):
                return self.render(source[i], local)
            if isinstance(source, dict) and "Fn::Split" in source:
                sep, text = (source["Fn::Split"] + ["", ""])[:2]
                pieces = self.render(text, local).split(str(sep))
                if i is not None and 0 <= i < len(pieces) and not self.render(text, local).startswith("<"):
                    return pieces[i]
            inner = source.get("Fn::Split", ["", ""])[1] if isinstance(source, dict) and "Fn::Split" in source else source
            return f"<item {i} of {self.render(inner, local)}>"
        if "Fn::GetAZs" in value:
            return "<azs>"
        if "Fn::If" in value:
            return f"<if {self.render(value['Fn::If'][0] if isinstance(value['Fn::If'], list) else '', local)}>"
        return f"<{next(iter(k for k in value if not str(k).startswith('__')), '?')}>"

    def param_default(self, name: str) -> Any:
        param = self.parameters.get(name)
        if not isinstance(param, dict):
            return None
        if "Default" in param:
            return param["Default"]
        return (param.get("Properties") or {}).get("Default")

    def zone(self, value: Any) -> Any:
        """The zone a subnet is in: a zone name or id, ``az#<i>`` for ``!Select [i, !GetAZs '']``, None
        when not set (AWS picks one), or Unknown naming what is known only at deploy."""
        if value is None:
            return None
        text = self.render(value)
        if hcl.AZ.match(text) or re.fullmatch(r"az#\d+", text):
            return text
        return self.unknown(value)

    def loc(self, name: str) -> Loc:
        res = self.resources[name]
        line = int(res.get("__startline__") or (res.get("Properties") or {}).get("__startline__") or 1)
        # checkov's YAML lines start at the resource's first key; point at its logical id instead.
        lines = self._lines()
        for back in range(0, 4):
            i = line - back
            if 0 < i <= len(lines) and re.match(rf'^\s*"?{re.escape(name)}"?\s*:', lines[i - 1]):
                line = i
                break
        return Loc(self.display, line, name)

    def _lines(self) -> list[str]:
        if not hasattr(self, "_text_lines"):
            try:
                from asbuilt.safeio import read_text

                self._text_lines = read_text(self.file, "CloudFormation", "iac", OSError).splitlines()
            except OSError:
                self._text_lines = []
        return self._text_lines

    def kw(self, name: str) -> dict:
        return {"key": name, "loc": self.loc(name), "conf_id": id(self.resources[name])}

    def of_type(self, *types: str) -> list[str]:
        return [n for n, r in self.resources.items() if r.get("Type") in types]

    # ------------------------------------------------------------------ policies

    def deploy_inputs(self, value: Any) -> list[str]:
        """What a value depends on that is given only at deploy: parameters without a value,
        pseudo parameters other than the account, partition, region and URL suffix (the same for
        everything a stack creates), imports, undecided conditions, unknown map entries. Names of
        the stack's own resources are identities, not inputs."""
        out: list[str] = []
        if isinstance(value, list):
            for v in value:
                out += self.deploy_inputs(v)
        elif isinstance(value, dict):
            if "Ref" in value:
                ref = str(value["Ref"])
                if ref in self.parameters and self.param_value(ref) is None:
                    out.append(f"parameter {ref}")
                elif ref not in self.resources and ref not in self.parameters and ref not in _SAME_EVERYWHERE \
                        and ref != "AWS::NoValue":
                    out.append(ref)
            elif "Fn::Sub" in value:
                body, local = value["Fn::Sub"], {}
                if isinstance(body, list):
                    body, local = (body + [{}])[:2]
                    local = local if isinstance(local, dict) else {}
                    for k, v in local.items():
                        if not str(k).startswith("__"):
                            out += self.deploy_inputs(v)
                for m in _SUB_VAR.finditer(str(body)):
                    var = m.group(1)
                    name = var.partition(".")[0]
                    if var in local or name in self.resources or var in _SAME_EVERYWHERE:
                        continue
                    if name in self.parameters:
                        if self.param_value(name) is None:
                            out.append(f"parameter {name}")
                    else:
                        out.append(var)
            elif "Fn::ImportValue" in value:
                out.append(f"Fn::ImportValue {self.render(value['Fn::ImportValue'])}")
            elif "Fn::If" in value or "Fn::FindInMap" in value:
                out.append(self.reason(value))
            else:
                for k, v in value.items():
                    if not str(k).startswith("__"):
                        out += self.deploy_inputs(v)
        elif isinstance(value, str) and _DYNAMIC_REF.search(value):
            out.append(_DYNAMIC_REF.search(value).group(0))
        return list(dict.fromkeys(out))

    def _unknown_document(self, missing: list[str], value: Any, where: str) -> Unknown:
        return Unknown(f"the policy depends on {', '.join(missing[:4])}, known only at deploy (give parameters with "
                       "--parameter NAME=VALUE)", where, str(_clean(value))[:200])

    def document(self, value: Any, where: str) -> list[dict]:
        if value is None:
            return []
        if isinstance(value, dict) and "Fn::Sub" in value:
            missing = self.deploy_inputs(value)
            if missing:
                return [self._unknown_document(missing, value, where)]
            text = self.render(value)
            doc = hcl.parse_json_text(text)
        elif isinstance(value, str):
            doc = hcl.parse_json_text(value)
        else:
            doc = value
        if not isinstance(doc, dict) or _opaque(doc):  # an intrinsic resolved only at deploy: statements unknown
            return [self.unknown(value, where)]
        statements = doc.get("Statement")
        if _opaque(statements):
            return [self.unknown(statements, where)]
        out: list = [self.unknown(s, where) for s in (statements if isinstance(statements, list) else [])
                     if _opaque(s)]
        for raw in hcl.statements_of_document(doc):
            if _opaque(raw):
                continue
            missing = self.deploy_inputs(_clean_keep(raw))
            if missing:
                out.append(self._unknown_document(missing, raw, where))
                continue
            line = raw.get("__startline__") if isinstance(raw, dict) else None
            w = f"{self.display}:{line} ({where.split('(', 1)[-1].rstrip(')')})" if line else where
            out.append(hcl.neutral_statement(_clean_keep(raw), w, self._render_any))
        return out

    def _render_any(self, value: Any) -> str:
        return self.render(value) if not isinstance(value, str) else value

    # ------------------------------------------------------------------ build

    def build(self) -> Estate:
        e = self.estate
        self._transforms()
        for n in self.of_type("AWS::EC2::VPC"):
            cidr = self.props(n).get("CidrBlock")
            e.add(e.vpcs, Vpc(**self.kw(n), cidr=self.render(cidr) if cidr is not None else None))
        for n in self.of_type("AWS::EC2::Subnet"):
            p = self.props(n)
            cidr = self.render(p.get("CidrBlock")) if p.get("CidrBlock") is not None else None
            e.add(e.subnets, Subnet(**self.kw(n), zone=self.zone(p.get("AvailabilityZone") or p.get("AvailabilityZoneId")),
                                    vpc=(self.keys(p.get("VpcId")) or [None])[0],
                                    cidr=cidr if cidr and not cidr.startswith("<") else None))
        self._security_groups()
        for n in self.of_type("AWS::EKS::Cluster"):
            p = self.props(n)
            vpc = self.block(p.get("ResourcesVpcConfig"), self.loc(n))
            e.add(e.clusters, EksCluster(**self.kw(n), version=self.text(p.get("Version")),
                                         subnets=[vpc] if is_unknown(vpc) else self.keys(vpc.get("SubnetIds")),
                                         security_groups=[vpc] if is_unknown(vpc)
                                         else self.keys(vpc.get("SecurityGroupIds"))))
        self._nodegroups()
        for n in self.of_type("AWS::RDS::DBInstance"):
            p = self.props(n)
            if p.get("DBClusterIdentifier") is not None:
                # an instance of an Aurora / Multi-AZ DB cluster: its engine, Multi-AZ (always false), backups
                # and security groups are the cluster's, which asbuilt does not model
                loc = self.loc(n)
                cluster = self.target(p.get("DBClusterIdentifier"))
                e.not_created.add(id(self.resources[n]))
                e.not_modelled_database(n, f"AWS::RDS::DBInstance of DB cluster "
                                           f"{cluster[0] if cluster else self.render(p.get('DBClusterIdentifier'))}",
                                        loc.file, loc.line)
                continue
            subnets: list[str] = []
            for g in self.keys(p.get("DBSubnetGroupName")):
                if self.type_of(g) == "AWS::RDS::DBSubnetGroup":
                    subnets = self.keys(self.props(g).get("SubnetIds"))
            retention = p.get("BackupRetentionPeriod")
            engine, version = self.text(p.get("Engine")), self.text(p.get("EngineVersion"))
            source = self.target(p.get("SourceDBInstanceIdentifier")) if engine is None else None
            if source and self.type_of(source[0]) == "AWS::RDS::DBInstance":  # a read replica: its source's engine
                src = self.props(source[0])
                engine, version = self.text(src.get("Engine")), version or self.text(src.get("EngineVersion"))
            e.add(e.databases, Database(
                **self.kw(n), engine=engine, version=version,
                instance_class=self.text(p.get("DBInstanceClass")),
                multi_az=self.bool(p.get("MultiAZ"), default=False),
                backup_retention_days=self.int(retention, default=1),  # CloudFormation default: 1
                security_groups=self.keys(p.get("VPCSecurityGroups")), subnets=subnets))
        for n in self.of_type("AWS::MSK::Cluster"):
            p = self.props(n)
            where = self.loc(n)
            info = self.block(p.get("BrokerNodeGroupInfo"), where)
            encryption = self.block(p.get("EncryptionInfo"), where)
            transit = encryption if is_unknown(encryption) else self.block(encryption.get("EncryptionInTransit"), where)
            e.add(e.msk, Msk(**self.kw(n), version=self.text(p.get("KafkaVersion")),
                             broker_count=self.int(p.get("NumberOfBrokerNodes")),
                             instance_type=info if is_unknown(info) else self.text(info.get("InstanceType")),
                             subnets=[info] if is_unknown(info) else self.keys(info.get("ClientSubnets")),
                             security_groups=[info] if is_unknown(info) else self.keys(info.get("SecurityGroups")),
                             client_broker=transit if is_unknown(transit)
                             else self.text(transit.get("ClientBroker"), default="TLS")))
        self._load_balancers()
        self._buckets()
        for n in self.of_type("AWS::IAM::OIDCProvider"):
            e.add(e.oidc_providers, Node(**self.kw(n)))
        self._roles()
        for n in self.of_type("AWS::ECR::Repository"):
            name = self.props(n).get("RepositoryName")
            name = self.text(name)
            e.add(e.repositories, Repository(**self.kw(n), name=name if isinstance(name, str) and name else None))
        routed = set()
        for n in self.of_type("AWS::EC2::Route"):
            routed.update(self.keys(self.props(n).get("VpcPeeringConnectionId")))
        for n in self.of_type("AWS::EC2::VPCPeeringConnection"):
            p = self.props(n)
            e.add(e.peerings, Peering(**self.kw(n), vpcs=((self.keys(p.get("VpcId")) or [None])[0],
                                                          (self.keys(p.get("PeerVpcId")) or [None])[0]),
                                      routed=n in routed))
        for n in self.of_type("AWS::RDS::DBCluster"):
            loc = self.loc(n)
            e.not_modelled_database(n, "AWS::RDS::DBCluster", loc.file, loc.line)
        for n in self.of_type("AWS::MSK::ServerlessCluster"):
            loc = self.loc(n)
            e.not_modelled_msk(n, "AWS::MSK::ServerlessCluster", loc.file, loc.line)
        self._self_managed_nodes()
        e.locate_unknowns()
        return e

    def _line_of(self, text: str) -> int:
        for i, line in enumerate(self._lines(), start=1):
            if text in line:
                return i
        return 1

    def _transforms(self) -> None:
        """Macros rewrite the template at deploy, and asbuilt reads it as written: a template-level
        Transform other than SAM's and AWS::LanguageExtensions, or an ``Fn::Transform``
        (AWS::Include...) in Resources, may create anything (unresolved, like a module not on disk);
        resources an ``Fn::ForEach`` loop creates are not expanded (undecided, by their type)."""
        raw = _raw_template(self.file) if self.file != "(checkov)" else {}
        if not raw:
            return
        e = self.estate
        transforms = raw.get("Transform")
        for tr in transforms if isinstance(transforms, list) else ([transforms] if transforms else []):
            name = tr.get("Name") if isinstance(tr, dict) else tr
            if str(name) in KNOWN_TRANSFORMS:
                continue
            e.unresolved_modules.append({
                "module": f"Transform {name}", "file": self.display, "line": self._line_of("Transform"),
                "source": str(name), "kind": "transform", "fact": f"what macro {name} makes of the template",
                "why": f"the template declares Transform {str(name)[:80]}, which rewrites it when it is deployed",
                "hint": "scan the processed template (aws cloudformation get-template --template-stage Processed) "
                        "to decide"})
        for key, body in (raw.get("Resources") or {}).items():
            key = str(key)
            if key.startswith("Fn::ForEach::"):
                inner = body[2] if isinstance(body, list) and len(body) == 3 and isinstance(body[2], dict) else {}
                types = {str(r.get("Type")) for r in inner.values() if isinstance(r, dict) and isinstance(r.get("Type"), str)}
                line = self._line_of(key)
                if not types or any(str(k).startswith("Fn::ForEach::") for k in inner):
                    e.unresolved_modules.append({
                        "module": key, "file": self.display, "line": line, "source": key, "kind": "transform",
                        "fact": f"what loop {key} creates", "why": "asbuilt does not expand Fn::ForEach",
                        "hint": "scan the processed template (aws cloudformation get-template --template-stage "
                                "Processed) to decide"})
                    continue
                for rtype in sorted(types):
                    e.undecided_resources.append({
                        "resource": key, "type": rtype, "file": self.display, "line": line,
                        "fact": f"the {rtype} resources loop {key} creates",
                        "reason": "asbuilt does not expand Fn::ForEach (AWS::LanguageExtensions)",
                        "hint": "; scan the processed template (aws cloudformation get-template --template-stage "
                                "Processed) to decide"})
            elif "Fn::Transform" in json.dumps(_clean(body), default=str):
                e.unresolved_modules.append({
                    "module": key, "file": self.display, "line": self._line_of(f"{key}:") if self._line_of(f"{key}:") > 1
                    else self._line_of(f'"{key}"'), "source": key, "kind": "transform",
                    "fact": f"what Fn::Transform in {key} makes of it",
                    "why": "a macro (AWS::Include or another) gives its content when the stack is deployed",
                    "hint": "scan the processed template (aws cloudformation get-template --template-stage Processed) "
                            "to decide"})

    def _rule(self, where: str, raw: dict, source_key: str) -> dict:
        v4 = raw.get("CidrIp")
        v6 = raw.get("CidrIpv6")
        pl = raw.get("SourcePrefixListId")
        protocol = self.text(raw.get("IpProtocol"), default="-1")
        cidr4, cidr6 = self.text(v4), self.text(v6)
        return {
            "resource": where,
            "protocol": protocol if is_unknown(protocol) else protocol.lower(),
            "from_port": self.int(raw.get("FromPort")),
            "to_port": self.int(raw.get("ToPort")),
            "cidrs_v4": [cidr4] if v4 is not None else [],
            "cidrs_v6": [cidr6] if v6 is not None else [],
            "groups": self.keys(raw.get(source_key)) if raw.get(source_key) is not None else [],
            "prefix_lists": [self.render(pl)] if pl is not None else [],
        }

    def _security_groups(self) -> None:
        e = self.estate
        for n in self.of_type("AWS::EC2::SecurityGroup"):
            p = self.props(n)
            sg = SecurityGroup(**self.kw(n), vpc=(self.keys(p.get("VpcId")) or [None])[0])
            for raw in self.items(p.get("SecurityGroupIngress"), sg.loc):
                if is_unknown(raw):  # rules known only at deploy (an undecidable Fn::If): not "no rules"
                    sg.ingress.append({"resource": str(sg.loc), "protocol": raw, "from_port": raw, "to_port": raw,
                                       "cidrs_v4": [raw], "cidrs_v6": [], "groups": [], "prefix_lists": []})
                    continue
                line = raw.get("__startline__")
                where = f"{self.display}:{line} ({n} SecurityGroupIngress)" if line else str(sg.loc)
                sg.ingress.append(self._rule(where, raw, "SourceSecurityGroupId"))
            e.add(e.security_groups, sg)
        for n in self.of_type("AWS::EC2::SecurityGroupIngress"):
            p = self.props(n)
            for target in self.keys(p.get("GroupId")):
                if target not in e.security_groups:
                    e.security_groups[target] = SecurityGroup(key=target, loc=Loc(NOT_IN_STACK, 0, target))
                e.security_groups[target].ingress.append(self._rule(str(self.loc(n)), p, "SourceSecurityGroupId"))

    def _nodegroups(self) -> None:
        e = self.estate
        for n in self.of_type("AWS::EKS::Nodegroup"):
            p = self.props(n)
            where = self.loc(n)
            scaling = self.block(p.get("ScalingConfig"), where)
            raw_types = p.get("InstanceTypes")
            types = [self.unknown(raw_types, str(where))] if _opaque(raw_types) else \
                [self.text(t) for t in (raw_types if isinstance(raw_types, list) else [])]
            groups: list = []
            lt = self.block(p.get("LaunchTemplate"), where)
            for tpl in [lt] if is_unknown(lt) else self.keys(lt.get("Id")) + self.keys(lt.get("Name")):
                if is_unknown(tpl):  # which launch template (and so which security groups) is not known
                    groups.append(tpl)
                    continue
                if self.type_of(tpl) != "AWS::EC2::LaunchTemplate":
                    continue
                data = self.block(self.props(tpl).get("LaunchTemplateData"), self.loc(tpl))
                if is_unknown(data):
                    groups.append(data)
                    continue
                groups += self.keys(data.get("SecurityGroupIds"))
                for ni in self.items(data.get("NetworkInterfaces"), self.loc(tpl)):
                    groups += [ni] if is_unknown(ni) else self.keys(ni.get("Groups"))
                if not types and data.get("InstanceType"):
                    types = [self.text(data["InstanceType"])]
            e.add(e.nodegroups, NodeGroup(
                **self.kw(n), cluster=(self.keys(p.get("ClusterName")) or [None])[0], instance_types=types,
                min_size=scaling if is_unknown(scaling) else self.int(scaling.get("MinSize")),
                desired_size=scaling if is_unknown(scaling) else self.int(scaling.get("DesiredSize")),
                subnets=self.keys(p.get("Subnets")), security_groups=list(dict.fromkeys(groups))))

    def _self_managed_nodes(self) -> None:
        """Worker nodes in an Auto Scaling group (self-managed nodes, as the older EKS Quick Starts
        and eksctl's unmanaged groups make them) are not a managed node group asbuilt models: the
        node group controls cannot pass or skip on a stack that has them."""
        for n in self.of_type("AWS::AutoScaling::AutoScalingGroup"):
            p = self.props(n)
            text = json.dumps(_clean(p), default=str)
            for ref in self.keys((p.get("LaunchTemplate") or {}).get("LaunchTemplateId")) + \
                    self.keys(p.get("LaunchConfigurationName")):
                if isinstance(ref, str) and ref in self.resources:
                    text += json.dumps(_clean(self.props(ref)), default=str)
            if not any(mark in text for mark in ("kubernetes.io/cluster/", "bootstrap.sh", "nodeadm", "eks:cluster-name")):
                continue  # a bastion or another group: not the cluster's nodes
            loc = self.loc(n)
            self.estate.undecided_resources.append({
                "resource": n, "type": "AWS::EKS::Nodegroup", "file": loc.file, "line": loc.line,
                "fact": f"the EKS worker nodes of {n} (AWS::AutoScaling::AutoScalingGroup)",
                "reason": "self-managed nodes in an Auto Scaling group, which asbuilt does not model as a node group "
                          "(its zones, sizes and instance types are not judged)",
                "hint": "; asbuilt judges EKS managed node groups (AWS::EKS::Nodegroup, aws_eks_node_group)"})

    def _load_balancers(self) -> None:
        e = self.estate
        for n in self.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
            p = self.props(n)
            subnets = self.keys(p.get("Subnets"))
            for m in self.items(p.get("SubnetMappings"), self.loc(n)):
                subnets += [m] if is_unknown(m) else self.keys(m.get("SubnetId"))
            e.add(e.load_balancers, LoadBalancer(
                **self.kw(n), lb_type=str(p.get("Type") or "application"),
                scheme=self.text(p.get("Scheme"), default="internet-facing"), subnets=subnets,
                security_groups=self.keys(p.get("SecurityGroups"))))
        for n in self.of_type("AWS::ElasticLoadBalancingV2::Listener"):
            p = self.props(n)
            for lb in self.keys(p.get("LoadBalancerArn")):
                if lb not in e.load_balancers:
                    continue
                actions = self.items(p.get("DefaultActions"), self.loc(n))
                first = actions[0] if actions else {}
                redirect = first if is_unknown(first) else self.block(first.get("RedirectConfig"), self.loc(n))
                e.load_balancers[lb].listeners.append({
                    "resource": str(self.loc(n)),
                    "port": self.int(p.get("Port")),
                    "protocol": (lambda v: v if is_unknown(v) else v.upper())(self.text(p.get("Protocol"), "HTTP")),
                    "action": first if is_unknown(first) else self.text(first.get("Type")),
                    "redirect_protocol": redirect if is_unknown(redirect)
                    else (self.text(redirect.get("Protocol")) if redirect else None),
                })

    def _buckets(self) -> None:
        e = self.estate
        for n in self.of_type("AWS::S3::Bucket"):
            p = self.props(n)
            b = Bucket(**self.kw(n), name=self.canonical(n, None), arn=self.canonical(n, "Arn"))
            where = b.loc
            ver = self.block(p.get("VersioningConfiguration"), where)
            if is_unknown(ver) or ver:
                b.versioning = ver if is_unknown(ver) else self.text(ver.get("Status"))
            enc = self.block(p.get("BucketEncryption"), where)
            rules = [enc] if is_unknown(enc) else self.items(enc.get("ServerSideEncryptionConfiguration"), where)
            for rule in rules:
                default = rule if is_unknown(rule) else self.block(rule.get("ServerSideEncryptionByDefault"), where)
                if is_unknown(default):  # the encryption is known only at deploy
                    b.sse = b.kms_key = default
                elif default:
                    b.sse = self.text(default.get("SSEAlgorithm"))
                    key = default.get("KMSMasterKeyID")
                    b.kms_key = self.render(key) if key is not None else None
            pab = self.block(p.get("PublicAccessBlockConfiguration"), where)
            if is_unknown(pab):
                b.public_access_block = pab
            elif pab:
                b.public_access_block = {
                    "block_public_acls": self.bool(pab.get("BlockPublicAcls"), default=False),
                    "block_public_policy": self.bool(pab.get("BlockPublicPolicy"), default=False),
                    "ignore_public_acls": self.bool(pab.get("IgnorePublicAcls"), default=False),
                    "restrict_public_buckets": self.bool(pab.get("RestrictPublicBuckets"), default=False),
                }
            e.add(e.buckets, b)

    def _roles(self) -> None:
        e = self.estate
        for n in self.of_type("AWS::IAM::Role"):
            p = self.props(n)
            name = p.get("RoleName")
            name = self.text(name)
            role = Role(**self.kw(n), name=name if isinstance(name, str) and name else None)
            role.trust = self.document(p.get("AssumeRolePolicyDocument"), str(role.loc))
            for pol in self.items(p.get("Policies"), role.loc):
                role.statements += [pol] if is_unknown(pol) else self.document(pol.get("PolicyDocument"), str(role.loc))
            for arn in p.get("ManagedPolicyArns") or []:
                t = self.target(arn)
                if t and self.type_of(t[0]) == "AWS::IAM::ManagedPolicy":
                    role.statements += self.document(self.props(t[0]).get("PolicyDocument"), str(self.loc(t[0])))
                else:
                    role.statements.append(_managed(self.render(arn), str(role.loc)))
            e.add(e.roles, role)
        for n in self.of_type("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
            p = self.props(n)
            roles = self.keys(p.get("Roles")) + self.keys(p.get("RoleName"))
            for r in roles:
                role = e.roles.get(r)
                if role is None:
                    continue
                already = any(self.target(a) == (n, None) for a in self.props(r).get("ManagedPolicyArns") or [])
                if not already:
                    role.statements += self.document(p.get("PolicyDocument"), str(self.loc(n)))


def _opaque(value: Any) -> bool:
    """An intrinsic function (``{"Fn::If": ...}``, ``{"Ref": ...}``) where a block or a list was
    expected: what it stands for is decided only at deploy."""
    return isinstance(value, dict) and any(str(k) == "Ref" or str(k).startswith("Fn::") for k in value)


def _clean_keep(raw: dict) -> dict:
    return {k: v for k, v in raw.items() if not str(k).startswith("__")}


def _managed(arn: str, where: str) -> Unknown:
    return Unknown(f"policy {arn} is not defined in this template (an AWS-managed or imported policy), so what it "
                   "grants is not known", where, arn)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(value)
    return str(value) if not isinstance(value, dict) else None


# transforms whose output asbuilt knows: SAM (nested applications are read as nested stacks), the
# language extensions (Fn::ForEach is told apart), Secrets Manager's rotation (adds a rotation function)
KNOWN_TRANSFORMS = {"AWS::Serverless-2016-10-31", "AWS::LanguageExtensions", "AWS::SecretsManager-2020-07-23",
                    "AWS::SecretsManager-2024-09-16"}
NESTED_STACKS = {"AWS::CloudFormation::Stack": "TemplateURL", "AWS::Serverless::Application": "Location"}


def _url_text(value: Any) -> str | None:
    """A TemplateURL / Location as written, ``${...}`` left in: only its path is read."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Sub" in value:
            body = value["Fn::Sub"]
            body = body[0] if isinstance(body, list) and body else body
            return body if isinstance(body, str) else None
        if "Fn::Join" in value and isinstance(value["Fn::Join"], list) and len(value["Fn::Join"]) == 2:
            sep, parts = value["Fn::Join"]
            if isinstance(parts, list):
                return str(sep).join(p if isinstance(p, (str, int)) else "${?}" for p in parts)
    return None


def _nested_template(parent: str, url: Any, files: list[str]) -> tuple[str | None, str]:
    """The scanned template a nested stack deploys, or None and why none: a local path (as
    ``aws cloudformation package`` and SAM take it) relative to the parent, else the scanned file
    whose name (and the most trailing folders) the URL ends with."""
    from pathlib import Path

    text = _url_text(url)
    if isinstance(url, dict) and "ApplicationId" in url:
        return None, f"it deploys Serverless Application Repository application {str(url['ApplicationId'])[:120]}"
    if not text:
        return None, "its template location is known only at deploy"
    path = re.split(r"[?#]", text, maxsplit=1)[0]
    if "://" not in path and "${" not in path:
        wanted = (Path(parent).parent / path).resolve()
        for f in files:
            if Path(f).resolve() == wanted:
                return f, ""
    parts = [x for x in re.split(r"[/\\]", path) if x]
    if not parts or "${" in parts[-1]:
        return None, f"its template's file name is known only at deploy ({text[:120]})"

    def trailing(f: str) -> int:
        mine = Path(f).resolve().parts
        n = 0
        while n < min(len(mine), len(parts)) and mine[-1 - n] == parts[-1 - n]:
            n += 1
        return n

    scores = {f: trailing(f) for f in files if Path(f).resolve() != Path(parent).resolve()}
    best = max(scores.values(), default=0)
    if best == 0:
        return None, f"its template {text[:160]} is not among the scanned templates"
    winners = [f for f, n in scores.items() if n == best]
    if len(winners) > 1:
        return None, (f"its template {text[:120]} matches several scanned templates "
                      f"({', '.join(display_path(f) for f in winners[:3])})")
    return winners[0], ""


def build_estates(definitions: dict, parameters: dict[str, Any] | None = None) -> list[Estate]:
    """One estate per template. A template a scanned parent deploys as a nested stack
    (AWS::CloudFormation::Stack TemplateURL, AWS::Serverless::Application Location) is read with
    the values its parent passes, not with its own defaults nor the root's --parameter values; a
    nested stack whose template is not in the scan is unresolved (what it creates is not known)."""
    templates = {str(f): t for f, t in sorted(definitions.items(), key=lambda kv: str(kv[0]))
                 if isinstance(t, dict) and t.get("Resources")}
    files = list(templates)
    links: dict[str, list[tuple[str, str]]] = {}  # child file -> [(parent file, nested stack resource)]
    targets: dict[tuple[str, str], tuple[str | None, str]] = {}
    for f, t in templates.items():
        for name, res in (t.get("Resources") or {}).items():
            if isinstance(res, dict) and res.get("Type") in NESTED_STACKS:
                url = (res.get("Properties") or {}).get(NESTED_STACKS[res["Type"]])
                child, why = _nested_template(f, url, files)
                targets[(f, str(name))] = (child, why if child is None else "")
                if child is not None and child != f:
                    links.setdefault(child, []).append((f, str(name)))
    models: dict[str, CfnModel] = {}
    pending = list(files)
    while pending:
        ready = [f for f in pending if all(p in models for p, _ in links.get(f, []))] or pending[:1]
        for f in ready:
            pending.remove(f)
            parents = [(models[p], n) for p, n in links.get(f, []) if p in models]
            models[f] = _model(f, templates[f], parameters, parents)
    out = []
    for f in files:
        m = models[f]
        for (pf, name), (child, why) in targets.items():
            if pf != f:
                continue
            undecided = next((u for u in m.estate.undecided_resources if u.get("resource") == name), None)
            if name not in m.resources and undecided is None:
                continue  # its Condition is false: not deployed
            loc = m.loc(name) if name in m.resources else Loc(m.display, int(undecided.get("line") or 0), name)
            if child is None:
                m.estate.unresolved_modules.append({
                    "module": name, "file": loc.file, "line": loc.line, "source": str(_url_text(
                        (m.resources.get(name, {}).get("Properties") or {}).get("TemplateURL")) or why),
                    "kind": "nested stack", "fact": f"what nested stack {name} creates", "why": why,
                    "hint": "scan its template together with its parent to decide"})
            else:
                m.estate.resolved_modules.append(f"{name} -> {display_path(child)}")
        out.append(m.estate)
    return out


def _model(file: str, template: dict, parameters: dict[str, Any] | None,
           parents: list[tuple["CfnModel", str]]) -> CfnModel:
    """The model of one template; with parents (scanned templates that deploy it as a nested
    stack), read with the values they pass (the same in every instance, else unknown)."""
    if not parents:
        return _built(CfnModel(template, file, parameters))
    instances = []
    for pm, name in parents:
        if name in pm.resources:
            instances.append((pm, name, None))
            continue
        undecided = next((u for u in pm.estate.undecided_resources if u.get("resource") == name), None)
        if undecided is not None:
            instances.append((pm, name, undecided))
    declared = template.get("Parameters") or {}
    if not instances:  # every nested stack that deploys it has a false Condition: not deployed
        m = CfnModel(template, file, {})
        m.estate.not_created.update(id(r) for r in m.resources.values())
        m.resources = {}
        return _built(m)
    passed: dict[str, Any] = {}
    for key in declared:
        values = []
        for pm, name, _ in instances:
            props = pm.props(name) if name in pm.resources else pm.resolve(_raw_props_of(pm, name))
            given = props.get("Parameters") if isinstance(props, dict) else None
            where = f"{pm.display}:{pm.loc(name).line if name in pm.resources else 0} ({name})"
            if given is not None and not isinstance(given, dict):
                values.append(Unknown(f"nested stack {where} passes its parameters as {str(_clean(given))[:80]}, "
                                      "known only at deploy", where))
            elif key not in (given or {}):
                values.append(None)  # not passed: the template's default
            else:
                v = pm.passed_value(given[key])
                values.append(Unknown(f"{key} is passed by nested stack {where} as {str(_clean(given[key]))[:80]}, "
                                      f"and {v.reason}", where) if is_unknown(v) else v)
        unknowns = [v for v in values if is_unknown(v)]
        if len(instances) > 1 and (unknowns or len(set(map(str, values))) > 1):
            passed[key] = Unknown(f"{key} is not passed the same known value by every nested stack that deploys "
                                  f"{display_path(file)} ({', '.join(n for _, n, _ in instances)})")
        elif unknowns:
            passed[key] = unknowns[0]
        elif values and values[0] is not None:
            passed[key] = values[0]
    m = _built(CfnModel(template, file, None, passed))
    for pm, name, undecided in instances:
        if undecided is None:
            continue
        for n, res in m.resources.items():
            loc = m.loc(n)
            m.estate.undecided_resources.append({
                "resource": n, "type": str(res.get("Type", "")), "file": loc.file, "line": loc.line,
                "reason": f"{n} is in nested stack {name} of {pm.display}, and {undecided['reason']}"})
    return m


def _raw_props_of(pm: "CfnModel", name: str) -> dict:
    raw = (_raw_template(pm.file).get("Resources") or {}).get(name) or {}
    return raw.get("Properties") or {}


def _built(m: CfnModel) -> CfnModel:
    m.build()
    return m


def estate_of_one(conf: dict, entity_type: str) -> Estate:
    return CfnModel({"Resources": {"Resource": conf}}, "(checkov)").build()


def parameter_notes(definitions: dict, given: dict[str, Any] | None) -> list[str]:
    """What a user should know about the parameter values given for the deploy: a name no scanned
    template declares (a typo leaves the default in force), a value outside AllowedValues (the
    deploy would be refused)."""
    if not given:
        return []
    declared: dict[str, list[tuple[str, dict]]] = {}
    for f, t in definitions.items():
        for name, p in ((t.get("Parameters") or {}) if isinstance(t, dict) else {}).items():
            declared.setdefault(str(name), []).append((str(f), p if isinstance(p, dict) else {}))
    notes = []
    for name, value in given.items():
        if name not in declared:
            notes.append(f"CloudFormation parameter {name} is given but no scanned template declares it "
                         "(check its spelling: it changed nothing)")
            continue
        for f, p in declared[name]:
            allowed = p.get("AllowedValues") or (p.get("Properties") or {}).get("AllowedValues")
            if isinstance(allowed, list) and allowed and str(value) not in [_text(a) for a in allowed]:
                notes.append(f"{display_path(f)}: parameter {name}={value} is not one of its AllowedValues "
                             f"({', '.join(str(_text(a)) for a in allowed[:10])}): CloudFormation would refuse the deploy")
    return notes


def restore_dropped(file: str, template: dict) -> None:
    """Put back the resources checkov's graph left out because their Condition is false with the
    parameters' defaults: with values given for the deploy (--parameter, a parent stack's) the
    condition may be true, and CfnModel decides it (a false one is still not created)."""
    from checkov.cloudformation.parser import parse

    try:
        parsed, _ = parse(file)
    except Exception:  # checkov parsed it once already; a second failure leaves the template as it is
        return
    resources = parsed.get("Resources") if isinstance(parsed, dict) else None
    if not isinstance(resources, dict):
        return
    mine = template.setdefault("Resources", {})
    if not isinstance(mine, dict):
        return
    for name, res in resources.items():
        if name not in mine and isinstance(res, dict) and isinstance(res.get("Condition"), str):
            mine[name] = res


def make_runner():
    from checkov.cloudformation.runner import Runner

    from asbuilt.static.checkbase import current

    class AsbuiltCloudFormationRunner(Runner):
        def check_definitions(self, root_folder, runner_filter, report):  # type: ignore[override]
            ctx = current()
            if ctx is not None:
                for file, template in list(self.definitions.items()):
                    if isinstance(template, dict):
                        restore_dropped(str(file), template)
                given = getattr(ctx, "cfn_parameters", None)
                for estate in build_estates(self.definitions, given):
                    ctx.add_stack(estate)
                for note in parameter_notes(self.definitions, given):
                    if note not in ctx.notes:
                        ctx.notes.append(note)
            return super().check_definitions(root_folder, runner_filter, report)

    return AsbuiltCloudFormationRunner()


def dumps(estate: Estate) -> str:  # pragma: no cover - a developer aid
    from dataclasses import asdict

    return json.dumps({k: {kk: asdict(vv) for kk, vv in v.items()} for k, v in estate.__dict__.items()
                       if isinstance(v, dict) and k != "by_conf"}, indent=1, default=str)
