"""The sandbox's one CA helper (asbuilt_sandbox/pki.py), used by PostgreSQL, Kafka, kube-apiserver
and the S3 front: what a TLS client checks holds (chain, SANs, usages), keys are private."""

from __future__ import annotations

import ssl
import stat

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from asbuilt_sandbox import pki


def test_server_certificate_verifies_against_its_ca(tmp_path):
    ca = pki.CA.ensure(tmp_path / "ca.crt", tmp_path / "ca.key", "test CA")
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600
    ca.issue_files(tmp_path / "srv.crt", tmp_path / "srv.key", "127.0.0.1", server=True, ips=["127.0.0.1"],
                   dns=["localhost"])
    assert stat.S_IMODE((tmp_path / "srv.key").stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate((tmp_path / "srv.crt").read_bytes())
    cert.verify_directly_issued_by(ca.cert)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == \
        [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    # Python's own TLS stack accepts the pair and the CA (what psycopg/kafka-python/boto3 rely on)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "srv.crt", tmp_path / "srv.key")
    ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))


def test_ensure_keeps_the_ca_across_starts(tmp_path):
    first = pki.CA.ensure(tmp_path / "ca.crt", tmp_path / "ca.key", "test CA")
    again = pki.CA.ensure(tmp_path / "ca.crt", tmp_path / "ca.key", "test CA")
    assert first.cert.serial_number == again.cert.serial_number
    assert first.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0


def test_client_certificate_has_no_san_and_client_usage(tmp_path):
    ca = pki.CA.create("test CA", organization=None, path_length=None)
    cert, _key = ca.issue("asbuilt-admin", organization="system:masters", client=True, key_usage=True)
    assert not [e for e in cert.extensions if isinstance(e.value, x509.SubjectAlternativeName)]
    assert cert.subject.rfc4514_string() == "CN=asbuilt-admin,O=system:masters"
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).critical
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == \
        [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_one_helper_makes_every_ca_of_the_sandbox():
    """No part builds its own CA any more (issue 10, item 7)."""
    from tests.helpers import ROOT

    builders = [str(p.relative_to(ROOT)) for p in (ROOT / "asbuilt_sandbox").rglob("*.py")
                if "CertificateBuilder" in p.read_text() and p.name != "pki.py"]
    assert builders == []
