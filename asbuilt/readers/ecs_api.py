"""The ECS reader (composex-ecs, live): the cluster, its ComposeX services, their task
definitions and the Secrets Manager secrets the containers' ``secrets[].valueFrom`` name,
read through the run's ``AwsProbe`` (netguard-checked, every call recorded for SUITE-02).

It fills the same ``asbuilt.model.compose.Workload`` shape the static ComposeX reader fills,
one per container, so CPX-02 is one rule live and static. Secrets are read with
``DescribeSecret`` only: asbuilt never calls ``GetSecretValue``; an environment variable is
carried as its value's kind, never its value.

Calls (all in ``deploy/aws/asbuilt-readonly-policy.json``): ecs:DescribeClusters,
ecs:ListServices, ecs:DescribeServices, ecs:DescribeTaskDefinition, secretsmanager:DescribeSecret.

Roles of the Kafka principals (CPX-03/04/06), ``principals()``: the target's
``ecs.principals`` when it names them (role_source "target"); otherwise the ``username`` of each
JAAS config a container passes in plain ``environment`` (the variable says the role:
CONNECT_SASL_JAAS_CONFIG = worker, CONNECT_PRODUCER_... = producer, CONNECT_CONSUMER_... =
consumer, CONTROL_CENTER_STREAMS_... = Control Center), read with a pattern that captures the
username alone. A JAAS config that comes from Secrets Manager (the conforming case) is not read,
so its role stays unnamed: name the principals in the target.
"""

from __future__ import annotations

import re
from typing import Any

from asbuilt.model.compose import JAAS_ROLES, EnvVar, Image, SecretUse, Workload
from asbuilt.model.facts import Unknown
from asbuilt.probes import ProbeError

_USERNAME = re.compile(r"""\busername\s*=\s*["']([^"']+)["']""")
_SM_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[^:]+:\d{12}:secret:[^:]+")


def secret_id(value_from: str) -> str | None:
    """The Secrets Manager secret ARN of a container ``valueFrom`` (its JSON key, version stage
    and id dropped); None when it is not a Secrets Manager ARN (an SSM parameter)."""
    m = _SM_ARN.match(str(value_from))
    return m.group(0) if m else None


def jaas_username(text: str) -> str | None:
    """The username of a JAAS config (the password is never captured)."""
    m = _USERNAME.search(str(text))
    return m.group(1) if m else None


class EcsReader:
    def __init__(self, aws: Any, section: Any):
        self.aws = aws          # asbuilt.probes.aws.AwsProbe
        self.section = section  # asbuilt.target.EcsSection

    # -- raw objects, each fetched once --------------------------------------------------------
    def cluster(self) -> dict:
        def fetch() -> dict:
            got = self.aws.call("ecs", "describe_clusters", clusters=[self.section.cluster]) or {}
            clusters = got.get("clusters") or []
            if not clusters:
                raise ProbeError(f"ECS cluster {self.section.cluster} not found "
                                 f"({'; '.join(f.get('reason', '') for f in got.get('failures') or [])})")
            return clusters[0]

        return self.aws.once(("ecs", "cluster", self.section.cluster), fetch)

    def services(self) -> list[dict]:
        def fetch() -> list[dict]:
            cluster = self.cluster()["clusterArn"]
            wanted = list(self.section.services)
            arns = wanted or self.aws.paginate("ecs", "list_services", "serviceArns", cluster=cluster)
            out: list[dict] = []
            for i in range(0, len(arns), 10):
                got = self.aws.call("ecs", "describe_services", cluster=cluster, services=arns[i:i + 10],
                                    include=["TAGS"]) or {}
                out += got.get("services") or []
                missing = [f.get("arn") for f in got.get("failures") or []]
                if missing and wanted:
                    raise ProbeError(f"ECS service(s) not found in {self.section.cluster}: {', '.join(missing)}")
            if self.section.tags:
                out = [s for s in out if all({t["key"]: t["value"] for t in s.get("tags") or []}.get(k) == v
                                             for k, v in self.section.tags.items())]
            return out

        return self.aws.once(("ecs", "services", self.section.cluster, tuple(self.section.services),
                              tuple(sorted(self.section.tags.items()))), fetch)

    def task_definition(self, arn: str) -> dict:
        def fetch() -> dict:
            got = self.aws.call("ecs", "describe_task_definition", taskDefinition=arn) or {}
            return got.get("taskDefinition") or {}

        return self.aws.once(("ecs", "taskdef", arn), fetch)

    def secret_exists(self, arn: str) -> bool | Unknown:
        """DescribeSecret (never GetSecretValue): True, False (not found / deleted), or Unknown."""
        def fetch() -> bool | Unknown:
            try:
                got = self.aws.call("secretsmanager", "describe_secret", missing=("ResourceNotFoundException",),
                                    SecretId=arn)
            except ProbeError as exc:
                return Unknown(f"secretsmanager:DescribeSecret failed: {exc}", arn)
            return got is not None and not got.get("DeletedDate")

        return self.aws.once(("secretsmanager", "describe", arn), fetch)

    # -- the model -----------------------------------------------------------------------------
    def workloads(self) -> list[Workload]:
        """One Workload per container of each service's task definition."""
        from asbuilt.rules.k8s import classify_value
        from asbuilt.static.compose import uses_sasl

        out = []
        cluster = self.section.cluster
        for svc in self.services():
            td_arn = svc.get("taskDefinition", "")
            td = self.task_definition(td_arn)
            for c in td.get("containerDefinitions") or []:
                where = f"{td_arn} container {c.get('name')}"
                w = Workload(where, str(c.get("name")), cluster, where,
                             context={"service": svc.get("serviceName"), "service_arn": svc.get("serviceArn"),
                                      "task_definition": td_arn})
                env = {e.get("name"): e.get("value") for e in c.get("environment") or []}
                for name, value in env.items():
                    w.environment.append(EnvVar(str(name), classify_value(value), "environment",
                                                f"{where} environment {name}"))
                # environmentFiles (S3 .env objects): their variables may hold credentials, and asbuilt
                # never fetches objects that can hold secret values, so what they set is unknown
                for i, ef in enumerate(c.get("environmentFiles") or []):
                    ref = str(ef.get("value", ""))
                    w.environment.append(EnvVar(
                        f"(env_file {ref})",
                        Unknown(f"the variables of environment file {ref} are not read (asbuilt does not fetch S3 "
                                "objects that can hold secret values); pass credentials in secrets[] from Secrets "
                                "Manager instead", f"{where} environmentFiles[{i}]"),
                        "env_file", f"{where} environmentFiles[{i}]"))
                for s in c.get("secrets") or []:
                    value_from = str(s.get("valueFrom", ""))
                    arn = secret_id(value_from)
                    w.secrets.append(SecretUse(str(s.get("name")), "secretsmanager" if arn else "ssm",
                                               f"{where} secrets {s.get('name')}", arn or value_from, "",
                                               self.secret_exists(arn) if arn else None, (str(s.get("name")),)))
                w.image = Image(str(c.get("image", "")), where)
                w.context["sasl"] = uses_sasl(env)
                for key, var in (("group_id", "CONNECT_GROUP_ID"), ("config_topic", "CONNECT_CONFIG_STORAGE_TOPIC"),
                                 ("offset_topic", "CONNECT_OFFSET_STORAGE_TOPIC"),
                                 ("status_topic", "CONNECT_STATUS_STORAGE_TOPIC")):
                    if env.get(var):
                        w.context[key] = str(env[var])
                w.context["_jaas_users"] = {n: jaas_username(v) for n, v in env.items() if n in JAAS_ROLES and v}
                out.append(w)
        return out

    def credential_items(self) -> list[dict]:
        """CPX-02's items (the same shape as the static reader's)."""
        from asbuilt.static.compose import workload_credentials

        return [{"resource": w.resource, **workload_credentials(w), "file": "", "line": 0} for w in self.workloads()]

    def principals(self) -> list[dict]:
        """The principals to read ACLs for: [{principal, role, role_source, context}] (see the
        module docstring). ``context`` of the worker: the group id and internal topics its task
        definition declares."""
        workloads = self.workloads()
        connect_ctx: dict[str, Any] = {}
        for w in workloads:
            if w.context.get("group_id"):
                connect_ctx = {k: w.context[k] for k in ("group_id", "config_topic", "offset_topic", "status_topic",
                                                         "task_definition") if k in w.context}
                break
        out: list[dict] = []
        if self.section.principals:
            for p in self.section.principals:
                out.append({"principal": p.principal, "role": p.role, "role_source": "target file ecs.principals",
                            "context": dict(connect_ctx) if p.role == "connect-worker" else {}})
            return out
        for w in workloads:
            for var, user in (w.context.get("_jaas_users") or {}).items():
                if not user:
                    continue
                role = JAAS_ROLES[var]
                out.append({"principal": f"User:{user}", "role": role,
                            "role_source": f"username of {var} in {w.resource} environment",
                            "context": dict(connect_ctx) if role == "connect-worker" else {}})
        return out
