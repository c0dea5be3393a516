"""A ComposeX project as its users keep it (CPX-01/02/05): a base ``docker-compose.yml`` and one
override ``envs/<env>.yml`` per environment, merged per environment the way ComposeX merges them
(``asbuilt.static.compose``), and the ECS task definitions ComposeX renders from it, read live
(``asbuilt.readers.ecs_api``). Both fill the same ``Workload`` shape, so CPX-02 is one rule.

Every fact is a value or an ``Unknown``; every object is placed (file:line, or its ARN). A
secret's value is never carried: an environment variable holds its value's *kind* only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asbuilt.model.facts import Unknown

# The Confluent images' variables that carry Kafka (or licence / Schema Registry) credentials
# (../shared/conduktor-composex-facts.md). CONNECT_* maps to worker properties.
SECRET_BEARING = (
    "CONNECT_SASL_JAAS_CONFIG", "CONNECT_PRODUCER_SASL_JAAS_CONFIG", "CONNECT_CONSUMER_SASL_JAAS_CONFIG",
    "CONNECT_PRODUCER_CONFLUENT_MONITORING_INTERCEPTOR_SASL_JAAS_CONFIG",
    "CONNECT_CONSUMER_CONFLUENT_MONITORING_INTERCEPTOR_SASL_JAAS_CONFIG",
    "CONTROL_CENTER_STREAMS_SASL_JAAS_CONFIG", "CONTROL_CENTER_LICENSE", "CONFLUENT_LICENSE",
)
# (the facts sheet's, plus *_PASSWORD: the images' SSL key/trust store passwords, e.g.
# CONNECT_SSL_KEYSTORE_PASSWORD; a value in a credential format counts whatever its name)
SECRET_BEARING_SUFFIXES = ("_BASIC_AUTH_USER_INFO", "_SASL_JAAS_CONFIG", "_PASSWORD")

# Which role's principal each JAAS variable authenticates (CPX-04's role learning, live).
JAAS_ROLES = {
    "CONNECT_SASL_JAAS_CONFIG": "connect-worker",
    "CONNECT_PRODUCER_SASL_JAAS_CONFIG": "connect-producer",
    "CONNECT_CONSUMER_SASL_JAAS_CONFIG": "connect-consumer",
    "CONTROL_CENTER_STREAMS_SASL_JAAS_CONFIG": "control-center",
}


def secret_bearing(name: str) -> bool:
    n = str(name).upper()
    return n in SECRET_BEARING or n.endswith(SECRET_BEARING_SUFFIXES)


@dataclass
class EnvVar:
    name: str
    kind: str | Unknown        # literal | setting | reference | empty | secret-pattern | ... (classify_value)
    source: str                # environment | env_file | default (the literal default of ${VAR:-...})
    where: str                 # file:line
    interpolated: tuple[str, ...] = ()  # ${VAR}s from the shell the value needs (then kind is Unknown)


@dataclass
class SecretUse:
    """A secret a service lists (compose ``secrets: [name]``) or a container's ``secrets[]`` (ECS)."""
    name: str
    backend: str               # secretsmanager | file | environment | external | undefined | ssm
    where: str                 # file:line of the service's entry, or the task definition ARN
    secret_name: str | Unknown = ""    # x-secrets Name / the valueFrom ARN
    declared_at: str = ""      # file:line of the top-level declaration
    exists: bool | Unknown | None = None  # live: DescribeSecret found it (None: not asked, static)
    var_names: tuple[str, ...] = ()       # x-secrets JsonKeys VarName / the container variable name


@dataclass
class Image:
    ref: str | Unknown         # the image reference as written (interpolation kept)
    where: str


@dataclass
class BaseImage:
    """One FROM line of a Dockerfile a service builds."""
    ref: str | Unknown
    where: str                 # Dockerfile:line
    stage: bool = False        # FROM <an earlier stage>


@dataclass
class Workload:
    """A compose service in one environment's merged file, or one container of an ECS task definition."""
    resource: str              # "docker-compose.yml:40 (service connect, env dev)" / task def ARN container
    name: str
    env: str                   # the environment (override) or the ECS cluster
    where: str
    environment: list[EnvVar] = field(default_factory=list)
    secrets: list[SecretUse] = field(default_factory=list)
    image: Image | None = None
    build_dockerfile: str | Unknown | None = None
    base_images: list[BaseImage] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)   # group id, internal topics (CPX-03)


@dataclass
class MergeProblem:
    where: str                 # file:line
    what: str
    unknown: Unknown | None = None  # the value depends on a ${VAR} from the shell: not decided


@dataclass
class ComposeEnvironment:
    name: str                  # dev (envs/dev.yml)
    override: str              # display path
    problems: list[MergeProblem] = field(default_factory=list)
    services: list[Workload] = field(default_factory=list)
    merged_with: str = "compose_x_render"


@dataclass
class ComposeProject:
    resource: str              # display path of the base file
    base: str
    overrides: list[str]
    environments: list[ComposeEnvironment] = field(default_factory=list)
    base_problems: list[MergeProblem] = field(default_factory=list)
