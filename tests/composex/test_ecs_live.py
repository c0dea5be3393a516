"""The ECS reader and CPX-02 live, against a private moto server provisioned with the reference's
live counterpart (asbuilt_sandbox.composex_reference): conforming passes; each CPX-02 drift
fails naming the task definition; every call the reader makes is in the shipped read-only policy
(SUITE-02) and none is GetSecretValue."""

from __future__ import annotations

import json

import pytest

from asbuilt.catalogue import load_profile
from asbuilt.controls import unit
from asbuilt.probes.aws import AwsProbe
from asbuilt.readers.ecs_api import EcsReader, jaas_username, secret_id
from asbuilt.suite_controls import policy_coverage
from asbuilt.target import Target
from asbuilt_sandbox import composex_reference as cx
from tests.composex.moto import moto_server


@pytest.fixture(scope="module")
def endpoint():
    with moto_server() as url:
        yield url


def _reset(endpoint: str) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    opener.open(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).read()


def _read(endpoint: str, drifts: list[str]):
    _reset(endpoint)
    got = cx.provision(endpoint, cx.drifted(drifts))
    target = Target.model_validate({
        "name": "composex-moto", "profile": "composex-ecs",
        "aws": {"region": "us-east-1", "endpoint_url": endpoint},
        "ecs": cx.ecs_target_section(got), "allowed_networks": ["127.0.0.0/8"]})
    probe = AwsProbe(target.aws, allowed_networks=target.allowed_networks)
    reader = EcsReader(probe, target.ecs)
    return got, reader, probe


def _cpx02(reader):
    return unit("CPX-02").decide(reader.credential_items(), load_profile("composex-ecs"), "live")


def test_reference_passes_cpx02_live(endpoint):
    got, reader, probe = _read(endpoint, [])
    v = _cpx02(reader)
    assert v.status == "pass", v.message
    assert len(reader.workloads()) == 2
    calls = dict(probe.recorder.calls)
    assert "secretsmanager:GetSecretValue" not in calls
    assert calls.get("secretsmanager:DescribeSecret") == 4, calls  # each secret once
    assert policy_coverage(list(calls), []).status == "pass", policy_coverage(list(calls), []).message
    text = json.dumps(v.to_json(), default=str)
    assert not any(s["password"] in text for s in got["scram"])


def test_principals_come_from_the_target(endpoint):
    got, reader, _ = _read(endpoint, [])
    ps = reader.principals()
    assert {(p["principal"], p["role"]) for p in ps} == {(p["principal"], p["role"]) for p in got["principals"]}
    worker = next(p for p in ps if p["role"] == "connect-worker")
    assert worker["context"]["group_id"] == "connect" and worker["context"]["config_topic"] == "connect-configs"


def test_literal_jaas_fails_cpx02_and_names_the_role(endpoint):
    got, reader, _ = _read(endpoint, ["cpx-literal-jaas"])
    v = _cpx02(reader)
    assert v.status == "fail", v.message
    assert got["task_definitions"]["connect"] in v.message
    assert "CONNECT_SASL_JAAS_CONFIG is written in environment" in v.message and "Fix:" in v.message
    assert not any(s["password"] in json.dumps(v.to_json(), default=str) for s in got["scram"])
    # without principals in the target, the worker's role is learned from the JAAS username only
    reader.section = reader.section.model_copy(update={"principals": []})
    learned = reader.principals()
    assert [(p["principal"], p["role"]) for p in learned] == [("User:connect-worker", "connect-worker")]
    assert "username of CONNECT_SASL_JAAS_CONFIG" in learned[0]["role_source"]


def test_missing_secret_fails_cpx02(endpoint):
    got, reader, _ = _read(endpoint, ["cpx-missing-secret"])
    v = _cpx02(reader)
    assert v.status == "fail", v.message
    assert "does not exist" in v.message and "CONNECT_PRODUCER_SASL_JAAS_CONFIG" in v.message


def test_value_from_and_jaas_parsing():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:/kafka/x/connect.worker-AbCdEf"
    assert secret_id(f"{arn}:sasl.jaas.config::") == arn
    assert secret_id("arn:aws:ssm:us-east-1:123456789012:parameter/x") is None
    assert jaas_username('x required username="alice" password="p4ss";') == "alice"


def test_services_found_by_tags(endpoint):
    got, reader, _ = _read(endpoint, [])
    tagged = reader.section.model_copy(update={"services": [], "tags": {"Project": "composex-reference"}})
    assert {w.name for w in EcsReader(reader.aws, tagged).workloads()} == {"connect", "controlcenter"}
    other = reader.section.model_copy(update={"services": [], "tags": {"Project": "someone-else"}})
    v = unit("CPX-02").decide(EcsReader(reader.aws, other).credential_items(), load_profile("composex-ecs"), "live")
    assert v.status == "error" and "nothing was examined" in v.message


def test_static_and_live_readers_fill_one_shape(endpoint):
    """The compose reader (reference, env dev) and the ECS reader (its live counterpart) agree:
    same item fields, same services, the same credential variables from Secrets Manager."""
    from asbuilt.static.compose import credential_facts, project_stacks
    from tests.helpers import ROOT

    [stack] = project_stacks([ROOT / "examples" / "reference" / "composex" / "docker-compose.yml"])
    static_items = {i["service"]: i for i in credential_facts(stack) if i["env"] == "dev"}
    _, reader, _ = _read(endpoint, [])
    live_items = {i["service"]: i for i in reader.credential_items()}
    assert static_items.keys() == live_items.keys() == {"connect", "controlcenter"}
    for name in static_items:
        s, v = static_items[name], live_items[name]
        assert {k for k in s if not k.startswith("_")} == set(v)
        assert s["needs_credentials"] and v["needs_credentials"]
        assert {n for x in s["secrets"] for n in x["var_names"]} == {n for x in v["secrets"] for n in x["var_names"]}
        assert all(x["backend"] == "secretsmanager" for x in s["secrets"] + v["secrets"])


def test_an_s3_environment_file_is_an_unknown_never_a_pass(endpoint):
    """A task definition's environmentFiles (S3 .env objects) may set the credentials: asbuilt does
    not fetch them, so CPX-02 is error naming the file, not pass on the variables it could see."""
    import boto3

    got, reader, _ = _read(endpoint, [])
    ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    td = ecs.describe_task_definition(taskDefinition=got["task_definitions"]["connect"])["taskDefinition"]
    containers = [{**c, "environmentFiles": [{"value": "arn:aws:s3:::cfg-bucket/connect.env", "type": "s3"}]}
                  for c in td["containerDefinitions"]]
    new = ecs.register_task_definition(family=td["family"], containerDefinitions=containers,
                                       **{k: td[k] for k in ("cpu", "memory", "networkMode",
                                                             "requiresCompatibilities") if k in td})
    arn = new["taskDefinition"]["taskDefinitionArn"]
    cluster = reader.section.cluster
    for svc in ecs.describe_services(cluster=cluster, services=ecs.list_services(cluster=cluster)["serviceArns"])[
            "services"]:
        if svc["taskDefinition"] == got["task_definitions"]["connect"]:
            ecs.update_service(cluster=cluster, service=svc["serviceName"], taskDefinition=arn)
    _, reader, _ = _read_again(endpoint, got)
    v = _cpx02(reader)
    assert v.status == "error", v.message
    assert "arn:aws:s3:::cfg-bucket/connect.env" in v.message and "not read" in v.message


def _read_again(endpoint: str, got: dict):
    """The reader over what moto holds now (no reset, no provisioning)."""
    target = Target.model_validate({
        "name": "composex-moto", "profile": "composex-ecs",
        "aws": {"region": "us-east-1", "endpoint_url": endpoint},
        "ecs": cx.ecs_target_section(got), "allowed_networks": ["127.0.0.0/8"]})
    probe = AwsProbe(target.aws, allowed_networks=target.allowed_networks)
    return got, EcsReader(probe, target.ecs), probe
