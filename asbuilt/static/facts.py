"""Evidence per control, read out of a stack's whole-set model.

Each function takes a stack (``Estate`` for Terraform / CloudFormation, ``K8sStack`` for
manifests and rendered charts, or a file stack) and the scan context, and returns the rule's
input items in the shape documented on the rule (the same shape the live steps build from the
AWS / Kubernetes APIs), plus ``_anchor``: the key of the resource checkov hands to the check,
and ``file`` / ``line`` for the reports. Nothing here does I/O.
"""

from __future__ import annotations

from typing import Any

from asbuilt.model.facts import Unknown, is_unknown
from asbuilt.static.estate import Estate, K8sObject, K8sStack

INSTALLER_NAMESPACE = "conncentric"
INSTALLER_SERVICE_ACCOUNT = "conncentric-installer"


def _item(node: Any, **facts: Any) -> dict:
    where = {"file": node.loc.file, "line": node.loc.line} if node.loc.file else {}  # API objects: the ARN says it
    return {"resource": node.resource, **facts, **where, "_anchor": node.key}


# --------------------------------------------------------------------------- versions and sizing


def eks_versions(e: Estate, ctx: Any) -> list[dict]:
    # Not set: EKS picks its default version at creation, which the code does not say.
    return [_item(c, version=c.version if c.version is not None else Unknown(
        "version is not set: EKS uses its default version at creation, which the code does not give", str(c.loc)))
        for c in e.clusters.values()]


def rds_engines(e: Estate, ctx: Any) -> list[dict]:
    # Not set: RDS picks its default version at creation; a replica or a restore takes its source's.
    return [_item(d, engine=d.engine if d.engine is not None else Unknown(
        "engine is not set: a replica or a restore from a snapshot takes its source's, which the code does not give",
        str(d.loc)), version=d.version if d.version is not None else Unknown(
        "engine version is not set: RDS uses its default version at creation, which the code does not give",
        str(d.loc))) for d in e.databases.values()]


def msk_versions(e: Estate, ctx: Any) -> list[dict]:
    return [_item(m, version=m.version) for m in e.msk.values()]


def nodegroup_sizes(e: Estate, ctx: Any) -> list[dict]:
    return [_item(n, instance_types=n.instance_types, min_size=n.min_size) for n in e.nodegroups.values()]


def rds_classes(e: Estate, ctx: Any) -> list[dict]:
    return [_item(d, instance_class=d.instance_class) for d in e.databases.values()]


def msk_broker_types(e: Estate, ctx: Any) -> list[dict]:
    return [_item(m, instance_type=m.instance_type) for m in e.msk.values()]


# --------------------------------------------------------------------------- high availability


def rds_multi_az(e: Estate, ctx: Any) -> list[dict]:
    return [_item(d, multi_az=d.multi_az) for d in e.databases.values()]


def rds_backups(e: Estate, ctx: Any) -> list[dict]:
    return [_item(d, backup_retention_days=d.backup_retention_days) for d in e.databases.values()]


def msk_spread(e: Estate, ctx: Any) -> list[dict]:
    """HA-03: the zones of the brokers where the source lists them (kafka:ListNodes), else of the
    client subnets (the brokers are spread over them); ``zones_from`` says which."""
    out = []
    for m in e.msk.values():
        if m.broker_nodes is not None:
            zones = [n.get("az") for n in m.broker_nodes]
        else:
            zones = [e.zone_of(s) for s in m.subnets]
        extra = {"zones_from": m.zones_from} if m.zones_from else {}
        if m.broker_nodes is not None:
            extra["broker_nodes"] = m.broker_nodes
        out.append(_item(m, broker_count=m.broker_count, zones=zones, **extra))
    return out


def nodegroup_spread(e: Estate, ctx: Any) -> list[dict]:
    return [_item(n, zones=[e.zone_of(s) for s in n.subnets], min_size=n.min_size, desired_size=n.desired_size)
            for n in e.nodegroups.values()]


def _albs(e: Estate) -> list:
    return [lb for lb in e.load_balancers.values() if lb.lb_type == "application"]


def alb_spread(e: Estate, ctx: Any) -> list[dict]:
    return [_item(lb, zones=[e.zone_of(s) for s in lb.subnets]) for lb in _albs(e)]


# --------------------------------------------------------------------------- networking


def _ports(ctx: Any) -> tuple[int, list[int]]:
    return int(ctx.profile.params("NET-01")["port"]), [int(p) for p in ctx.profile.params("NET-02")["ports"]]


def _group_keys(e: Estate, node: Any) -> list:
    """The security groups of a database or MSK cluster. None set in the code: AWS attaches the
    VPC's default security group, whose rules the code does not give (the API names it)."""
    if node.security_groups or e.flavour == "aws":
        return node.security_groups
    return [Unknown("no security group is set on it, so AWS attaches its VPC's default security group, whose rules "
                    "are not in the code (set VPCSecurityGroups / vpc_security_group_ids, SecurityGroups / "
                    "security_groups)", str(node.loc), "the VPC's default security group")]


def _ingress(e: Estate, nodes: Any) -> list[dict]:
    # node subnets' CIDRs count only where they can reach the resource (same VPC, or peered and routed)
    groups = e.node_security_groups()
    return [_item(n, security_groups=e.groups(_group_keys(e, n)), node_security_groups=groups,
                  node_cidrs=e.node_cidrs(_vpc_of(e, n))) for n in nodes.values()]


def rds_ingress(e: Estate, ctx: Any) -> list[dict]:
    return _ingress(e, e.databases)


def msk_ingress(e: Estate, ctx: Any) -> list[dict]:
    return _ingress(e, e.msk)


def data_tier_exposure(e: Estate, ctx: Any) -> list[dict]:
    rds_port, msk_ports = _ports(ctx)
    out = [_item(d, allowed_ports=[rds_port], security_groups=e.groups(_group_keys(e, d))) for d in e.databases.values()]
    out += [_item(m, allowed_ports=msk_ports, security_groups=e.groups(_group_keys(e, m))) for m in e.msk.values()]
    return out


def alb_posture(e: Estate, ctx: Any) -> list[dict]:
    out = []
    for lb in _albs(e):
        sources: list[str] | None = None
        if lb.security_groups:
            sources = []
            from asbuilt.rules.network import admits_port, group_unknown, rule_unknowns

            unknown_rules = False
            for sg in e.groups(lb.security_groups):
                unknown_rules = unknown_rules or group_unknown(sg) is not None
                for rule in sg.get("ingress", []):
                    if rule_unknowns(rule):
                        unknown_rules = True
                    elif admits_port(rule, 443):
                        sources += [*rule.get("cidrs_v4", []), *rule.get("cidrs_v6", []), *rule.get("groups", []),
                                    *rule.get("prefix_lists", [])]
            if unknown_rules:
                sources = sources or None  # some rules are not known: "admits nothing on 443" cannot be said
        live = {"dns_name": lb.dns_name, "reachability": ALB_REACHABILITY} if e.flavour == "aws" else {}
        out.append(_item(lb, scheme=lb.scheme, listeners=lb.listeners, https_sources=sources, **live))
    return out


ALB_REACHABILITY = ("TCP 443 not probed: the target names no vantage point in the users' network; "
                    "https_sources lists what the load balancer's security groups admit on 443")


def msk_tls(e: Estate, ctx: Any) -> list[dict]:
    return [_item(m, client_broker=m.client_broker, **({"in_cluster": m.in_cluster} if m.in_cluster is not None else {}))
            for m in e.msk.values()]


def _vpc_of(e: Estate, node: Any) -> Any:
    """The VPC of a resource as the source gives it (the API does), else from its subnets, else
    its security groups; Unknown when none says."""
    if isinstance(getattr(node, "vpc", None), str) and node.vpc:
        return node.vpc
    by_subnets = e.vpc_of_subnets(node.subnets)
    if isinstance(by_subnets, str):
        return by_subnets
    by_groups = e.vpc_of_groups(node.security_groups)
    if isinstance(by_groups, str):
        return by_groups
    return by_subnets if is_unknown(by_subnets) else (by_groups if is_unknown(by_groups) else None)


def vpc_placement(e: Estate, ctx: Any) -> list[dict]:
    out = []
    for kind, nodes in (("eks", e.clusters), ("rds", e.databases), ("msk", e.msk)):
        for n in nodes.values():
            vpc = _vpc_of(e, n)
            out.append(_item(n, kind=kind, vpc=vpc, peered_vpcs=e.peered_vpcs(vpc)))
    return out


# --------------------------------------------------------------------------- IAM and storage


def installer_roles(e: Estate) -> list:
    """Roles the installer uses: trusted by its service account, or named for it."""
    out = []
    for role in e.roles.values():
        trust_text = repr(role.trust)
        if INSTALLER_SERVICE_ACCOUNT in trust_text or "installer" in (role.name or role.key).lower():
            out.append(role)
    return out


def _bundle_bucket_of(e: Estate, role: Any) -> Any:
    for st in role.statements:
        if is_unknown(st):  # a policy the code does not give: it names no bucket we can see
            continue
        for r in st.get("resources", []):
            for b in e.buckets.values():
                if r == b.arn or r.startswith(b.arn + "/"):
                    return b
    return None


def bundle_buckets(e: Estate) -> list:
    if e.flavour == "aws":  # the API reader reads only the bucket the target names as the bundle bucket
        return list(e.buckets.values())
    found = []
    for role in installer_roles(e):
        b = _bundle_bucket_of(e, role)
        if b is not None and b not in found:
            found.append(b)
    if found:
        return found
    named = [b for b in e.buckets.values() if "bundle" in f"{b.name} {b.key}".lower()]
    # A bucket nothing ties to the platform (no installer policy names it, no 'bundle' in its name)
    # is not the bundle bucket: it is not judged (and the run's notes say so), rather than failed.
    return named


def _untied_buckets_note(e: Estate, ctx: Any) -> None:
    judged = bundle_buckets(e)
    others = [b for b in e.buckets.values() if b not in judged]
    if others and ctx is not None and hasattr(ctx, "notes"):
        note = (f"{e.name}: {len(others)} S3 bucket(s) not judged by S3-01/S3-02 (not tied to the platform by the "
                f"installer's policy or a 'bundle' name): {', '.join(str(b.loc) for b in others[:5])}")
        if note not in ctx.notes:
            ctx.notes.append(note)


def installer_policy(e: Estate, ctx: Any) -> list[dict]:
    out = []
    for role in installer_roles(e):
        b = _bundle_bucket_of(e, role)
        if b is None and len(bundle_buckets(e)) == 1 and e.buckets:
            b = bundle_buckets(e)[0]
        bucket = {"arn": b.arn, "sse": b.sse, "kms_key_arn": b.kms_key} if b else None
        out.append(_item(role, statements=role.statements, bucket=bucket))
    return out


def installer_trust(e: Estate, ctx: Any) -> list[dict]:
    providers = [f"<oidc-provider {k}>" for k in e.oidc_providers]
    return [_item(role, statements=role.trust, oidc_providers=providers) for role in installer_roles(e)]


def bucket_versioning(e: Estate, ctx: Any) -> list[dict]:
    out = []
    _untied_buckets_note(e, ctx)
    for b in bundle_buckets(e):
        item = _item(b, name=b.name, versioning=b.versioning)
        if b.versioning_loc:
            item.update(resource=str(b.versioning_loc), file=b.versioning_loc.file, line=b.versioning_loc.line)
        out.append(item)
    return out


def bucket_protection(e: Estate, ctx: Any) -> list[dict]:
    out = []
    for b in bundle_buckets(e):
        item = _item(b, name=b.name, sse=b.sse, public_access_block=b.public_access_block)
        out.append(item)
    return out


def ecr_repositories(e: Estate, ctx: Any) -> list[dict]:
    return [_item(r, name=r.name or r.key, **({"uri": r.uri, "tag_mutability": r.tag_mutability} if r.uri else {}))
            for r in e.repositories.values()]


# --------------------------------------------------------------------------- Kubernetes


from asbuilt.model.k8s import WORKLOADS  # noqa: E402


def _anchored(obj: K8sObject, items: list[dict]) -> list[dict]:
    return [{**i, "file": obj.loc.file, "line": obj.loc.line, "_anchor": obj.key} for i in items]


def is_test_hook(obj: K8sObject) -> bool:
    """A helm test Pod/Job (helm.sh/hook: test): run by `helm test`, not part of the deployment."""
    hooks = str(_annotations(obj).get("helm.sh/hook") or "")
    return any(h.strip().startswith("test") for h in hooks.split(","))


def _workloads(s: K8sStack) -> list[K8sObject]:
    return [o for o in s.objects if o.kind in WORKLOADS and not is_test_hook(o)]


def container_resources(s: K8sStack, ctx: Any) -> list[dict]:
    """K8S-03 facts, shaped as the live probe shapes them (asbuilt.model.k8s.containers_of)."""
    from asbuilt.model.k8s import containers_of

    return [{k: v for k, v in i.items() if k in ("resource", "requests", "limits", "file", "line", "_anchor")}
            for obj in _workloads(s) for i in _anchored(obj, containers_of(obj.body, obj.resource))]


def container_security(s: K8sStack, ctx: Any) -> list[dict]:
    """K8S-04 facts (asbuilt.model.k8s.containers_of, as live)."""
    from asbuilt.model.k8s import containers_of

    return [{k: v for k, v in i.items() if k not in ("requests", "limits")}
            for obj in _workloads(s) for i in _anchored(obj, containers_of(obj.body, obj.resource))]


def literal_settings(s: K8sStack, ctx: Any) -> list[dict]:
    """K8S-05 facts of Pod specs and ConfigMaps: key names and value kinds, never values; shaped
    as the live probe shapes them (asbuilt.model.k8s), so K8S-05 means the same live and static."""
    from asbuilt.model.k8s import RELEASE_KINDS, configmap_settings, env_settings, release_settings

    out = []
    for obj in s.objects:
        if obj.kind in WORKLOADS and not is_test_hook(obj):
            out += _anchored(obj, env_settings(obj.body, obj.resource))
        elif obj.kind == "ConfigMap":
            out += _anchored(obj, configmap_settings(obj.body, obj.resource))
        elif obj.kind in RELEASE_KINDS:
            out += _anchored(obj, release_settings(obj.body, obj.resource))
    return out


def _mapping(value: Any) -> dict:
    """A YAML mapping as checkov hands it (a dict, or a list of dicts), without its line keys."""
    out: dict = {}
    for part in value if isinstance(value, list) else [value]:
        if isinstance(part, dict):
            out.update({k: v for k, v in part.items() if not str(k).startswith("__")})
    return out


def _annotations(obj: K8sObject) -> dict:
    return _mapping((obj.body.get("metadata") or {}).get("annotations"))


def ingresses(s: K8sStack, ctx: Any) -> list[dict]:
    import json

    out = []
    for obj in s.objects:
        if obj.kind != "Ingress":
            continue
        spec = obj.body.get("spec") or {}
        ann = _annotations(obj)
        cls = spec.get("ingressClassName") or ann.get("kubernetes.io/ingress.class")
        try:
            listen = json.loads(ann.get("alb.ingress.kubernetes.io/listen-ports", "[]"))
        except ValueError:
            listen = []
        https = any("HTTPS" in (entry or {}) for entry in listen if isinstance(entry, dict))
        tls = bool(spec.get("tls")) or bool(ann.get("alb.ingress.kubernetes.io/certificate-arn") and https)
        backends = []
        default = ((spec.get("defaultBackend") or {}).get("service") or {}).get("name")
        if default:
            backends.append(default)
        for rule in spec.get("rules") or []:
            for path in ((rule or {}).get("http") or {}).get("paths") or []:
                name = (((path or {}).get("backend") or {}).get("service") or {}).get("name")
                if name:
                    backends.append(name)
        out.append({"resource": obj.resource, "class": cls, "tls": tls, "backends": backends,
                    "file": obj.loc.file, "line": obj.loc.line, "_anchor": obj.key})
    return out


def ingress_posture(s: K8sStack, ctx: Any) -> list[dict]:
    """NET-06 from an ALB Ingress (AWS Load Balancer Controller annotations)."""
    import json

    out = []
    for obj in s.objects:
        if obj.kind != "Ingress":
            continue
        ann = _annotations(obj)
        cls = (obj.body.get("spec") or {}).get("ingressClassName") or ann.get("kubernetes.io/ingress.class")
        if cls != "alb":
            continue
        try:
            listen = json.loads(ann.get("alb.ingress.kubernetes.io/listen-ports", '[{"HTTP": 80}]'))
        except ValueError:
            listen = [{"HTTP": 80}]
        redirect = str(ann.get("alb.ingress.kubernetes.io/ssl-redirect", ""))
        listeners = []
        for entry in listen if isinstance(listen, list) else []:
            for proto, port in (entry or {}).items():
                port = int(port)
                if proto.upper() == "HTTP":
                    listeners.append({"resource": obj.resource, "port": port, "protocol": "HTTP",
                                      "action": "redirect" if redirect else "forward",
                                      "redirect_protocol": "HTTPS" if redirect else None})
                else:
                    listeners.append({"resource": obj.resource, "port": port, "protocol": proto.upper(),
                                      "action": "forward", "redirect_protocol": None})
        cidrs = ann.get("alb.ingress.kubernetes.io/inbound-cidrs")
        out.append({"resource": obj.resource, "scheme": ann.get("alb.ingress.kubernetes.io/scheme", "internal"),
                    "listeners": listeners,
                    "https_sources": [c.strip() for c in cidrs.split(",") if c.strip()] if cidrs else None,
                    "file": obj.loc.file, "line": obj.loc.line, "_anchor": obj.key})
    return out


def installer_roles_in_scan(ctx: Any) -> list[str]:
    names = []
    for e in ctx.aws_estates():
        for role in installer_roles(e):
            if role.name and not role.name.startswith("<"):
                names.append(role.name)
    return sorted(set(names))


def service_accounts(s: K8sStack, ctx: Any) -> list[dict]:
    roles = installer_roles_in_scan(ctx)
    out = []
    for obj in s.objects:
        if obj.kind != "ServiceAccount":
            continue
        out.append({"resource": obj.resource, "namespace": obj.namespace, "name": obj.name,
                    "role_arn": _annotations(obj).get("eks.amazonaws.com/role-arn"), "installer_roles": roles,
                    "file": obj.loc.file, "line": obj.loc.line, "_anchor": obj.key})
    return out


# --------------------------------------------------------------------------- file stacks


def _file_item(s: Any, resource: str | None = None, file: str | None = None, line: int | None = None,
               **facts: Any) -> dict:
    return {"resource": resource or s.resource, **facts, "file": file or s.loc.file,
            "line": s.loc.line if line is None else line, "_anchor": s.key}


def _tls_only_msk(ctx: Any) -> bool | None:
    clusters = [m for e in ctx.aws_estates() for m in e.msk.values()]
    if not clusters:
        return None
    return all(isinstance(m.client_broker, str) and m.client_broker.upper() == "TLS" for m in clusters)


def release_values(s: Any, ctx: Any) -> list[dict]:
    """HELM-01 from the merged values of a release."""
    from asbuilt.rules.iam import describe_url

    v = s.data
    urls = v.get("installer", "customBundleUrls") or []
    f, line = v.location("installer", "enabled")
    return [_file_item(
        s, resource=f"release {s.extra['namespace']}/{s.extra['release']} (values: {s.extra['files']})", file=f,
        line=line,
        installer_enabled={"value": v.get("installer", "enabled"), "resource": v.where("installer", "enabled")},
        bundle_urls=[{"resource": v.where("installer", "customBundleUrls", i), **describe_url(u)}
                     for i, u in enumerate(urls if isinstance(urls, list) else [urls])],
        bootstrap_servers={"value": v.get("env", "KAFKA_BOOTSTRAP_SERVERS"),
                           "resource": v.where("env", "KAFKA_BOOTSTRAP_SERVERS")},
        expected_brokers=None, tls_only_brokers=_tls_only_msk(ctx))]


def bundle_urls(s: Any, ctx: Any) -> list[dict]:
    """IAM-06: the bundle URLs of a release (query strings never kept: see describe_url)."""
    from asbuilt.rules.iam import describe_url

    v = s.data
    urls = v.get("installer", "customBundleUrls") or []
    out = []
    for i, u in enumerate(urls if isinstance(urls, list) else [urls]):
        f, line = v.location("installer", "customBundleUrls", i)
        out.append(_file_item(s, resource=v.where("installer", "customBundleUrls", i), file=f, line=line,
                              **describe_url(u)))
    if not out:
        f, line = v.location("installer")
        out.append(_file_item(s, resource=f"release {s.extra['namespace']}/{s.extra['release']}", file=f, line=line,
                              url="(no installer.customBundleUrls)", presigned=False))
    return out


def values_literals(s: Any, ctx: Any) -> list[dict]:
    """K8S-05 over the merged values: credential-named keys and credential-shaped values."""
    from asbuilt.rules.k8s import classify_value, credential_key

    v = s.data
    out = []
    leaves = v.leaves()
    for path, value in leaves:
        dotted = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")
        kind = classify_value(value)
        last = next((str(p) for p in reversed(path) if not isinstance(p, int)), "")
        if kind == "secret-pattern" or (credential_key(last) and kind in ("literal", "reference", "empty")):
            f, line = v.location(*path)
            out.append(_file_item(s, resource=f"{f}:{line}", file=f, line=line, where="values", key=dotted,
                                  value_kind=kind))
    if not out:
        f, line = v.location()
        out.append(_file_item(s, resource=f"values of {s.name}", file=f, line=line, where="values",
                              key=f"({len(leaves)} values)", value_kind="not-text"))
    return out


def compose_literals(s: Any, ctx: Any) -> list[dict]:
    from asbuilt.rules.k8s import classify_value

    origins = s.extra.get("origins", {})
    out = []
    for svc, body in (s.data.get("services") or {}).items():
        env = (body or {}).get("environment") or {}
        pairs: list[tuple[Any, str, Any]] = []
        if isinstance(env, dict):
            pairs = [(k, str(k), val) for k, val in env.items()]
        elif isinstance(env, list):
            for i, entry in enumerate(env):
                name, _, val = str(entry).partition("=")
                pairs.append((i, name, val if "=" in str(entry) else None))
        for key, name, val in pairs:
            f, line = origins.get(("services", svc, "environment", key), (s.loc.file, 1))
            out.append(_file_item(s, resource=f"{f}:{line} (service {svc})", file=f, line=line, where="compose",
                                  key=name, value_kind=classify_value(val)))
    return out


def gradle_builds(s: Any, ctx: Any) -> list[dict]:
    return [_file_item(s, **{k: v for k, v in s.data.items() if k != "resource"})]


def tracked_jars(s: Any, ctx: Any) -> list[dict]:
    return [_file_item(s, jars=list(s.data["jars"]))]


def bundles(s: Any, ctx: Any) -> list[dict]:
    from pathlib import Path

    from asbuilt.static.files import bundle_facts

    data = bundle_facts(Path(s.data["path"]), ctx.profile.params("BNDL-01"))
    return [_file_item(s, **{k: v for k, v in data.items() if k != "resource"})]
