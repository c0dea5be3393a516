"""Read-only AWS collector: one boto3 session per run, bounded timeouts, every call counted.

Each resource is described once per run (``functools.cached_property`` / an explicit cache),
so a gate over a large account stays within API rate limits. Every operation is recorded by
name; the suite's own tests assert that only read operations happen outside ``@mutating``
scenarios. Errors become ``ProbeError`` with a one-line reason (unreachable endpoint, expired
credentials, a service the endpoint does not offer, throttling past the retry budget).
"""

from __future__ import annotations

import threading
from collections import Counter
from functools import cached_property
from typing import Any

import boto3
import botocore.exceptions as bce
from botocore.config import Config

from asbuilt.probes import ProbeError
from asbuilt.target import AwsSection

READ_PREFIXES = ("Describe", "Get", "List", "Head", "Simulate", "Lookup", "Search", "Batch Get", "BatchGet")


def is_read_operation(op: str) -> bool:
    return op.startswith(READ_PREFIXES)


class CallRecorder:
    """Counts every AWS operation the probe performs (service:Operation)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, model=None, **_: Any) -> None:
        if model is None:
            return
        name = f"{model.service_model.service_name}:{model.name}"
        with self._lock:
            self.calls[name] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
            "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthFailure"}
_UNSUPPORTED_HINTS = ("not included in your license", "not yet implemented", "is not implemented", "NotImplemented")


def explain(exc: Exception, what: str) -> str:
    """One line for a botocore failure."""
    if isinstance(exc, bce.EndpointConnectionError):
        return f"{what}: cannot reach the AWS endpoint ({exc.kwargs.get('endpoint_url', '?')})"
    if isinstance(exc, (bce.ConnectTimeoutError, bce.ReadTimeoutError)):
        return f"{what}: the AWS endpoint did not answer in time"
    if isinstance(exc, bce.NoCredentialsError):
        return f"{what}: no AWS credentials found (set them in the environment or the target's aws.credentials)"
    if isinstance(exc, bce.ClientError):
        err = exc.response.get("Error", {})
        code, msg = str(err.get("Code", "")), str(err.get("Message", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _EXPIRED:
            return f"{what}: AWS credentials are expired or invalid ({code})"
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return f"{what}: access denied ({code}); grant the auditor policy in deploy/aws/asbuilt-readonly-policy.json"
        if code in ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"):
            return f"{what}: throttled by AWS after retries ({code})"
        if any(h.lower() in msg.lower() for h in _UNSUPPORTED_HINTS) or (
            status in (404, 500, 501) and (not code or code.isdigit() or "<html" in msg.lower())
        ):
            return f"{what}: the endpoint does not implement this operation ({code or status})"
        return f"{what}: {code or status}: {msg[:200]}"
    if isinstance(exc, bce.BotoCoreError):
        return f"{what}: {exc}"
    return f"{what}: {type(exc).__name__}: {exc}"


class AwsProbe:
    def __init__(self, section: AwsSection, recorder: CallRecorder | None = None):
        self.section = section
        self.recorder = recorder or CallRecorder()
        creds = section.credentials
        kwargs: dict[str, Any] = {"region_name": section.region}
        if creds is not None:
            if creds.profile:
                kwargs["profile_name"] = creds.profile
            if creds.access_key_id:
                kwargs["aws_access_key_id"] = creds.access_key_id.resolve()
            if creds.secret_access_key:
                kwargs["aws_secret_access_key"] = creds.secret_access_key.resolve()
            if creds.session_token:
                kwargs["aws_session_token"] = creds.session_token.resolve()
        try:
            self.session = boto3.session.Session(**kwargs)
        except bce.ProfileNotFound as exc:
            raise ProbeError(f"aws.credentials.profile: {exc}") from None
        t = section.timeouts
        self.config = Config(
            connect_timeout=t.connect,
            read_timeout=t.read,
            retries={"max_attempts": t.max_attempts, "mode": "standard"},  # backoff on throttling
            user_agent_extra="asbuilt",
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------
    def client(self, service: str):
        with self._lock:
            if service not in self._clients:
                endpoint = self.section.service_endpoints.get(service) or self.section.endpoint_url
                c = self.session.client(service, endpoint_url=endpoint, config=self.config)
                c.meta.events.register("before-call.*.*", self.recorder)
                self._clients[service] = c
            return self._clients[service]

    def call(self, service: str, op: str, **kwargs: Any) -> dict:
        try:
            return getattr(self.client(service), op)(**kwargs)
        except (bce.BotoCoreError, bce.ClientError) as exc:
            raise ProbeError(explain(exc, f"{service}.{op}")) from None

    def paginate(self, service: str, op: str, key: str, **kwargs: Any) -> list:
        try:
            pages = self.client(service).get_paginator(op).paginate(**kwargs)
            out: list = []
            for page in pages:
                out.extend(page.get(key, []))
            return out
        except (bce.BotoCoreError, bce.ClientError) as exc:
            raise ProbeError(explain(exc, f"{service}.{op}")) from None

    def preflight(self) -> dict:
        """One cheap read that proves the endpoint answers and the credentials work."""
        return self.call("sts", "get_caller_identity")

    @property
    def resources(self):
        return self.section.resources

    def _tags_match(self, tags: dict[str, str]) -> bool:
        want = self.section.discover_tags
        return all(tags.get(k) == v for k, v in want.items())

    # -- RDS ------------------------------------------------------------------------------
    @cached_property
    def rds_instances_raw(self) -> list[dict]:
        name = self.resources.rds_instance
        if name:
            return self.call("rds", "describe_db_instances", DBInstanceIdentifier=name)["DBInstances"]
        found = self.paginate("rds", "describe_db_instances", "DBInstances")
        return [i for i in found if self._tags_match({t["Key"]: t["Value"] for t in i.get("TagList", [])})]

    def rds_instances(self) -> list[dict]:
        """Rule-ready facts per RDS instance."""
        out = []
        for i in self.rds_instances_raw:
            out.append({
                "resource": i.get("DBInstanceArn") or i["DBInstanceIdentifier"],
                "engine": i.get("Engine"),
                "version": i.get("EngineVersion"),
                "multi_az": i.get("MultiAZ"),
                "backup_retention_days": i.get("BackupRetentionPeriod"),
                "instance_class": i.get("DBInstanceClass"),
                "security_groups": [g["VpcSecurityGroupId"] for g in i.get("VpcSecurityGroups", [])],
                "vpc_id": (i.get("DBSubnetGroup") or {}).get("VpcId"),
                "endpoint": (i.get("Endpoint") or {}).get("Address"),
                "port": (i.get("Endpoint") or {}).get("Port"),
            })
        return out

    # -- EKS ------------------------------------------------------------------------------
    @cached_property
    def eks_clusters_raw(self) -> list[dict]:
        names = [self.resources.eks_cluster] if self.resources.eks_cluster else self.paginate("eks", "list_clusters", "clusters")
        clusters = [self.call("eks", "describe_cluster", name=n)["cluster"] for n in names]
        if not self.resources.eks_cluster:
            clusters = [c for c in clusters if self._tags_match(c.get("tags") or {})]
        return clusters

    def eks_clusters(self) -> list[dict]:
        return [
            {
                "resource": c.get("arn") or c["name"],
                "name": c["name"],
                "version": c.get("version"),
                "vpc_id": (c.get("resourcesVpcConfig") or {}).get("vpcId"),
                "subnets": (c.get("resourcesVpcConfig") or {}).get("subnetIds", []),
                "oidc_issuer": ((c.get("identity") or {}).get("oidc") or {}).get("issuer"),
            }
            for c in self.eks_clusters_raw
        ]
