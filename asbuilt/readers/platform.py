"""Readers of the platform's own evidence into asbuilt.model.platform: the platform database
(PostgreSQL, read-only, address checked), the installer Job's log (the pod log or CloudWatch
Logs, as the target says), a message's round trip through Kafka. Each reads through the
probe that owns the connection (asbuilt.probes.*) and gives the model object the units read."""

from __future__ import annotations

from typing import Any

from asbuilt.model.platform import InstallerLog, MessageExchange, PlatformState
from asbuilt.probes import ProbeError


def platform_state(target: Any) -> PlatformState:
    """The platform tables now (asbuilt.probes.platform_db.snapshot)."""
    from asbuilt.probes import platform_db

    section = target.postgres
    return PlatformState(f"postgres {section.host}/{section.dbname}", platform_db.snapshot(section, target))


def installer_log(job: dict, target: Any, kube: Any, aws: Any) -> InstallerLog:
    """The log of the installer Job ``job`` (the facts of steps/platform.py's Given), from where
    the target ships it (``installer.logs``), with URL query strings removed. ``aws``: the run's
    AWS probe, or a function giving it (called only when the log is in CloudWatch)."""
    from asbuilt.probes import installer_logs

    logs = target.installer.logs if target.installer else None
    if logs is not None and logs.source == "cloudwatch":
        if not logs.log_group:
            raise ProbeError("installer.logs.source is cloudwatch but installer.logs.log_group is not set")
        aws = aws() if callable(aws) else aws
        if aws is None:
            raise ProbeError("installer logs in CloudWatch need the target's aws section")
        raw = installer_logs.from_cloudwatch(aws, logs.log_group, job["name"], logs.stream_prefix)
    else:
        if job.get("job") is None:
            raise ProbeError(f"{job['resource']} no longer exists, so its pod log cannot be read; ship the "
                             "installer's logs to CloudWatch (installer.logs.source: cloudwatch)")
        raw = installer_logs.from_kubernetes(kube, job["job"])
    return InstallerLog(raw["resource"], raw["source"], [installer_logs.redact(line) for line in raw["lines"]])


def message_exchange(target: Any, topic: str, timeout: float) -> MessageExchange:
    """One message produced to ``topic`` and consumed back through the target's Kafka client settings."""
    from asbuilt.probes.kafka import KafkaProbe
    from asbuilt.probes.messaging import round_trip

    probe = KafkaProbe(target.kafka, target)
    try:
        facts = round_trip(probe, topic, timeout)
    finally:
        probe.close()
    return MessageExchange(facts["resource"], facts)
