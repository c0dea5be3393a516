"""HA-*: Multi-AZ, backups, broker and node spread, replication."""

from __future__ import annotations

from asbuilt.rules import Verdict, errored, summarise


def rds_multi_az(instances: list[dict]) -> Verdict:
    """HA-01. instances: [{"resource": arn, "multi_az": bool}]"""
    if not instances:
        return errored("HA-01", "no RDS instance found on the target to check")
    findings = [
        f"{i['resource']}: MultiAZ is {str(i.get('multi_az')).lower()}"
        for i in instances
        if i.get("multi_az") is not True
    ]
    return summarise(
        "HA-01", findings,
        ", ".join(f"{i['resource']}: MultiAZ true" for i in instances), instances,
        "enable Multi-AZ on the instance (multi_az = true / MultiAZ: true / modify-db-instance --multi-az; "
        "the conversion adds a standby in another AZ and may cause a brief failover)",
    )


def rds_backups(instances: list[dict], min_retention_days: int, reference_retention_days: int = 7) -> Verdict:
    """HA-02. instances: [{"resource": arn, "backup_retention_days": int}]"""
    if not instances:
        return errored("HA-02", "no RDS instance found on the target to check")
    findings = []
    for i in instances:
        days = i.get("backup_retention_days")
        if not isinstance(days, int) or days < min_retention_days:
            findings.append(f"{i['resource']}: backup retention is {days} day(s), below {min_retention_days}")
    return summarise(
        "HA-02", findings,
        ", ".join(f"{i['resource']}: backups kept {i['backup_retention_days']} day(s)" for i in instances),
        instances,
        f"set the backup retention period to at least {min_retention_days} day(s), reference "
        f"{reference_retention_days} (backup_retention_period / BackupRetentionPeriod)",
    )
