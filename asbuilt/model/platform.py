"""The platform's own evidence, as its readers give it (asbuilt.readers.platform): what the
platform database holds, what the installer logged, what a message did on its way through Kafka.
The INST, BNDL and MSG units (asbuilt.controls) read these objects, whichever source they came
from (PostgreSQL over TLS, the pod log or CloudWatch Logs, the Kafka client)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PlatformState:
    """A consistent, read-only snapshot of the platform tables (asbuilt.probes.platform_state):
    ``tables`` maps a table to its rows ({"name", "sha256", "version", "updated_at", ...})."""

    resource: str                          # "postgres <host>/<dbname>"
    tables: dict[str, Any] = field(default_factory=dict)

    def get(self, table: str, default: Any = None) -> Any:
        return self.tables.get(table, default)


@dataclass
class InstallerLog:
    """The installer Job's log lines, query strings of URLs already removed (a pre-signed URL's
    signature is a credential, SUITE-03)."""

    resource: str                          # "pod ns/name" or "log group G stream S"
    source: str                            # kubernetes | cloudwatch
    lines: list[str] = field(default_factory=list)

    def as_evidence(self) -> dict:
        return {"resource": self.resource, "source": self.source, "lines": list(self.lines)}


@dataclass
class MessageExchange:
    """One message produced to a platform topic and consumed back (asbuilt.probes.messaging):
    ``facts`` holds what the client saw ({"message_id", "produced", "consumed", "timeout_seconds"})."""

    resource: str                          # "topic T via B"
    facts: dict[str, Any] = field(default_factory=dict)
