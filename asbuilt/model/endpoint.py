"""A TLS endpoint as a client meets it: what one real handshake (and, for a Kafka endpoint, one
SASL_SSL client connection) showed. Filled by ``asbuilt.probes.tls_endpoint``; judged by the
control that needs it (CDK-SEC-01 for the Console URL and the Gateway bootstrap).

``outcome`` is what the handshake gave, decided once by the probe:

* ``ok``: the certificate chains to the named CA, is valid for the host name, TLS >= 1.2
  (``tls_version`` is the negotiated version);
* ``untrusted`` / ``hostname`` / ``expired``: the certificate check failed (``problem`` says how);
* ``old-protocol``: the server negotiates no TLS >= 1.2 (``offered`` is what it does speak, when
  a second, unverified handshake below 1.2 learned it);
* ``handshake-failed``: the server answered but no TLS session was made for another reason;
* an ``Unknown``: nothing to judge (refused, timed out, not resolvable, outside allowed_networks).

``sasl`` (Kafka endpoints with a client identity) is ``None`` when not tried, else
``{"mechanism", "username", "outcome": "ok" | "auth-failed" | Unknown, "problem", "topics"}``
(``topics``: how many the metadata listed; read-only). Never a password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asbuilt.model.facts import Unknown, is_unknown

MIN_TLS = "TLSv1.2"


@dataclass
class TlsEndpoint:
    name: str                          # "Console https://console.example:8443", "Gateway gw.example:9092"
    component: str                     # console | gateway
    address: str                       # host:port as the target gives it
    ca_file: str                       # the CA the chain was verified against
    outcome: str | Unknown
    tls_version: str | None = None     # negotiated ("TLSv1.3"), when a session was made
    cipher: str | None = None
    problem: str = ""                  # what failed, in the TLS library's words (no secret in it)
    offered: str | None = None         # old-protocol: the version the server speaks below 1.2
    certificate: dict[str, Any] = field(default_factory=dict)  # subject, issuer, not_after, sans
    sasl: dict[str, Any] | None = None
    where: str = ""                    # "TLS handshake with 127.0.0.1:15300 (SNI console.example)"

    def to_item(self) -> dict[str, Any]:
        """The fields a rule reads (Unknowns stay Unknown)."""
        return {"name": self.name, "component": self.component, "address": self.address, "ca_file": self.ca_file,
                "outcome": self.outcome, "tls_version": self.tls_version, "cipher": self.cipher,
                "problem": self.problem, "offered": self.offered, "certificate": dict(self.certificate),
                "sasl": dict(self.sasl) if self.sasl is not None else None, "where": self.where}

    @property
    def reachable(self) -> bool:
        return not is_unknown(self.outcome)
