"""The one network guard: every client asbuilt builds asks it before its first packet.

A target's ``allowed_networks`` (CIDRs) bounds where a run may connect. The guard resolves the
host a client is about to connect to (a name through the system resolver, an address as is) and
refuses, with one line naming the host, the offending address and the allowed networks, unless
every address it resolves to is inside them. With no ``allowed_networks`` the target names where
to go and nothing is refused (the documented default of the target model).

Who asks it, and when (each before any packet to the host):

* AWS (``asbuilt.probes.aws``): a botocore ``before-send`` hook on the session, so every request
  of every client of the session (each service endpoint, the default regional endpoints when no
  ``endpoint_url`` is given, S3 redirects, the STS client of an assume-role profile) is checked
  after endpoint resolution, and the proxy it would go through too; the instance-metadata and
  container credential providers are dropped when their address is not allowed.
* Kubernetes (``asbuilt.probes.k8s``): the API server of the kubeconfig (and its proxy).
* Kafka (``asbuilt.probes.kafka``, ``messaging``): the bootstrap servers, then every broker the
  cluster's metadata advertises, checked inside the client just before it connects to it.
* PostgreSQL (``asbuilt.probes.platform_db``): each host, and the connection goes to the checked
  address (libpq ``hostaddr``) so the client does not resolve the name a second time.
* HTTP (``asbuilt.probes.bundle_store``): the URL's host and every redirect's.
* TCP reachability probes (``asbuilt.probes.network``): the probed destination itself.
* TLS endpoints (``asbuilt.probes.tls_endpoint``): the Console URL's and each Gateway bootstrap
  address's host, the handshake going to the checked address (SNI and host name check on the
  name); the Gateway SASL_SSL client goes through the Kafka client's guard above.

``helm`` only renders charts (``helm template``, no cluster, no repository): it connects nowhere.

A name is resolved by the guard and again by the client (except PostgreSQL): a resolver that
answers differently the second time is outside what the guard can see.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from asbuilt.probes import ProbeError

_HOSTNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?$")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class NetworkRefused(ProbeError):
    """A connection the target's allowed_networks do not allow (nothing was sent)."""


class NetGuard:
    """Refuses any address outside ``allowed`` (CIDRs); with none given, refuses nothing."""

    def __init__(self, allowed: list[str] | None):
        try:
            self.networks = [ipaddress.ip_network(str(c), strict=False) for c in (allowed or [])]
        except ValueError as exc:
            raise ProbeError(f"allowed_networks: {exc}") from None

    @property
    def active(self) -> bool:
        return bool(self.networks)

    def _allowed_text(self) -> str:
        return ", ".join(map(str, self.networks))

    def allows(self, address: str) -> bool:
        """Is this literal address inside the allowed networks (always, with none given)?"""
        if not self.networks:
            return True
        try:
            a = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(a in n for n in self.networks)

    def resolve(self, host: str, port: int | None = None) -> list[Address]:
        """Every address ``host`` stands for (ProbeError when it is not a host or does not resolve)."""
        host = str(host).strip("[]")
        try:
            return [ipaddress.ip_address(host.split("%", 1)[0])]
        except ValueError:
            pass
        if not _HOSTNAME.match(host):
            raise ProbeError(f"refusing to connect to {host[:80]!r}: not a host name or address")
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:
            raise ProbeError(f"cannot resolve {host} to check it against allowed_networks: {exc}") from None
        found = {ipaddress.ip_address(str(i[4][0]).split("%", 1)[0]) for i in infos}
        if not found:
            raise ProbeError(f"cannot resolve {host} to check it against allowed_networks: no address")
        return sorted(found, key=lambda a: (a.version, int(a)))

    def check(self, host: str, port: int | None = None, verb: str = "connect to") -> list[str]:
        """The addresses of ``host``, every one inside the allowed networks; else NetworkRefused.
        With no allowed networks the host is returned as given, unresolved."""
        if not self.networks:
            return [str(host)]
        addresses = self.resolve(host, port)
        outside = [str(a) for a in addresses if not any(a in n for n in self.networks)]
        if outside:
            where = f"{host}:{port}" if port else str(host)
            shown = "" if outside == [str(host).strip("[]")] else f" ({', '.join(outside)})"
            raise NetworkRefused(f"refusing to {verb} {where}{shown}: outside the target's allowed_networks "
                                 f"({self._allowed_text()})")
        return [str(a) for a in addresses]

    def check_url(self, url: str, what: str = "connect to") -> list[str]:
        """Check the host of a URL (never echoing its userinfo, path or query)."""
        parts = urlsplit(str(url))
        if not parts.hostname:
            raise ProbeError(f"refusing to {what} a URL with no host ({parts.scheme or 'no'} scheme)")
        try:
            port = parts.port
        except ValueError:
            raise ProbeError(f"refusing to {what} {parts.hostname}: the URL's port is not a number") from None
        if port is None:
            port = {"https": 443, "http": 80}.get(parts.scheme)
        return self.check(parts.hostname, port, what)


def url_userinfo(url: str) -> bool:
    """Does the URL carry credentials (``user:pass@host``)?"""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return False
    return "@" in (parts.netloc or "")


def safe_url(url: str) -> str:
    """A URL without its userinfo, path or query: for messages."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparseable URL)"
    return f"{parts.scheme}://{host}{port}" if parts.scheme else f"{host}{port}"
