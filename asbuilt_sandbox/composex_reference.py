"""The live counterpart of examples/reference/composex/ (composex-ecs): what ComposeX would
deploy from it, created in moto (an ECS cluster, the Connect and Control Center services and
task definitions whose Kafka credentials come from Secrets Manager through
``secrets[].valueFrom``, the secrets themselves), plus, as data, the SCRAM principals and the
ACLs the sandbox Kafka must hold for them (``asbuilt.model.kafka.AclEntry``).

Used by ``asbuilt sandbox up`` (asbuilt_sandbox.manager: ``provision`` into the sandbox's moto,
then ``scram_users`` / ``acls`` on its Kafka) and by tests/composex/ against a private moto
server. Drifts (``DRIFTS``) change fields of ``ComposexReference`` before provisioning.

Passwords are generated per provisioning (``secrets.token_urlsafe``) and returned in
``provision(...)["scram"]`` for the SCRAM users: they live in the secrets' JAAS configs and
must never be written to a target file or a report.
"""

from __future__ import annotations

import json
import secrets as _secrets
from dataclasses import dataclass, field, replace
from typing import Any

import boto3

from asbuilt.model.kafka import AclEntry

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
CLUSTER = "composex-sandbox"
KAFKA_CLUSTER_ID = "sandbox"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
MECHANISM = "SCRAM-SHA-512"
GROUP_ID = "connect"
INTERNAL_TOPICS = {"config_topic": "connect-configs", "offset_topic": "connect-offsets",
                   "status_topic": "connect-status"}
CONNECTOR_TOPIC_PREFIX = "orders."
CC_PREFIX = "_confluent-controlcenter"

# role -> (username, secret name, the variable the image reads)
ROLES = {
    "connect-worker": ("connect-worker", f"/kafka/{KAFKA_CLUSTER_ID}/connect.worker", "CONNECT_SASL_JAAS_CONFIG"),
    "connect-producer": ("connect-producer", f"/kafka/{KAFKA_CLUSTER_ID}/connect.producer",
                         "CONNECT_PRODUCER_SASL_JAAS_CONFIG"),
    "connect-consumer": ("connect-consumer", f"/kafka/{KAFKA_CLUSTER_ID}/connect.consumer",
                         "CONNECT_CONSUMER_SASL_JAAS_CONFIG"),
    "control-center": ("control-center", f"/kafka/{KAFKA_CLUSTER_ID}/controlcenter",
                       "CONTROL_CENTER_STREAMS_SASL_JAAS_CONFIG"),
}
JSON_KEY = "sasl.jaas.config"


def _acl(user: str, rtype: str, name: str, pattern: str, *ops: str) -> list[AclEntry]:
    return [AclEntry(f"User:{user}", rtype, name, pattern, op) for op in ops]


# The least-privilege ACLs of the reference (CPX-03 pass, CPX-04 pass; CPX-06 warn: Control
# Center's cluster-level rights, the seed's documented exception).
REFERENCE_ACLS: dict[str, list[AclEntry]] = {
    "connect-worker": [
        *[a for t in INTERNAL_TOPICS.values() for a in _acl("connect-worker", "TOPIC", t, "LITERAL",
                                                           "READ", "WRITE", "DESCRIBE")],
        *_acl("connect-worker", "GROUP", GROUP_ID, "LITERAL", "READ", "DESCRIBE"),
    ],
    "connect-producer": _acl("connect-producer", "TOPIC", CONNECTOR_TOPIC_PREFIX, "PREFIXED", "WRITE", "DESCRIBE"),
    "connect-consumer": [
        *_acl("connect-consumer", "TOPIC", CONNECTOR_TOPIC_PREFIX, "PREFIXED", "READ", "DESCRIBE"),
        *_acl("connect-consumer", "GROUP", "connect-", "PREFIXED", "READ"),
    ],
    "control-center": [
        *_acl("control-center", "CLUSTER", "kafka-cluster", "LITERAL", "DESCRIBE", "DESCRIBE_CONFIGS", "CREATE",
              "ALTER_CONFIGS"),
        *_acl("control-center", "TOPIC", CC_PREFIX, "PREFIXED", "ALL"),
        *_acl("control-center", "GROUP", CC_PREFIX, "PREFIXED", "ALL"),
        *_acl("control-center", "TOPIC", "connect-", "PREFIXED", "DESCRIBE", "DESCRIBE_CONFIGS", "READ"),
    ],
}

# The seed blog's setup: one service account for the worker, producers and consumers, with
# READ/WRITE/DESCRIBE on prefix '*' topics and groups (`ccloud kafka acl create --prefix --topic *`).
# CPX-03 and CPX-04 must fail on it. (If the broker refuses a PREFIXED '*', LITERAL '*' is the
# same grant in Kafka's words, and CPX-03 flags it the same way.)
SEED_BLOG_USER = "connect-cluster"
SEED_BLOG_ACLS: dict[str, list[AclEntry]] = {
    SEED_BLOG_USER: [*_acl(SEED_BLOG_USER, "TOPIC", "*", "PREFIXED", "READ", "WRITE", "DESCRIBE"),
                     *_acl(SEED_BLOG_USER, "GROUP", "*", "PREFIXED", "READ", "WRITE", "DESCRIBE")],
    "control-center": REFERENCE_ACLS["control-center"],
}


@dataclass
class ComposexReference:
    """The conforming facts; drifts change these before provisioning."""

    acl_set: str = "reference"                # reference | seed-blog
    connect_literal_jaas: bool = False        # CPX-02 drift: the worker JAAS written into environment
    missing_secret_role: str | None = None    # CPX-02 drift: this role's valueFrom names a secret that does not exist
    tags: dict[str, str] = field(default_factory=lambda: {"Project": "composex-reference",
                                                          "ManagedBy": "asbuilt-sandbox"})

    def username(self, role: str) -> str:
        if self.acl_set == "seed-blog" and role != "control-center":
            return SEED_BLOG_USER
        return ROLES[role][0]

    def acls(self) -> dict[str, list[AclEntry]]:
        """username -> the ACL entries the sandbox Kafka must hold."""
        return SEED_BLOG_ACLS if self.acl_set == "seed-blog" else REFERENCE_ACLS

    def principals(self) -> list[dict[str, str]]:
        """The target file's ``ecs.principals`` (role learning: the target names them)."""
        return [{"principal": f"User:{self.username(r)}", "role": r} for r in ROLES]


# name, controls, description, ComposexReference fields
DRIFTS: list[tuple[str, tuple[str, ...], str, dict[str, Any]]] = [
    ("cpx-literal-jaas", ("CPX-02",), "the Connect task definition writes the worker's JAAS config (with its "
     "password) into environment instead of secrets", {"connect_literal_jaas": True}),
    ("cpx-missing-secret", ("CPX-02",), "the Connect task definition's producer credential points at a Secrets "
     "Manager secret that does not exist", {"missing_secret_role": "connect-producer"}),
    ("cpx-seed-blog-acls", ("CPX-03", "CPX-04"), "the seed blog's setup: one account for worker, producer and "
     "consumer with READ/WRITE/DESCRIBE on prefix '*' topics and groups", {"acl_set": "seed-blog"}),
]


def drifted(names: list[str], ref: ComposexReference | None = None) -> ComposexReference:
    """The reference with the named drifts applied (unknown names: KeyError)."""
    ref = ref or ComposexReference()
    by_name = {d[0]: d for d in DRIFTS}
    for n in names:
        ref = replace(ref, **by_name[n][3])
    return ref


def _jaas(user: str, password: str) -> str:
    return (f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{user}" '
            f'password="{password}";')


_CONNECT_ENV = {
    "CONNECT_REST_PORT": "8083", "CONNECT_GROUP_ID": GROUP_ID,
    "CONNECT_CONFIG_STORAGE_TOPIC": INTERNAL_TOPICS["config_topic"],
    "CONNECT_OFFSET_STORAGE_TOPIC": INTERNAL_TOPICS["offset_topic"],
    "CONNECT_STATUS_STORAGE_TOPIC": INTERNAL_TOPICS["status_topic"],
    "CONNECT_REPLICATION_FACTOR": "3", "CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR": "3",
    "CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR": "3", "CONNECT_STATUS_STORAGE_REPLICATION_FACTOR": "3",
    "CONNECT_KEY_CONVERTER": "org.apache.kafka.connect.json.JsonConverter",
    "CONNECT_VALUE_CONVERTER": "org.apache.kafka.connect.json.JsonConverter",
    "CONNECT_SECURITY_PROTOCOL": "SASL_SSL", "CONNECT_SASL_MECHANISM": MECHANISM,
    "CONNECT_PRODUCER_SECURITY_PROTOCOL": "SASL_SSL", "CONNECT_PRODUCER_SASL_MECHANISM": MECHANISM,
    "CONNECT_CONSUMER_SECURITY_PROTOCOL": "SASL_SSL", "CONNECT_CONSUMER_SASL_MECHANISM": MECHANISM,
}
_CC_ENV = {
    "CONTROL_CENTER_STREAMS_SECURITY_PROTOCOL": "SASL_SSL", "CONTROL_CENTER_STREAMS_SASL_MECHANISM": MECHANISM,
    "CONTROL_CENTER_REPLICATION_FACTOR": "3", "CONTROL_CENTER_REST_LISTENERS": "http://0.0.0.0:8080", "PORT": "8080",
    "CONTROL_CENTER_CONNECT_CONNECT_CLUSTER": "http://connect.sandbox.lan.internal:8083",
}


def provision(endpoint_url: str, ref: ComposexReference | None = None,
              session: boto3.session.Session | None = None, region: str = REGION) -> dict[str, Any]:
    """Create the ECS cluster, secrets, task definitions and services. Returns
    {"cluster", "services": [names], "task_definitions": {service: arn}, "secrets": {role: arn},
     "principals": [{principal, role}] (for the target's ecs.principals),
     "scram": [{"username", "password", "mechanism"}] (for the sandbox Kafka; never write these out),
     "acls": {username: [AclEntry]}}."""
    ref = ref or ComposexReference()
    session = session or boto3.session.Session(region_name=region)
    sm = session.client("secretsmanager", endpoint_url=endpoint_url, region_name=region)
    ecs = session.client("ecs", endpoint_url=endpoint_url, region_name=region)
    tags = [{"Key": k, "Value": v} for k, v in ref.tags.items()]

    passwords: dict[str, str] = {}
    secret_arns: dict[str, str] = {}
    for role, (_, name, _var) in ROLES.items():
        user = ref.username(role)
        pw = passwords.setdefault(user, _secrets.token_urlsafe(24))
        got = sm.create_secret(Name=name, SecretString=json.dumps({JSON_KEY: _jaas(user, pw)}),
                               Description=f"Kafka SCRAM credentials of the {role} principal", Tags=tags)
        secret_arns[role] = got["ARN"]

    def value_from(role: str) -> str:
        arn = secret_arns[role]
        if ref.missing_secret_role == role:
            arn = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:/kafka/{KAFKA_CLUSTER_ID}/deleted-AbCdEf"
        return f"{arn}:{JSON_KEY}::"

    connect_env = dict(_CONNECT_ENV)
    connect_secrets = [{"name": ROLES[r][2], "valueFrom": value_from(r)}
                       for r in ("connect-worker", "connect-producer", "connect-consumer")]
    if ref.connect_literal_jaas:
        user = ref.username("connect-worker")
        connect_env["CONNECT_SASL_JAAS_CONFIG"] = _jaas(user, passwords[user])
        connect_secrets = [s for s in connect_secrets if s["name"] != "CONNECT_SASL_JAAS_CONFIG"]
    execution_role = f"arn:aws:iam::{ACCOUNT}:role/composex-reference-execution"
    defs = {
        "connect": {"image": f"{ECR}/confluentinc/cp-kafka-connect:7.6.1", "port": 8083, "env": connect_env,
                    "secrets": connect_secrets, "cpu": "1024", "memory": "2048"},
        "controlcenter": {"image": f"{ECR}/confluentinc/cp-enterprise-control-center:7.6.1", "port": 8080,
                          "env": _CC_ENV, "secrets": [{"name": ROLES["control-center"][2],
                                                       "valueFrom": value_from("control-center")}],
                          "cpu": "1024", "memory": "2048"},
    }
    cluster_arn = ecs.create_cluster(clusterName=CLUSTER, tags=[{"key": t["Key"], "value": t["Value"]} for t in tags]
                                     )["cluster"]["clusterArn"]
    task_defs: dict[str, str] = {}
    for svc, d in defs.items():
        td = ecs.register_task_definition(
            family=f"composex-reference-{svc}", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
            cpu=d["cpu"], memory=d["memory"], executionRoleArn=execution_role,
            containerDefinitions=[{
                "name": svc, "image": d["image"], "essential": True,
                "portMappings": [{"containerPort": d["port"], "protocol": "tcp"}],
                "environment": [{"name": k, "value": v} for k, v in d["env"].items()],
                "secrets": d["secrets"],
            }])["taskDefinition"]["taskDefinitionArn"]
        task_defs[svc] = td
        ecs.create_service(cluster=cluster_arn, serviceName=svc, taskDefinition=td, desiredCount=1,
                           launchType="FARGATE", tags=[{"key": t["Key"], "value": t["Value"]} for t in tags])
    return {
        "cluster": CLUSTER, "cluster_arn": cluster_arn, "services": list(defs), "task_definitions": task_defs,
        "secrets": secret_arns, "principals": ref.principals(),
        "scram": [{"username": u, "password": p, "mechanism": MECHANISM} for u, p in passwords.items()],
        "acls": ref.acls(),
    }


def ecs_target_section(provisioned: dict[str, Any]) -> dict[str, Any]:
    """The target file's ``ecs:`` section for what ``provision`` created."""
    return {"cluster": provisioned["cluster"], "services": list(provisioned["services"]),
            "principals": list(provisioned["principals"])}
