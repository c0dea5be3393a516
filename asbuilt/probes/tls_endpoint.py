"""Read-only TLS endpoint probe: one real handshake with an endpoint the target names, as a
client meets it (CDK-SEC-01 live: the Console URL, the Gateway bootstrap address), and, for a
Kafka endpoint with a client identity, one SASL_SSL client connection that lists the topic
metadata and nothing else. The result is shaped once into ``asbuilt.model.endpoint.TlsEndpoint``.

The handshake is Python's ``ssl`` (OpenSSL): the certificate chain against the CA file the
target names (the system trust store without one), the host name of the URL / address (also
sent as SNI), and TLS 1.2 as the lowest version offered. When the server refuses every version
from 1.2 up, a second handshake without verification, below 1.2 only, learns what it does speak
(evidence; nothing is sent over it). Every connection asks ``asbuilt.netguard`` first and goes
to the address the guard checked, so the name is not resolved a second time. Bounded by the
target's ``conduktor.probe_timeout``.
"""

from __future__ import annotations

import logging

import socket
import ssl
import warnings
from pathlib import Path
from urllib.parse import urlsplit

from asbuilt.model.endpoint import TlsEndpoint
from asbuilt.model.facts import Unknown
from asbuilt.netguard import NetGuard
from asbuilt.probes import ProbeError
from asbuilt.probes.network import parse_host_port

# OpenSSL verify codes (x509_vfy.h) the outcome names
_HOSTNAME_CODES = {62, 64}          # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
_EXPIRED_CODES = {9, 10}            # X509_V_ERR_CERT_NOT_YET_VALID, _CERT_HAS_EXPIRED
_PROTOCOL_REASONS = {"UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE",
                     "WRONG_SSL_VERSION", "VERSION_TOO_LOW", "UNSUPPORTED_SSL_VERSION"}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _context(ca_file: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _certificate(peer: dict) -> dict:
    def flat(rdns) -> str:
        return ", ".join(f"{k}={v}" for rdn in rdns or () for k, v in rdn)

    return {"subject": flat(peer.get("subject")), "issuer": flat(peer.get("issuer")),
            "not_after": peer.get("notAfter"), "sans": [f"{k}:{v}" for k, v in peer.get("subjectAltName", ())]}


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout)


def _legacy_version(address: str, port: int, server_hostname: str, timeout: float) -> str | None:
    """What the server speaks below TLS 1.2 (an unverified handshake; nothing is sent over it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        except (ssl.SSLError, ValueError):
            return None
    try:
        with _connect(address, port, timeout) as raw, ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
            return tls.version()
    except (OSError, ssl.SSLError):
        return None


def handshake(name: str, component: str, host: str, port: int, guard: NetGuard, ca_file: Path | None,
              timeout: float = 10.0) -> TlsEndpoint:
    """One TLS handshake with host:port (SNI and hostname check on ``host``)."""
    shown = f"{host}:{port}"
    ca = str(ca_file) if ca_file else "the system trust store"
    where = f"TLS handshake with {shown}"
    endpoint = TlsEndpoint(name, component, shown, ca, Unknown("not probed yet", shown), where=where)
    try:
        addresses = guard.check(host, port)
    except ProbeError as exc:
        endpoint.outcome = Unknown(f"{name}: {exc}", where)
        return endpoint
    address = addresses[0]
    if address != host:
        endpoint.where = where = f"{where} (address {address}, SNI {host})"
    try:
        ctx = _context(ca_file)
    except (OSError, ssl.SSLError) as exc:
        endpoint.outcome = Unknown(f"{name}: the CA file {ca} cannot be loaded: {_first_line(exc)}", where)
        return endpoint
    try:
        raw = _connect(address, port, timeout)
    except TimeoutError:
        endpoint.outcome = Unknown(f"{name}: no answer from {shown} within {timeout:g}s", where)
        return endpoint
    except OSError as exc:
        endpoint.outcome = Unknown(f"{name}: cannot connect to {shown}: {exc.strerror or _first_line(exc)}", where)
        return endpoint
    try:
        with raw, ctx.wrap_socket(raw, server_hostname=host) as tls:
            endpoint.tls_version = tls.version()
            cipher = tls.cipher()
            endpoint.cipher = cipher[0] if cipher else None
            endpoint.certificate = _certificate(tls.getpeercert() or {})
            endpoint.outcome = "ok"
    except ssl.SSLCertVerificationError as exc:
        code = getattr(exc, "verify_code", None)
        endpoint.problem = str(getattr(exc, "verify_message", "") or _first_line(exc))
        endpoint.outcome = ("hostname" if code in _HOSTNAME_CODES else "expired" if code in _EXPIRED_CODES
                            else "untrusted")
    except ssl.SSLError as exc:
        endpoint.problem = str(exc.reason or _first_line(exc))
        if exc.reason in _PROTOCOL_REASONS:
            endpoint.outcome = "old-protocol"
            endpoint.offered = _legacy_version(address, port, host, timeout)
        else:
            endpoint.outcome = "handshake-failed"
    except TimeoutError:
        endpoint.outcome = Unknown(f"{name}: {shown} accepted the connection but did not complete a TLS "
                                   f"handshake within {timeout:g}s", where)
    except OSError as exc:  # reset or closed during the handshake: not a TLS server that answered
        endpoint.outcome = Unknown(f"{name}: {shown} closed the connection during the TLS handshake "
                                   f"({exc.strerror or _first_line(exc)})", where)
    return endpoint


def probe_console(url: str, guard: NetGuard, ca_file: Path | None, timeout: float = 10.0) -> TlsEndpoint:
    """The Console URL: a handshake with its host and port (default 443)."""
    from asbuilt.netguard import safe_url

    parts = urlsplit(url)
    name = f"Console {safe_url(url)}"
    if parts.scheme != "https":
        return TlsEndpoint(name, "console", safe_url(url), str(ca_file or "the system trust store"), "plain-http",
                           problem=f"the Console URL is {parts.scheme or 'without a scheme'}://, not https://",
                           where="conduktor.console_url (no connection made)")
    try:
        port = parts.port or 443
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        return TlsEndpoint(name, "console", safe_url(url), str(ca_file or ""), Unknown(
            f"{name}: conduktor.console_url has no host or port to connect to", "conduktor.console_url"))
    return handshake(name, "console", parts.hostname, port, guard, ca_file, timeout)


def sasl_ssl_metadata(endpoint: TlsEndpoint, guard: NetGuard, bootstrap: str, client, ca_file: Path | None,
                      timeout: float) -> dict:
    """One SASL_SSL client connection to the Gateway as ``client`` (kafka-python, through the
    same netguard-bounded client as every Kafka probe): the topic metadata only, read-only."""
    from asbuilt.probes.kafka import KafkaProbe
    from asbuilt.target import KafkaSection

    out = {"mechanism": client.mechanism, "username": client.username, "bootstrap": bootstrap}
    section = KafkaSection(bootstrap_servers=bootstrap, security_protocol="SASL_SSL",
                           ssl_cafile=ca_file, sasl_mechanism=client.mechanism, sasl_username=client.username,
                           sasl_password=client.password, request_timeout=timeout)
    probe = KafkaProbe(section)
    probe.guard = guard  # the same guard as the handshake: the bootstrap, then every advertised broker
    refusals = _SaslRefusals()  # kafka-python reports a refused login only in its log, then times out
    logging.getLogger("kafka").addHandler(refusals)
    try:
        topics = probe._connect_admin().list_topics()  # not memoised: each identity tried once
        out["outcome"], out["topics"] = "ok", len(topics or [])
    except ProbeError as exc:
        text = str(exc)
        if refusals.seen:
            out["outcome"], out["problem"] = "auth-failed", f"{refusals.seen} ({text})"
        elif "auth" in text.lower():
            out["outcome"], out["problem"] = "auth-failed", text
        else:
            out["outcome"] = Unknown(f"{endpoint.name}: SASL_SSL client connection failed: {text}",
                                     f"kafka-python SASL_SSL to {bootstrap}")
    except Exception as exc:  # a client error past the connection (metadata request)
        out["outcome"] = Unknown(f"{endpoint.name}: SASL_SSL metadata request failed: {type(exc).__name__}: "
                                 f"{_first_line(exc)}", f"kafka-python SASL_SSL to {bootstrap}")
    finally:
        logging.getLogger("kafka").removeHandler(refusals)
        probe.close()
    return out


class _SaslRefusals(logging.Handler):
    """Remembers the broker's refusal of the SASL login (SaslAuthenticationFailedError), which
    kafka-python logs on the connection and then hides behind a bootstrap timeout."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen = ""

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if not self.seen and "SaslAuthenticationFailed" in text:
            self.seen = "the broker refused the SASL login (SaslAuthenticationFailedError: invalid credentials)"


def probe_gateway(bootstrap: str, guard: NetGuard, ca_file: Path | None, timeout: float = 10.0,
                  client=None) -> list[TlsEndpoint]:
    """Each Gateway bootstrap address: a handshake; with a client identity, a SASL_SSL client
    connection through the first address whose handshake succeeded."""
    out = []
    for entry in [s.strip() for s in bootstrap.split(",") if s.strip()]:
        try:
            host, port = parse_host_port(entry)
        except ValueError:
            out.append(TlsEndpoint(f"Gateway {entry[:80]}", "gateway", entry[:80], str(ca_file or ""), Unknown(
                f"conduktor.gateway_bootstrap entry {entry[:80]!r} is not host:port", "conduktor.gateway_bootstrap")))
            continue
        out.append(handshake(f"Gateway {host}:{port}", "gateway", host, port, guard, ca_file, timeout))
    if client is not None:
        good = next((e for e in out if e.outcome == "ok"), None)
        if good is not None:
            good.sasl = sasl_ssl_metadata(good, guard, good.address, client, ca_file, timeout)
        elif out:
            out[0].sasl = {"mechanism": client.mechanism, "username": client.username,
                           "outcome": Unknown("no Gateway bootstrap address completed a TLS handshake, so no "
                                              "SASL_SSL connection was tried", "conduktor.gateway_bootstrap")}
    return out


def probe_endpoints(target) -> list[TlsEndpoint]:
    """Every endpoint the target's ``conduktor`` section names (none: an empty list)."""
    cdk = getattr(target, "conduktor", None)
    if cdk is None:
        return []
    guard = NetGuard(target.allowed_networks)
    out = []
    if cdk.console_url:
        out.append(probe_console(cdk.console_url, guard, cdk.ca_file, cdk.probe_timeout))
    if cdk.gateway_bootstrap:
        out += probe_gateway(cdk.gateway_bootstrap, guard, cdk.ca_file, cdk.probe_timeout, cdk.gateway_client)
    return out
