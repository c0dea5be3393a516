"""The Kafka part: three Apache Kafka brokers in KRaft combined mode, standing in for Amazon MSK.

Install: the broker jars come from Maven Central (``kafka_pom.xml`` beside this file, resolved
with ``mvn dependency:copy-dependencies``) into ``cache_dir()/kafka-<version>/libs``; a warm
install is a no-op. Maven's own repository is ``cache_dir()/maven``.

Start: each node is broker + controller; the controller quorum is the three of them. Every
node has three listeners on its own address:

    PLAINTEXT  9092   no authentication: the principal is ``User:ANONYMOUS``
    SSL        9094   TLS (a CA made by the sandbox); a client certificate is *requested*:
                      with one the principal is ``User:<CN>``, without one ``User:ANONYMOUS``
    CONTROLLER 9093   mutual TLS (client certificate required); brokers and controllers only
    SASL_SSL   9096   TLS (no client certificate) + SASL SCRAM-SHA-512, as MSK's SASL/SCRAM
                      port: the principal is ``User:<username>``. Users are made with
                      AlterUserScramCredentials (``scram_user``): KRaft keeps them in the
                      metadata log; their passwords are 0600 files under ``kafka/scram/``

Replication between brokers runs over the SSL listener with the brokers' own certificates.

Authorization: ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``. The super
users are the three broker principals (``User:kafka-broker-<id>``) and the sandbox's admin
(``User:asbuilt-admin``, a client certificate whose files are in the start facts). The
anonymous principal is deliberately *not* a super user: on PLAINTEXT, and on SSL without a
certificate, a client can fetch the broker list but may touch nothing an ACL does not grant.
That way ACLs in the sandbox mean what they mean on MSK with TLS client authentication, and an
ACL drift (a missing or an over-broad grant) is observable from a client. The admin helpers of
this module (topics, ACLs, configs) connect over SSL with the admin certificate; pass
``anonymous_admin=True`` to ``KafkaPart`` to make ``User:ANONYMOUS`` a super user instead.

Certificates are EC P-256, PEM files (``ssl.keystore.type=PEM`` / ``ssl.truststore.type=PEM``);
a broker's certificate names its address (IP SAN). Principals are the certificate's CN
(``ssl.principal.mapping.rules``).

Addresses: in the sandbox the brokers bind to ``topology.BROKER_ADDRS`` inside ``NS_VPC``, all on
the standard ports. For tests on loopback, ``start()`` without addresses runs the three on
127.0.0.1 with free ports per broker (or the ``ports`` given). Nothing binds elsewhere: an
address outside 127.0.0.0/8 and the sandbox's 198.18.0.0/16 is refused.

State (``state_dir()/kafka``): ``cluster.json`` (what was started), ``tls/``, and per broker
``broker-<id>/server.properties`` + ``broker-<id>/data``; logs are ``state_dir()/logs/kafka-broker-<id>.log``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from asbuilt_sandbox import pki, topology
from asbuilt_sandbox.parts.base import (
    PartError,
    Process,
    cache_dir,
    free_port,
    run,
    state_dir,
    wait_for_port,
    write_private,
)

PART = "kafka"
CA_NAME = "asbuilt sandbox Kafka CA"
KAFKA_VERSION = "3.9.1"
SCALA_VERSION = "2.13"
# A fixed cluster id: base64url (no padding) of the 16 bytes b"asbuilt-sandbox1", as KRaft wants.
CLUSTER_ID = "YXNidWlsdC1zYW5kYm94MQ"
ADMIN_NAME = "asbuilt-admin"
ADMIN_PRINCIPAL = f"User:{ADMIN_NAME}"
SCRAM_MECHANISM = "SCRAM-SHA-512"
HEAP = "256m"
POM = Path(__file__).with_name("kafka_pom.xml")

START_TIMEOUT = 120.0  # seconds for all three to listen and form the cluster (2 shared cores)
STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Node:
    """One broker+controller: its id, address and the three listener ports."""

    id: int
    address: str
    plaintext_port: int = topology.BROKER_PLAINTEXT_PORT
    controller_port: int = topology.BROKER_CONTROLLER_PORT
    tls_port: int = topology.BROKER_TLS_PORT
    sasl_port: int = topology.BROKER_SASL_PORT

    @property
    def principal(self) -> str:
        return f"User:kafka-broker-{self.id}"

    def ports(self) -> tuple[int, int, int]:
        return (self.plaintext_port, self.controller_port, self.tls_port)

    def all_ports(self) -> tuple[int, int, int, int]:
        """The three of ``ports()`` and the SASL_SSL port."""
        return (*self.ports(), self.sasl_port)


class KafkaPart:
    """Apache Kafka, 3 brokers in KRaft combined mode, TLS + StandardAuthorizer (stands in for MSK)."""

    name = PART

    def __init__(self, version: str = KAFKA_VERSION, heap: str = HEAP, anonymous_admin: bool = False):
        self.version = version
        self.heap = heap
        self.anonymous_admin = anonymous_admin

    # ----------------------------------------------------------------- paths

    @property
    def home(self) -> Path:
        return cache_dir() / f"kafka-{self.version}"

    @property
    def libs(self) -> Path:
        return self.home / "libs"

    @property
    def root(self) -> Path:
        path = state_dir() / "kafka"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.crt"

    @property
    def state_file(self) -> Path:
        return self.root / "cluster.json"

    def node_dir(self, node_id: int) -> Path:
        return self.root / f"broker-{node_id}"

    def config_file(self, node_id: int) -> Path:
        return self.node_dir(node_id) / "server.properties"

    def process(self, node_id: int, netns: str | None = None) -> Process:
        return Process(
            part=PART,
            name=f"broker-{node_id}",
            argv=self._java_argv("kafka.Kafka", str(self.config_file(node_id)), node_id=node_id),
            cwd=self.node_dir(node_id),
            netns=netns,
        )

    # ---------------------------------------------------------------- install

    def installed(self) -> bool:
        marker = self.home / "libs.txt"
        try:
            names = marker.read_text().split()
        except OSError:
            return False
        return bool(names) and all((self.libs / n).is_file() for n in names)

    def install(self) -> Path:
        """Fetch the broker jars from Maven Central once per version; returns the libs folder."""
        if self.installed():
            return self.libs
        mvn = shutil.which("mvn")
        if not mvn:
            raise PartError(PART, "mvn not found (install Debian's maven package)")
        self.home.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="libs.", dir=self.home))
        try:
            run([mvn, "-B", "-q", "-f", str(POM),
                 f"-Dkafka.version={self.version}", f"-Dscala.binary.version={SCALA_VERSION}",
                 f"-Dmaven.repo.local={cache_dir() / 'maven'}",
                 "dependency:copy-dependencies", f"-DoutputDirectory={staging}"],
                PART, f"fetching Kafka {self.version} jars from Maven Central", timeout=1200)
            names = sorted(p.name for p in staging.glob("*.jar"))
            core = f"kafka_{SCALA_VERSION}-{self.version}.jar"
            if core not in names:
                raise PartError(PART, f"Maven did not produce {core}")
            if self.libs.exists():
                shutil.rmtree(self.libs)
            staging.rename(self.libs)
            (self.home / "libs.txt").write_text("\n".join(names) + "\n")
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return self.libs

    # ------------------------------------------------------------ start/stop

    def start(self, addresses: list[str] | None = None, netns: str | None = None,
              ports: list[tuple[int, int, int]] | None = None) -> dict[str, Any]:
        """Start the three brokers (idempotent) and return the facts a client needs.

        ``addresses``: one per broker (default: ``topology.BROKER_ADDRS`` when ``netns`` is given,
        else 127.0.0.1 three times). ``ports``: (plaintext, controller, tls) per broker (default:
        9092/9093/9094 when the addresses are distinct, else free ports on loopback, kept from the
        last start). ``netns``: run the brokers inside this network namespace.
        """
        nodes = self._plan(addresses, netns, ports)
        self.install()
        java = shutil.which("java")
        if not java:
            raise PartError(PART, "java not found (install Debian's openjdk-17-jre-headless)")

        previous = self._load_state()
        same = previous is not None and previous.get("nodes") == [asdict(n) for n in nodes] \
            and previous.get("netns") == netns and previous.get("version") == self.version
        procs = {n.id: self.process(n.id, netns) for n in nodes}
        if same and all(p.running() for p in procs.values()):
            return self.facts()
        # Anything of ours still running with another layout (or orphaned by a lost pid file) goes.
        if not same:
            self.stop()
        self._kill_orphans(keep={p.pid() for p in procs.values() if p.running()})
        self._check_ports_free(nodes, netns, procs)

        self._ensure_tls(nodes)
        if not same:
            for n in nodes:  # a new layout gets fresh storage: the old one names other endpoints
                shutil.rmtree(self.node_dir(n.id) / "data", ignore_errors=True)
        for n in nodes:
            self._write_config(n, nodes)
        self._format(nodes, netns)
        self._save_state(nodes, netns)

        started: list[Process] = []
        try:
            for n in nodes:
                p = procs[n.id]
                if not p.running():
                    p.start()
                    started.append(p)
            deadline = time.monotonic() + START_TIMEOUT
            for n in nodes:
                for port in (n.plaintext_port, n.tls_port, n.sasl_port):
                    wait_for_port(procs[n.id], n.address, port, netns=netns,
                                  timeout=max(5.0, deadline - time.monotonic()))
            self._wait_ready(nodes, netns)
        except BaseException:
            for p in started:
                p.stop(timeout=5)
            raise
        return self.facts()

    def stop(self) -> None:
        """Stop all brokers (SIGTERM together, SIGKILL after a bound); no JVM or port is left."""
        state = self._load_state() or {}
        nodes = [Node(**n) for n in state.get("nodes", [])]
        procs = [self.process(n.id) for n in nodes] or [self.process(i) for i in (1, 2, 3)]
        pids = [p.pid() for p in procs if p.running()]
        pids += [pid for pid in self._ours() if pid not in pids]  # orphans of a lost pid file
        # All at once: a lone survivor would wait for a controller quorum that is gone.
        _signal_all(pids, signal.SIGTERM)
        if not _wait_gone(pids, STOP_TIMEOUT):
            _signal_all(pids, signal.SIGKILL)
            _wait_gone(pids, 10)
        for p in procs:
            with contextlib.suppress(FileNotFoundError):
                p.pidfile.unlink()
        self._wait_ports_closed(nodes, state.get("netns"), timeout=10)

    def purge(self) -> None:
        """Stop and forget everything but the cache: data, certificates, logs."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        for i in (1, 2, 3):
            with contextlib.suppress(FileNotFoundError):
                self.process(i).logfile.unlink()

    def status(self) -> dict[str, Any]:
        """Each broker's pid and whether it runs; ``state`` is up, down or degraded."""
        state = self._load_state()
        if not state:
            return {"name": PART, "state": "down", "brokers": []}
        brokers = []
        for n in state["nodes"]:
            p = self.process(n["id"], state.get("netns"))
            brokers.append({"id": n["id"], "address": n["address"], "pid": p.pid() if p.running() else None,
                            "running": p.running(), "log": str(p.logfile)})
        up = sum(b["running"] for b in brokers)
        result = {"name": PART, "state": "up" if up == len(brokers) else "down" if up == 0 else "degraded",
                  "brokers": brokers}
        if up:
            facts = self.facts()
            result.update(bootstrap_plaintext=facts["bootstrap_plaintext"], bootstrap_tls=facts["bootstrap_tls"])
        return result

    def facts(self) -> dict[str, Any]:
        """What a client (and the sandbox's target file) needs to know about the running cluster."""
        state = self._load_state()
        if not state:
            raise PartError(PART, "not started")
        nodes = [Node(**n) for n in state["nodes"]]
        admin_cert, admin_key = self._client_files(ADMIN_NAME)
        return {
            "name": PART,
            "version": self.version,
            "cluster_id": CLUSTER_ID,
            "netns": state.get("netns"),
            "bootstrap_plaintext": ",".join(f"{n.address}:{n.plaintext_port}" for n in nodes),
            "bootstrap_tls": ",".join(f"{n.address}:{n.tls_port}" for n in nodes),
            "bootstrap_sasl_ssl": ",".join(f"{n.address}:{n.sasl_port}" for n in nodes),
            "sasl_mechanism": SCRAM_MECHANISM,
            "brokers": [{"id": n.id, "address": n.address, "plaintext_port": n.plaintext_port,
                         "tls_port": n.tls_port, "controller_port": n.controller_port,
                         "sasl_port": n.sasl_port,
                         "principal": n.principal} for n in nodes],
            "ca_file": str(self.ca_file),
            "client_cert": str(admin_cert),
            "client_key": str(admin_key),
            "admin_principal": ADMIN_PRINCIPAL,
            "super_users": self._super_users(nodes),
            "allow_everyone_if_no_acl_found": False,
            "logs": [str(self.process(n.id).logfile) for n in nodes],
        }

    # -------------------------------------------------------- admin helpers

    def client_config(self, tls: bool = True, cert: str | None = ADMIN_NAME) -> dict[str, Any]:
        """kafka-python connection settings: SSL with the CA and (by default) the admin certificate."""
        facts = self.facts()
        if not tls:
            return {"bootstrap_servers": facts["bootstrap_plaintext"].split(","), "security_protocol": "PLAINTEXT"}
        config = {"bootstrap_servers": facts["bootstrap_tls"].split(","), "security_protocol": "SSL",
                  "ssl_cafile": facts["ca_file"]}
        if cert:
            certfile, keyfile = self.issue_client_cert(cert)
            config.update(ssl_certfile=str(certfile), ssl_keyfile=str(keyfile))
        return config

    @contextlib.contextmanager
    def admin(self, **overrides: Any):
        """A KafkaAdminClient as the sandbox admin (over SSL), closed on exit."""
        from kafka import KafkaAdminClient

        client = KafkaAdminClient(**{**self.client_config(), "request_timeout_ms": 15000, **overrides})
        try:
            yield client
        finally:
            client.close()

    def create_topic(self, name: str, partitions: int = 1, replication_factor: int = 3,
                     configs: dict[str, str] | None = None, exist_ok: bool = True) -> None:
        """Create a topic with a replication factor and topic configs (e.g. min.insync.replicas)."""
        from kafka.errors import TopicAlreadyExistsError

        spec = {name: {"num_partitions": partitions, "replication_factor": replication_factor,
                       "configs": {k: str(v) for k, v in (configs or {}).items()}}}
        with self.admin() as admin:
            try:
                admin.create_topics(spec, timeout_ms=30000)
            except TopicAlreadyExistsError:
                if not exist_ok:
                    raise
            self._wait_visible(admin, f"topic {name}", lambda nid: _topic_ready_on(admin, nid, name))

    def topic_configs(self, name: str) -> dict[str, str]:
        """Every config of a topic, name -> value (defaults included)."""
        from kafka.admin import ConfigResource, ConfigResourceType

        with self.admin() as admin:
            result = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)], config_filter="all")
        return {key: entry.get("value") for key, entry in result["topic"][name].items()}

    def create_acls(self, principal: str, resource_type: str, resource_name: str,
                    operations: Iterable[str], pattern_type: str = "LITERAL", host: str = "*",
                    permission: str = "ALLOW") -> list:
        """Grant (or deny) ``operations`` on one resource to ``principal`` (e.g. ``User:app``).

        ``resource_type``: TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID; ``pattern_type``: LITERAL or
        PREFIXED; operations: READ, WRITE, DESCRIBE, CREATE, ALTER, DESCRIBE_CONFIGS, ... or ALL.
        Returns the ACL objects created; a rejected one raises PartError.
        """
        from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

        pattern = ResourcePattern(ResourceType[resource_type.upper()], resource_name,
                                  ACLResourcePatternType[pattern_type.upper()])
        acls = [ACL(principal=principal, host=host, operation=ACLOperation[op.upper()],
                    permission_type=ACLPermissionType[permission.upper()], resource_pattern=pattern)
                for op in operations]
        with self.admin() as admin:
            result = admin.create_acls(acls)
            if result["failed"]:
                raise PartError(PART, f"creating ACLs for {principal} on {resource_type} {resource_name} "
                                      f"failed: {result['failed']}", self.process(1).logfile)
            wanted = set(result["succeeded"])
            self._wait_visible(admin, f"ACLs of {principal} on {resource_type} {resource_name}",
                               lambda nid: wanted <= set(_acls_on(admin, nid, pattern, principal)))
        return result["succeeded"]

    def create_acl_entries(self, entries: Iterable[Any]) -> int:
        """Create many ACLs at once (``asbuilt.model.kafka.AclEntry``-like objects: principal,
        resource_type, resource_name, pattern_type, operation, permission, host) and wait until
        every broker serves all of them; returns how many were created."""
        from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

        acls = list({ACL(principal=e.principal, host=e.host, operation=ACLOperation[e.operation.upper()],
                         permission_type=ACLPermissionType[e.permission.upper()],
                         resource_pattern=ResourcePattern(ResourceType[e.resource_type.upper()], e.resource_name,
                                                          ACLResourcePatternType[e.pattern_type.upper()]))
                     for e in entries})
        if not acls:
            return 0
        from kafka.admin import ACLFilter, ResourcePatternFilter

        with self.admin() as admin:
            result = admin.create_acls(acls)
            if result["failed"]:
                raise PartError(PART, f"creating ACLs failed: {result['failed'][:3]}", self.process(1).logfile)
            wanted = set(result["succeeded"])
            everything = ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)
            self._wait_visible(admin, f"{len(wanted)} ACLs",
                               lambda nid: wanted <= set(_acls_on(admin, nid, everything, None)))
        return len(acls)

    def describe_acls(self, principal: str | None = None, resource_type: str = "ANY",
                      resource_name: str | None = None, pattern_type: str = "ANY") -> list:
        """The ACLs matching a filter (``None`` matches any principal / resource name)."""
        from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePatternFilter, ResourceType

        flt = ACLFilter(principal=principal, host=None, operation=ACLOperation.ANY,
                        permission_type=ACLPermissionType.ANY,
                        resource_pattern=ResourcePatternFilter(ResourceType[resource_type.upper()], resource_name,
                                                               ACLResourcePatternType[pattern_type.upper()]))
        with self.admin() as admin:
            acls, _error = admin.describe_acls(flt)
        return acls

    def delete_all_acls(self) -> int:
        """Delete every ACL (the reference cluster has none: its principals are super users) and
        wait until no broker serves one any more; returns how many were deleted."""
        from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePatternFilter, ResourceType

        flt = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
        with self.admin() as admin:
            acls, _error = admin.describe_acls(flt)
            if not acls:
                return 0
            for _flt, _deleted, error in admin.delete_acls([flt]):
                if error is not None and getattr(error, "errno", 0):
                    raise PartError(PART, f"deleting the ACLs failed: {error}", self.process(1).logfile)
            self._wait_visible(admin, "no ACL", lambda nid: not _acls_on(admin, nid, flt.resource_pattern, None))
        return len(acls)

    def delete_topics(self, names: Iterable[str]) -> None:
        """Delete topics and wait until no broker's metadata lists them."""
        from kafka.errors import UnknownTopicOrPartitionError

        names = sorted(set(names))
        if not names:
            return
        with self.admin() as admin:
            try:
                admin.delete_topics(names, timeout_ms=30000)
            except UnknownTopicOrPartitionError:
                pass  # gone already
            self._wait_visible(admin, f"deletion of topic(s) {', '.join(names)}",
                               lambda nid: not _topics_on(admin, nid, names))

    def _wait_visible(self, admin, what: str, on_node, timeout: float = 30.0) -> None:
        """Wait until every broker serves a change: the controller commits a topic or an ACL,
        and each broker applies it from the metadata log a moment later, so a read that lands
        on another broker right after a write may not see it yet."""
        from kafka.errors import KafkaError

        pending = sorted(b["id"] for b in self.facts()["brokers"])
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while pending and time.monotonic() < deadline:
            for nid in list(pending):
                try:
                    if on_node(nid):
                        pending.remove(nid)
                except KafkaError as exc:
                    last = exc
            if pending:
                time.sleep(0.2)
        if pending:
            why = f" ({type(last).__name__}: {last})" if last else ""
            raise PartError(PART, f"{what} not visible on broker(s) {pending} after {timeout:.0f}s{why}",
                            self.process(pending[0]).logfile)

    def issue_client_cert(self, name: str) -> tuple[Path, Path]:
        """A client certificate (CN=name, so principal ``User:name``) signed by the sandbox CA."""
        cert, key = self._client_files(name)
        ca_cert, ca_key = self._load_ca()
        if not (key.is_file() and _cert_covers(cert, ca_cert, None)):
            self._ca().issue_files(cert, key, name, organization=pki.ORG, client=True)
        return cert, key

    # ------------------------------------------------------------ SCRAM users

    @property
    def scram_dir(self) -> Path:
        path = self.root / "scram"
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        return path

    def scram_password_file(self, user: str) -> Path:
        """The 0600 file holding ``user``'s SCRAM password (made on first use, kept across starts)."""
        if not re.fullmatch(r"[A-Za-z0-9._-]+", user):
            raise PartError(PART, f"bad SCRAM user name {user!r}")
        path = self.scram_dir / f"{user}.password"
        if not path.is_file():
            import secrets

            write_private(path, secrets.token_urlsafe(24).encode())
        return path

    def scram_users_on(self) -> list[str]:
        """The users that have SCRAM credentials on the cluster (as one broker answers)."""
        with self.admin() as admin:
            return sorted(admin.describe_user_scram_credentials())

    def scram_user(self, user: str) -> dict[str, str]:
        """Create (or reset) ``user``'s SCRAM-SHA-512 credential with the password of its file and
        wait until every broker authenticates it; returns {principal, username, password_file}."""
        return self.scram_users([user])[user]

    def scram_users(self, users: Iterable[str]) -> dict[str, dict[str, str]]:
        """``scram_user`` for several users at once (one AlterUserScramCredentials, one wait)."""
        from kafka.admin import UserScramCredentialUpsertion

        users = sorted(set(users))
        if not users:
            return {}
        files = {u: self.scram_password_file(u) for u in users}
        upserts = [UserScramCredentialUpsertion(u, SCRAM_MECHANISM, files[u].read_text().strip()) for u in users]
        with self.admin() as admin:
            errors = {u: e for u, e in admin.alter_user_scram_credentials(upserts).items() if e}
        if errors:
            user, error = sorted(errors.items())[0]
            raise PartError(PART, f"creating SCRAM user {user} failed: {error}", self.process(1).logfile)
        self._wait_scram(files)
        return {u: {"principal": f"User:{u}", "username": u, "password_file": str(files[u])} for u in users}

    def delete_scram_users(self, keep: Iterable[str] = ()) -> list[str]:
        """Delete every SCRAM credential but those of ``keep``; returns the users deleted."""
        from kafka.admin import UserScramCredentialDeletion

        keep = set(keep)
        with self.admin() as admin:
            described = admin.describe_user_scram_credentials()
            gone = []
            for user, info in described.items():
                if user in keep:
                    continue
                dels = [UserScramCredentialDeletion(user, ci["mechanism"]) for ci in info["credential_infos"]]
                if dels:
                    errors = [e for e in admin.alter_user_scram_credentials(dels).values() if e]
                    if errors:
                        raise PartError(PART, f"deleting SCRAM user {user} failed: {errors[0]}",
                                        self.process(1).logfile)
                    gone.append(user)
            if gone:
                self._wait_visible(admin, f"deletion of SCRAM users {sorted(gone)}",
                                   lambda nid: not set(gone) & set(_scram_users_on(admin, nid)))
        return sorted(gone)

    def sasl_client_config(self, user: str) -> dict[str, Any]:
        """kafka-python settings for ``user`` over SASL_SSL (password read from its file)."""
        facts = self.facts()
        return {"bootstrap_servers": facts["bootstrap_sasl_ssl"].split(","), "security_protocol": "SASL_SSL",
                "ssl_cafile": facts["ca_file"], "sasl_mechanism": SCRAM_MECHANISM,
                "sasl_plain_username": user,
                "sasl_plain_password": self.scram_password_file(user).read_text().strip()}

    def _wait_scram(self, files: dict[str, Path], timeout: float = 30.0) -> None:
        """Each broker applies a credential from the metadata log a moment after the controller
        commits it: wait until a SASL_SSL handshake as each user succeeds on every broker."""
        nodes = [Node(**n) for n in (self._load_state() or {}).get("nodes", [])]
        spec = {"servers": [f"{n.address}:{n.sasl_port}" for n in nodes], "ca": str(self.ca_file),
                "users": {u: str(f) for u, f in files.items()}, "timeout": timeout}
        argv = [sys.executable, "-c", _SCRAM_PROBE, json.dumps(spec)]
        netns = (self._load_state() or {}).get("netns")
        if netns:
            argv = ["ip", "netns", "exec", netns, *argv]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 30)
        if res.returncode != 0:
            reason = (res.stdout.strip().splitlines() or res.stderr.strip().splitlines() or ["?"])[-1]
            raise PartError(PART, f"SCRAM users not usable on every broker: {reason}", self.process(1).logfile)

    # -------------------------------------------------------------- internals

    def _plan(self, addresses, netns, ports) -> list[Node]:
        if addresses is None:
            addresses = list(topology.BROKER_ADDRS) if netns else ["127.0.0.1"] * 3
        addresses = [str(a) for a in addresses]
        if len(addresses) != 3:
            raise PartError(PART, f"needs 3 broker addresses, got {len(addresses)}")
        for a in addresses:
            if not topology.in_sandbox_net(a):
                raise PartError(PART, f"refusing to bind to {a}: not loopback nor in {topology.NET_CIDR}")
        if ports is None:
            if len(set(addresses)) == 3:
                ports = [(topology.BROKER_PLAINTEXT_PORT, topology.BROKER_CONTROLLER_PORT,
                          topology.BROKER_TLS_PORT, topology.BROKER_SASL_PORT)] * 3
            else:
                previous = self._load_state()
                if previous and [n["address"] for n in previous["nodes"]] == addresses \
                        and previous.get("netns") == netns \
                        and all("sasl_port" in n for n in previous["nodes"]):
                    ports = [tuple(Node(**n).all_ports()) for n in previous["nodes"]]
                else:
                    ports = [()] * 3
        if len(ports) != 3:
            raise PartError(PART, f"needs 3 port triples, got {len(ports)}")
        # (plaintext, controller, tls[, sasl]): a missing port is a free one on loopback (the
        # standard one on distinct addresses)
        chosen: set[int] = {p for triple in ports for p in triple}
        filled = []
        for triple in ports:
            triple = list(triple)
            while len(triple) < 4:
                if len(triple) == 3 and len(set(addresses)) == 3:
                    triple.append(topology.BROKER_SASL_PORT)
                    continue
                p = free_port()
                if p not in chosen:
                    chosen.add(p)
                    triple.append(p)
            filled.append(tuple(triple))
        ports = filled
        endpoints = [(a, p) for a, triple in zip(addresses, ports) for p in triple]
        if len(set(endpoints)) != len(endpoints):
            raise PartError(PART, f"brokers' address:port pairs collide: {endpoints}")
        return [Node(i + 1, a, *map(int, triple)) for i, (a, triple) in enumerate(zip(addresses, ports))]

    def _load_state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def _save_state(self, nodes: list[Node], netns: str | None) -> None:
        data = {"version": self.version, "cluster_id": CLUSTER_ID, "netns": netns,
                "nodes": [asdict(n) for n in nodes]}
        self.state_file.write_text(json.dumps(data, indent=2) + "\n")

    def _super_users(self, nodes: list[Node]) -> list[str]:
        users = [n.principal for n in nodes] + [ADMIN_PRINCIPAL]
        if self.anonymous_admin:
            users.append("User:ANONYMOUS")
        return users

    def _java_argv(self, main: str, *args: str, node_id: int | None = None) -> list[str]:
        log4j = self.root / "log4j.properties"
        if not log4j.is_file() or log4j.read_text() != LOG4J:
            log4j.write_text(LOG4J)
        logs_dir = self.node_dir(node_id) / "logs" if node_id else self.root / "logs"
        return [
            shutil.which("java") or "java",
            f"-Xmx{self.heap}", "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Xss512k", "-XX:MaxMetaspaceSize=128m",
            "-Djava.awt.headless=true", "-Djava.net.preferIPv4Stack=true",
            f"-Dlog4j.configuration=file:{log4j}", f"-Dkafka.logs.dir={logs_dir}",
            "-cp", f"{self.libs}/*", main, *args,
        ]

    def _write_config(self, n: Node, nodes: list[Node]) -> None:
        d = self.node_dir(n.id)
        (d / "data").mkdir(parents=True, exist_ok=True)
        voters = ",".join(f"{m.id}@{m.address}:{m.controller_port}" for m in nodes)
        props = {
            "process.roles": "broker,controller",
            "node.id": n.id,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://{n.address}:{n.plaintext_port},SSL://{n.address}:{n.tls_port},"
                         f"SASL_SSL://{n.address}:{n.sasl_port},CONTROLLER://{n.address}:{n.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{n.address}:{n.plaintext_port},SSL://{n.address}:{n.tls_port},"
                                    f"SASL_SSL://{n.address}:{n.sasl_port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            # SASL_SSL: SCRAM-SHA-512 users (credentials in the KRaft metadata log), no client cert
            "listener.name.sasl_ssl.sasl.enabled.mechanisms": SCRAM_MECHANISM,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "listener.name.sasl_ssl.ssl.client.auth": "none",
            "sasl.enabled.mechanisms": SCRAM_MECHANISM,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "SSL",
            "log.dirs": d / "data",
            # TLS: PEM files made by the sandbox
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": self.tls_dir / f"broker-{n.id}.pem",
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": self.ca_file,
            "ssl.endpoint.identification.algorithm": "https",
            "ssl.client.auth": "requested",
            "listener.name.ssl.ssl.client.auth": "requested",
            "listener.name.controller.ssl.client.auth": "required",
            "ssl.principal.mapping.rules": "RULE:^CN=([^,]+).*$/$1/,DEFAULT",
            # authorization
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": ";".join(self._super_users(nodes)),
            "allow.everyone.if.no.acl.found": "false",
            # durability, as the reference architecture wants it
            "default.replication.factor": 3,
            "min.insync.replicas": 2,
            "offsets.topic.replication.factor": 3,
            "transaction.state.log.replication.factor": 3,
            "transaction.state.log.min.isr": 2,
            "num.partitions": 1,
            "auto.create.topics.enable": "false",
            "unclean.leader.election.enable": "false",
            # small: 2 shared cores
            "num.network.threads": 2,
            "num.io.threads": 2,
            "background.threads": 2,
            "num.recovery.threads.per.data.dir": 1,
            "num.replica.fetchers": 1,
            "log.cleaner.threads": 1,
            "log.cleaner.dedupe.buffer.size": 8 * 1024 * 1024,
            "offsets.topic.num.partitions": 5,
            "group.initial.rebalance.delay.ms": 0,
            "log.segment.bytes": 16 * 1024 * 1024,
            "log.retention.hours": 24,
            "controlled.shutdown.enable": "true",
            "broker.heartbeat.interval.ms": 1000,
            "broker.session.timeout.ms": 9000,
        }
        text = "# written by asbuilt_sandbox.parts.kafka; rewritten at every start\n"
        text += "".join(f"{k}={v}\n" for k, v in props.items())
        self.config_file(n.id).write_text(text)

    def _format(self, nodes: list[Node], netns: str | None) -> None:
        """Format storage with the fixed cluster id where it is not yet formatted (in parallel)."""
        todo = [n for n in nodes if not (self.node_dir(n.id) / "data" / "meta.properties").is_file()]
        if not todo:
            return
        jobs = []
        for n in todo:
            log = self.root / f"format-broker-{n.id}.log"
            argv = self._java_argv("kafka.tools.StorageTool", "format", "--ignore-formatted",
                                   "-t", CLUSTER_ID, "-c", str(self.config_file(n.id)))
            argv[1] = "-Xmx128m"
            with open(log, "wb") as fh:
                jobs.append((n, log, subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT,
                                                      stdin=subprocess.DEVNULL)))
        for n, log, proc in jobs:
            try:
                rc = proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = -9
            if rc != 0:
                tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-2:])
                raise PartError(PART, f"formatting broker-{n.id} storage failed (exit {rc}): {tail}", log)

    def _check_ports_free(self, nodes: list[Node], netns: str | None, procs: dict[int, Process]) -> None:
        down = [n for n in nodes if not procs[n.id].running()]
        # A JVM that was just killed holds its sockets until its last thread is gone: allow a moment.
        busy = self._wait_ports_closed(down, netns, timeout=10)
        if busy:
            n, port = busy[0]
            raise PartError(PART, f"{n.address}:{port} (broker-{n.id}) is taken by another program",
                            procs[n.id].logfile)

    def _wait_ports_closed(self, nodes: list[Node], netns: str | None, timeout: float) -> list[tuple[Node, int]]:
        """Wait until the nodes' ports can be bound again; returns those still taken after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            busy = _unbindable([(n.address, port) for n in nodes for port in n.all_ports()], netns)
            taken = [(n, port) for n in nodes for port in n.all_ports() if (n.address, port) in busy]
            if not taken or time.monotonic() > deadline:
                return taken
            time.sleep(0.25)

    def _ours(self) -> list[int]:
        """Pids of JVMs running a broker of this state directory, found by their config path."""
        marker = str(self.root) + "/broker-"
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            args = [a.decode(errors="replace") for a in argv]
            if "kafka.Kafka" in args and any(a.startswith(marker) and a.endswith("server.properties") for a in args):
                pids.append(int(entry.name))
        return pids

    def _kill_orphans(self, keep: set[int | None] = frozenset()) -> None:
        pids = [p for p in self._ours() if p not in keep]
        _signal_all(pids, signal.SIGTERM)
        if not _wait_gone(pids, 15):
            _signal_all(pids, signal.SIGKILL)
            _wait_gone(pids, 10)

    def _wait_ready(self, nodes: list[Node], netns: str | None) -> None:
        """Each broker answers a metadata request over SSL, and the cluster shows 3 unfenced brokers."""
        cert, key = self.issue_client_cert(ADMIN_NAME)
        spec = {"servers": [f"{n.address}:{n.tls_port}" for n in nodes], "ca": str(self.ca_file),
                "cert": str(cert), "key": str(key), "timeout": START_TIMEOUT}
        if netns:
            argv = ["ip", "netns", "exec", netns, sys.executable, "-c", _READY_PROBE, json.dumps(spec)]
        else:
            argv = [sys.executable, "-c", _READY_PROBE, json.dumps(spec)]
        try:
            res = subprocess.run(argv, capture_output=True, text=True, timeout=START_TIMEOUT + 30)
        except subprocess.TimeoutExpired as exc:
            raise PartError(PART, "brokers did not form a cluster in time", self.process(1).logfile) from exc
        if res.returncode != 0:
            reason = (res.stdout.strip().splitlines() or res.stderr.strip().splitlines() or ["?"])[-1]
            broker = next((n.id for n in nodes if f":{n.tls_port}" in reason), 1)
            dead = [n.id for n in nodes if not self.process(n.id).running()]
            if dead:
                broker = dead[0]
                reason = f"broker-{broker} exited: {self.process(broker).log_tail(2)!r}"
            raise PartError(PART, f"cluster not ready: {reason}", self.process(broker).logfile)

    def _ensure_tls(self, nodes: list[Node]) -> None:
        self.tls_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.tls_dir, 0o700)
        ca_cert, ca_key = self._load_ca()
        for n in nodes:
            pem = self.tls_dir / f"broker-{n.id}.pem"
            if not _cert_covers(pem, ca_cert, n.address):
                key_file = self.tls_dir / f"broker-{n.id}.key"
                crt_file = self.tls_dir / f"broker-{n.id}.crt"
                self._ca().issue_files(crt_file, key_file, f"kafka-broker-{n.id}", organization=pki.ORG,
                                       client=True, server=True, ips=[n.address], dns=["localhost"])
                # Kafka's file-based PEM keystore: the PKCS#8 key, then the certificate chain.
                pem.write_bytes(key_file.read_bytes() + crt_file.read_bytes() + self.ca_file.read_bytes())
                os.chmod(pem, 0o600)
        self.issue_client_cert(ADMIN_NAME)

    def _ca(self) -> pki.CA:
        return pki.CA.ensure(self.ca_file, self.tls_dir / "ca.key", CA_NAME)

    def _load_ca(self):
        ca = self._ca()
        return ca.cert, ca.key

    def _client_files(self, name: str) -> tuple[Path, Path]:
        return self.tls_dir / f"client-{name}.crt", self.tls_dir / f"client-{name}.key"


# -------------------------------------------------------------------- helpers

LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=INFO
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.org.apache.kafka.common.network.Selector=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
"""

# Run as a child (inside the namespace when there is one): exit 0 once every broker answered
# a metadata request over SSL and the cluster lists all of them unfenced; else print why, exit 1.
_READY_PROBE = r"""
import json, logging, sys, time
logging.disable(logging.CRITICAL)
from kafka import KafkaAdminClient
spec = json.loads(sys.argv[1])
deadline = time.monotonic() + spec["timeout"]
pending = list(spec["servers"])
reason = "no answer"
while time.monotonic() < deadline:
    server = pending[0]
    try:
        admin = KafkaAdminClient(bootstrap_servers=[server], security_protocol="SSL",
                                 ssl_cafile=spec["ca"], ssl_certfile=spec["cert"], ssl_keyfile=spec["key"],
                                 request_timeout_ms=5000, bootstrap_timeout_ms=5000)
        try:
            info = admin.describe_cluster()
        finally:
            admin.close()
        brokers = [b for b in info.get("brokers", []) if not b.get("is_fenced")]
        if len(brokers) >= len(spec["servers"]):
            pending.pop(0)
            if not pending:
                print("ready"); sys.exit(0)
            continue
        reason = f"{server}: {len(brokers)} of {len(spec['servers'])} brokers registered"
    except Exception as exc:
        reason = f"{server}: {type(exc).__name__}: {exc}"
    time.sleep(0.5)
print(reason)
sys.exit(1)
"""


# Run as a child: exit 0 once a SASL_SSL (SCRAM) client can fetch metadata from every broker.
_SCRAM_PROBE = r"""
import json, logging, sys, time
logging.disable(logging.CRITICAL)
from kafka import KafkaAdminClient
spec = json.loads(sys.argv[1])
deadline = time.monotonic() + spec["timeout"]
pending = [(u, open(f).read().strip(), s) for u, f in sorted(spec["users"].items()) for s in spec["servers"]]
reason = "no answer"
while pending and time.monotonic() < deadline:
    user, password, server = pending[0]
    try:
        admin = KafkaAdminClient(bootstrap_servers=[server], security_protocol="SASL_SSL", ssl_cafile=spec["ca"],
                                 sasl_mechanism="SCRAM-SHA-512", sasl_plain_username=user,
                                 sasl_plain_password=password, request_timeout_ms=5000, bootstrap_timeout_ms=5000)
        admin.close()
        pending.pop(0)
        continue
    except Exception as exc:
        reason = f"{user}@{server}: {type(exc).__name__}: {str(exc)[:200]}"
    time.sleep(0.3)
if pending:
    print(reason); sys.exit(1)
print("ok")
"""


# Which (address, port) pairs cannot be bound (as a listener would): prints them as JSON.
_BIND_PROBE = r"""
import json, socket, sys
busy = []
for address, port in json.loads(sys.argv[1]):
    s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((address, port))
    except OSError:
        busy.append([address, port])
    finally:
        s.close()
print(json.dumps(busy))
"""


def _unbindable(endpoints: list[tuple[str, int]], netns: str | None) -> set[tuple[str, int]]:
    """The endpoints a broker could not listen on now (a bind test, in the namespace if any).

    A bind test rather than a connect: a program that listens but never accepts fills its
    backlog, after which connects time out and would look like a free port."""
    if not endpoints:
        return set()
    argv = [sys.executable, "-c", _BIND_PROBE, json.dumps(endpoints)]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return {(a, int(p)) for a, p in json.loads(res.stdout)}
    except (subprocess.TimeoutExpired, OSError, ValueError):
        # The namespace is gone (nothing can be listening there) or the probe failed: treat as free.
        return set()


def _on_node(admin, node_id: int, request):
    """Send one request to one broker (kafka-python's admin client picks a node by itself)."""
    return admin._manager.run(admin._manager.send, request, node_id)


def _topic_ready_on(admin, node_id: int, topic: str) -> bool:
    from kafka.protocol.metadata import MetadataRequest

    request = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)],
                              allow_auto_topic_creation=False)
    response = _on_node(admin, node_id, request)
    return any(t.name == topic and t.error_code == 0 and t.partitions
               and all(p.leader_id >= 0 for p in t.partitions) for t in response.topics)


def _scram_users_on(admin, node_id: int) -> list[str]:
    """The users with SCRAM credentials as one broker answers."""
    from kafka.protocol.admin import DescribeUserScramCredentialsRequest

    response = _on_node(admin, node_id, DescribeUserScramCredentialsRequest(users=None))
    return sorted(r.user for r in response.results if not r.error_code)


def _topics_on(admin, node_id: int, topics: list[str]) -> list[str]:
    """Which of ``topics`` one broker's metadata still lists."""
    from kafka.protocol.metadata import MetadataRequest

    request = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=t) for t in topics],
                              allow_auto_topic_creation=False)
    response = _on_node(admin, node_id, request)
    return [t.name for t in response.topics if t.error_code == 0]


def _acls_on(admin, node_id: int, pattern, principal: str | None) -> list:
    from kafka.admin import ACLOperation, ACLPermissionType
    from kafka.protocol.admin import DescribeAclsRequest

    request = DescribeAclsRequest(
        resource_type_filter=pattern.resource_type, resource_name_filter=pattern.resource_name,
        pattern_type_filter=pattern.pattern_type, principal_filter=principal, host_filter=None,
        operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY)
    acls, _error = admin._convert_describe_acls_response_to_acls(_on_node(admin, node_id, request))
    return acls


def _gone(pid: int) -> bool:
    """True once every thread of the process has exited (a JVM's main thread turns zombie while
    its other threads, and so its sockets, live on for a moment)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return True
    for task in tasks:
        try:
            if (task / "stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                return False
        except (OSError, IndexError):
            continue
    return True


def _wait_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_gone(p) for p in pids):
            return True
        time.sleep(0.1)
    return all(_gone(p) for p in pids)


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _cert_covers(pem: Path, ca_cert, address: str | None) -> bool:
    """True when the PEM's certificate exists, was signed by this CA, is not about to expire,
    and (for a broker) names ``address``."""
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(pem.read_bytes())
    except (OSError, ValueError):
        return False
    if not certs:
        return False
    cert = certs[0]
    if cert.issuer != ca_cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except Exception:  # noqa: BLE001 - any verification failure means "reissue"
        return False
    if cert.not_valid_after_utc < dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1):
        return False
    if address is None:
        return True
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return ipaddress.ip_address(address) in sans.get_values_for_type(x509.IPAddress)
