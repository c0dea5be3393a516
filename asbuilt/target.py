"""The target file: a YAML description of one deployment under test (and the code it came from).

Secrets are references, never literals: a secret field takes ``{env: NAME}`` or
``{file: PATH}``; a plain string in a secret field is an input error, so a target file can be
committed and shared without leaking anything. See ``examples/targets/`` for a commented example.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictFloat, StrictInt,
    ValidationError, model_validator,
)

from asbuilt.errors import InputError
from asbuilt.validation import load_yaml_file, one_line


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _no_literal_secret(value: Any) -> Any:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        raise ValueError("secrets must be references ({env: NAME} or {file: PATH}), not literals")
    return value


class SecretRef(_Strict):
    """Where a secret comes from. Its value is read only when a probe needs it."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret reference needs exactly one of env or file")
        return self

    def resolve(self) -> str:
        """The secret's value; InputError when it cannot be read or is too short to redact."""
        from asbuilt.secrets_guard import MIN_SECRET_LEN

        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise InputError(f"secret reference: environment variable {self.env} is not set")
        else:
            from asbuilt.safeio import read_text

            # bounded, regular files only (a FIFO or /dev/zero is refused), UTF-8: one line otherwise
            value = read_text(Path(self.file).expanduser(), "secret", "config").strip()  # type: ignore[arg-type]
        if len(value) < MIN_SECRET_LEN:
            # A shorter value would redact ordinary words in reports, so it could not be redacted at all.
            raise InputError(f"secret reference {self.describe()}: the secret is shorter than {MIN_SECRET_LEN} "
                             "characters, too short to keep out of reports reliably; use a longer one")
        return value

    def describe(self) -> str:
        return f"env:{self.env}" if self.env else f"file:{self.file}"


Secret = Annotated[SecretRef, BeforeValidator(_no_literal_secret)]


def _no_userinfo(value: str) -> str:
    """A URL field must not carry credentials: the message names the field, never the value."""
    from asbuilt.netguard import url_userinfo

    if value is not None and url_userinfo(value):
        raise ValueError("a URL must not carry credentials (user:password@host): give them as secret "
                         "references ({env: NAME} or {file: PATH}) in the credentials fields")
    return value


def _no_userinfo_in_servers(value: str | None) -> str | None:
    if value is not None and "@" in value:
        raise ValueError("host:port entries must not carry credentials (user:password@): give the password "
                         "as a secret reference (sasl_password)")
    return value


def _cidrs(value: list[str]) -> list[str]:
    import ipaddress

    for i, cidr in enumerate(value):
        try:
            ipaddress.ip_network(str(cidr), strict=False)
        except ValueError:
            raise ValueError(f"entry {i + 1} is not a network in CIDR form (like 10.0.0.0/16)") from None
    return value


Url = Annotated[str, AfterValidator(_no_userinfo)]


class AwsCredentials(_Strict):
    profile: str | None = None
    access_key_id: Secret | None = None
    secret_access_key: Secret | None = None
    session_token: Secret | None = None


class AwsTimeouts(_Strict):
    connect: StrictFloat = Field(5, gt=0, le=60)
    read: StrictFloat = Field(20, gt=0, le=120)
    max_attempts: StrictInt = Field(4, ge=1, le=10)


class AwsResources(_Strict):
    """Resource identifiers; anything not given is discovered by ``discover_tags``."""

    eks_cluster: str | None = None
    eks_nodegroup: str | None = None
    rds_instance: str | None = None
    msk_cluster: str | None = None  # name or ARN
    alb: str | None = None  # name or ARN
    bundle_bucket: str | None = None
    installer_role: str | None = None
    installer_policy: str | None = None
    node_role: str | None = None
    ecr_repositories: list[str] | None = None


class AwsSection(_Strict):
    region: str
    endpoint_url: Url | None = None  # LocalStack, moto server; per-service overrides below
    service_endpoints: dict[str, Url] = {}
    # CA certificates (PEM) to trust for TLS to the AWS endpoints and to bundle URLs, as
    # AWS_CA_BUNDLE does for the AWS CLI (a private endpoint, an HTTPS front of an emulator)
    ca_bundle: Path | None = None
    credentials: AwsCredentials | None = None
    timeouts: AwsTimeouts = AwsTimeouts()
    resources: AwsResources = AwsResources()
    discover_tags: dict[str, str] = {}

    def s3_is_custom_endpoint(self) -> bool:
        """S3 is not AWS's own: an emulator (LocalStack, moto) or another S3-compatible endpoint,
        from the target or from the environment boto3 reads (AWS_ENDPOINT_URL[_S3])."""
        import os

        return bool(self.service_endpoints.get("s3") or self.endpoint_url
                    or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))


class EcsPrincipal(_Strict):
    """A Kafka principal the ECS services authenticate as, and what it is for (CPX-03/04/06)."""

    principal: str  # "User:connect-worker" (as the cluster's ACLs name it)
    role: Literal["connect-worker", "connect-producer", "connect-consumer", "control-center"]


class EcsSection(_Strict):
    """The ECS side of a ComposeX deployment (composex-ecs): the cluster, the services (names or
    ARNs; empty: every service of the cluster, filtered by ``tags`` when given) and, optionally,
    the Kafka principals the services use. Without ``principals``, the usernames of JAAS configs
    the task definitions pass in plain ``environment`` are used (a secret's value is never read)."""

    cluster: str
    services: list[str] = []
    tags: dict[str, str] = {}
    principals: list[EcsPrincipal] = []


class KubernetesSection(_Strict):
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str = "conncentric"
    release: str = "conncentric"  # the helm release name
    conduktor_namespace: str = "conduktor"  # where the Conduktor platform runs (profile conduktor-k8s)
    request_timeout: StrictFloat = Field(15, gt=0, le=120)


class KafkaPrincipalRef(_Strict):
    principal: str                      # "User:conduktor-gateway"
    role: str                           # gateway | connect-worker | connect-producer | connect-consumer | control-center
    password: Secret | None = None      # for a client connection as that principal (never read otherwise)
    context: dict[str, Any] = {}        # e.g. group_id, internal topics the deployment declares


class KafkaSection(_Strict):
    bootstrap_servers: Annotated[str | None, AfterValidator(_no_userinfo_in_servers)] = None  # default: MSK's
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "SSL"
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "AWS_MSK_IAM", "OAUTHBEARER"] | None = None
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    topics: list[str] = []  # the platform topics (HA-07, MSG-01)
    request_timeout: StrictFloat = Field(15, gt=0, le=120)
    # The cluster's SASL_SSL listener (SCRAM), where the deployment's principals connect.
    sasl_ssl_bootstrap_servers: Annotated[str | None, AfterValidator(_no_userinfo_in_servers)] = None
    # The principals the deployment uses and what each is for (CDK-SEC-05, CPX-03/04/06); their
    # ACLs are read from the cluster with the identity above. A password only by reference.
    principals: list[KafkaPrincipalRef] = []


class ConduktorDatabase(_Strict):
    """The Console database as the target knows it beyond the Deployment: the password (by
    reference), the CA to verify the server, and CDK-DB-02's HA/backup evidence: the RDS
    instance when the database is RDS, else what the operator names as backup evidence."""

    password: Secret | None = None
    sslrootcert: Path | None = None
    rds_instance: str | None = None
    backup_evidence: str | None = None


class GatewayClient(_Strict):
    """A client identity on the Gateway (CDK-SEC-01 live: one SASL_SSL connection, metadata only)."""

    username: str
    password: Secret
    mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = "SCRAM-SHA-512"


class ConduktorSection(_Strict):
    """What the target knows of the Conduktor platform beyond its Kubernetes objects (which are
    read in ``kubernetes.conduktor_namespace``). CDK-SEC-01 live: where ``console_url`` and/or
    ``gateway_bootstrap`` are given, a real TLS handshake with each (chain against ``ca_file``, or
    the system trust store without it; the host name; TLS >= 1.2), and with ``gateway_client`` a
    SASL_SSL client connection to the Gateway; where none is given, the verdict says that no
    endpoint was probed."""

    database: ConduktorDatabase = ConduktorDatabase()
    console_url: Url | None = None                 # https://console.example.internal[:port]
    gateway_bootstrap: Annotated[str | None, AfterValidator(_no_userinfo_in_servers)] = None  # host:port[,...]
    ca_file: Path | None = None
    gateway_client: GatewayClient | None = None
    probe_timeout: StrictFloat = Field(10, gt=0, le=60)

    @model_validator(mode="after")
    def _client_needs_bootstrap(self) -> ConduktorSection:
        if self.gateway_client is not None and not self.gateway_bootstrap:
            raise ValueError("gateway_client is used on the Gateway's bootstrap address: add gateway_bootstrap")
        return self


class PostgresSection(_Strict):
    host: str
    port: StrictInt = Field(5432, ge=1, le=65535)
    dbname: str
    user: str
    password: Secret | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "verify-full"
    sslrootcert: Path | None = None
    connect_timeout: StrictInt = Field(10, ge=1, le=120)


class InstallerLogs(_Strict):
    source: Literal["kubernetes", "cloudwatch"] = "kubernetes"
    log_group: str | None = None
    stream_prefix: str | None = None


class InstallerTrigger(_Strict):
    kind: Literal["job-template", "command"] = "job-template"
    command: list[str] | None = None


class InstallerSection(_Strict):
    logs: InstallerLogs = InstallerLogs()
    trigger: InstallerTrigger = InstallerTrigger()


class VantagePoint(_Strict):
    name: str
    role: Literal["inside", "outside"]
    kind: Literal["local", "netns", "ssh", "kubectl"]
    netns: str | None = None
    host: str | None = None  # ssh: user@host
    pod: str | None = None  # kubectl: namespace/pod

    @model_validator(mode="after")
    def _no_password(self) -> VantagePoint:
        if self.host and ":" in self.host.rpartition("@")[0]:
            raise ValueError("host: user@host only; a password (user:password@host) is not accepted "
                             "(use an SSH key or agent)")
        return self


def _known_profiles(value: list[str]) -> list[str]:
    from asbuilt.catalogue import builtin_profiles

    known = builtin_profiles()
    for name in value:
        if name not in known:
            raise ValueError(f"unknown profile {str(name)[:60]!r}: expected one of {', '.join(known)}")
    return value


# Which profiles' controls judge a chart or a manifest set: empty (the default) is every profile,
# as before; `profiles: [conduktor-k8s]` keeps the Conncentric chart controls (HELM-*, K8S-*,
# IAM-02) off a Conduktor chart, and the CDK controls off the Conncentric chart. A run with a user
# profile file goes by the built-in profile it extends.
Profiles = Annotated[list[str], AfterValidator(_known_profiles)]


class ChartSource(_Strict):
    path: Path
    values: list[Path] = []
    release: str = "conncentric"
    namespace: str = "conncentric"
    profiles: Profiles = []


class ManifestSource(_Strict):
    """A manifest folder or file; a plain path in ``manifests`` is one with every profile."""

    path: Path
    profiles: Profiles = []


def _manifest_entry(value: Any) -> Any:
    return {"path": value} if isinstance(value, (str, Path)) else value


class StaticSection(_Strict):
    terraform: list[Path] = []
    terraform_plan: list[Path] = []  # `terraform show -json` of a plan or a state
    cloudformation: list[Path] = []
    cloudformation_parameters: dict[str, str | int | float | bool | list[str]] = {}  # values for the deploy
    cloudformation_parameter_files: list[Path] = []  # the same in files (as --parameter-file reads them)
    charts: list[ChartSource] = []
    manifests: list[Annotated[ManifestSource, BeforeValidator(_manifest_entry)]] = []
    compose: list[Path] = []
    gradle: list[Path] = []
    repos: list[Path] = []  # Git repositories checked for committed JARs (SDK-01)
    bundles: list[Path] = []


class Target(_Strict):
    name: str
    description: str | None = None
    profile: str | None = None  # default profile for `asbuilt run`
    aws: AwsSection | None = None
    ecs: EcsSection | None = None  # composex-ecs: read through the aws section's endpoint and credentials
    kubernetes: KubernetesSection | None = None
    kafka: KafkaSection | None = None
    postgres: PostgresSection | None = None
    conduktor: ConduktorSection | None = None
    installer: InstallerSection | None = None
    vantage_points: list[VantagePoint] = []
    static: StaticSection = StaticSection()
    # @mutating scenarios (bundle round-trip, installer re-run) run only when this is true
    # (or with --allow-mutating); they write under a dedicated prefix and clean up.
    allow_mutating: StrictBool = False
    # Where probes may connect (CIDRs). Every client asks asbuilt.netguard before its first packet:
    # a host (each AWS endpoint, the default regional ones too) resolving outside is refused.
    # Empty: anywhere the target names. The sandbox sets loopback and its own namespaces, so no
    # probe of a sandbox run can leave the machine.
    allowed_networks: Annotated[list[str], AfterValidator(_cidrs)] = []

    # where the file was read from: relative paths in it are relative to its folder
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _ecs_needs_aws(self) -> Target:
        if self.ecs is not None and self.aws is None:
            raise ValueError("ecs: is read through the aws section (region, endpoint_url, credentials): add aws:")
        return self

    def secret_refs(self) -> list[SecretRef]:
        """Every secret reference in the target (SUITE-03 scans reports for their values)."""
        found: list[SecretRef] = []

        def walk(node: Any) -> None:
            if isinstance(node, SecretRef):
                found.append(node)
            elif isinstance(node, BaseModel):
                for name in type(node).model_fields:
                    walk(getattr(node, name))
            elif isinstance(node, (list, tuple)):
                for item in node:
                    walk(item)

        walk(self)
        return found

    def secret_fields(self) -> list[tuple[str, SecretRef]]:
        """(field path, reference) of every secret reference, for messages that name the field."""
        found: list[tuple[str, SecretRef]] = []

        def walk(node: Any, where: str) -> None:
            if isinstance(node, SecretRef):
                found.append((where, node))
            elif isinstance(node, BaseModel):
                for name in type(node).model_fields:
                    walk(getattr(node, name), f"{where}.{name}" if where else name)
            elif isinstance(node, (list, tuple)):
                for i, item in enumerate(node):
                    walk(item, f"{where}.{i}")

        walk(self, "")
        return found


def _full(value: Path, base: Path) -> Path:
    """~ expanded (kubeconfig: ~/.kube/config), then relative to the target file's folder."""
    value = value.expanduser()
    return value if value.is_absolute() else base / value


def _resolve_paths(node: Any, base: Path) -> None:
    """Make relative paths in the model relative to the target file's folder."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            value = getattr(node, name)
            if isinstance(value, Path) and name != "source":
                object.__setattr__(node, name, _full(value, base))
            elif isinstance(value, list):
                new = [_full(v, base) if isinstance(v, Path) else v for v in value]
                if new != value:
                    object.__setattr__(node, name, new)
                for item in value:
                    _resolve_paths(item, base)
            else:
                _resolve_paths(value, base)


def load_target(path: str | Path) -> Target:
    path = Path(path).expanduser()
    data = load_yaml_file(path, what="target")
    try:
        target = Target.model_validate(data)
    except ValidationError as exc:
        raise InputError(one_line(path, exc, data)) from None
    _resolve_paths(target, path.resolve().parent)
    target.source = path.resolve()
    _check_secret_lengths(path, target)
    return target


def check_tls_files(target: Target) -> None:
    """Before a live run: the CA, certificate and key files the target names exist. Found missing
    in the middle of the run, each would be one control's step error instead of the one line the
    user needs (a static-only run reads none of them)."""
    path = target.source
    named = [("aws.ca_bundle", target.aws.ca_bundle if target.aws else None)]
    if target.kafka is not None:
        named += [(f"kafka.{k}", getattr(target.kafka, k)) for k in ("ssl_cafile", "ssl_certfile", "ssl_keyfile")]
    if getattr(target, "conduktor", None) is not None:
        named.append(("conduktor.ca_file", target.conduktor.ca_file))
    for field_name, file in named:
        if file is not None and not Path(file).is_file():
            raise InputError(f"{path}: {field_name} {file}: no such file")


def _check_secret_lengths(path: Path, target: Target) -> None:
    """Secrets too short to redact are refused now, before anything runs (one line, no value).
    A reference that cannot be read yet is left to the probe that needs it, as before."""
    from asbuilt.secrets_guard import MIN_SECRET_LEN

    for where, ref in target.secret_fields():
        try:
            ref.resolve()
        except InputError as exc:
            if f"shorter than {MIN_SECRET_LEN}" in str(exc):
                raise InputError(f"{path}: {where}: {exc}") from None
