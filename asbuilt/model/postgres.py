"""A PostgreSQL server as a client sees it (CDK-DB-01/02): what the live reader found by
connecting with the deployment's own settings. Every field is a value or an Unknown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asbuilt.model.facts import Unknown


@dataclass
class DatabaseServer:
    resource: str                        # "postgresql://host:port/dbname as user"
    engine: str | Unknown                # "postgres" (from version())
    version: str | Unknown               # server_version, e.g. "15.8"
    session_ssl: bool | Unknown          # pg_stat_ssl.ssl for asbuilt's own session
    non_tls_refused: bool | Unknown      # a connection attempt without TLS was refused by the server
    non_tls_evidence: str = ""           # the server's refusal message (or that it was accepted)
    # HA / backups (CDK-DB-02): from RDS when the database is RDS, else from the server itself
    rds_instance: str | None = None
    multi_az: bool | Unknown | None = None
    backup_retention_days: int | Unknown | None = None
    streaming_replicas: int | Unknown | None = None   # rows in pg_stat_replication
    backup_evidence: str | Unknown | None = None      # what the target names as backup evidence
    where: str = ""
    settings_from: str = ""              # "Deployment conduktor/console env CDK_DATABASE_URL"
    context: dict[str, Any] = field(default_factory=dict)
