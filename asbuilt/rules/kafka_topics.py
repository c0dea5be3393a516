"""HA-07: the platform topics' replication, read from the Kafka cluster itself (live-only).

Evidence, one entry per topic::

    {"resource": "topic conncentric.events", "topic": "conncentric.events", "exists": true,
     "partitions": 3, "replication_factor": 3 (the smallest of its partitions),
     "min_insync_replicas": 2, "min_insync_replicas_source": "DYNAMIC_TOPIC_CONFIG" | "DEFAULT_CONFIG" | ...,
     "cluster": bootstrap servers}
"""

from __future__ import annotations

from asbuilt.rules import Finding, Verdict, errored, summarise


def topic_replication(topics: list[dict], min_replication_factor: int, min_insync_replicas: int) -> Verdict:
    if not topics:
        return errored("HA-07", "the target names no platform topics (kafka.topics) to check")
    findings = []
    for t in topics:
        if not t.get("exists", True):
            findings.append(Finding(t['resource'], "does not exist on the cluster"))
            continue
        rf = t.get("replication_factor")
        if not isinstance(rf, int) or rf < min_replication_factor:
            findings.append(Finding(t['resource'], f"replication factor {rf}, below {min_replication_factor}"))
        isr = t.get("min_insync_replicas")
        if not isinstance(isr, int) or isr < min_insync_replicas:
            findings.append(Finding(t['resource'], f"min.insync.replicas {isr}, below {min_insync_replicas}"))
        elif isinstance(rf, int) and isr > rf:
            findings.append(Finding(t['resource'], f"min.insync.replicas {isr} exceeds its replication factor {rf} "
                            "(producers with acks=all cannot write)"))
    ok = ", ".join(f"{t['resource']}: replication {t.get('replication_factor')}, min.insync.replicas "
                   f"{t.get('min_insync_replicas')}" for t in topics)
    return summarise(
        "HA-07", findings, ok, topics,
        f"give each platform topic replication factor >= {min_replication_factor} (kafka-reassign-partitions.sh "
        f"with a new replica plan) and min.insync.replicas >= {min_insync_replicas} (kafka-configs.sh --alter "
        "--entity-type topics); set default.replication.factor and min.insync.replicas in the MSK configuration "
        "for new topics",
    )
