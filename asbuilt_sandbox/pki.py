"""The sandbox's throwaway certificate authorities: one helper for every part that speaks TLS.

PostgreSQL (``parts/postgres.py``), the Kafka brokers and clients (``parts/kafka.py``),
kube-apiserver and its admin client (``parts/kube.py``) and the S3 HTTPS front of the agent
(``platform.py``) each have their own CA, made here on first start and kept in the part's
state folder (its key 0600). Every key is ECDSA P-256, every certificate SHA-256 and valid from
five minutes ago (a little clock skew between processes is not an error).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from asbuilt_sandbox.parts.base import write_private

ORG = "asbuilt sandbox"
CA_DAYS = 3650
LEAF_DAYS = 825  # the longest a TLS client accepts for a server certificate


def _x509():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


def name(common_name: str, organization: str | None = ORG):
    x509, *_rest, NameOID = _x509()
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def key_pem(key, traditional: bool = False) -> bytes:
    """A private key as unencrypted PEM (PKCS#8; ``traditional``: the OpenSSL "EC PRIVATE KEY" form)."""
    _x, _h, serialization, *_ = _x509()
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def cert_pem(cert) -> bytes:
    _x, _h, serialization, *_ = _x509()
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_usage(ca: bool):
    x509 = _x509()[0]
    return x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         encipher_only=False, decipher_only=False)


def _start() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)


@dataclass
class CA:
    """A CA certificate and its key (``cryptography`` objects)."""

    cert: object
    key: object

    @classmethod
    def create(cls, common_name: str, organization: str | None = ORG, path_length: int | None = 0,
               days: int = CA_DAYS) -> CA:
        x509, hashes, _s, ec, _e, _n = _x509()
        key = ec.generate_private_key(ec.SECP256R1())
        subject = name(common_name, organization)
        start = _start()
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
                .add_extension(_key_usage(ca=True), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        return cls(cert, key)

    @classmethod
    def load(cls, cert_file: Path, key_file: Path) -> CA:
        x509, _h, serialization, *_ = _x509()
        return cls(x509.load_pem_x509_certificate(Path(cert_file).read_bytes()),
                   serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None))

    @classmethod
    def ensure(cls, cert_file: Path, key_file: Path, common_name: str, **kw) -> CA:
        """The CA kept in these files, made (and written) when either is missing."""
        if Path(cert_file).is_file() and Path(key_file).is_file():
            return cls.load(cert_file, key_file)
        ca = cls.create(common_name, **kw)
        ca.write(cert_file, key_file)
        return ca

    def write(self, cert_file: Path, key_file: Path) -> None:
        Path(cert_file).parent.mkdir(parents=True, exist_ok=True)
        write_private(Path(key_file), key_pem(self.key))
        Path(cert_file).write_bytes(cert_pem(self.cert))

    def issue(self, common_name: str, *, organization: str | None = None, server: bool = False,
              client: bool = False, ips: Iterable[str] = (), dns: Iterable[str] = (), days: int = LEAF_DAYS,
              key_usage: bool = False):
        """A leaf certificate and its new key: (cert, key). ``server``/``client`` set the extended
        key usages; ``ips``/``dns`` the subject alternative names (none: no SAN extension);
        ``key_usage``: a critical digitalSignature key usage (what kube-apiserver's certificates carry)."""
        x509, hashes, _s, ec, EKU, _n = _x509()
        key = ec.generate_private_key(ec.SECP256R1())
        start = _start()
        builder = (x509.CertificateBuilder().subject_name(name(common_name, organization))
                   .issuer_name(self.cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if key_usage:
            builder = builder.add_extension(_key_usage(ca=False), critical=True)
        usages = ([EKU.CLIENT_AUTH] if client else []) + ([EKU.SERVER_AUTH] if server else [])
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                        critical=False)
        sans = [x509.IPAddress(ipaddress.ip_address(a)) for a in ips] + [x509.DNSName(d) for d in dns]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self.key, hashes.SHA256()), key

    def issue_files(self, cert_file: Path, key_file: Path, common_name: str, traditional_key: bool = False,
                    **kw) -> None:
        """``issue`` written to files (the key 0600)."""
        cert, key = self.issue(common_name, **kw)
        Path(cert_file).parent.mkdir(parents=True, exist_ok=True)
        write_private(Path(key_file), key_pem(key, traditional=traditional_key))
        Path(cert_file).write_bytes(cert_pem(cert))
