"""Read-only AWS collector: one boto3 session per run, bounded timeouts, every call counted.

Each resource is described once per run (``functools.cached_property`` / an explicit cache),
so a gate over a large account stays within API rate limits. Every operation is recorded by
name; the suite's own tests assert that only read operations happen outside ``@mutating``
scenarios. Errors become ``ProbeError`` with a one-line reason (unreachable endpoint, expired
credentials, a service the endpoint does not offer, throttling past the retry budget).
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.parse
from collections import Counter
from functools import cached_property
from typing import Any

import boto3
import botocore.exceptions as bce
from botocore.config import Config
from botocore.parsers import ResponseParserError

from asbuilt.netguard import NetGuard
from asbuilt.probes import FailureMemo, ProbeError
from asbuilt.target import AwsSection

READ_PREFIXES = ("Describe", "Get", "List", "Head", "Simulate", "Lookup", "Search", "Batch Get", "BatchGet")


def is_read_operation(op: str) -> bool:
    return op.startswith(READ_PREFIXES)


class CallRecorder:
    """Counts every AWS operation the probe performs (service:Operation).

    With ``ASBUILT_AWS_CALL_LOG=FILE`` in the environment each request is also appended to FILE
    as a JSON line ``{"op", "request"}`` (the request's path, query and body, no credentials):
    the suite's tests use it to prove a run is read-only and fetches every resource once.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._log = os.environ.get("ASBUILT_AWS_CALL_LOG")

    def __call__(self, model=None, params=None, **_: Any) -> None:
        if model is None:
            return
        name = f"{model.service_model.service_name}:{model.name}"
        with self._lock:
            self.calls[name] += 1
            if self._log:
                p = params or {}
                body = p.get("body")
                if isinstance(body, bytes):
                    body = body.decode("utf-8", "replace")
                request = f"{p.get('url_path', '')}?{p.get('query_string', '')}|{body if body else ''}"
                with open(self._log, "a") as fh:
                    fh.write(json.dumps({"op": name, "request": request}, default=str) + "\n")

    @property
    def total(self) -> int:
        return sum(self.calls.values())


_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
            "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthFailure",
            "InvalidToken", "TokenRefreshRequired"}
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
              "SlowDown", "RequestThrottled", "RequestThrottledException", "ProvisionedThroughputExceededException"}
_UNSUPPORTED_HINTS = ("not included in your license", "not yet implemented", "is not implemented", "NotImplemented",
                      "not supported by this", "is not enabled", "not available in your")
_UNSUPPORTED_CODES = {"NotImplemented", "NotImplementedException", "InternalFailure", "UnknownOperationException",
                      "InvalidAction", "UnsupportedOperation", "UnsupportedOperationException"}


def _aurora_multi_az(instance: dict):
    from asbuilt.model.facts import Unknown

    return Unknown(f"{instance.get('DBInstanceIdentifier')} is an instance of DB cluster "
                   f"{instance.get('DBClusterIdentifier')}: its Multi-AZ is the cluster's (readers in other zones), "
                   "which asbuilt does not read", instance.get("DBInstanceArn") or "")


def without_expect_continue(client):
    """Send uploads whole, without ``Expect: 100-continue`` (botocore adds it to every S3 PutObject
    with a body). LocalStack's hypercorn gateway closes the connection on that handshake, so a
    bundle upload to LocalStack fails with "Connection was closed before we received a valid
    response"; the uploads here are small selftest bundles, so the handshake saves nothing on AWS."""
    def drop(request=None, **_: Any) -> None:
        if request is not None:
            request.headers.pop("Expect", None)

    client.meta.events.register("before-send.s3.*", drop)
    return client


def _status(exc: bce.ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


_NOT_EMULATED_SERVICE = re.compile(r"The API for service '?([A-Za-z0-9_.-]+?)'? is either not included")


def not_emulated_service(exc: Exception, service: str = "") -> str | None:
    """The service LocalStack says it does not emulate, read from its answer: HTTP 501 with the
    ``x-localstack`` header (community edition, or a Pro licence without the service). None for
    any other answer, so an edition that does emulate the service is checked normally."""
    if not isinstance(exc, bce.ClientError):
        return None
    meta = exc.response.get("ResponseMetadata", {})
    headers = {str(k).lower(): str(v) for k, v in (meta.get("HTTPHeaders") or {}).items()}
    if meta.get("HTTPStatusCode") != 501 or headers.get("x-localstack", "").lower() != "true":
        return None
    found = _NOT_EMULATED_SERVICE.search(str(exc.response.get("Error", {}).get("Message", "")))
    return (found.group(1) if found else "") or service or "this service"


def is_unsupported(exc: Exception) -> bool:
    """The endpoint does not offer this operation (moto's HTML 404/500, LocalStack's licence answer)."""
    if isinstance(exc, ResponseParserError):
        return True  # an HTML error page where the service's XML/JSON belongs
    if isinstance(exc, bce.ClientError):
        err = exc.response.get("Error", {})
        code, msg = str(err.get("Code", "")), str(err.get("Message", ""))
        if code in _UNSUPPORTED_CODES or any(h.lower() in msg.lower() for h in _UNSUPPORTED_HINTS):
            return True
        return _status(exc) in (404, 500, 501) and (not code or code.isdigit() or "<html" in msg.lower())
    return False


def explain(exc: Exception, what: str, operation_only: bool = False) -> str:
    """One line for a botocore failure (never a traceback, never a secret)."""
    if isinstance(exc, bce.EndpointConnectionError):
        return f"{what}: cannot reach the AWS endpoint ({exc.kwargs.get('endpoint_url', '?')})"
    if isinstance(exc, (bce.ConnectTimeoutError, bce.ReadTimeoutError)):
        return f"{what}: the AWS endpoint did not answer in time"
    if isinstance(exc, bce.NoCredentialsError):
        return f"{what}: no AWS credentials found (set them in the environment or the target's aws.credentials)"
    if isinstance(exc, ResponseParserError):
        return f"{what}: the endpoint does not implement this operation (it answered with an error page, not the API)"
    if isinstance(exc, bce.ClientError):
        err = exc.response.get("Error", {})
        code, msg = str(err.get("Code", "")), str(err.get("Message", ""))
        status = _status(exc)
        svc = not_emulated_service(exc, what.split(".", 1)[0])
        if svc and operation_only:
            op = exc.operation_name if isinstance(exc, bce.ClientError) else what
            return f"{what}: LocalStack community edition does not emulate {svc}:{op} (HTTP 501 from LocalStack)"
        if svc:
            return f"{what}: LocalStack community edition does not emulate {svc} (HTTP 501 from LocalStack)"
        if code in _EXPIRED:
            return f"{what}: AWS credentials are expired or invalid ({code})"
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"):
            return f"{what}: access denied ({code}); grant the auditor policy in deploy/aws/asbuilt-readonly-policy.json"
        if code in _THROTTLED:
            return f"{what}: throttled by AWS after retries ({code})"
        if is_unsupported(exc):
            return f"{what}: the endpoint does not implement this operation ({code or status})"
        first = msg.splitlines()[0][:200] if msg else ""
        return f"{what}: {code or status}: {first}"
    if isinstance(exc, bce.BotoCoreError):
        return f"{what}: {str(exc).splitlines()[0][:300]}"
    return f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"


class UnsupportedOperation(ProbeError):
    """The endpoint does not offer this operation: a caller may fall back to another source."""


class ServerFault(ProbeError):
    """The endpoint answered a 5xx of its own (not throttling): its answer to this call is no evidence."""


class NotEmulated(UnsupportedOperation):
    """LocalStack answered 501 for the service (``not_emulated_service``)."""


def _doc(value: Any) -> dict:
    """An IAM policy document as AWS returns it (a dict, or URL-encoded JSON text) -> dict."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        text = value if value.lstrip().startswith("{") else urllib.parse.unquote(value)
        try:
            doc = json.loads(text)
        except ValueError:
            raise ProbeError(f"an IAM policy document is not valid JSON: {text[:80]!r}") from None
        return doc if isinstance(doc, dict) else {}
    return {}


def _arn_part(arn: str, index: int) -> str:
    parts = str(arn).split(":", 5)
    return parts[index] if len(parts) > index else ""


def _role_name(name_or_arn: str) -> str:
    """'arn:aws:iam::1:role/path/name' or 'name' -> 'name'."""
    return name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


# Where the credential providers that fetch over the network would connect.
_IMDS_ADDRESSES = ("169.254.169.254", "fd00:ec2::254")
_CONTAINER_ADDRESS = "169.254.170.2"


class AwsProbe:
    """One per run. Methods ending in ``_raw`` return the API's objects; the others return
    rule-ready facts (plain dicts naming their resource). Every object is fetched once, and a
    call that failed is not made again (``FailureMemo``).

    ``allowed_networks`` (the target's): every request of the session is checked against it
    before it is sent (``asbuilt.netguard``), whatever endpoint botocore resolved for it."""

    def __init__(self, section: AwsSection, recorder: CallRecorder | None = None,
                 allowed_networks: list[str] | None = None):
        self.section = section
        self.recorder = recorder or CallRecorder()
        self.guard = NetGuard(allowed_networks)
        self.failed = FailureMemo()
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
        if self.guard.active:
            self._guard_session()
        t = section.timeouts
        self.config = Config(
            connect_timeout=t.connect,
            read_timeout=t.read,
            retries={"total_max_attempts": t.max_attempts, "mode": "standard"},  # backoff on throttling; attempts in all
            user_agent_extra="asbuilt",
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._subnets: dict[str, dict] = {}
        self._groups: dict[str, dict] = {}
        self._prefix_lists: dict[str, list[str]] = {}
        self._policies: dict[str, dict] = {}
        self._roles: dict[str, dict] = {}
        self._role_policies: dict[str, list[dict]] = {}
        self._once: dict[tuple, Any] = {}
        self._answered: set[str] = set()  # services that answered a call of this run
        self.emulator: str | None = None  # "LocalStack" once an answer says so (x-localstack header)

    # -- plumbing -------------------------------------------------------------------------
    def _guard_session(self) -> None:
        """Every request of every client of this session is checked before it is sent."""
        from botocore.utils import get_environ_proxies

        guard = self.guard

        def before_send(request=None, **_: Any) -> None:
            if request is None:
                return
            guard.check_url(request.url)
            proxy = (self.config.proxies or get_environ_proxies(request.url) or {}).get(
                urllib.parse.urlsplit(request.url).scheme)
            if proxy:
                guard.check_url(proxy if "://" in proxy else f"http://{proxy}", "connect through the proxy")

        self.session.events.register("before-send", before_send)
        # Credential providers that fetch over their own connections, outside the session's
        # events: dropped when the address they would connect to is not allowed.
        resolver = self.session._session.get_component("credential_provider")
        if not all(guard.allows(a) for a in _IMDS_ADDRESSES):
            resolver.remove("iam-role")
        uri = os.environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        try:
            guard.check((urllib.parse.urlsplit(uri).hostname or "") if uri else _CONTAINER_ADDRESS)
        except ProbeError:
            resolver.remove("container-role")

    def client(self, service: str):
        with self._lock:
            if service not in self._clients:
                endpoint = self.section.service_endpoints.get(service) or self.section.endpoint_url
                verify = str(self.section.ca_bundle) if self.section.ca_bundle else None
                c = self.session.client(service, endpoint_url=endpoint, config=self.config, verify=verify)
                if service == "s3":
                    without_expect_continue(c)
                c.meta.events.register("before-call.*.*", self.recorder)
                self._clients[service] = c
            return self._clients[service]

    def call(self, service: str, op: str, missing: tuple[str, ...] = (), **kwargs: Any) -> dict | None:
        """One API call. Error codes listed in ``missing`` mean "not configured" (a fact): None."""
        def once() -> dict | None:
            try:
                out = getattr(self.client(service), op)(**kwargs)
                self._answered.add(service)
                self._note_emulator(out)
                return out
            except bce.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in missing:
                    self._answered.add(service)
                    return None
                self._raise(exc, f"{service}.{op}")
            except (bce.BotoCoreError, ResponseParserError) as exc:
                self._raise(exc, f"{service}.{op}")
            raise AssertionError("unreachable")  # pragma: no cover

        return self.failed.call(FailureMemo.key("aws", service, op, kwargs), once)

    def _raise(self, exc: Exception, what: str):
        service = what.split(".", 1)[0]
        if not_emulated_service(exc, service):
            # the same 501 answers a service LocalStack lacks and an operation of one it has: a
            # service that answered before in this run is emulated, so it is the operation it lacks
            raise NotEmulated(explain(exc, what, operation_only=service in self._answered)) from None
        cls = UnsupportedOperation if is_unsupported(exc) else ProbeError
        if cls is ProbeError and isinstance(exc, bce.ClientError) and (_status(exc) or 0) >= 500 \
                and str(exc.response.get("Error", {}).get("Code", "")) not in _THROTTLED:
            cls = ServerFault
        raise cls(explain(exc, what)) from None

    def paginate(self, service: str, op: str, key: str, **kwargs: Any) -> list:
        def once() -> list:
            try:
                pages = self.client(service).get_paginator(op).paginate(**kwargs)
                out: list = []
                for page in pages:
                    self._note_emulator(page)
                    out.extend(page.get(key, []) or [])
                self._answered.add(service)
                return out
            except (bce.BotoCoreError, bce.ClientError, ResponseParserError) as exc:
                self._raise(exc, f"{service}.{op}")
            raise AssertionError("unreachable")  # pragma: no cover

        return self.failed.call(FailureMemo.key("aws", service, op, "pages", key, kwargs), once)

    def _note_emulator(self, response: Any) -> None:
        headers = ((response or {}).get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        if str(headers.get("x-localstack", "")).lower() == "true":
            self.emulator = "LocalStack"

    def once(self, key: tuple, fn):
        """Memoise one fetch per run under ``key`` (the run-wide cache of objects)."""
        if key not in self._once:
            self._once[key] = fn()
        return self._once[key]

    def preflight(self) -> dict:
        """One cheap read that proves the endpoint answers and the credentials work."""
        return self.call("sts", "get_caller_identity")

    @property
    def resources(self):
        return self.section.resources

    def _tags_match(self, tags: dict[str, str]) -> bool:
        want = self.section.discover_tags
        return all(tags.get(k) == v for k, v in want.items())

    # -- EC2: subnets, security groups, prefix lists, VPC peering ---------------------------
    def _known(self, kind: str) -> list[str]:
        """Subnet or security group ids named by the resources read so far (no new call)."""
        got = self.__dict__
        ids: list[str] = []
        if kind == "subnets":
            for c in got.get("eks_clusters_raw", []):
                ids += (c.get("resourcesVpcConfig") or {}).get("subnetIds") or []
            for n in got.get("eks_nodegroups_raw", []):
                ids += n.get("subnets") or []
            for c in got.get("msk_clusters_raw", []):
                ids += (c.get("BrokerNodeGroupInfo") or {}).get("ClientSubnets") or []
        else:
            for c in got.get("eks_clusters_raw", []):
                vpc = c.get("resourcesVpcConfig") or {}
                ids += list(vpc.get("securityGroupIds") or []) + [vpc.get("clusterSecurityGroupId")]
            for i in got.get("rds_instances_raw", []):
                ids += [g["VpcSecurityGroupId"] for g in i.get("VpcSecurityGroups", [])]
            for c in got.get("msk_clusters_raw", []):
                ids += (c.get("BrokerNodeGroupInfo") or {}).get("SecurityGroups") or []
            for lb in got.get("albs_raw", []):
                ids += lb.get("SecurityGroups") or []
        return [i for i in ids if i]

    def subnets(self, ids: list[str]) -> dict[str, dict]:
        """subnet id -> {"id", "az", "vpc_id", "cidr", "ipv6_cidrs"}; the missing ones in one call."""
        want = [i for i in dict.fromkeys(ids) if i and i not in self._subnets]
        if want:  # batch in the subnets of every resource already read: one call where a script makes one
            batch = [i for i in dict.fromkeys(want + self._known("subnets")) if i not in self._subnets]
            try:
                found = self.call("ec2", "describe_subnets", SubnetIds=batch)["Subnets"]
            except ProbeError:
                if batch == want:
                    raise
                found = self.call("ec2", "describe_subnets", SubnetIds=want)["Subnets"]  # an extra id was stale
            for s in found:
                self._subnets[s["SubnetId"]] = {
                    "id": s["SubnetId"], "az": s.get("AvailabilityZone"), "vpc_id": s.get("VpcId"),
                    "cidr": s.get("CidrBlock"),
                    "ipv6_cidrs": [a["Ipv6CidrBlock"] for a in s.get("Ipv6CidrBlockAssociationSet", []) or []],
                }
        return {i: self._subnets[i] for i in ids if i in self._subnets}

    def security_groups(self, ids: list[str]) -> dict[str, dict]:
        """group id -> the EC2 SecurityGroup object; the missing ones in one call."""
        want = [i for i in dict.fromkeys(ids) if i and i not in self._groups]
        if want:  # batch in the groups of every resource already read
            batch = [i for i in dict.fromkeys(want + self._known("security_groups")) if i not in self._groups]
            try:
                found = self.call("ec2", "describe_security_groups", GroupIds=batch)["SecurityGroups"]
            except ProbeError:
                if batch == want:
                    raise
                found = self.call("ec2", "describe_security_groups", GroupIds=want)["SecurityGroups"]
            for g in found:
                self._groups[g["GroupId"]] = g
        return {i: self._groups[i] for i in ids if i in self._groups}

    def prefix_list_cidrs(self, pl_id: str) -> list[str]:
        if pl_id not in self._prefix_lists:
            entries = self.paginate("ec2", "get_managed_prefix_list_entries", "Entries", PrefixListId=pl_id)
            self._prefix_lists[pl_id] = [e["Cidr"] for e in entries if e.get("Cidr")]
        return self._prefix_lists[pl_id]

    def vpc_links(self, vpc_ids: list[str]) -> dict:
        """Peering connections between the given VPCs and the routes towards each other (NET-08)."""
        vpcs = sorted({v for v in vpc_ids if v})

        def fetch() -> dict:
            peerings = self.paginate("ec2", "describe_vpc_peering_connections", "VpcPeeringConnections",
                                     Filters=[{"Name": "requester-vpc-info.vpc-id", "Values": vpcs}])
            tables = self.paginate("ec2", "describe_route_tables", "RouteTables",
                                   Filters=[{"Name": "vpc-id", "Values": vpcs}])
            vpc_cidrs = {v["VpcId"]: [a["CidrBlock"] for a in v.get("CidrBlockAssociationSet", []) or [v]]
                         for v in self.call("ec2", "describe_vpcs", VpcIds=vpcs)["Vpcs"]}
            return {
                "vpcs": vpc_cidrs,
                "peerings": [{
                    "id": p["VpcPeeringConnectionId"],
                    "requester": (p.get("RequesterVpcInfo") or {}).get("VpcId"),
                    "accepter": (p.get("AccepterVpcInfo") or {}).get("VpcId"),
                    "status": (p.get("Status") or {}).get("Code"),
                } for p in peerings],
                "routes": [{
                    "route_table": t["RouteTableId"], "vpc_id": t.get("VpcId"),
                    "destination": r.get("DestinationCidrBlock"), "peering": r.get("VpcPeeringConnectionId"),
                    "transit_gateway": r.get("TransitGatewayId"), "state": r.get("State"),
                } for t in tables for r in t.get("Routes", []) or []],
            }

        return self.once(("vpc_links", tuple(vpcs)), fetch)

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
            group = i.get("DBSubnetGroup") or {}
            out.append({
                "resource": i.get("DBInstanceArn") or i["DBInstanceIdentifier"],
                "id": i["DBInstanceIdentifier"],
                "engine": i.get("Engine"),
                "version": i.get("EngineVersion"),
                # an Aurora instance's MultiAZ is false whatever the cluster: its readers in other
                # zones are the standby, which this reader does not read (describe_db_clusters)
                "multi_az": i.get("MultiAZ") if not i.get("DBClusterIdentifier") else _aurora_multi_az(i),
                "backup_retention_days": i.get("BackupRetentionPeriod"),
                "instance_class": i.get("DBInstanceClass"),
                "security_groups": [g["VpcSecurityGroupId"] for g in i.get("VpcSecurityGroups", [])],
                "vpc_id": group.get("VpcId"),
                "subnet_zones": sorted({(s.get("SubnetAvailabilityZone") or {}).get("Name")
                                        for s in group.get("Subnets", []) or []} - {None}),
                "publicly_accessible": i.get("PubliclyAccessible"),
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
        out = []
        for c in self.eks_clusters_raw:
            vpc = c.get("resourcesVpcConfig") or {}
            groups = list(vpc.get("securityGroupIds") or [])
            if vpc.get("clusterSecurityGroupId"):
                groups.append(vpc["clusterSecurityGroupId"])
            arn = c.get("arn") or ""
            out.append({
                "resource": arn or c["name"],
                "name": c["name"],
                "version": c.get("version"),
                "vpc_id": vpc.get("vpcId"),
                "subnets": vpc.get("subnetIds", []),
                "security_groups": groups,
                "oidc_issuer": ((c.get("identity") or {}).get("oidc") or {}).get("issuer"),
                "account": _arn_part(arn, 4),
                "partition": _arn_part(arn, 1) or "aws",
            })
        return out

    @cached_property
    def eks_nodegroups_raw(self) -> list[dict]:
        out = []
        for c in self.eks_clusters_raw:
            names = ([self.resources.eks_nodegroup] if self.resources.eks_nodegroup
                     else self.paginate("eks", "list_nodegroups", "nodegroups", clusterName=c["name"]))
            for n in names:
                out.append(self.call("eks", "describe_nodegroup", clusterName=c["name"], nodegroupName=n)["nodegroup"])
        return out

    def _launch_template(self, lt: dict) -> dict:
        """Instance type and security groups of a node group's launch template version."""
        key = ("launch_template", lt.get("id") or lt.get("name"), str(lt.get("version")))

        def fetch() -> dict:
            ident = {"LaunchTemplateId": lt["id"]} if lt.get("id") else {"LaunchTemplateName": lt["name"]}
            versions = self.call("ec2", "describe_launch_template_versions", Versions=[str(lt.get("version") or "$Default")],
                                 **ident)["LaunchTemplateVersions"]
            data = (versions[0] if versions else {}).get("LaunchTemplateData") or {}
            groups = list(data.get("SecurityGroupIds") or [])
            for ni in data.get("NetworkInterfaces") or []:
                groups += ni.get("Groups") or []
            return {"instance_type": data.get("InstanceType"), "security_groups": groups}

        return self.once(key, fetch)

    def eks_nodegroups(self) -> list[dict]:
        raw = self.eks_nodegroups_raw
        subnets = self.subnets([s for n in raw for s in n.get("subnets", []) or []])
        out = []
        for n in raw:
            scaling = n.get("scalingConfig") or {}
            types = list(n.get("instanceTypes") or [])
            lt_groups: list[str] = []
            if n.get("launchTemplate"):
                lt = self._launch_template(n["launchTemplate"])
                lt_groups = lt["security_groups"]
                if not types and lt["instance_type"]:
                    types = [lt["instance_type"]]
            subs = n.get("subnets", []) or []
            out.append({
                "resource": n.get("nodegroupArn") or f"{n.get('clusterName')}/{n['nodegroupName']}",
                "name": n["nodegroupName"],
                "cluster": n.get("clusterName"),
                "instance_types": types,
                "min_size": scaling.get("minSize"),
                "desired_size": scaling.get("desiredSize"),
                "max_size": scaling.get("maxSize"),
                "subnets": subs,
                "zones": sorted({subnets[s]["az"] for s in subs if s in subnets and subnets[s]["az"]}),
                "node_role": n.get("nodeRole"),
                "launch_template_security_groups": lt_groups,
            })
        return out

    def node_security_groups(self) -> list[str]:
        """The groups the EKS nodes carry: the cluster's (additional + cluster security group) and
        any of a node group launch template."""
        groups: list[str] = []
        for c in self.eks_clusters():
            groups += c["security_groups"]
        for n in self.eks_nodegroups():
            groups += n["launch_template_security_groups"]
        return list(dict.fromkeys(groups))

    # -- MSK ------------------------------------------------------------------------------
    @cached_property
    def msk_clusters_raw(self) -> list[dict]:
        ref = self.resources.msk_cluster
        if ref and ref.startswith("arn:"):
            return [self.call("kafka", "describe_cluster", ClusterArn=ref)["ClusterInfo"]]
        found = self.paginate("kafka", "list_clusters", "ClusterInfoList", **({"ClusterNameFilter": ref} if ref else {}))
        if ref:
            found = [c for c in found if c.get("ClusterName") == ref]
            if not found:
                raise ProbeError(f"kafka.list_clusters: no MSK cluster named {ref!r}")
            return found
        return [c for c in found if self._tags_match(c.get("Tags") or {})]

    def msk_nodes(self, arn: str) -> tuple[list[dict] | None, str]:
        """Broker nodes from ListNodes, or (None, why) when the endpoint does not list them."""
        def fetch():
            try:
                nodes = self.paginate("kafka", "list_nodes", "NodeInfoList", ClusterArn=arn)
            except UnsupportedOperation as exc:
                return None, str(exc)
            return [{"broker_id": (n.get("BrokerNodeInfo") or {}).get("BrokerId"),
                     "client_subnet": (n.get("BrokerNodeInfo") or {}).get("ClientSubnet"),
                     "endpoints": (n.get("BrokerNodeInfo") or {}).get("Endpoints") or []}
                    for n in nodes if n.get("BrokerNodeInfo")], "kafka.list_nodes"

        return self.once(("msk_nodes", arn), fetch)

    def msk_bootstrap(self, arn: str) -> tuple[dict | None, str]:
        """GetBootstrapBrokers, or (None, why) when the endpoint does not answer it."""
        def fetch():
            try:
                out = self.call("kafka", "get_bootstrap_brokers", ClusterArn=arn)
            except UnsupportedOperation as exc:
                return None, str(exc)
            out.pop("ResponseMetadata", None)
            return out, "kafka.get_bootstrap_brokers"

        return self.once(("msk_bootstrap", arn), fetch)

    def msk_clusters(self) -> list[dict]:
        raw = self.msk_clusters_raw
        subnets = self.subnets([s for c in raw for s in (c.get("BrokerNodeGroupInfo") or {}).get("ClientSubnets", [])])
        out = []
        for c in raw:
            info = c.get("BrokerNodeGroupInfo") or {}
            transit = ((c.get("EncryptionInfo") or {}).get("EncryptionInTransit") or {})
            client_subnets = info.get("ClientSubnets", []) or []
            out.append({
                "resource": c.get("ClusterArn") or c.get("ClusterName"),
                "name": c.get("ClusterName"),
                "version": (c.get("CurrentBrokerSoftwareInfo") or {}).get("KafkaVersion"),
                "brokers": c.get("NumberOfBrokerNodes"),
                "instance_type": info.get("InstanceType"),
                "client_subnets": client_subnets,
                "client_subnet_zones": sorted({subnets[s]["az"] for s in client_subnets if s in subnets}),
                "security_groups": info.get("SecurityGroups", []) or [],
                "vpc_id": next((subnets[s]["vpc_id"] for s in client_subnets if s in subnets), None),
                # AWS omits ClientBroker when it is the default (TLS)
                "client_broker": transit.get("ClientBroker", "TLS" if c.get("EncryptionInfo") is not None else None),
                "in_cluster": transit.get("InCluster"),
                "public_access": ((info.get("ConnectivityInfo") or {}).get("PublicAccess") or {}).get("Type"),
            })
        return out

    def msk_broker_spread(self) -> list[dict]:
        """HA-03 facts: broker count and the zones the brokers are in, from ListNodes where the
        endpoint answers it, else from the client subnets (the evidence says which)."""
        out = []
        for c in self.msk_clusters():
            nodes, source = self.msk_nodes(c["resource"])
            fact = {"resource": c["resource"], "brokers": c["brokers"], "client_subnets": c["client_subnets"]}
            if nodes is not None:
                subs = self.subnets([n["client_subnet"] for n in nodes])
                zones = [subs.get(n["client_subnet"], {}).get("az") for n in nodes]
                fact.update(zones=sorted({z for z in zones if z}), zones_from="broker nodes (kafka:ListNodes)",
                            broker_nodes=[{**n, "az": z} for n, z in zip(nodes, zones)], listed_brokers=len(nodes))
            else:
                fact.update(zones=c["client_subnet_zones"],
                            zones_from=f"client subnets' availability zones (broker nodes not listed: {source})")
            out.append(fact)
        return out

    # -- ALB ------------------------------------------------------------------------------
    @cached_property
    def albs_raw(self) -> list[dict]:
        ref = self.resources.alb
        if ref:
            key = {"LoadBalancerArns": [ref]} if ref.startswith("arn:") else {"Names": [ref]}
            return self.call("elbv2", "describe_load_balancers", **key)["LoadBalancers"]
        found = [lb for lb in self.paginate("elbv2", "describe_load_balancers", "LoadBalancers")
                 if lb.get("Type") == "application"]
        if not self.section.discover_tags:
            return found
        keep = []
        for i in range(0, len(found), 20):
            batch = [lb["LoadBalancerArn"] for lb in found[i:i + 20]]
            for d in self.call("elbv2", "describe_tags", ResourceArns=batch)["TagDescriptions"]:
                if self._tags_match({t["Key"]: t["Value"] for t in d.get("Tags", [])}):
                    keep.append(d["ResourceArn"])
        return [lb for lb in found if lb["LoadBalancerArn"] in keep]

    def alb_listeners(self, arn: str) -> list[dict]:
        def fetch():
            out = []
            for li in self.paginate("elbv2", "describe_listeners", "Listeners", LoadBalancerArn=arn):
                rules = []
                if li.get("Protocol") == "HTTP":  # "HTTP only redirects": every rule of the listener
                    rules = [{"priority": r.get("Priority"), "is_default": r.get("IsDefault"),
                              "actions": [_action(a) for a in r.get("Actions", [])]}
                             for r in self.call("elbv2", "describe_rules", ListenerArn=li["ListenerArn"])["Rules"]
                             if not r.get("IsDefault")]
                out.append({
                    "arn": li["ListenerArn"], "port": li.get("Port"), "protocol": li.get("Protocol"),
                    "default_actions": [_action(a) for a in li.get("DefaultActions", [])],
                    "rules": rules,
                    "certificates": [c.get("CertificateArn") for c in li.get("Certificates", []) or []],
                    "ssl_policy": li.get("SslPolicy"),
                })
            return out

        return self.once(("alb_listeners", arn), fetch)

    def albs(self, with_listeners: bool = False) -> list[dict]:
        out = []
        for lb in self.albs_raw:
            zones = lb.get("AvailabilityZones", []) or []
            fact = {
                "resource": lb["LoadBalancerArn"],
                "name": lb.get("LoadBalancerName"),
                "scheme": lb.get("Scheme"),
                "zones": sorted({z.get("ZoneName") for z in zones} - {None}),
                "subnets": [z.get("SubnetId") for z in zones],
                "vpc_id": lb.get("VpcId"),
                "security_groups": lb.get("SecurityGroups", []) or [],
                "dns_name": lb.get("DNSName"),
            }
            if with_listeners:
                fact["listeners"] = self.alb_listeners(lb["LoadBalancerArn"])
            out.append(fact)
        return out

    # -- IAM ------------------------------------------------------------------------------
    def role(self, name_or_arn: str) -> dict:
        name = _role_name(name_or_arn)
        if name not in self._roles:
            self._roles[name] = self.call("iam", "get_role", RoleName=name)["Role"]
        return self._roles[name]

    def managed_policy(self, arn: str) -> dict:
        """{"arn", "name", "version", "document"} of a managed policy (its default version)."""
        if arn not in self._policies:
            pol = self.call("iam", "get_policy", PolicyArn=arn)["Policy"]
            ver = self.call("iam", "get_policy_version", PolicyArn=arn, VersionId=pol["DefaultVersionId"])["PolicyVersion"]
            self._policies[arn] = {"arn": arn, "name": pol.get("PolicyName"), "version": pol["DefaultVersionId"],
                                   "document": _doc(ver.get("Document"))}
        return self._policies[arn]

    def role_policies(self, name_or_arn: str) -> list[dict]:
        """Every identity policy of a role: attached managed ones and inline ones, with documents.
        Each: {"kind": "managed"|"inline", "arn"|"name", "document"}."""
        name = _role_name(name_or_arn)
        if name not in self._role_policies:
            out = []
            for att in self.paginate("iam", "list_attached_role_policies", "AttachedPolicies", RoleName=name):
                out.append({"kind": "managed", **self.managed_policy(att["PolicyArn"])})
            for pname in self.paginate("iam", "list_role_policies", "PolicyNames", RoleName=name):
                doc = self.call("iam", "get_role_policy", RoleName=name, PolicyName=pname)["PolicyDocument"]
                out.append({"kind": "inline", "name": pname, "arn": f"{self.role(name)['Arn']}#inline/{pname}",
                            "document": _doc(doc)})
            self._role_policies[name] = out
        return self._role_policies[name]

    def role_facts(self, name_or_arn: str) -> dict:
        """{"resource": role ARN, "name", "trust": doc, "policies": [...], "permissions_boundary": doc|None}"""
        role = self.role(name_or_arn)
        boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        return {
            "resource": role["Arn"],
            "name": role["RoleName"],
            "trust": _doc(role.get("AssumeRolePolicyDocument")),
            "policies": self.role_policies(role["RoleName"]),
            "permissions_boundary": self.managed_policy(boundary) if boundary else None,
        }

    def oidc_provider(self, arn: str) -> dict | None:
        """The IAM OIDC provider (its URL and audiences), or None when it does not exist."""
        def fetch():
            out = self.call("iam", "get_open_id_connect_provider", missing=("NoSuchEntity",), OpenIDConnectProviderArn=arn)
            if out is None:
                return None
            return {"arn": arn, "url": out.get("Url"), "client_ids": out.get("ClientIDList", [])}

        return self.once(("oidc", arn), fetch)

    def simulate(self, role_arn: str, actions: list[str], resources: list[str]) -> tuple[list[dict] | None, str]:
        """iam:SimulatePrincipalPolicy for every action x resource, or (None, why) where the
        endpoint does not implement it. Results: [{"action", "resource", "decision"}]."""
        def fetch():
            try:
                results = self.paginate("iam", "simulate_principal_policy", "EvaluationResults",
                                        PolicySourceArn=role_arn, ActionNames=actions, ResourceArns=resources)
            except (UnsupportedOperation, ServerFault) as exc:
                return None, str(exc)
            out = []
            for r in results:
                for rr in r.get("ResourceSpecificResults") or [{"EvalResourceName": r.get("EvalResourceName"),
                                                                "EvalResourceDecision": r.get("EvalDecision")}]:
                    out.append({"action": r["EvalActionName"], "resource": rr.get("EvalResourceName"),
                                "decision": rr.get("EvalResourceDecision")})
            trusted, why = self.simulator_trusted()
            if not trusted:
                return None, why
            return out, "iam:SimulatePrincipalPolicy"

        return self.once(("simulate", role_arn, tuple(actions), tuple(resources)), fetch)

    def simulator_trusted(self) -> tuple[bool, str]:
        """Does the endpoint's policy simulator decide like AWS? Asked once per run with
        iam:SimulateCustomPolicy on a policy of our own, whose answers AWS fixes whatever the
        account holds (no principal, no SCP): a wildcard Allow must allow a matching object and
        leave another action implicitly denied. An emulator's stub (LocalStack's matches strings
        exactly and says explicitDeny where AWS says implicitDeny) gets one of them wrong, or
        does not answer: then its SimulatePrincipalPolicy results are not trusted."""
        def fetch() -> tuple[bool, str]:
            doc = json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{_CALIBRATION_BUCKET}/*"}]})
            obj = f"arn:aws:s3:::{_CALIBRATION_BUCKET}/calibration/object"
            expect = {"s3:GetObject": "allowed", "s3:PutObject": "implicitDeny"}
            try:
                results = self.paginate("iam", "simulate_custom_policy", "EvaluationResults", PolicyInputList=[doc],
                                        ActionNames=sorted(expect), ResourceArns=[obj])
            except ProbeError as exc:
                return False, (f"the endpoint's policy simulator could not be calibrated ({exc}), so its "
                               f"iam:SimulatePrincipalPolicy answers are not trusted")
            got = {r.get("EvalActionName"): r.get("EvalDecision") for r in results}
            wrong = {a: got.get(a) for a, d in expect.items() if got.get(a) != d}
            if wrong:
                said = ", ".join(f"{a} on {obj} came back {d}, AWS says {expect[a]}" for a, d in wrong.items())
                return False, (f"the endpoint's policy simulator is a stub (a calibration request under an Allow of "
                               f"arn:aws:s3:::{_CALIBRATION_BUCKET}/*: {said}), so its "
                               f"iam:SimulatePrincipalPolicy answers are not trusted")
            return True, "iam:SimulateCustomPolicy calibration answered as AWS does"

        return self.once(("simulator-calibration",), fetch)

    # -- S3, KMS ----------------------------------------------------------------------------
    def bucket(self, name: str) -> dict:
        """Versioning, default encryption and public access block of a bucket."""
        def fetch():
            ver = self.call("s3", "get_bucket_versioning", Bucket=name) or {}
            enc = self.call("s3", "get_bucket_encryption", missing=("ServerSideEncryptionConfigurationNotFoundError",),
                            Bucket=name)
            pab = self.call("s3", "get_public_access_block", missing=("NoSuchPublicAccessBlockConfiguration",),
                            Bucket=name)
            rules = ((enc or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules", [])
            default = (rules[0].get("ApplyServerSideEncryptionByDefault") or {}) if rules else {}
            key = default.get("KMSMasterKeyID")
            if key and not (key.startswith("arn:") and ":key/" in key):
                key = self.call("kms", "describe_key", KeyId=key)["KeyMetadata"]["Arn"]  # key id or alias
            return {
                "resource": f"arn:aws:s3:::{name}",
                "bucket": name,
                "versioning": ver.get("Status") or "Disabled",
                "mfa_delete": ver.get("MFADelete"),
                "sse_algorithm": default.get("SSEAlgorithm"),
                "kms_key_arn": key,
                "bucket_key_enabled": rules[0].get("BucketKeyEnabled") if rules else None,
                "public_access_block": (pab or {}).get("PublicAccessBlockConfiguration"),
            }

        return self.once(("bucket", name), fetch)

    # -- ECR ------------------------------------------------------------------------------
    @cached_property
    def ecr_repositories_raw(self) -> list[dict]:
        return self.paginate("ecr", "describe_repositories", "repositories")


_CALIBRATION_BUCKET = "asbuilt-simulator-calibration"


def _action(a: dict) -> dict:
    out: dict[str, Any] = {"type": a.get("Type")}
    if a.get("RedirectConfig"):
        rc = a["RedirectConfig"]
        out["redirect"] = {"protocol": rc.get("Protocol"), "port": rc.get("Port"), "status": rc.get("StatusCode")}
    if a.get("TargetGroupArn"):
        out["target_group"] = a["TargetGroupArn"]
    return out
