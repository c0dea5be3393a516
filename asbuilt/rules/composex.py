"""The rules of the composex-ecs profile (CPX-01..06): pure functions over model items.

CPX-01/02/05 read the ComposeX reader's items (``asbuilt.static.compose``); CPX-02 also reads
the ECS reader's (``asbuilt.readers.ecs_api``), in the same shape. CPX-03/04/06 read Kafka
principals (``asbuilt.model.kafka.KafkaPrincipal``, as a dict or the object itself).
Each rule reports the unknown facts of the fields it judges itself (``partial`` in the unit).
"""

from __future__ import annotations

import re
from dataclasses import asdict, is_dataclass
from typing import Any

from asbuilt.model.facts import is_unknown
from asbuilt.model.kafka import AclEntry, KafkaPrincipal
from asbuilt.verdict import Finding, Judgement, Verdict, errored, passed

# --------------------------------------------------------------------------- CPX-01


def _loc(where: str) -> dict | None:
    file, _, line = str(where).rpartition(":")
    return {"file": file, "line": int(line)} if file and line.isdigit() else None


def merge_valid(items: list[dict]) -> Verdict:
    """CPX-01. items: the project {"kind": "project", "overrides": [...], "problems"} and each
    environment {"kind": "environment", "env", "problems": [{"where", "what", "unknown"?}]}."""
    j = Judgement("CPX-01", "keep what is constant in docker-compose.yml and one envs/<env>.yml per environment; "
                            "fix the merged file where named and validate each merge in CI with "
                            "`ecs-composex config -f docker-compose.yml -f envs/<env>.yml`")
    projects = [i for i in items if i.get("kind") == "project"]
    if not projects:
        return errored("CPX-01", "no ComposeX project (a docker-compose.yml) was read: nothing to judge")
    for i in items:
        if i.get("kind") == "project" and not i.get("overrides"):
            j.findings.append(Finding(f"{i['resource']}:1", "has no envs/<env>.yml override beside it: a ComposeX "
                                                     "project keeps one override per environment",
                                      location={"file": i["file"], "line": i["line"]}))
        for p in i.get("problems") or []:
            if p.get("unknown") is not None:
                j.known(p["unknown"], f"validity of {p['what'].split(':', 1)[0]} in {i['resource']}", p["where"])
                continue
            env = f"the merge for env {i['env']}" if i.get("env") else "the base file"
            j.findings.append(Finding(p["where"], f"{env} is not valid compose: {p['what']}", location=_loc(p["where"])))
    envs = [i["env"] for i in items if i.get("kind") == "environment"]
    return j.verdict(f"base + {len(envs)} override(s) ({', '.join(envs)}) merged with compose_x_render and valid "
                     "against the compose specification", items)


# --------------------------------------------------------------------------- CPX-02

_LITERAL = ("literal", "secret-pattern")


def credentials_from_secrets(items: list[dict]) -> Verdict:
    """CPX-02. items, one per compose service in an environment or ECS container:
    {"service", "env", "needs_credentials": uses SASL, "credentials": [{"name", "kind", "source",
    "where"}] (the secret-bearing variables written in environment / env_file), "secrets":
    [{"name", "backend", "where", "secret_name", "exists"?}]}. Fails on a credential written as a
    literal (or a literal default), on a secret not backed by Secrets Manager or that does not
    exist, and on a SASL client that takes no credential from Secrets Manager; a credential
    interpolated from the shell is unknown."""
    j = Judgement("CPX-02", "declare the credential as a Secrets Manager secret under the top-level secrets with "
                            "x-secrets (Name, JsonKeys with the VarName the image reads, e.g. "
                            "CONNECT_SASL_JAAS_CONFIG), list it in the service's secrets, remove the literal from "
                            "environment / env_file / the override, and rotate the exposed key")
    relevant = [i for i in items if i.get("needs_credentials") or i.get("credentials") or i.get("secrets")]
    if not relevant:
        return errored("CPX-02", "no service or task definition passes Kafka credentials (none uses SASL, none "
                                 "lists a secret): nothing was examined")
    for i in relevant:
        res = i["resource"]
        for c in i.get("credentials") or []:
            if not j.known(c.get("kind"), f"where {c['name']} of {res} comes from", c.get("where", res)):
                continue
            if c["kind"] in _LITERAL:
                how = {"default": "as the literal default of a ${VAR:-...}", "env_file": "in an env_file"}.get(
                    c.get("source"), "in environment")
                j.findings.append(Finding(res, f"{c['name']} is written {how} at {c['where']}"
                                          + (" (in an override)" if "/envs/" in str(c.get("where")) else ""),
                                          location=_loc(c["where"])))
        from_sm = 0
        for s in i.get("secrets") or []:
            b = s.get("backend")
            if b == "undefined":
                j.findings.append(Finding(res, f"lists secret {s['name']} ({s['where']}), which the merged file "
                                               f"{'for env ' + i['env'] + ' ' if i.get('env') else ''}does not declare "
                                               "(no top-level secrets entry with x-secrets)", location=_loc(s["where"])))
            elif b != "secretsmanager":
                j.findings.append(Finding(res, f"secret {s['name']} comes from {b}, not AWS Secrets Manager "
                                               f"(declared at {s.get('declared_at') or s['where']})",
                                          location=_loc(s.get("declared_at") or s["where"])))
            elif "exists" in s and not j.known(s["exists"], f"secret {s['secret_name']} of {res}", res):
                continue
            elif s.get("exists") is False:
                j.findings.append(Finding(res, f"{s['name']} points at Secrets Manager secret {s['secret_name']}, "
                                               "which does not exist"))
            else:
                from_sm += 1
        if i.get("needs_credentials") and not from_sm and not any(
                f.resource == res for f in j.findings) and not any(
                is_unknown(c.get("kind")) for c in i.get("credentials") or []):
            j.findings.append(Finding(res, "authenticates to Kafka with SASL but takes no credential from AWS "
                                           "Secrets Manager (no secrets entry backed by x-secrets)"))
    return j.verdict(f"{len(relevant)} service(s)/container(s) with Kafka credentials: every one from AWS Secrets "
                     "Manager, none written as a literal", relevant)


# --------------------------------------------------------------------------- CPX-05

_ECR = re.compile(r"^(\d{12}|\$\{[A-Za-z_]\w*(?::?-[^}]*)?\})\.dkr\.ecr\.([a-z0-9-]+|\$\{[A-Za-z_]\w*(?::?-[^}]*)?\})"
                  r"\.amazonaws\.com(\.cn)?$")
_VAR = re.compile(r"\$\{([A-Za-z_]\w*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_]\w*)")


def split_image(ref: str) -> tuple[str, str, str, str]:
    """(registry, repository, tag, digest) of an image reference ("" where absent)."""
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    parts = ref.split("/")
    registry = ""
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost" or "${" in parts[0]):
        registry, parts = parts[0], parts[1:]
    last = parts[-1]
    tag = ""
    if ":" in last:
        last, tag = last.rsplit(":", 1)
    return registry, "/".join([*parts[:-1], last]), tag, digest


def _pinned(tag: str, digest: str) -> str | None:
    """Why a tag/digest is not pinned (None when it is)."""
    if digest:
        return None if digest.startswith("sha256:") and len(digest) == 71 else f"digest {digest!r} is not a sha256 digest"
    if not tag:
        return "has no tag (resolves to latest)"
    if tag.lower() == "latest":
        return "uses the tag latest"
    return None


def _shell(text: str) -> list[str]:
    return [m.group(1) or m.group(4) for m in _VAR.finditer(text) if not m.group(2)]


def private_pinned_images(items: list[dict]) -> Verdict:
    """CPX-05. items: {"service", "image": ref | None | Unknown, "dockerfile": path | None | Unknown,
    "base_images": [{"ref", "where", "stage"}]}. An ECR registry host whose account or region is
    a ${VAR} is ECR whatever the account (the host's shape decides the registry)."""
    j = Judgement("CPX-05", "point image: at the private registry "
                            "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<version>, or @sha256:...) and pin "
                            "each Dockerfile FROM to an exact version (ideally with a digest), never latest")
    if not items:
        return errored("CPX-05", "no service found: no image to judge")
    for i in items:
        res = i["resource"]
        image = i.get("image")
        if image is None:
            j.fail(res, "names no image: ComposeX deploys the image: from a registry; name the ECR repository")
        elif j.known(image, f"image of {res}", res):
            registry, repo, tag, digest = split_image(str(image))
            if not _ECR.match(registry):
                if _shell(registry) and not re.search(r"\.dkr\.ecr\.", registry):
                    j.unknown(f"registry of {res}", res, f"the registry {registry} is interpolated from the shell")
                else:
                    j.fail(res, f"image {image} is not from a private ECR registry")
            elif _shell(tag) or _shell(digest):
                j.unknown(f"tag of {res}", res, f"the tag of {image} is interpolated from the shell")
            else:
                why = _pinned(tag, digest)
                if why:
                    j.fail(res, f"image {image} {why}")
        df = i.get("dockerfile")
        if df is not None and not j.known(df, f"Dockerfile of {res}", res):
            continue
        for b in i.get("base_images") or []:
            if not j.known(b.get("ref"), f"FROM at {b['where']}", b["where"]) or b.get("stage"):
                continue
            ref = str(b["ref"])
            if ref.lower() == "scratch":
                continue
            _, _, tag, digest = split_image(ref)
            why = _pinned(tag, digest)
            if why:
                j.findings.append(Finding(b["where"], f"FROM {ref} {why} (the Dockerfile {df} builds {i.get('service')})",
                                          location=_loc(b["where"])))
        if df is not None and not i.get("base_images"):
            j.fail(res, f"the Dockerfile {df} has no FROM line")
    assumed = any(isinstance(i.get("image"), str) and "${" in split_image(i["image"])[0] for i in items)
    return j.verdict(f"{len(items)} image(s) from ECR with pinned tags, their Dockerfiles FROM pinned images"
                     + (" (assumed: an ECR host whose account or region is a ${VAR} is ECR, whatever the account)"
                        if assumed else ""), items)


# --------------------------------------------------------------------------- CPX-03/04/06

CONNECT_ROLES = ("connect-worker", "connect-producer", "connect-consumer")
MIN_PREFIX = 2  # an empty or one-letter prefix grants (almost) everything
_CONNECT_OPS = {"READ", "WRITE", "DESCRIBE", "CREATE", "DESCRIBE_CONFIGS"}
_CLUSTER_OK = {"DESCRIBE", "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE"}
_ADMIN_OPS = {"ALL", "ALTER", "ALTER_CONFIGS", "CLUSTER_ACTION", "CREATE", "DELETE"}


def principal_item(p: KafkaPrincipal | dict) -> dict:
    """A KafkaPrincipal as a rule item (the ACL entries kept as AclEntry objects)."""
    if isinstance(p, dict):
        return p
    return {"resource": p.resource, "principal": p.principal, "role": p.role, "role_source": p.role_source,
            "acls": p.acls if is_unknown(p.acls) else list(p.acls), "where": p.where, "context": dict(p.context)}


def _acl(a: Any) -> AclEntry:
    return a if isinstance(a, AclEntry) else AclEntry(**a)


def _acl_json(a: AclEntry) -> dict:
    return asdict(a) if is_dataclass(a) else dict(a)


def _items(principals: list) -> list[dict]:
    return [principal_item(p) for p in principals]


def _broad(a: AclEntry) -> str | None:
    """Why an ALLOW entry's resource pattern is too broad (None when named or narrow)."""
    if a.resource_type == "CLUSTER":
        return None
    if a.pattern_type == "LITERAL" and a.resource_name == "*":
        return f"the wildcard resource '*' ({a.resource_type.lower()}s: all of them)"
    if a.pattern_type == "PREFIXED" and (a.resource_name in ("", "*") or len(a.resource_name) < MIN_PREFIX):
        return f"the prefix '{a.resource_name}' (shorter than {MIN_PREFIX} characters: nearly every name)"
    return None


def _covers(a: AclEntry, kind: str, name: str) -> bool:
    if a.resource_type != kind:
        return False
    if a.pattern_type == "LITERAL":
        return a.resource_name in (name, "*")
    return name.startswith(a.resource_name)


def least_privilege_acls(items: list) -> Verdict:
    """CPX-03. The Connect principals (worker, producer, consumer): each ALLOW entry on a named
    or narrowly prefixed topic / group / transactional id (a '*' resource or a prefix shorter
    than two characters is a finding), with READ / WRITE / DESCRIBE (and CREATE / DESCRIBE_CONFIGS;
    ALL, ALTER, DELETE are findings), on the cluster only DESCRIBE / DESCRIBE_CONFIGS /
    IDEMPOTENT_WRITE, and the worker's group grants only on the group.id its task definition
    declares (``context.group_id``)."""
    items = _items(items)
    j = Judgement("CPX-03", "replace the wildcard grants (the blog's --prefix --topic * / --consumer-group *) with "
                            "ACLs on the Connect internal topics (config, offset, status), the connector topics and "
                            "the worker's group.id, named or with a narrow prefix; then delete the broad ACLs")
    connect = [i for i in items if not is_unknown(i.get("role")) and i.get("role") in CONNECT_ROLES]
    if not connect:
        return errored("CPX-03", "no Connect principal (worker, producer, consumer) was named or found: nothing "
                                 "to judge")
    evidence = []
    for i in connect:
        acls = [_acl(a) for a in i.get("acls") or []]
        ctx = i.get("context") or {}
        group = ctx.get("group_id")
        missing = []
        if i["role"] == "connect-worker":
            for t in [ctx.get(k) for k in ("config_topic", "offset_topic", "status_topic") if ctx.get(k)]:
                for op in ("READ", "WRITE"):
                    if not any(a.permission == "ALLOW" and a.operation in (op, "ALL") and _covers(a, "TOPIC", t)
                               for a in acls):
                        missing.append(f"{op} on topic {t}")
            if group and not any(a.permission == "ALLOW" and _covers(a, "GROUP", group) for a in acls):
                missing.append(f"READ on group {group}")
        for a in acls:
            if a.permission != "ALLOW":
                continue
            broad = _broad(a)
            if broad:
                j.fail(i["resource"], f"{i['role']} is granted {a.operation} on {broad}: {a.describe()}")
                continue
            if a.resource_type == "CLUSTER":
                if a.operation not in _CLUSTER_OK:
                    j.fail(i["resource"], f"{i['role']} is granted {a.operation} on the cluster: {a.describe()}")
                continue
            if a.operation not in _CONNECT_OPS:
                j.fail(i["resource"], f"{i['role']} is granted {a.operation} (more than Connect needs): {a.describe()}")
            elif (i["role"] == "connect-worker" and a.resource_type == "GROUP" and group
                  and not (a.resource_name == group or (a.pattern_type == "PREFIXED" and group.startswith(a.resource_name)))):
                j.fail(i["resource"], f"the worker is granted {a.operation} on group '{a.resource_name}', not its "
                                      f"declared group.id '{group}': {a.describe()}")
        evidence.append({"resource": i["resource"], "principal": i.get("principal"), "role": i["role"],
                         "role_source": i.get("role_source", ""), "acls": [_acl_json(a) for a in acls],
                         "declared": {k: v for k, v in ctx.items() if k in ("group_id", "config_topic", "offset_topic",
                                                                             "status_topic")},
                         **({"not_granted": missing} if missing else {})})
    return j.verdict(f"{len(connect)} Connect principal(s): every grant on named or narrowly prefixed resources",
                     evidence)


def distinct_principals(items: list) -> Verdict:
    """CPX-04. The Connect worker, its producers and its consumers authenticate as three
    different principals. A principal in two roles is a finding; a role with no principal
    found is unknown (the worker cannot be shown to keep them apart)."""
    items = _items(items)
    j = Judgement("CPX-04", "create three service accounts and configure each separately (CONNECT_SASL_JAAS_CONFIG, "
                            "CONNECT_PRODUCER_SASL_JAAS_CONFIG, CONNECT_CONSUMER_SASL_JAAS_CONFIG, each from its own "
                            "secret); then narrow each one's ACLs (CPX-03)")
    by_role: dict[str, set[str]] = {r: set() for r in CONNECT_ROLES}
    for i in items:
        if not is_unknown(i.get("role")) and i.get("role") in by_role:
            by_role[i["role"]].add(str(i["principal"]))
    if not any(by_role.values()):
        return errored("CPX-04", "no Connect principal (worker, producer, consumer) was named or found: nothing "
                                 "to judge")
    roles_of: dict[str, list[str]] = {}
    for role, names in by_role.items():
        for n in names:
            roles_of.setdefault(n, []).append(role)
    for n, roles in sorted(roles_of.items()):
        if len(roles) > 1:
            j.fail(n, f"one principal plays {len(roles)} Connect roles ({', '.join(roles)})")
    for role, names in by_role.items():
        if not names:
            j.unknown(f"the {role} principal", "target / task definitions",
                      "neither the target nor the task definitions name it")
    evidence = [{"resource": r, "principals": sorted(n)} for r, n in by_role.items()]
    return j.verdict("worker, producer and consumer authenticate as three different principals: "
                     + ", ".join(f"{r}={','.join(sorted(n))}" for r, n in by_role.items()), evidence)


def control_center_admin(items: list) -> Verdict:
    """CPX-06 (info). Control Center needs admin-level access to the cluster (the seed): its
    cluster-level rights are recorded as evidence and the verdict is ``fail`` while it holds
    them (an info control: the report shows it as ``warn``, never failing the run), so a waiver
    documents the exception (``waived``, examples/waivers.yaml); ``pass`` when it holds none."""
    items = _items(items)
    cc = [i for i in items if not is_unknown(i.get("role")) and i.get("role") == "control-center"]
    if not cc:
        return errored("CPX-06", "no Control Center principal was named or found: nothing to record")
    evidence, admin = [], []
    for i in cc:
        acls = [_acl(a) for a in i.get("acls") or []]
        rights = [a for a in acls if a.permission == "ALLOW" and (
            (a.resource_type == "CLUSTER" and a.operation in _ADMIN_OPS | {"DESCRIBE_CONFIGS", "DESCRIBE"})
            or (_broad(a) and a.operation in ("ALL", "ALTER", "DELETE", "ALTER_CONFIGS")))]
        is_admin = any(a.operation in _ADMIN_OPS for a in rights)
        evidence.append({"resource": i["resource"], "principal": i.get("principal"), "role_source": i.get("role_source"),
                         "cluster_rights": [a.describe() for a in rights], "admin": is_admin})
        if is_admin:
            admin.append(f"{i['resource']} holds {', '.join(sorted({a.operation for a in rights}))} at cluster level")
    if admin:
        return Verdict("CPX-06", "fail", "Control Center's principal has cluster-level admin rights (the documented "
                                         "exception: record a waiver naming it): " + "; ".join(admin), evidence,
                       findings=[Finding(e["resource"], "cluster-level admin rights: "
                                         + "; ".join(e["cluster_rights"])) for e in evidence if e["admin"]],
                       fix="record a waiver for CPX-06 naming Control Center's principal, the reason, an approver "
                           "and an expiry; keep that principal for Control Center alone")
    return passed("CPX-06", "Control Center's principal holds no cluster-level admin right", evidence)
