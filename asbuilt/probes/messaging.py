"""MSG-01: one message produced to a platform topic and consumed back, with the target's client settings.

The producer and consumer take ``KafkaProbe.client_config()`` (bootstrap servers, security
protocol, TLS CA and client certificate or SASL) so the path is the one the platform uses.
The message has a unique id (key and header) and a random payload; it is produced with
``acks=all`` and read back from the partition and offset the broker acknowledged, by a
consumer without a consumer group (no group ACL or offset commit is needed, nothing is left
behind but the one message on the topic). Every wait is bounded by the profile's
``consume_timeout_seconds``.

Addresses: the bootstrap servers are checked against ``allowed_networks`` before connecting,
and the brokers the cluster advertises before the first produce request goes to them.

-> {"resource", "topic", "bootstrap", "security_protocol", "message_id", "produced": {...},
    "consumed": {...}, "seconds"}; ``produced.error`` / ``consumed.error`` carry the error class
and its first line; ``*.timed_out`` marks a bound that passed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import time
import uuid

from asbuilt.probes import ProbeError
from asbuilt.probes.network import parse_host_port

_FAIL_ERRORS = ("TopicAuthorizationFailedError", "ClusterAuthorizationFailedError", "GroupAuthorizationFailedError",
                "UnknownTopicOrPartitionError", "SaslAuthenticationFailedError", "AuthenticationFailedError",
                "SSLError", "InvalidTopicError", "RecordTooLargeError", "NotEnoughReplicasError",
                "NotEnoughReplicasAfterAppendError", "PolicyViolationError")


def _err(exc: BaseException) -> dict:
    text = " ".join(str(exc).split())[:200]
    name = type(exc).__name__
    # kafka-python wraps some broker errors (InitProducerId's authorization failure) in a plain
    # KafkaError: the broker's error name in the text decides as well.
    definite = name in _FAIL_ERRORS or any(e in text for e in _FAIL_ERRORS) or any(
        w in name + text for w in ("SSL", "Authoriz", "Authentic", "CERTIFICATE_VERIFY_FAILED"))
    return {"error": f"{name}: {text}" if text else name, "error_class": name, "definite": definite}


def round_trip(kafka_probe, topic: str, timeout: float) -> dict:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.errors import KafkaTimeoutError

    cfg = kafka_probe.client_config()
    kafka_probe._check_addresses(kafka_probe.bootstrap)
    msg_id = str(uuid.uuid4())
    payload = json.dumps({"asbuilt": "MSG-01", "id": msg_id, "nonce": secrets.token_hex(32),
                          "sent": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")},
                         sort_keys=True).encode()
    out: dict = {"resource": f"topic {topic} via {','.join(kafka_probe.bootstrap)}", "topic": topic,
                 "bootstrap": ",".join(kafka_probe.bootstrap), "security_protocol": cfg.get("security_protocol"),
                 "client_certificate": bool(cfg.get("ssl_certfile")), "sasl": cfg.get("sasl_mechanism"),
                 "message_id": msg_id, "payload_bytes": len(payload), "timeout_seconds": timeout,
                 "produced": {}, "consumed": {}}
    t0 = time.monotonic()
    ms = int(timeout * 1000)
    producer = consumer = None
    try:
        try:
            producer = KafkaProducer(**{**cfg, "acks": "all", "retries": 3, "max_block_ms": ms,
                                        "request_timeout_ms": min(ms, int(cfg.get("request_timeout_ms", ms))),
                                        "delivery_timeout_ms": ms + 1000, "linger_ms": 0})
            partitions = producer.partitions_for(topic)
            brokers = producer._metadata.brokers()  # what the cluster advertises: checked before we send
            kafka_probe._check_addresses([f"{b.host}:{b.port}" for b in brokers])
            out["advertised_brokers"] = sorted(f"{b.host}:{b.port}" for b in brokers)
            out["partitions"] = len(partitions or [])
            future = producer.send(topic, key=msg_id.encode(), value=payload,
                                   headers=[("asbuilt-message-id", msg_id.encode())])
            md = future.get(timeout=max(1.0, timeout - (time.monotonic() - t0)))
            out["produced"] = {"ok": True, "partition": md.partition, "offset": md.offset,
                               "seconds": round(time.monotonic() - t0, 3)}
        except KafkaTimeoutError as exc:
            if kafka_probe.refused:  # the guard refused a broker inside the client: that is the reason
                raise kafka_probe.refusal() from None
            out["produced"] = {"ok": False, "timed_out": True, **_err(exc)}
            return out
        except Exception as exc:  # noqa: BLE001 -- every client failure becomes evidence
            if isinstance(exc, ProbeError):
                raise
            if kafka_probe.refused:
                raise kafka_probe.refusal() from None
            out["produced"] = {"ok": False, **_err(exc)}
            return out
        remaining = timeout - (time.monotonic() - t0)
        tp = TopicPartition(topic, out["produced"]["partition"])
        try:
            consumer = KafkaConsumer(**{**cfg, "group_id": None, "enable_auto_commit": False,
                                        "auto_offset_reset": "earliest"})
            consumer.assign([tp])
            consumer.seek(tp, out["produced"]["offset"])
            deadline = time.monotonic() + max(1.0, remaining)
            found = None
            while found is None and time.monotonic() < deadline:
                batch = consumer.poll(timeout_ms=int(max(100, min(1000, (deadline - time.monotonic()) * 1000))))
                for records in batch.values():
                    for r in records:
                        if r.offset == out["produced"]["offset"] or (r.key or b"") == msg_id.encode():
                            found = r
                            break
            if found is None and kafka_probe.refused:
                raise kafka_probe.refusal()
            if found is None:
                out["consumed"] = {"found": False, "timed_out": True,
                                   "waited_for": f"offset {out['produced']['offset']} of {topic}/"
                                                 f"{out['produced']['partition']}"}
            else:
                headers = dict(found.headers or [])
                out["consumed"] = {
                    "found": True, "offset": found.offset, "partition": found.partition,
                    "key_matches": (found.key or b"") == msg_id.encode(),
                    "payload_matches": found.value == payload,
                    "header_matches": headers.get("asbuilt-message-id") == msg_id.encode(),
                    "seconds": round(time.monotonic() - t0, 3),
                }
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, ProbeError):
                raise
            if kafka_probe.refused:
                raise kafka_probe.refusal() from None
            out["consumed"] = {"found": False, **_err(exc)}
        return out
    finally:
        out["seconds"] = round(time.monotonic() - t0, 3)
        for client in (producer, consumer):
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close(timeout=2) if client is producer else client.close()


def broker_ports(servers: str) -> list[int]:
    return [parse_host_port(s, 9092)[1] for s in servers.split(",") if s.strip()]
