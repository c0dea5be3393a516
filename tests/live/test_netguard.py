"""allowed_networks is enforced for every client before its first packet, after name resolution
(asbuilt.netguard), and a failed call is not repeated for the same object in a run.

The session's network guard (tests/netguard_plugin.py) records every connect this process
attempts outside loopback and the sandbox's networks: ``netguard_plugin.take() == []`` below is
the proof that a refusal happened before any connect, not after a failed one. CLI runs are
guarded by the same code inside the child (``child_connect_log``). Loopback servers only.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time

import pytest

from asbuilt.netguard import NetGuard, NetworkRefused
from asbuilt.probes import ProbeError
from asbuilt.target import AwsSection, KafkaSection, KubernetesSection, PostgresSection, Target
from tests import netguard_plugin
from tests.helpers import asbuilt, write_yaml

LOOPBACK = ["127.0.0.0/8"]


@pytest.fixture
def fake_dns(monkeypatch):
    """Names under .guard.test resolve to the address given (as a resolver would answer them)."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host in answers:
            fam = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
            return [(fam, socket.SOCK_STREAM, 6, "", (answers[host], port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text, text
    return text


# --------------------------------------------------------------------------- the guard itself


def test_the_guard_resolves_and_judges_every_address(fake_dns):
    fake_dns["two.guard.test"] = "10.0.0.7"
    guard = NetGuard(["127.0.0.0/8", "198.18.0.0/16"])
    assert guard.check("127.0.0.1") == ["127.0.0.1"]
    assert guard.check("198.18.3.4", 9092) == ["198.18.3.4"]
    with pytest.raises(NetworkRefused) as exc:
        guard.check("two.guard.test", 443)
    assert _one_line(exc.value) == ("refusing to connect to two.guard.test:443 (10.0.0.7): outside the target's "
                                    "allowed_networks (127.0.0.0/8, 198.18.0.0/16)")
    with pytest.raises(NetworkRefused, match=r"^refusing to connect to 10\.1\.2\.3:80: outside"):
        guard.check_url("http://10.1.2.3/x?y=1")
    with pytest.raises(NetworkRefused) as exc:
        guard.check_url("http://admin:S3cretPw@10.1.2.3:4566/")
    assert "S3cretPw" not in str(exc.value) and "admin" not in str(exc.value)
    assert NetGuard([]).check("anything.example") == ["anything.example"]  # no list: the target decides
    with pytest.raises(ProbeError, match="allowed_networks"):
        NetGuard(["notacidr"])


def test_the_test_session_guard_refuses_and_records():
    s = socket.socket()
    with pytest.raises(ConnectionRefusedError, match="192.0.2.1:9"):
        s.connect(("192.0.2.1", 9))
    assert s.connect_ex(("10.9.9.9", 9)) != 0
    s.close()
    refused = [r["address"] for r in netguard_plugin.take()]  # taken, so this test itself passes
    assert refused == ["192.0.2.1:9", "10.9.9.9:9"]


# --------------------------------------------------------------------------- AWS


def test_aws_endpoint_outside_allowed_networks_is_refused_before_connect():
    from asbuilt.probes.aws import AwsProbe

    probe = AwsProbe(AwsSection(region="us-east-1", endpoint_url="http://10.11.12.13:4566"),
                     allowed_networks=LOOPBACK)
    with pytest.raises(NetworkRefused) as exc:
        probe.preflight()
    assert _one_line(exc.value) == ("refusing to connect to 10.11.12.13:4566: outside the target's "
                                    "allowed_networks (127.0.0.0/8)")
    assert netguard_plugin.take() == []


def test_aws_default_regional_endpoint_fails_closed(fake_dns):
    """No endpoint_url: botocore's own endpoint (here resolving to a public address) is refused."""
    from asbuilt.probes.aws import AwsProbe

    fake_dns["sts.eu-west-1.amazonaws.com"] = fake_dns["sts.amazonaws.com"] = "52.94.0.10"  # regional or global
    fake_dns["ec2.eu-west-1.amazonaws.com"] = "52.94.0.11"
    probe = AwsProbe(AwsSection(region="eu-west-1"), allowed_networks=LOOPBACK)
    with pytest.raises(NetworkRefused, match=r"sts\.(eu-west-1\.)?amazonaws\.com:443 \(52\.94\.0\.10\)"):
        probe.preflight()
    with pytest.raises(NetworkRefused, match=r"ec2\.eu-west-1\.amazonaws\.com:443 \(52\.94\.0\.11\)"):
        probe.call("ec2", "describe_vpcs")
    assert netguard_plugin.take() == []


def test_aws_per_service_endpoint_is_checked(moto_endpoint, fake_dns):
    """A service endpoint of its own is checked on its own: moto on loopback answers, the other is refused."""
    from asbuilt.probes.aws import AwsProbe

    fake_dns["s3.internal.guard.test"] = "10.20.0.5"
    probe = AwsProbe(AwsSection(region="us-east-1", endpoint_url=moto_endpoint,
                                service_endpoints={"s3": "http://s3.internal.guard.test:9000"}),
                     allowed_networks=LOOPBACK)
    assert probe.preflight()["Account"]
    with pytest.raises(NetworkRefused, match=r"s3\.internal\.guard\.test:9000 \(10\.20\.0\.5\)"):
        probe.call("s3", "list_buckets")
    assert netguard_plugin.take() == []


def test_aws_metadata_credential_providers_are_dropped_when_not_allowed():
    from asbuilt.probes.aws import AwsProbe

    probe = AwsProbe(AwsSection(region="us-east-1", endpoint_url="http://127.0.0.1:9"), allowed_networks=LOOPBACK)
    methods = [p.METHOD for p in probe.session._session.get_component("credential_provider").providers]
    assert "iam-role" not in methods and "container-role" not in methods
    free = AwsProbe(AwsSection(region="us-east-1", endpoint_url="http://127.0.0.1:9"))
    assert "iam-role" in [p.METHOD for p in free.session._session.get_component("credential_provider").providers]


def test_cli_run_against_a_disallowed_endpoint_is_one_line_and_connects_nowhere(tmp_path, child_connect_log):
    env, log = child_connect_log
    target = write_yaml(tmp_path / "target.yaml", {
        "name": "t", "allowed_networks": ["127.0.0.0/8"],
        "aws": {"region": "us-east-1", "endpoint_url": "http://10.11.12.13:4566"}})
    t0 = time.monotonic()
    res = asbuilt("run", "--target", target, "--live-only", "--report-dir", tmp_path / "out", env=env, timeout=120)
    assert res.code == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert lines == ["asbuilt: error: target t: refusing to connect to 10.11.12.13:4566: outside the target's "
                     "allowed_networks (127.0.0.0/8)"], res.stderr
    assert "test network guard not installed" not in res.stderr
    assert log.read_text() == ""  # the child tried no connect outside loopback
    assert time.monotonic() - t0 < 60


# --------------------------------------------------------------------------- Kubernetes


def _kubeconfig(tmp_path, server: str):
    return write_yaml(tmp_path / "kubeconfig", {
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "not-a-real-token"}}]})


def test_kubernetes_api_server_outside_allowed_networks_is_refused(tmp_path, fake_dns):
    from asbuilt.probes.k8s import KubeProbe

    fake_dns["api.cluster.guard.test"] = "10.100.0.1"
    for server, shown in (("https://10.11.12.13:6443", "10.11.12.13:6443"),
                          ("https://api.cluster.guard.test", r"api.cluster.guard.test:443 \(10.100.0.1\)")):
        kubeconfig = _kubeconfig(tmp_path, server)
        target = Target(name="t", allowed_networks=LOOPBACK, kubernetes={"kubeconfig": str(kubeconfig)})
        with pytest.raises(NetworkRefused, match=f"^refusing to connect to the Kubernetes API server {shown}: "):
            KubeProbe(KubernetesSection(kubeconfig=kubeconfig), target)
    assert netguard_plugin.take() == []


# --------------------------------------------------------------------------- Kafka


def test_kafka_bootstrap_name_resolving_outside_is_refused(fake_dns):
    from asbuilt.probes.kafka import KafkaProbe

    fake_dns["broker.guard.test"] = "10.30.0.2"
    probe = KafkaProbe(KafkaSection(bootstrap_servers="broker.guard.test:9094"), Target(name="t", allowed_networks=LOOPBACK))
    with pytest.raises(NetworkRefused, match=r"broker\.guard\.test:9094 \(10\.30\.0\.2\)"):
        probe.topics(["x"])
    assert netguard_plugin.take() == []


def test_kafka_client_asks_the_guard_before_each_broker_connection():
    """The brokers the metadata advertises are connected to by kafka-python's own connection
    manager: the guarded client refuses each one outside allowed_networks before its socket."""
    import asyncio

    from kafka.cluster import ClusterMetadata  # noqa: F401  (the real client, nothing faked)

    from asbuilt.probes.kafka import guarded_client

    refused: list = []
    client = guarded_client(NetGuard(LOOPBACK), refused)(bootstrap_servers=["127.0.0.1:9"], client_id="t")
    try:
        class Node:  # a broker as the metadata response names it
            host, port, node_id, rack = "10.40.0.9", 9092, 1, None

        with pytest.raises(NetworkRefused, match=r"10\.40\.0\.9:9092"):
            asyncio.run(client._manager._build_transport(Node()))
        assert len(refused) == 1
    finally:
        client.close()
    assert netguard_plugin.take() == []


# --------------------------------------------------------------------------- PostgreSQL


def test_postgres_host_is_refused_or_pinned_to_the_checked_address(fake_dns):
    from asbuilt.probes import platform_db

    fake_dns["db.guard.test"] = "10.50.0.3"
    fake_dns["local-db.guard.test"] = "127.0.0.5"
    target = Target(name="t", allowed_networks=LOOPBACK)
    for host in ("10.11.12.13", "db.guard.test"):
        with pytest.raises(NetworkRefused, match="refusing to connect to database host"):
            platform_db.connect(PostgresSection(host=host, dbname="d", user="u"), target)
    # allowed: libpq goes to the address the guard checked (hostaddr), the name stays for TLS
    assert platform_db.checked_hosts("local-db.guard.test", 5432, LOOPBACK) == {
        "host": "local-db.guard.test", "hostaddr": "127.0.0.5"}
    assert platform_db.checked_hosts("/run/postgresql", 5432, LOOPBACK) == {"host": "/run/postgresql", "hostaddr": ""}
    assert platform_db.checked_hosts("db.guard.test", 5432, []) == {}
    assert netguard_plugin.take() == []


# --------------------------------------------------------------------------- HTTP


@pytest.fixture
def redirector():
    """A loopback HTTP server whose every answer is a redirect to 10.60.0.1."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", "http://10.60.0.1/bundle.zip")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_http_get_checks_the_url_and_every_redirect(redirector):
    from asbuilt.probes.bundle_store import http_get

    with pytest.raises(NetworkRefused, match="^refusing to GET from 10.60.0.2:80"):
        http_get("http://10.60.0.2/x.zip", 1000, 2, LOOPBACK)
    with pytest.raises(NetworkRefused, match=r"^refusing to follow a redirect to 10\.60\.0\.1:80"):
        http_get(f"{redirector}/x.zip", 1000, 2, LOOPBACK)
    with pytest.raises(ProbeError) as exc:
        http_get("http://user:S3cretPw@127.0.0.1:9/x.zip", 1000, 2, LOOPBACK)
    assert "S3cretPw" not in str(exc.value)
    assert netguard_plugin.take() == []


# --------------------------------------------------------------------------- a failed call is not repeated


@pytest.fixture
def silent_server():
    """A loopback socket that accepts every connection and never answers; counts the connections."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def loop():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                accepted.append(conn)
            except OSError:
                pass

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    t.join()
    for c in accepted:
        c.close()
    srv.close()


def test_a_silent_aws_endpoint_costs_one_call_per_object(silent_server):
    from asbuilt.probes.aws import AwsProbe

    port, accepted = silent_server
    section = AwsSection(region="us-east-1", endpoint_url=f"http://127.0.0.1:{port}",
                         timeouts={"connect": 1, "read": 0.5, "max_attempts": 2}, resources={"rds_instance": "db1"})
    probe = AwsProbe(section, allowed_networks=LOOPBACK)
    t0 = time.monotonic()
    errors = set()
    for _ in range(5):  # five scenarios asking for the same two objects
        for ask in (lambda: probe.rds_instances_raw, lambda: probe.paginate("eks", "list_clusters", "clusters")):
            with pytest.raises(ProbeError) as exc:
                ask()
            errors.add(str(exc.value))
    elapsed = time.monotonic() - t0
    time.sleep(0.3)
    assert len(accepted) <= 2 * 2, len(accepted)  # max_attempts of ONE call per object
    assert errors == {"rds.describe_db_instances: the AWS endpoint did not answer in time",
                      "eks.list_clusters: the AWS endpoint did not answer in time"}
    assert elapsed < 2 * 2 * (0.5 + 1) + 5, elapsed


def test_a_silent_kubernetes_api_costs_one_request_per_object(tmp_path, silent_server):
    from asbuilt.probes import k8s

    port, accepted = silent_server
    kubeconfig = _kubeconfig(tmp_path, f"http://127.0.0.1:{port}")
    section = KubernetesSection(kubeconfig=kubeconfig, request_timeout=0.5)
    target = Target(name="t", allowed_networks=LOOPBACK)
    k8s.K8S_FAILED.clear()
    first = k8s.KubeProbe(section, target)
    with pytest.raises(ProbeError) as exc:
        first.deployments()
    time.sleep(0.3)
    one_call = len(accepted)
    assert one_call >= 1
    t0 = time.monotonic()
    for probe in (first, k8s.KubeProbe(section, target)):  # the run's two probes (kube, kube_iam)
        for _ in range(5):
            with pytest.raises(ProbeError) as again:
                probe.deployments()
            assert str(again.value) == str(exc.value)
    time.sleep(0.3)
    assert len(accepted) == one_call, (one_call, len(accepted))
    assert time.monotonic() - t0 < 1.5
    k8s.K8S_FAILED.clear()


def test_failure_memo_only_remembers_probe_errors():
    from asbuilt.probes import FailureMemo

    memo, calls = FailureMemo(), []

    def flaky():
        calls.append(1)
        raise ProbeError("x.y: denied")

    for _ in range(3):
        with pytest.raises(ProbeError, match="x.y: denied"):
            memo.call(memo.key("x", "y", {"a": 1}), flaky)
    assert len(calls) == 1
    assert memo.call(memo.key("x", "y", {"a": 2}), lambda: {"ok": True}) == {"ok": True}
    assert json.loads(memo.key("x", {"b": 1}))  # keys are plain JSON
