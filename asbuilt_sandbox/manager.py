"""`asbuilt sandbox up | down | status`: the embedded reference deployment, from real parts.

``up`` starts (or keeps) every part, provisions the reference AWS estate into moto with the
requested drifts, mirrors the data services' security groups into the packet filter, and
writes the sandbox's target file (printed as the last line). It is idempotent: the processes
keep running and the estate is provisioned anew, so ``up --drift X`` after ``up`` switches the
drift on, and a plain ``up`` switches it off again.

Every ``up`` first puts each part back to its reference state, whatever an earlier drift, a test
or a user changed by hand, and whether the parts kept running or come back after ``down`` (etcd,
PostgreSQL and Kafka keep their data directories): moto is reset before the estate is
provisioned; the platform database is dropped and made anew; every Kafka topic but the internal
ones and every ACL is deleted before the platform topics are made; and every Kubernetes object
kube-apiserver did not make itself is deleted before helm installs the release
(``asbuilt_sandbox.kube_reset``).

Next to the platform, ``up`` also builds the two other seed systems' deployments: the Conduktor
reference in namespace ``conduktor`` (``asbuilt_sandbox.conduktor_platform``, with the real helm)
and its Console database (role ``conduktor``, TLS required by pg_hba), and the ComposeX
reference's ECS cluster, services, task definitions and Secrets Manager secrets in moto
(``asbuilt_sandbox.composex_reference``). Their Kafka principals (the Gateway's; Connect's
worker, producer and consumer; Control Center's) become SCRAM-SHA-512 users on the brokers'
SASL_SSL listener with their documented ACLs (every other SCRAM user goes). The target file
names the SASL_SSL bootstrap, the principals (passwords as file references), the Console
database's password/CA/RDS instance (``conduktor:``) and the ECS side (``ecs:``).

``up --aws localstack`` puts the AWS side on LocalStack (community edition, host mode, in a
network namespace of its own with no route out: ``asbuilt_sandbox.parts.localstack``) instead of
moto: the reference estate is provisioned into it where LocalStack can hold it (the services it
answers HTTP 501 for are left out and listed in the state file), the ComposeX side (ECS) is not
provisioned, and the target file points ``aws.endpoint_url`` at it with LocalStack's credentials.

A part that fails to start stops ``up`` with one line naming the part and its log file; what
had started is stopped again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import yaml

from asbuilt.console import progress_note
from asbuilt.errors import RunError
from asbuilt_sandbox import aws_reference, topology
from asbuilt_sandbox.drifts import Drift, resolve
from asbuilt_sandbox.parts.base import PartError, state_dir

PLATFORM_TOPICS = ("conncentric.events", "conncentric.commands")
AWS_KEY_ID = "AKIASANDBOXAUDITOR01"


def _say(msg: str) -> None:
    print(f"sandbox: {msg}", file=sys.stderr, flush=True)
    progress_note(f"sandbox: {msg}")  # the terminal's progress display (asbuilt sandbox up), if drawn


def _parts():
    from asbuilt_sandbox.parts.kafka import KafkaPart
    from asbuilt_sandbox.parts.kube import KubePart
    from asbuilt_sandbox.parts.moto_server import MotoPart
    from asbuilt_sandbox.parts.network import NetworkPart
    from asbuilt_sandbox.parts.postgres import PostgresPart
    from asbuilt_sandbox.platform import PlatformPart

    from asbuilt_sandbox.parts.localstack import LocalStackPart

    return {"network": NetworkPart(), "moto": MotoPart(), "postgres": PostgresPart(), "kafka": KafkaPart(),
            "kube": KubePart(), "platform": PlatformPart(),
            "localstack": LocalStackPart(netns=LOCALSTACK_NETNS, host_if=LOCALSTACK_HOST_IF,
                                         subnet=LOCALSTACK_SUBNET)}


# The sandbox's LocalStack (``up --aws localstack``): its own namespace and /30, outside the
# sandbox's 198.18.0.0/16 so the host's route to asb-vpc is not shadowed.
LOCALSTACK_NETNS = "asb-aws"
LOCALSTACK_HOST_IF = "asb-aws0"
LOCALSTACK_SUBNET = "198.19.0.0/30"
AWS_EMULATORS = ("moto", "localstack")


LOCK_FILE = Path("/run/lock/asbuilt-sandbox.lock") if Path("/run/lock").is_dir() else Path("/tmp/asbuilt-sandbox.lock")


_HELD = [0]  # re-entrant within one process: a test holding the lock may call code that takes it


@contextlib.contextmanager
def exclusive():
    """Hold the machine-wide sandbox lock: the namespaces and ports are global, so two callers
    (two test sessions, a test and a user) must not bring the sandbox up at the same time."""
    if _HELD[0]:
        _HELD[0] += 1
        try:
            yield
        finally:
            _HELD[0] -= 1
        return
    with open(LOCK_FILE, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        _HELD[0] = 1
        try:
            yield
        finally:
            _HELD[0] = 0
            fcntl.flock(fh, fcntl.LOCK_UN)


def target_path() -> Path:
    from asbuilt.paths import sandbox_target_file

    return sandbox_target_file()


def _state_file() -> Path:
    return state_dir() / "sandbox.json"


def up(drift_names: list[str] | None = None, with_kube: bool = True, aws: str = "moto") -> Path:
    drifts = resolve(drift_names or [])
    if aws not in AWS_EMULATORS:
        raise RunError(f"--aws {aws}: not one of {', '.join(AWS_EMULATORS)}")
    if os.geteuid() != 0:
        raise RunError("the sandbox needs root (network namespaces, PostgreSQL as the postgres user)")
    parts = _parts()
    started: list[Any] = []
    facts: dict[str, Any] = {}
    t0 = time.monotonic()

    def step(name: str, fn: Callable[[], dict]) -> dict:
        t = time.monotonic()
        _say(f"{name}: starting")
        try:
            result = fn()
        except PartError:
            raise
        except Exception as exc:  # a part's unexpected failure still ends as one line
            raise PartError(name, f"{type(exc).__name__}: {exc}") from exc
        started.append(parts.get(name))
        _say(f"{name}: up ({time.monotonic() - t:.1f}s)")
        return result

    try:
        facts["network"] = step("network", parts["network"].start)
        if aws == "localstack":
            parts["moto"].stop()  # one AWS side at a time
            # restarted: an empty account (LocalStack community has no reset API), the AWS endpoint under "moto"
            facts["moto"] = step("localstack", parts["localstack"].restart)
            facts["moto"]["emulator"] = facts["moto"].get("emulator", "LocalStack")
            endpoint = facts["moto"]["endpoint_url"]
            facts["aws"] = _provision_aws(endpoint, drifts, localstack=True)
        else:
            parts["localstack"].stop()
            facts["moto"] = step("moto", parts["moto"].start)
            facts["moto"]["emulator"] = f"moto {facts['moto'].get('version', '')}".strip()
            endpoint = facts["moto"]["endpoint_url"]
            facts["aws"] = _provision_aws(endpoint, drifts)
        if _has("composex_reference") and aws != "localstack":  # ECS answers 501 on LocalStack community
            facts["composex"] = _provision_composex(endpoint, drifts)
        facts["postgres"] = step("postgres", lambda: _start_postgres(parts["postgres"]))
        facts["postgres"]["conduktor"] = _conduktor_database(parts["postgres"], drifts)
        facts["kafka"] = step("kafka", lambda: parts["kafka"].start(netns=topology.NS_VPC))
        t_k = time.monotonic()
        _configure_kafka(parts["kafka"], drifts)
        t_p = time.monotonic()
        facts["kafka"]["principals"] = _configure_principals(parts["kafka"], drifts, _PENDING.pop("composex", None))
        _say(f"kafka: topics and ACLs reset ({t_p - t_k:.1f}s), {len(facts['kafka']['principals'])} principals "
             f"with their SCRAM users and ACLs ({time.monotonic() - t_p:.1f}s)")
        _mirror_security_groups(parts["network"], endpoint, facts["aws"], *_aws_credential_files(aws))
        if with_kube:
            facts["kube"] = step("kube", parts["kube"].start)
            # The platform on top: the reference release installed with helm, its installer Job
            # run, the Deployments' statuses kept by the sandbox agent (asbuilt_sandbox.platform).
            facts["platform"] = step("platform", lambda: parts["platform"].start(
                parts["kube"], facts, drifts, *_aws_credential_files(aws)))
            # The Conduktor reference next to it, in namespace conduktor (asbuilt_sandbox.conduktor_platform)
            if _has("conduktor_reference"):
                from asbuilt_sandbox import conduktor_platform

                facts["conduktor"] = step("conduktor", lambda: conduktor_platform.deploy(parts["kube"], facts, drifts))
    except PartError as exc:
        for part in reversed(started):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # best effort: the original failure is what the user needs
                    pass
        raise RunError(str(exc)) from None
    state = {"drifts": [d.name for d in drifts], "aws": aws, "facts": facts,
             "up_seconds": round(time.monotonic() - t0, 1)}
    _state_file().write_text(json.dumps(state, indent=2, default=str))
    path = write_target(facts, drifts)
    _say(f"up in {time.monotonic() - t0:.1f}s" + (f" with drifts {', '.join(d.name for d in drifts)}" if drifts else ""))
    return path


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"asbuilt_sandbox.{module}") is not None


def _start_postgres(pg) -> dict:
    """PostgreSQL keeps its data directory across `down`: the platform database is made anew on
    every `up` (the installer Job then fills it, as on a fresh deployment)."""
    pg.start(netns=topology.NS_VPC)
    return pg.reset_database()


def _provision_composex(endpoint: str, drifts: list[Drift]) -> dict:
    """The ComposeX reference's live counterpart in moto (asbuilt_sandbox.composex_reference):
    ECS cluster, services, task definitions and Secrets Manager secrets, with the drifts'
    changes (``Drift.composex``: fields of its ComposexReference). Returns the provisioned ids;
    the SCRAM passwords it made are handed to the Kafka step only (never written to the facts)."""
    import boto3

    from asbuilt_sandbox import composex_reference as cpx

    changes: dict[str, Any] = {}
    for d in drifts:
        changes.update(d.composex)
    ref = dataclasses.replace(cpx.ComposexReference(), **changes)
    session = boto3.session.Session(aws_access_key_id=AWS_KEY_ID, aws_secret_access_key=_aws_secret(),
                                    region_name=aws_reference.REGION)
    got = cpx.provision(endpoint, ref, session=session, region=aws_reference.REGION)
    _PENDING["composex"] = {"principals": got["principals"], "acls": got["acls"], "scram": got["scram"]}
    return {k: v for k, v in got.items() if k not in ("scram", "acls")}


_PENDING: dict[str, Any] = {}  # within one `up`: what must not reach the state file (passwords)


def _conduktor_database(pg, drifts: list[Drift]) -> dict:
    """The Conduktor Console's database and role, made anew; TLS required for that role unless a
    drift says otherwise (pg_hba rewritten and reloaded on every `up`)."""
    tls = all(d.postgres.get("conduktor_tls", True) for d in drifts)
    pg.set_conduktor_tls(tls)
    return pg.conduktor_database()


def sandbox_principals(drifts: list[Drift], composex: dict | None = None) -> list[dict]:
    """The Kafka principals of the Conduktor and ComposeX references, each {principal, role,
    acls: [AclEntry], context}, as their reference modules document them, with the drifts'
    changes (``kafka["principal_acls"]``: role -> extra AclEntry list; ``kafka["principal_acls_drop"]``:
    role -> operations to drop; ``kafka["principal_rename"]``: role -> principal)."""
    found: list[dict] = []
    try:
        from asbuilt_sandbox import conduktor_reference as cdk
    except ImportError:
        cdk = None
    if cdk is not None:
        found.append({"principal": cdk.GATEWAY_PRINCIPAL, "role": "gateway", "acls": list(cdk.GATEWAY_ACLS),
                      "context": {"cluster_id": cdk.GATEWAY_CLUSTER_ID, "group_id": cdk.GATEWAY_GROUP_ID}})
    for p in (composex or {}).get("principals", []):
        user = p["principal"].split(":", 1)[1]
        found.append({"principal": p["principal"], "role": p["role"],
                      "acls": list((composex.get("acls") or {}).get(user, [])), "context": {}})
    extra: dict[str, list] = {}
    drop: dict[str, set] = {}
    rename: dict[str, str] = {}
    for d in drifts:
        for role, acls in d.kafka.get("principal_acls", {}).items():
            extra.setdefault(role, []).extend(acls)
        for role, ops in d.kafka.get("principal_acls_drop", {}).items():
            drop.setdefault(role, set()).update(ops)
        rename.update(d.kafka.get("principal_rename", {}))
    from dataclasses import replace

    out = []
    for p in found:
        role = p.get("role")
        principal = rename.get(role, p["principal"])
        acls = [replace(a, principal=principal) for a in p.get("acls", []) if a.operation not in drop.get(role, ())]
        acls += [replace(a, principal=principal) for a in extra.get(role, [])]
        out.append({**p, "principal": principal, "acls": acls})
    return out


def _configure_principals(kafka, drifts: list[Drift], composex: dict | None = None) -> list[dict]:
    """SCRAM users and their ACLs for the references' principals (every other SCRAM user goes:
    `_configure_kafka` already removed every ACL). Returns {principal, role, password_file}."""
    principals = sandbox_principals(drifts, composex)
    users = {p["principal"].split(":", 1)[1] for p in principals}
    kafka.delete_scram_users(keep=users)
    # ComposeX's secrets already hold a JAAS config with a password made at provisioning: the
    # SCRAM user gets that one (kept in the user's 0600 file, as every sandbox SCRAM password)
    for cred in (composex or {}).get("scram", []):
        from asbuilt_sandbox.parts.base import write_private

        write_private(kafka.scram_password_file(cred["username"]), cred["password"].encode())
    out = []
    files = {user: info["password_file"] for user, info in kafka.scram_users(users).items()}
    kafka.create_acl_entries(a for p in principals for a in p["acls"])
    for p in principals:
        user = p["principal"].split(":", 1)[1]
        out.append({"principal": p["principal"], "role": p.get("role"), "password_file": files[user],
                    "context": p.get("context") or {}})
    return out


def _reset_moto(endpoint: str) -> None:
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy
    opener.open(req, timeout=10).read()


def _provision_aws(endpoint: str, drifts: list[Drift], localstack: bool = False) -> dict:
    changes: dict[str, Any] = {}
    for d in drifts:
        changes.update(d.aws)
    ref = dataclasses.replace(aws_reference.Reference(), **changes)
    if localstack:
        # LocalStack was just restarted (empty): the estate where it can hold it, then an access
        # key LocalStack itself made, so pre-signed URLs are checked against its secret (kept in
        # the sandbox's 0600 files, never in the facts)
        from asbuilt_sandbox.parts.base import write_private
        from asbuilt_sandbox.parts.localstack import CREDENTIALS, registered_credentials

        ids = aws_reference.provision(endpoint, ref, **CREDENTIALS)
        creds = registered_credentials(endpoint)
        write_private(state_dir() / "localstack_access_key_id", creds["aws_access_key_id"].encode())
        write_private(state_dir() / "localstack_secret_access_key", creds["aws_secret_access_key"].encode())
        return ids
    _reset_moto(endpoint)
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = AWS_KEY_ID
    os.environ["AWS_SECRET_ACCESS_KEY"] = _aws_secret()
    try:
        ids = aws_reference.provision(endpoint, ref)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return ids


def _aws_secret() -> str:
    """The sandbox's AWS secret key: random per sandbox, kept in a 0600 file (never in a report)."""
    path = state_dir() / "aws_secret_access_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(30))
        path.chmod(0o600)
    return path.read_text().strip()


def _aws_credential_files(aws: str) -> tuple[Path, Path]:
    """The access key id and secret files of the AWS side's credentials (moto's, or LocalStack's own key)."""
    if aws == "localstack":
        return state_dir() / "localstack_access_key_id", state_dir() / "localstack_secret_access_key"
    return _aws_key_file(), state_dir() / "aws_secret_access_key"


def _aws_key_file() -> Path:
    path = state_dir() / "aws_access_key_id"
    path.write_text(AWS_KEY_ID)
    path.chmod(0o600)
    return path


def _configure_kafka(kafka, drifts: list[Drift]) -> None:
    overrides: dict[str, Any] = {}
    for d in drifts:
        overrides.update(d.kafka)
    rf = overrides.get("replication_factor", 3)
    min_isr = overrides.get("min_insync_replicas", 2)
    from kafka.admin import NewTopic  # noqa: F401  (kafka-python present: fail early if not)

    # The reference cluster holds the platform topics and no ACL: every topic and ACL an earlier
    # drift, test or user added goes (internal topics such as __consumer_offsets stay), and the
    # platform topics are made anew with the settings asked for.
    with kafka.admin() as admin:
        existing = set(admin.list_topics())
    kafka.delete_topics(t for t in existing if not t.startswith("__"))
    kafka.delete_all_acls()
    deadline = time.monotonic() + 30
    for topic in PLATFORM_TOPICS:
        while True:
            try:
                kafka.create_topic(topic, partitions=3, replication_factor=rf,
                                   configs={"min.insync.replicas": str(min_isr)})
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


def _mirror_security_groups(network, endpoint: str, ids: dict, key_file: Path | None = None,
                            secret_file: Path | None = None) -> None:
    """The packet filter admits exactly what the RDS and MSK security groups admit."""
    from asbuilt_sandbox.parts.network import rules_from_security_group

    key = key_file.read_text().strip() if key_file else AWS_KEY_ID
    secret = secret_file.read_text().strip() if secret_file else _aws_secret()
    ec2 = aws_reference.client("ec2", endpoint, aws_access_key_id=key, aws_secret_access_key=secret)
    groups = {g["GroupId"]: g for g in ec2.describe_security_groups()["SecurityGroups"]}
    # Members of the node security group are the EKS nodes: in the sandbox, the asb-node namespace.
    group_cidrs = {ids["node_security_group"]: [topology.NODE_SUBNET]}
    # The node subnets' CIDRs in the AWS estate are, in the sandbox, the node namespace's subnet.
    translated = []
    for sg_id, dests in ((ids["rds_security_group"], [topology.RDS_ADDR]),
                         (ids["msk_security_group"], list(topology.BROKER_ADDRS))):
        sg = json.loads(json.dumps(groups[sg_id]))
        for perm in sg.get("IpPermissions", []):
            for r in perm.get("IpRanges", []):
                if r["CidrIp"].startswith("10.0."):
                    r["CidrIp"] = topology.NODE_SUBNET
        translated += rules_from_security_group(sg, group_cidrs, dests)
    network.apply_security_groups(translated)


def static_section() -> dict[str, Any]:
    """The sandbox target's ``static:`` section: the code the sandbox was built from (a test builds
    the same shape without the sandbox: tests/static/test_target_scoping.py)."""
    from asbuilt.suite import ROOT
    from asbuilt_sandbox import conduktor_reference as cdk_ref

    ref = ROOT / "examples" / "reference"
    return {
        "terraform": [str(ref / "terraform")],
        "cloudformation": [str(ref / "cloudformation")],
        # each platform's chart judged by its own profile's chart controls (static.charts[].profiles):
        # the Conncentric chart by conncentric-aws, the Conduktor chart (as the sandbox installs it,
        # with its committed values files) by conduktor-k8s
        "charts": [{"path": str(ref / "chart" / "conncentric"), "values": [str(ref / "values" / "production.yaml")],
                    "profiles": ["conncentric-aws"]},
                   {"path": str(cdk_ref.CHART), "values": [str(v) for v in cdk_ref.VALUES],
                    "release": cdk_ref.RELEASE, "namespace": cdk_ref.NAMESPACE, "profiles": ["conduktor-k8s"]}],
        "gradle": [str(ref / "plugin")],
        # the Conduktor and ComposeX references the sandbox deploys (conduktor-k8s, composex-ecs)
        "compose": [str(ref / "composex")],
        "repos": [str(ROOT)] if (ROOT / ".git").exists() else [],
    }


def write_target(facts: dict, drifts: list[Drift]) -> Path:
    aws_ids = facts["aws"]
    pg = facts["postgres"]
    kafka = facts["kafka"]
    key_file = state_dir() / "aws_access_key_id"
    secret_file = state_dir() / "aws_secret_access_key"
    localstack = "netns" in facts["moto"]  # the LocalStack part's facts name its namespace
    if localstack:  # the access key LocalStack made (_provision_aws)
        key_file = state_dir() / "localstack_access_key_id"
        secret_file = state_dir() / "localstack_secret_access_key"
    else:
        key_file.write_text(AWS_KEY_ID)
        key_file.chmod(0o600)
    target: dict[str, Any] = {
        "name": "asbuilt-sandbox",
        "description": "The embedded reference deployment" + (
            f" with drifts: {', '.join(d.name for d in drifts)}" if drifts else " (conforming)"),
        "profile": "conncentric-aws",
        "allow_mutating": True,
        "allowed_networks": ["127.0.0.0/8", topology.NET_CIDR, *facts["moto"].get("allowed_networks", [])],
        "aws": {
            "region": aws_reference.REGION,
            "endpoint_url": facts["moto"]["endpoint_url"],
            # the CA of the sandbox's HTTPS front for the bucket, where the release's bundle URL points
            **({"ca_bundle": facts["platform"]["s3_front_ca"]} if facts.get("platform", {}).get("s3_front_ca") else {}),
            "credentials": {
                "access_key_id": {"file": str(key_file)},
                "secret_access_key": {"file": str(secret_file)},
            },
            "timeouts": {"connect": 5, "read": 20, "max_attempts": 3},
            "resources": {
                "eks_cluster": aws_ids["eks_cluster"],
                "eks_nodegroup": aws_ids["eks_nodegroup"],
                "rds_instance": aws_ids["rds_instance"],
                "msk_cluster": aws_ids["msk_cluster_arn"],
                "alb": aws_ids["alb"],
                "bundle_bucket": aws_ids["bundle_bucket"],
                "installer_role": aws_ids["installer_role"],
                "installer_policy": aws_ids["installer_policy_arn"],
                "node_role": aws_ids["node_role"],
                "ecr_repositories": aws_ids["ecr_repositories"],
            },
        },
        "kafka": {
            "bootstrap_servers": kafka["bootstrap_tls"],
            "security_protocol": "SSL",
            "ssl_cafile": kafka["ca_file"],
            "ssl_certfile": kafka["client_cert"],
            "ssl_keyfile": kafka["client_key"],
            "topics": list(PLATFORM_TOPICS),
            # the SASL_SSL (SCRAM-SHA-512) listener and the references' principals on it; their
            # ACLs are read with the admin identity above, their passwords are file references
            "sasl_ssl_bootstrap_servers": kafka.get("bootstrap_sasl_ssl"),
            "principals": [{"principal": p["principal"], "role": p["role"],
                            "password": {"file": p["password_file"]},
                            **({"context": p["context"]} if p.get("context") else {})}
                           for p in kafka.get("principals", [])],
        },
        "postgres": {
            "host": pg["host"],
            "port": pg["port"],
            "dbname": pg["dbname"],
            "user": pg["user"],
            "password": {"file": pg["password_file"]},
            "sslmode": "verify-full",
            "sslrootcert": pg["ca_file"],
        },
        "conduktor": {
            "database": {
                "password": {"file": pg["conduktor"]["password_file"]},
                "sslrootcert": pg["ca_file"],
                # The Console's database lives on the sandbox PostgreSQL, which stands in for the
                # platform's RDS instance (one server, two databases): CDK-DB-02 reads that
                # instance's Multi-AZ and backup retention from the AWS API, as for a real RDS.
                "rds_instance": aws_ids["rds_instance"],
            },
        },
        "installer": {
            "logs": {"source": "cloudwatch", "log_group": aws_ids["installer_log_group"]},
            "trigger": {"kind": "job-template"},  # the agent runs the Job, as EKS would
        },
        "vantage_points": [
            {"name": topology.VANTAGE_INSIDE.name, "role": "inside", "kind": "netns", "netns": topology.NS_NODE},
            {"name": topology.VANTAGE_OUTSIDE.name, "role": "outside", "kind": "netns", "netns": topology.NS_OUTSIDE},
        ],
    }
    # The code the sandbox was built from: live and static verdicts of a control side by side.
    target["static"] = static_section()
    if "composex" in facts:
        from asbuilt_sandbox import composex_reference as cpx

        target["ecs"] = cpx.ecs_target_section(facts["composex"])
    if "kube" in facts:
        target["kubernetes"] = {"kubeconfig": facts["kube"]["kubeconfig"], "context": facts["kube"]["context"],
                                "namespace": aws_reference.NAMESPACE, "release": "conncentric"}
    client = (facts.get("platform") or {}).get("kafka_client")
    if client:  # a drift: the platform's Kafka identity may read the platform topics, not write them
        target["kafka"]["ssl_certfile"] = client["certfile"]
        target["kafka"]["ssl_keyfile"] = client["keyfile"]
    path = target_path()
    header = "# Written by `asbuilt sandbox up`: the embedded reference deployment. Secrets are file references.\n"
    path.write_text(header + yaml.safe_dump(target, sort_keys=False))
    return path


def down() -> None:
    parts = _parts()
    errors = []
    for name in ("platform", "kube", "kafka", "postgres", "moto", "localstack", "network"):
        try:
            parts[name].stop()
        except Exception as exc:
            errors.append(f"{name}: {exc}")
    for f in (target_path(), _state_file()):
        f.unlink(missing_ok=True)
    if errors:
        raise RunError("sandbox down: " + "; ".join(errors))


def status() -> dict[str, Any]:
    parts = _parts()
    try:
        state = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        state = {}
    # One AWS emulator at a time: the one `up` did not use is not part of the sandbox, so it is
    # listed only when something left it running.
    in_use = state.get("aws", "moto")
    out = {}
    for name, part in parts.items():
        try:
            s = part.status()
        except Exception as exc:
            s = {"up": False, "error": str(exc)}
        up = s.get("up", s.get("state") == "up")
        if name in AWS_EMULATORS and name != in_use and not up:
            continue
        addr = s.get("address") or s.get("endpoint_url") or s.get("bootstrap_tls") or ""
        out[name] = {"up": bool(up), "address": addr}
    out["drifts"] = state.get("drifts", [])
    out["target"] = str(target_path()) if target_path().exists() else None
    return out
