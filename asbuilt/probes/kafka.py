"""Read-only Kafka collector: kafka-python's admin client, built from the target's kafka section.

Bounded: every request has the section's ``request_timeout``; the client gives up on a cluster
that does not answer within it (``ProbeError``). Addresses are checked against the target's
``allowed_networks`` before connecting: the bootstrap servers first, then the brokers the cluster
advertises (the client talks to those next). Generic on purpose: HA-07 reads topic replication
and configs; other checks (MSG-01) can take ``client_config()`` for their own clients.
"""

from __future__ import annotations

import contextlib
from typing import Any

from asbuilt.model.facts import Unknown
from asbuilt.netguard import NetGuard
from asbuilt.probes import FailureMemo, ProbeError
from asbuilt.probes.network import parse_host_port
from asbuilt.target import KafkaSection, Target

# Kafka requests that failed in this run (every KafkaProbe of the process shares it): not repeated.
KAFKA_FAILED = FailureMemo()


def guarded_client(guard: NetGuard, refused: list[ProbeError]):
    """A ``kafka_client`` factory for kafka-python's admin, producer and consumer: the client's
    connection manager asks the guard before it opens each connection (the bootstrap servers and
    every broker the metadata advertises). A refusal fails that connection before any packet and
    is kept in ``refused``, so the caller reports it rather than the client's later timeout."""
    from kafka.net.compat import KafkaNetClient

    def make(**configs):
        client = KafkaNetClient(**configs)
        manager = getattr(client, "_manager", None)
        build = getattr(manager, "_build_transport", None)
        if build is None:  # another kafka-python layout: refuse rather than connect unchecked
            raise ProbeError("kafka: this kafka-python version cannot be bounded by allowed_networks")

        async def checked(node, timeout_at=None):
            try:
                guard.check(node.host, node.port)
            except ProbeError as exc:
                refused.append(exc)
                raise
            return await build(node, timeout_at=timeout_at)

        manager._build_transport = checked
        return client

    return make


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


class KafkaProbe:
    def __init__(self, section: KafkaSection, target: Target | None = None, bootstrap_servers: str | None = None):
        self.section = section
        self.guard = NetGuard(target.allowed_networks if target else [])
        self.refused: list[ProbeError] = []  # connections the guard refused inside a client
        servers = bootstrap_servers or section.bootstrap_servers
        if not servers:
            raise ProbeError("kafka: no bootstrap servers (set kafka.bootstrap_servers in the target)")
        self.bootstrap = [s.strip() for s in servers.split(",") if s.strip()]
        self._admin = None
        self._cache: dict[tuple, Any] = {}

    def client_config(self) -> dict[str, Any]:
        """kafka-python settings for any client (admin, producer, consumer) of this cluster."""
        s = self.section
        timeout_ms = int(s.request_timeout * 1000)
        cfg: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": s.security_protocol,
            "request_timeout_ms": timeout_ms,
            "connections_max_idle_ms": max(timeout_ms * 4, 60000),
            "reconnect_backoff_max_ms": 2000,
            "client_id": "asbuilt",
        }
        if self.guard.active:
            cfg["kafka_client"] = guarded_client(self.guard, self.refused)
        if s.ssl_cafile:
            cfg["ssl_cafile"] = str(s.ssl_cafile)
        if s.ssl_certfile:
            cfg["ssl_certfile"] = str(s.ssl_certfile)
        if s.ssl_keyfile:
            cfg["ssl_keyfile"] = str(s.ssl_keyfile)
        if s.sasl_mechanism:
            cfg["sasl_mechanism"] = s.sasl_mechanism
            if s.sasl_username:
                cfg["sasl_plain_username"] = s.sasl_username
            if s.sasl_password:
                cfg["sasl_plain_password"] = s.sasl_password.resolve()
        return cfg

    def _check_addresses(self, servers: list[str]) -> None:
        for server in servers:
            host, port = parse_host_port(server, 9092)
            self.guard.check(host, port)

    def refusal(self) -> ProbeError | None:
        """The first connection the guard refused inside a client (a fresh copy to raise), if any."""
        return type(self.refused[0])(*self.refused[0].args) if self.refused else None

    def admin(self):
        if self._admin is None:
            key = FailureMemo.key("kafka", self.bootstrap, "admin")
            self._admin = KAFKA_FAILED.call(key, self._connect_admin)
        return self._admin

    def _connect_admin(self):
        self._check_addresses(self.bootstrap)
        from kafka import KafkaAdminClient

        try:
            admin = KafkaAdminClient(**self.client_config(),
                                     bootstrap_timeout_ms=int(self.section.request_timeout * 1000))
        except Exception as exc:  # NoBrokersAvailable, SSL errors, timeouts
            if self.refused:
                raise self.refusal() from None
            if isinstance(exc, ProbeError):
                raise
            raise ProbeError(f"kafka: cannot connect to {','.join(self.bootstrap)}: {_first_line(exc)}") from None
        self._admin = admin
        try:
            brokers = admin.describe_cluster().get("brokers", [])
            self._check_addresses([f"{b['host']}:{b['port']}" for b in brokers])
        except ProbeError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            if self.refused:
                raise self.refusal() from None
            raise ProbeError(f"kafka: describe cluster failed: {_first_line(exc)}") from None
        return admin

    def close(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None

    def describe_cluster(self) -> dict:
        key = ("cluster",)
        if key not in self._cache:
            self._cache[key] = self.admin().describe_cluster()
        return self._cache[key]

    def topics(self, names: list[str]) -> list[dict]:
        """Replication facts per topic: partitions, smallest replication factor, min.insync.replicas."""
        key = ("topics", tuple(names))
        if key not in self._cache:
            self._cache[key] = KAFKA_FAILED.call(FailureMemo.key("kafka", self.bootstrap, "topics", names),
                                                 lambda: self._topics(names))
        return self._cache[key]

    def _topics(self, names: list[str]) -> list[dict]:
        from kafka.admin import ConfigResource, ConfigResourceType

        admin = self.admin()
        try:
            described = admin.describe_topics(list(names))
        except Exception as exc:
            raise self.refusal() or ProbeError(f"kafka: describe topics failed: {_first_line(exc)}") from None
        meta = {t.get("name") or t.get("topic"): t for t in described}
        existing = [n for n in names if n in meta and not meta[n].get("error_code")]
        configs: dict[str, dict] = {}
        if existing:
            try:
                result = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in existing],
                                                config_filter="all")
            except Exception as exc:
                raise self.refusal() or ProbeError(f"kafka: describe configs failed: {_first_line(exc)}") from None
            configs = _topic_configs(result)
        out = []
        for name in names:
            t = meta.get(name)
            if t is None or t.get("error_code"):
                out.append({"resource": f"topic {name}", "topic": name, "exists": False,
                            "error_code": (t or {}).get("error_code")})
                continue
            parts = t.get("partitions") or []
            rfs = [len(p.get("replica_nodes") or p.get("replicas") or []) for p in parts]
            isr_entry = configs.get(name, {}).get("min.insync.replicas") or {}
            where = f"kafka {','.join(self.bootstrap)}"
            try:
                isr = int(isr_entry.get("value"))
            except (TypeError, ValueError):  # not a value: the cluster did not say (never judged as 0)
                isr = Unknown("DescribeConfigs gave no min.insync.replicas for the topic", where)
            rf = min(rfs) if rfs else Unknown("DescribeTopics gave no partitions (so no replicas) for the topic", where)
            out.append({
                "resource": f"topic {name}", "topic": name, "exists": True, "partitions": len(parts),
                "replication_factor": rf,
                "min_insync_replicas": isr,
                "min_insync_replicas_source": isr_entry.get("config_source"),
                "under_replicated_partitions": sum(
                    1 for p in parts if len(p.get("isr_nodes") or []) < len(p.get("replica_nodes") or [])),
                "cluster": ",".join(self.bootstrap),
            })
        return out


def _topic_configs(result: Any) -> dict[str, dict]:
    """kafka-python 3 answers ``{"topic": {name: {key: {"value", "config_source", ...}}}}``; 2.x
    answers a list of DescribeConfigsResponse objects: both -> {topic: {key: {"value", "config_source"}}}."""
    if isinstance(result, dict):
        return {name: dict(entries) for name, entries in (result.get("topic") or {}).items()}
    out: dict[str, dict] = {}
    for response in result or []:
        for res in getattr(response, "resources", []) or []:
            # (error_code, error_message, resource_type, resource_name, config_entries)
            name, entries = res[3], res[4]
            out[name] = {e[0]: {"value": e[1], "config_source": None} for e in entries}
    return out
