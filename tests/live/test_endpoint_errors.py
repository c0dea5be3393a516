"""Unsupported or unreachable target parts give `error` (or exit 2), never a crash or a pass.

Against a real moto server (the reference estate provisioned into it) and small loopback stubs
that answer like LocalStack without a licence, like a throttled API, or not at all.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import botocore.exceptions as bce
import pytest

from asbuilt.probes import ProbeError
from asbuilt.probes.aws import AwsProbe, UnsupportedOperation, explain, is_read_operation
from asbuilt_sandbox import aws_reference
from asbuilt.target import AwsSection, AwsTimeouts
from tests.helpers import asbuilt, by_id, reset_moto, write_yaml

AWS_CONTROLS = ("VER-01", "VER-02", "VER-03", "SIZE-01", "SIZE-02", "SIZE-03", "HA-01", "HA-02", "HA-03", "HA-04",
                "HA-06", "NET-01", "NET-02", "NET-03", "NET-06", "NET-07", "NET-08", "IAM-01", "IAM-03", "IAM-04",
                "IAM-05", "S3-01", "S3-02", "ECR-01")
KAFKA_CONTROLS = ("VER-03", "SIZE-03", "HA-03", "NET-02", "NET-03", "NET-07", "NET-08")


class Stub:
    """A loopback HTTP server answering every request with one canned response (or never)."""

    def __init__(self, status: int = 200, body: bytes = b"", headers: dict | None = None, hang: float = 0):
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                stub.requests.append(self.path)
                if hang:
                    time.sleep(hang)
                    return
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def estate(moto_endpoint):
    reset_moto(moto_endpoint)
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # moto's: never real ones
    try:
        return aws_reference.provision(moto_endpoint)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _target(tmp_path: Path, endpoint: str, ids: dict, **aws_extra) -> Path:
    aws = {"region": "us-east-1", "endpoint_url": endpoint,
           "timeouts": {"connect": 2, "read": 5, "max_attempts": 2},
           "resources": {"eks_cluster": ids["eks_cluster"], "eks_nodegroup": ids["eks_nodegroup"],
                         "rds_instance": ids["rds_instance"], "msk_cluster": ids["msk_cluster_arn"],
                         "alb": ids["alb"], "bundle_bucket": ids["bundle_bucket"],
                         "installer_role": ids["installer_role"], "installer_policy": ids["installer_policy_arn"],
                         "node_role": ids["node_role"], "ecr_repositories": ids["ecr_repositories"]}}
    aws.update(aws_extra)
    return write_yaml(tmp_path / "target.yaml", {"name": "moto-estate", "profile": "conncentric-aws",
                                                   "allowed_networks": ["127.0.0.0/8"], "aws": aws})


def _run(tmp_path, target: Path, controls=AWS_CONTROLS, env=None):
    args = ["run", "--target", target, "--live-only", "--report-dir", tmp_path / "out"]
    for c in controls:
        args += ["--control", c]
    res = asbuilt(*args, env=env, timeout=300)
    out = tmp_path / "out" / "results.json"
    return res, (by_id(json.loads(out.read_text())) if out.exists() else None)


def test_moto_estate_passes_and_unimplemented_operations_fall_back(estate, moto_endpoint, tmp_path):
    res, results = _run(tmp_path, _target(tmp_path, moto_endpoint, estate))
    bad = {c: (results[c]["status"], results[c]["message"][:160]) for c in AWS_CONTROLS if results[c]["status"] != "pass"}
    assert not bad, bad
    assert res.code == 0
    # moto answers kafka:ListNodes with an HTML 500: broker zones come from the client subnets, and say so
    (ha03,) = results["HA-03"]["evidence"]
    assert "client subnets" in ha03["zones_from"] and "does not implement" in ha03["zones_from"]
    # moto does not implement iam:SimulatePrincipalPolicy: the documents decided, and the evidence says so
    (iam05,) = results["IAM-05"]["evidence"]
    assert iam05["method"].startswith("policy documents evaluated") and "simulate_principal_policy" in iam05["method"]
    assert results["IAM-05"]["status"] == "pass"


def test_a_service_the_endpoint_does_not_offer_is_an_error(estate, moto_endpoint, tmp_path):
    body = json.dumps({"__type": "InternalFailure", "message": "The API for service 'kafka' is either not included "
                       "in your current license plan or has not yet been emulated by LocalStack."}).encode()
    stub = Stub(501, body, {"Content-Type": "application/json", "x-amzn-ErrorType": "InternalFailure"})
    try:
        target = _target(tmp_path, moto_endpoint, estate, service_endpoints={"kafka": stub.url})
        res, results = _run(tmp_path, target)
    finally:
        stub.close()
    assert res.code == 2, res.stdout[-1000:]
    for c in KAFKA_CONTROLS:
        assert results[c]["status"] == "error", (c, results[c]["status"], results[c]["message"])
        assert "does not implement this operation" in results[c]["message"], results[c]["message"]
    others = [c for c in AWS_CONTROLS if c not in KAFKA_CONTROLS]
    assert {results[c]["status"] for c in others} == {"pass"}, {c: results[c]["message"] for c in others
                                                                if results[c]["status"] != "pass"}
    assert "Traceback" not in res.stdout + res.stderr


def test_an_unreachable_endpoint_ends_the_run_with_one_line(estate, tmp_path):
    target = _target(tmp_path, f"http://127.0.0.1:{_closed_port()}", estate)
    res, results = _run(tmp_path, target, controls=("VER-01",))
    assert res.code == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach the AWS endpoint" in lines[0], res.stderr
    assert "Traceback" not in res.stderr


def test_one_unreachable_service_endpoint_errors_its_controls_only(estate, moto_endpoint, tmp_path):
    target = _target(tmp_path, moto_endpoint, estate, service_endpoints={"rds": f"http://127.0.0.1:{_closed_port()}"})
    res, results = _run(tmp_path, target, controls=("VER-01", "VER-02", "HA-01", "SIZE-02", "S3-01"))
    assert res.code == 2
    for c in ("VER-02", "HA-01", "SIZE-02"):
        assert results[c]["status"] == "error" and "cannot reach the AWS endpoint" in results[c]["message"]
    assert results["VER-01"]["status"] == results["S3-01"]["status"] == "pass"


def test_invalid_credentials_end_the_run_with_one_line(tmp_path, estate):
    """moto with INITIAL_NO_AUTH_ACTION_COUNT=0 checks the access key like AWS does."""
    port = _closed_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        target = _target(tmp_path, f"http://127.0.0.1:{port}", estate)
        res, _ = _run(tmp_path, target, controls=("VER-01",),
                      env={"AWS_ACCESS_KEY_ID": "AKIAEXPIREDEXPIRED00", "AWS_SECRET_ACCESS_KEY": "nope"})
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert res.code == 2, res.stdout + res.stderr
    assert "credentials are expired or invalid" in res.stderr and "InvalidClientTokenId" in res.stderr, res.stderr
    assert "nope" not in res.stderr + res.stdout  # never a secret in the output


def _probe(endpoint: str, **timeouts) -> AwsProbe:
    return AwsProbe(AwsSection(region="us-east-1", endpoint_url=endpoint, timeouts=AwsTimeouts(**timeouts)))


def test_throttling_is_retried_with_backoff_then_an_error():
    body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
            b"</Error><RequestId>1</RequestId></ErrorResponse>")
    stub = Stub(400, body, {"Content-Type": "text/xml"})
    try:
        probe = _probe(stub.url, connect=2, read=5, max_attempts=3)
        t0 = time.monotonic()
        with pytest.raises(ProbeError) as err:
            probe.call("rds", "describe_db_instances")
        elapsed = time.monotonic() - t0
    finally:
        stub.close()
    assert len(stub.requests) == 3  # retried, bounded by max_attempts
    assert "throttled by AWS after retries (Throttling)" in str(err.value)
    assert elapsed < 30
    assert probe.recorder.calls["rds:DescribeDBInstances"] == 1  # one operation, however many attempts


def test_a_silent_endpoint_times_out_within_the_bound():
    stub = Stub(hang=30)
    try:
        probe = _probe(stub.url, connect=1, read=1, max_attempts=1)
        t0 = time.monotonic()
        with pytest.raises(ProbeError) as err:
            probe.call("eks", "list_clusters")
        assert time.monotonic() - t0 < 10
    finally:
        stub.close()
    assert "did not answer in time" in str(err.value)


def test_default_timeouts_stay_under_thirty_seconds_per_call():
    t = AwsTimeouts()
    assert t.connect + t.read < 30
    # a loopback endpoint: this test makes no call, and no test may ever default to real AWS
    probe = AwsProbe(AwsSection(region="us-east-1", endpoint_url="http://127.0.0.1:9"))
    assert probe.config.retries["mode"] == "standard"


def test_explain_is_one_line_for_each_failure():
    def client_error(code, status=400, message="m"):
        return bce.ClientError({"Error": {"Code": code, "Message": message},
                                "ResponseMetadata": {"HTTPStatusCode": status}}, "DescribeThings")

    assert explain(client_error("ThrottlingException"), "x.y") == "x.y: throttled by AWS after retries (ThrottlingException)"
    assert "expired or invalid (ExpiredToken)" in explain(client_error("ExpiredToken", 403), "x.y")
    assert "access denied" in explain(client_error("AccessDenied", 403), "x.y")
    assert "does not implement" in explain(client_error("", 404, "<html>not found</html>"), "x.y")
    assert "does not implement" in explain(
        client_error("InternalFailure", 501, "not included in your current license plan"), "x.y")
    assert "cannot reach" in explain(bce.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "x.y")
    assert "\n" not in explain(client_error("Weird", 400, "line one\nline two"), "x.y")


def test_unsupported_is_a_probe_error_callers_can_tell_apart(moto_endpoint):
    probe = _probe(moto_endpoint, connect=2, read=5, max_attempts=1)
    with pytest.raises(UnsupportedOperation):
        probe.call("kafka", "list_nodes", ClusterArn="arn:aws:kafka:us-east-1:123456789012:cluster/x/y")
    assert issubclass(UnsupportedOperation, ProbeError)


def test_read_operation_names():
    for op in ("DescribeDBInstances", "GetRole", "ListNodes", "HeadObject", "SimulatePrincipalPolicy"):
        assert is_read_operation(op)
    for op in ("PutObject", "CreateRole", "DeleteBucket", "AuthorizeSecurityGroupIngress", "UpdateCluster"):
        assert not is_read_operation(op)


def test_localstack_501_is_named_by_the_answer():
    """HTTP 501 with x-localstack: true is "LocalStack community edition does not emulate <service>",
    whatever the service is called; the same body without LocalStack's header stays generic."""
    from asbuilt.probes.aws import not_emulated_service

    def err(headers, service="mq"):
        return bce.ClientError({"Error": {"Code": "InternalFailure", "Message": f"The API for service {service} is "
                                          "either not included in your current license plan or has not yet been "
                                          "emulated by LocalStack."},
                                "ResponseMetadata": {"HTTPStatusCode": 501, "HTTPHeaders": headers}}, "ListBrokers")

    assert not_emulated_service(err({"x-localstack": "true"})) == "mq"
    assert "LocalStack community edition does not emulate mq " in explain(err({"x-localstack": "true"}), "mq.list_brokers")
    assert "does not emulate mq:ListBrokers" in explain(err({"x-localstack": "true"}), "mq.list_brokers",
                                                        operation_only=True)
    assert not_emulated_service(err({})) is None
    assert "does not implement this operation" in explain(err({}), "mq.list_brokers")
