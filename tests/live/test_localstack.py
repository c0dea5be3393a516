"""The reference AWS estate on LocalStack (community edition, run for real) instead of moto.

LocalStack runs in its own network namespace with no route out (asbuilt_sandbox.parts.localstack),
from its cached venv (Python 3.13). What it emulates (S3, IAM, KMS, EC2, STS) is judged as on
moto; what it answers HTTP 501 for (EKS, RDS, MSK, ELBv2, ECR) is `error` with "LocalStack
community edition does not emulate <service>", classified by the answer; the drifts it can hold
fail their controls. Skipped (with the reason) only when the machine has no Python 3.13.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from asbuilt_sandbox.parts import localstack as ls

# One worker under pytest-xdist (scripts/test.sh: --dist loadgroup): one LocalStack, one namespace.
pytestmark = [pytest.mark.localstack, pytest.mark.slow, pytest.mark.xdist_group("localstack")]

# Not the sandbox's names (asb-*) nor its addresses (198.18.0.0/16); the port is this suite's own.
NETNS, HOST_IF, SUBNET = "asbls-t", "asbls-t0", "198.19.54.0/30"
PORT = int(os.environ.get("ASBUILT_TEST_LOCALSTACK_PORT", "15401"))

AWS_CONTROLS = ("VER-01", "VER-02", "VER-03", "SIZE-01", "SIZE-02", "SIZE-03", "HA-01", "HA-02", "HA-03", "HA-04",
                "HA-06", "NET-01", "NET-02", "NET-03", "NET-06", "NET-07", "NET-08", "IAM-01", "IAM-03", "IAM-04",
                "IAM-05", "S3-01", "S3-02", "ECR-01")
# What LocalStack community gives evidence for: judged as on moto (the reference passes them all there).
EMULATED = ("IAM-01", "IAM-04", "IAM-05", "S3-01", "S3-02")
# The service each other control's first read goes to, as LocalStack's 501 names it.
NOT_EMULATED = {"VER-01": "eks", "SIZE-01": "eks", "HA-04": "eks", "NET-08": "eks", "IAM-03": "eks",  # IAM-03: its provider
                "VER-02": "rds", "SIZE-02": "rds", "HA-01": "rds", "HA-02": "rds", "NET-01": "rds", "NET-03": "rds",
                "VER-03": "kafka", "SIZE-03": "kafka", "HA-03": "kafka", "NET-02": "kafka", "NET-07": "kafka",
                "HA-06": "elbv2", "NET-06": "elbv2", "ECR-01": "ecr"}


@pytest.fixture(scope="module")
def localstack(tmp_path_factory):
    if ls.python313() is None:
        pytest.skip("LocalStack's runtime needs Python 3.13; none under ~/.pyenv/versions/3.13* (ASBUILT_PYTHON313)")
    if os.geteuid() != 0:
        pytest.skip("LocalStack runs in a network namespace of its own: needs root")
    saved = os.environ.get("ASBUILT_STATE")
    os.environ["ASBUILT_STATE"] = str(tmp_path_factory.mktemp("localstack-state"))
    part = ls.LocalStackPart(netns=NETNS, host_if=HOST_IF, subnet=SUBNET, port=PORT)
    try:
        part.start()
        yield part
    finally:
        part.stop()
        if saved is None:
            os.environ.pop("ASBUILT_STATE", None)
        else:
            os.environ["ASBUILT_STATE"] = saved


def provision(part, **changes) -> dict:
    from asbuilt_sandbox import aws_reference

    part.restart()  # an empty account: the community edition has no reset API
    ref = dataclasses.replace(aws_reference.Reference(), **changes)
    return aws_reference.provision(part.endpoint_url, ref, **ls.CREDENTIALS)


def write_target(path: Path, part, ids: dict) -> Path:
    key, secret = path.parent / "ls_key_id", path.parent / "ls_secret"
    key.write_text(ls.CREDENTIALS["aws_access_key_id"])
    secret.write_text(ls.CREDENTIALS["aws_secret_access_key"])
    target = {
        "name": "localstack-estate", "description": "the reference AWS estate in LocalStack community",
        "profile": "conncentric-aws", "allowed_networks": [str(part.subnet)],
        "aws": {
            "region": "us-east-1", "endpoint_url": part.endpoint_url,
            "credentials": {"access_key_id": {"file": str(key)}, "secret_access_key": {"file": str(secret)}},
            "timeouts": {"connect": 5, "read": 30, "max_attempts": 2},
            "resources": {
                "eks_cluster": ids["eks_cluster"], "eks_nodegroup": ids["eks_nodegroup"],
                "rds_instance": ids["rds_instance"], "msk_cluster": ids["msk_cluster_arn"], "alb": ids["alb"],
                "bundle_bucket": ids["bundle_bucket"], "installer_role": ids["installer_role"],
                "installer_policy": ids["installer_policy_arn"], "node_role": ids["node_role"],
                "ecr_repositories": ids["ecr_repositories"],
            },
        },
    }
    path.write_text(yaml.safe_dump(target, sort_keys=False))
    return path


def run(tmp_path: Path, target: Path) -> tuple:
    from tests.helpers import asbuilt, by_id

    args = ["run", "--target", target, "--live-only", "--report-dir", tmp_path / "out"]
    for c in AWS_CONTROLS:
        args += ["--control", c]
    res = asbuilt(*args, timeout=300)
    assert "Traceback" not in res.stdout + res.stderr, res.stderr[-2000:]
    return res, by_id(json.loads((tmp_path / "out" / "results.json").read_text()))


def test_its_namespace_has_no_route_out_and_it_listens_only_there(localstack):
    assert localstack.default_routes() == []
    routes = subprocess.run(["ip", "-n", NETNS, "-4", "route", "show"], capture_output=True, text=True).stdout
    assert routes.split() and all(line.startswith(SUBNET) for line in routes.strip().splitlines()), routes
    # the kernel's own answer for an address outside: unreachable (nothing is sent by `ip route get`)
    probe = subprocess.run(["ip", "netns", "exec", NETNS, "ip", "route", "get", "192.0.2.1"],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "unreachable" in probe.stderr.lower(), probe
    listen = subprocess.run(["ip", "netns", "exec", NETNS, "ss", "-Hltnu"], capture_output=True, text=True).stdout
    local = [line.split()[4] for line in listen.strip().splitlines()]
    assert local and all(a.startswith((localstack.addr + ":", "127.")) for a in local), listen  # no 0.0.0.0:53
    facts = localstack.facts()
    assert facts["edition"] == "community" and facts["version"] == ls.VERSION


def test_the_reference_is_judged_as_on_moto_where_localstack_emulates_it(localstack, tmp_path):
    ids = provision(localstack)
    assert set(ids["not_emulated"]) == {"eks", "rds", "kafka", "elbv2", "ecr"}, ids["not_emulated"]
    res, results = run(tmp_path, write_target(tmp_path / "target.yaml", localstack, ids))
    assert res.code == 2  # errors: the run is incomplete, never a pass
    for c in EMULATED:
        assert results[c]["status"] == "pass", (c, results[c]["message"])
    for c, svc in NOT_EMULATED.items():
        assert results[c]["status"] == "error", (c, results[c]["status"], results[c]["message"])
        assert f"LocalStack community edition does not emulate {svc}" in results[c]["message"], results[c]["message"]
    # the simulator stub is never trusted: the documents decided, and the evidence says why
    (iam05,) = results["IAM-05"]["evidence"]
    assert iam05["method"].startswith("policy documents evaluated"), iam05["method"]
    assert "not trusted" in iam05["method"], iam05["method"]
    assert iam05.get("answered_by") == "LocalStack", iam05


@pytest.mark.parametrize("name", ("bucket-unversioned", "bucket-public-access", "installer-policy-wildcard",
                                  "installer-can-write", "bundle-policy-on-node-role", "installer-trust-any-sa"))
def test_each_drift_localstack_holds_fails_its_controls(name, localstack, tmp_path):
    from asbuilt_sandbox.drifts import BY_NAME

    drift = BY_NAME[name]
    ids = provision(localstack, **drift.aws)
    _, results = run(tmp_path, write_target(tmp_path / "target.yaml", localstack, ids))
    # IAM-03 is an error on the reference (its OIDC provider comes from EKS), a fail on a trust
    # that is wrong on its own (a known violation needs no unknown fact)
    judged = (*EMULATED, "IAM-03")
    expected = set(drift.controls) & set(judged)
    assert expected, name
    broken = {c for c in judged if results[c]["status"] not in ("pass", "error")}
    assert results["IAM-03"]["status"] == ("fail" if "IAM-03" in expected else "error"), results["IAM-03"]
    assert broken == expected, {c: (results[c]["status"], results[c]["message"][:300]) for c in broken ^ expected}
    assert {c for c in EMULATED if results[c]["status"] == "error"} == set(), results
    for c in expected:
        assert results[c]["status"] in ("fail", "warn") and results[c]["findings"], (c, results[c])


def test_the_501_answer_is_classified_by_the_answer_not_by_a_name(localstack):
    """A real LocalStack 501 is NotEmulated; an operation of a service that answered before names the operation."""
    from asbuilt.probes.aws import AwsProbe, NotEmulated
    from asbuilt.target import AwsSection, AwsTimeouts

    os.environ.update(AWS_ACCESS_KEY_ID=ls.CREDENTIALS["aws_access_key_id"],
                      AWS_SECRET_ACCESS_KEY=ls.CREDENTIALS["aws_secret_access_key"])
    probe = AwsProbe(AwsSection(region="us-east-1", endpoint_url=localstack.endpoint_url,
                                timeouts=AwsTimeouts(connect=5, read=30, max_attempts=1)),
                     allowed_networks=[str(localstack.subnet)])
    with pytest.raises(NotEmulated) as err:
        probe.call("rds", "describe_db_instances")
    assert "LocalStack community edition does not emulate rds " in str(err.value)
    probe.call("iam", "list_roles")
    with pytest.raises(NotEmulated) as err:
        probe.paginate("iam", "simulate_custom_policy", "EvaluationResults", PolicyInputList=["{}"],
                       ActionNames=["s3:GetObject"])
    assert "does not emulate iam:SimulateCustomPolicy" in str(err.value)
    trusted, why = probe.simulator_trusted()
    assert not trusted and "not trusted" in why


def test_presigned_urls_are_checked_for_signature_and_expiry(localstack):
    """What moto cannot give: LocalStack refuses a wrongly signed, a tampered and an expired
    pre-signed URL (with an access key it made itself, checked against that key's own secret), and
    asbuilt's refusal checks (BNDL-02, IAM-06) read its answers as proof."""
    import time
    import urllib.error
    import urllib.request

    import boto3

    from asbuilt.probes import bundle_store as bs
    from asbuilt.probes.aws import without_expect_continue
    from asbuilt.rules import iam

    localstack.restart()
    creds = ls.registered_credentials(localstack.endpoint_url)
    s3 = without_expect_continue(boto3.client("s3", endpoint_url=localstack.endpoint_url, region_name="us-east-1",
                                              **creds))
    s3.create_bucket(Bucket="asbuilt-presign-check")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def status(url: str) -> int:
        try:
            with opener.open(urllib.request.Request(url), timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    params = {"Bucket": "asbuilt-presign-check", "Key": "bundle.zip"}
    # botocore's PutObject sends Expect: 100-continue, on which LocalStack's hypercorn gateway closes
    # the connection; without it (asbuilt's S3 clients) the upload goes through
    s3.put_object(Body=b"zip", **params)
    good = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=60)
    assert status(good) == 200
    forged = boto3.client("s3", endpoint_url=localstack.endpoint_url, region_name="us-east-1",
                          aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key="not-the-secret-0000")
    assert status(forged.generate_presigned_url("get_object", Params=params, ExpiresIn=60)) == 403
    signed_at = time.time()
    expiring = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=1)
    got = bs.refusals(good, 10, [str(localstack.subnet)], expiring, signed_at + 1, custom_endpoint=True)
    assert got["tampered_signature"]["status"] == 403, got
    assert got["tampered_signature"]["code"] == "SignatureDoesNotMatch", got
    assert got["expired"]["status"] == 403 and got["expired"]["answered_by"] == "LocalStack", got
    findings, clause = iam.presign_enforcement("s3://asbuilt-presign-check/bundle.zip", got)
    assert findings == [] and clause.count("is refused (HTTP 403") == 2, clause
