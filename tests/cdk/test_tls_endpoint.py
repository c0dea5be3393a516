"""CDK-SEC-01 live endpoint probes against real TLS servers: Python's ssl serving on 127.0.0.1
(ports 15300-15349) with certificates from a throwaway CA (asbuilt_sandbox.pki), the probe
(asbuilt.probes.tls_endpoint) making a real handshake, the model (asbuilt.model.endpoint) and the
CDK-SEC-01 unit judging it beside the Kubernetes objects.

A good certificate passes (the negotiated version recorded); a wrong host name, an untrusted CA
and a TLS 1.1-only server fail naming the endpoint and the fix; a refused connection and an
address outside allowed_networks are error (no pass, no packet for the latter). The SASL_SSL
client connection needs a real Kafka SASL_SSL listener: the sandbox-marked test at the end."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest

from asbuilt.catalogue import load_profile
from asbuilt.controls import unit
from asbuilt.netguard import NetGuard
from asbuilt.probes import tls_endpoint as tlsprobe
from asbuilt.rules import conduktor as cdk
from asbuilt_sandbox.pki import CA, cert_pem, key_pem

PROFILE = load_profile("conduktor-k8s")
PORTS = iter(range(15300, 15350))


def decide(items):
    return unit("CDK-SEC-01").decide(items, PROFILE)


def _deployment(name, image, env):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "conduktor"},
            "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                {"name": "main", "image": image, "env": [{"name": k, "value": v} for k, v in env.items()]}]}}}}


# a Console and a Gateway whose objects conform to CDK-SEC-01 (so only the endpoints decide)
ESTATE = cdk.read([
    _deployment("console", "conduktor/conduktor-console:1.32",
                {"CDK_PLATFORM_HTTPS_CERT_PATH": "/tls/tls.crt", "CDK_PLATFORM_HTTPS_KEY_PATH": "/tls/tls.key"}),
    _deployment("gateway", "conduktor/conduktor-gateway:3.10",
                {"GATEWAY_SECURITY_PROTOCOL": "SASL_SSL", "GATEWAY_SSL_KEY_STORE_PATH": "/ks/keystore.jks",
                 "GATEWAY_HTTPS_KEY_STORE_PATH": "/ks/keystore.jks"}),
], "conduktor")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls-pki")
    ca, other = CA.create("asbuilt test CA"), CA.create("someone else's CA")
    (d / "ca.pem").write_bytes(cert_pem(ca.cert))

    def leaf(name, issuer, **kw):
        cert, key = issuer.issue(kw.pop("cn", "localhost"), server=True, **kw)
        (d / f"{name}.crt").write_bytes(cert_pem(cert))
        (d / f"{name}.key").write_bytes(key_pem(key))
        return d / f"{name}.crt", d / f"{name}.key"

    return {"ca": d / "ca.pem", "good": leaf("good", ca, dns=["localhost"], ips=["127.0.0.1"]),
            "wrong-host": leaf("wrong-host", ca, cn="console.elsewhere.example", dns=["console.elsewhere.example"]),
            "untrusted": leaf("untrusted", other, dns=["localhost"], ips=["127.0.0.1"])}


@contextmanager
def tls_server(cert_key, max_version=None):
    """A real TLS server on 127.0.0.1 (a free port from 15300-15349): completes each handshake,
    then closes. Yields (port, accepted connections)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*map(str, cert_key))
    if max_version is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = max_version
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for port in PORTS:
        try:
            sock.bind(("127.0.0.1", port))
            break
        except OSError:
            continue
    sock.listen(8)
    sock.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            accepted.append(conn)
            conn.settimeout(5)
            try:
                with ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield port, accepted
    finally:
        stop.set()
        t.join(5)
        sock.close()


def _free_port() -> int:
    for port in PORTS:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port  # bound, never listening: a connect is refused
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free port in 15300-15349")


GUARD = NetGuard(["127.0.0.0/8"])


def test_a_good_certificate_passes_and_the_negotiated_version_is_recorded(pki):
    with tls_server(pki["good"]) as (port, accepted):
        console = tlsprobe.probe_console(f"https://localhost:{port}", GUARD, pki["ca"], 5)
        gateway = tlsprobe.probe_gateway(f"127.0.0.1:{port}", GUARD, pki["ca"], 5)
    assert console.outcome == "ok" and console.tls_version in ("TLSv1.2", "TLSv1.3"), console
    assert gateway[0].outcome == "ok" and "commonName=localhost" in gateway[0].certificate["subject"]
    assert len(accepted) == 2
    v = decide(cdk.tls_items(ESTATE, [console, *gateway]))
    assert v.status == "pass", v.message
    assert f"Console https://localhost:{port}: {console.tls_version}, chain verified against" in v.message
    assert "no endpoint was probed" not in v.message
    assert json.dumps(v.to_json())


@pytest.mark.parametrize("case,words", [
    ("wrong-host", ["not valid for localhost", "Hostname mismatch", "subjectAltName covers the host name"]),
    ("untrusted", ["does not chain to", "ca.pem", "issued by the CA clients trust"]),
])
def test_a_bad_certificate_fails_naming_the_endpoint_and_the_fix(pki, case, words):
    with tls_server(pki[case]) as (port, _):
        console = tlsprobe.probe_console(f"https://localhost:{port}", GUARD, pki["ca"], 5)
    assert console.outcome == ("hostname" if case == "wrong-host" else "untrusted"), console
    v = decide(cdk.tls_items(ESTATE, [console]))
    assert v.status == "fail", v.message
    assert f"endpoint Console https://localhost:{port}" in v.message
    for w in words:
        assert w in v.message, (w, v.message)
    assert "Fix: " in v.message


def test_a_tls_11_only_server_fails_and_says_what_it_speaks(pki):
    with tls_server(pki["good"], max_version=ssl.TLSVersion.TLSv1_1) as (port, _):
        (gateway,) = tlsprobe.probe_gateway(f"localhost:{port}", GUARD, pki["ca"], 5)
    assert gateway.outcome == "old-protocol", gateway
    v = decide(cdk.tls_items(ESTATE, [gateway]))
    assert v.status == "fail" and f"endpoint Gateway localhost:{port} does not negotiate TLS 1.2 or later" in v.message
    assert "it speaks TLSv1.1" in v.message and "enable TLS 1.2 or 1.3" in v.message, v.message


def test_a_refused_connection_is_error_naming_the_endpoint(pki):
    port = _free_port()
    console = tlsprobe.probe_console(f"https://127.0.0.1:{port}", GUARD, pki["ca"], 5)
    v = decide(cdk.tls_items(ESTATE, [console]))
    assert v.status == "error", v.message
    assert f"TLS handshake with Console https://127.0.0.1:{port}" in v.message and "cannot connect" in v.message
    # a known violation beside it still fails
    bad = cdk.read([_deployment("gateway", "conduktor/conduktor-gateway:3.10",
                                {"GATEWAY_SECURITY_PROTOCOL": "PLAINTEXT"})], "conduktor")
    assert decide(cdk.tls_items(bad, [console])).status == "fail"


def test_an_address_outside_allowed_networks_is_refused_before_any_packet(pki):
    with tls_server(pki["good"]) as (port, accepted):
        console = tlsprobe.probe_console(f"https://127.0.0.1:{port}", NetGuard(["10.0.0.0/8"]), pki["ca"], 5)
    assert not accepted
    v = decide(cdk.tls_items(ESTATE, [console]))
    assert v.status == "error" and "outside the target's allowed_networks" in v.message, v.message


def test_plain_http_url_fails_without_connecting():
    console = tlsprobe.probe_console("http://localhost:15399", GUARD, None, 5)
    v = decide(cdk.tls_items(ESTATE, [console]))
    assert v.status == "fail" and "is not served over TLS" in v.message and "https://" in v.message


def test_no_endpoint_named_keeps_judging_the_objects(tmp_path):
    from asbuilt.target import load_target
    from tests.helpers import write_yaml

    t = load_target(write_yaml(tmp_path / "t.yaml", {"name": "t", "conduktor": {}}))
    assert tlsprobe.probe_endpoints(t) == []
    v = decide(cdk.tls_items(ESTATE, tlsprobe.probe_endpoints(t)))
    assert v.status == "pass" and "no endpoint was probed" in v.message
    # only endpoints, no workload among the objects: not a pass
    only = decide(cdk.tls_items(cdk.read([], "conduktor"), [tlsprobe.probe_console(
        f"https://127.0.0.1:{_free_port()}", GUARD, None, 5)]))
    assert only.status == "error" and "no Console or Gateway workload found" in only.message, only.message


def test_the_target_section_names_the_endpoints(tmp_path, pki):
    from asbuilt.errors import InputError
    from asbuilt.target import load_target
    from tests.helpers import write_yaml

    pw = tmp_path / "pw"
    pw.write_text("a-long-enough-gateway-client-password\n")
    with tls_server(pki["good"]) as (port, _):
        t = load_target(write_yaml(tmp_path / "t.yaml", {
            "name": "t", "allowed_networks": ["127.0.0.0/8"],
            "conduktor": {"console_url": f"https://localhost:{port}", "ca_file": str(pki["ca"]), "probe_timeout": 5}}))
        (console,) = tlsprobe.probe_endpoints(t)
    assert console.outcome == "ok" and console.component == "console"
    for bad, word in [({"gateway_client": {"username": "u", "password": {"file": str(pw)}}}, "gateway_bootstrap"),
                      ({"gateway_bootstrap": "user:pw@gw:9092"}, "credentials"),
                      ({"console_url": "https://u:p@console.example"}, "credentials"),
                      ({"gateway_bootstrap": "gw:9092",
                        "gateway_client": {"username": "u", "password": "Literal-Pw-Value-123"}}, "references")]:
        with pytest.raises(InputError) as exc:
            load_target(write_yaml(tmp_path / "bad.yaml", {"name": "t", "conduktor": bad}))
        text = str(exc.value)
        assert word in text and "\n" not in text, text
        assert "Literal-Pw-Value-123" not in text and "u:p@" not in text and "user:pw" not in text, text


@pytest.mark.sandbox
def test_sasl_ssl_client_connection_to_the_sandbox_kafka(sandbox):
    """The SASL_SSL client connection (kafka-python, SCRAM-SHA-512, metadata only) against the
    sandbox Kafka's SASL_SSL listener, as a stand-in for a Gateway bootstrap address: the
    gateway principal the sandbox makes authenticates; a wrong password is a finding."""
    from asbuilt.target import GatewayClient, SecretRef, load_target

    target = load_target(sandbox())
    kafka = target.kafka
    assert kafka.sasl_ssl_bootstrap_servers, "the sandbox target has no SASL_SSL listener"
    (gw,) = [p for p in kafka.principals if p.role == "gateway"]
    client = GatewayClient(username=gw.principal.split(":", 1)[1], password=gw.password, mechanism="SCRAM-SHA-512")
    guard = NetGuard(target.allowed_networks)
    first = kafka.sasl_ssl_bootstrap_servers.split(",")[0]
    (ep,) = tlsprobe.probe_gateway(first, guard, kafka.ssl_cafile, 10, client)
    assert ep.outcome == "ok" and ep.tls_version in ("TLSv1.2", "TLSv1.3"), ep
    assert ep.sasl["outcome"] == "ok" and ep.sasl["topics"] >= 1, ep.sasl
    v = decide(cdk.tls_items(ESTATE, [ep]))
    assert v.status == "pass" and "SASL_SSL SCRAM-SHA-512 as" in v.message, v.message
    wrong = Path(str(gw.password.file) + ".wrong")
    wrong.write_text("not-the-gateway-password-at-all\n")
    try:
        bad = GatewayClient(username=client.username, password=SecretRef(file=wrong), mechanism="SCRAM-SHA-512")
        (ep,) = tlsprobe.probe_gateway(first, guard, kafka.ssl_cafile, 10, bad)
    finally:
        wrong.unlink()
    v = decide(cdk.tls_items(ESTATE, [ep]))
    # Never a pass. A fail when kafka-python reports the broker's SaslAuthenticationFailedError;
    # on the sandbox's namespaced listener it often sees only the broker closing the socket and
    # then a bootstrap timeout, which asbuilt cannot tell from an outage: error, naming the endpoint.
    assert v.status in ("fail", "error"), v.message
    assert ("SASL_SSL client connection as" in v.message if v.status == "fail"
            else "SASL_SSL client connection to Gateway" in v.message), v.message
    assert "not-the-gateway-password-at-all" not in json.dumps(v.to_json())


def test_sasl_ssl_connection_to_a_tls_server_that_is_not_kafka_is_error(pki, tmp_path):
    """The SASL_SSL client path without the sandbox: a TLS server that speaks no Kafka answers the
    handshake, the kafka-python client gets nothing back: error naming the endpoint, never pass."""
    from asbuilt.target import GatewayClient, SecretRef

    pw = tmp_path / "pw"
    pw.write_text("a-long-enough-gateway-client-password\n")
    client = GatewayClient(username="conduktor-gateway", password=SecretRef(file=pw))
    with tls_server(pki["good"]) as (port, _):
        (ep,) = tlsprobe.probe_gateway(f"localhost:{port}", GUARD, pki["ca"], 3, client)
    assert ep.outcome == "ok" and ep.sasl is not None
    v = decide(cdk.tls_items(ESTATE, [ep]))
    assert v.status == "error" and f"SASL_SSL client connection to Gateway localhost:{port}" in v.message, v.message
    assert "a-long-enough-gateway-client-password" not in json.dumps(v.to_json())
