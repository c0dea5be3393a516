"""The real ComposeX (ecs-composex 1.1.9) rendered examples/reference/composex (base +
envs/dev.yml) into CloudFormation (tests/composex/fixtures/rendered-dev/); its task definitions,
registered in a private moto server as CloudFormation would create them, pass CPX-02 live
exactly as the sandbox's own task definitions do.

How the fixture was made (ComposeX cannot run unchanged against moto, see the report notes):
in a network namespace with only loopback (``unshare -rn``), a moto server provisioned with
asbuilt_sandbox.composex_reference plus an ECS cluster, ``x-cluster`` removed from envs/dev.yml
(ComposeX looks clusters up through the Cloud Control API, which moto answers with a 500), and
``python tests/composex/render_novalidate.py render -n composex-reference-dev -f docker-compose.yml
-f envs/dev.yml -d OUT --format yaml`` (CloudFormation ValidateTemplate skipped: moto's rejects a
cfn-lint warning, W3005, as a validation error), with AWS_ENDPOINT_URL at that moto server,
AWS_ACCOUNT_ID=123456789012, CLUSTER_ID=sandbox, ENV_NAME=dev.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from asbuilt.catalogue import load_profile
from asbuilt.controls import unit
from asbuilt.probes.aws import AwsProbe
from asbuilt.readers.ecs_api import EcsReader
from asbuilt.target import Target
from asbuilt_sandbox import composex_reference as cx
from tests.composex.moto import moto_server

RENDERED = Path(__file__).parent / "fixtures" / "rendered-dev"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": cx.REGION, "AWS::AccountId": cx.ACCOUNT}
_NOVALUE = object()


def resolve(node, mappings: dict, refs: dict):
    """The intrinsics a ComposeX task definition uses (Sub, FindInMap, Ref; If -> the else
    branch: ComposeX's conditions are about external launch types, not Fargate)."""
    if isinstance(node, list):
        return [v for v in (resolve(i, mappings, refs) for i in node) if v is not _NOVALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (key, arg), = node.items()
        if key == "Ref":
            return _NOVALUE if arg == "AWS::NoValue" else PSEUDO.get(arg, refs.get(arg, f"(parameter {arg})"))
        if key == "Fn::FindInMap":
            m, k, f = resolve(arg, mappings, refs)
            return mappings[m][k][f]
        if key == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], mappings, refs))
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(local.get(m.group(1), PSEUDO.get(m.group(1),
                                                            refs.get(m.group(1), m.group(0))))), text)
        if key == "Fn::If":
            return resolve(arg[2], mappings, refs)
    return {k: v for k, v in ((k, resolve(v, mappings, refs)) for k, v in node.items()) if v is not _NOVALUE}


def container_definitions(template: Path) -> list[dict]:
    doc = yaml.safe_load(template.read_text())
    mappings = doc.get("Mappings") or {}
    refs = {"connectImageUrl": f"{cx.ECR}/confluentinc/cp-kafka-connect:7.6.1",
            "controlcenterImageUrl": f"{cx.ECR}/confluentinc/cp-enterprise-control-center:7.6.1"}
    out = []
    for r in doc["Resources"].values():
        if r["Type"] == "AWS::ECS::TaskDefinition":
            for c in resolve(r["Properties"]["ContainerDefinitions"], mappings, refs):
                out.append({"name": c["Name"], "image": c["Image"], "essential": True,
                            "environment": [{"name": e["Name"], "value": str(e["Value"])} for e in c.get("Environment", [])],
                            "secrets": [{"name": s["Name"], "valueFrom": s["ValueFrom"]} for s in c.get("Secrets", [])]})
    return out


def test_composex_rendered_task_definitions_pass_cpx02():
    defs = {svc: container_definitions(RENDERED / f"{svc}.yaml") for svc in ("connect", "controlcenter")}
    assert all(defs.values()), "ComposeX rendered no task definition"
    connect = defs["connect"][0]
    assert {s["name"] for s in connect["secrets"]} == {"CONNECT_SASL_JAAS_CONFIG", "CONNECT_PRODUCER_SASL_JAAS_CONFIG",
                                                       "CONNECT_CONSUMER_SASL_JAAS_CONFIG"}
    with moto_server() as endpoint:
        got = cx.provision(endpoint)  # the secrets the rendered valueFrom names (and the sandbox's own services)
        import boto3

        ecs = boto3.client("ecs", endpoint_url=endpoint, region_name=cx.REGION)
        ecs.create_cluster(clusterName="rendered")
        for svc, containers in defs.items():
            td = ecs.register_task_definition(family=f"rendered-{svc}", containerDefinitions=containers,
                                              requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                              cpu="1024", memory="2048")["taskDefinition"]["taskDefinitionArn"]
            ecs.create_service(cluster="rendered", serviceName=svc, taskDefinition=td, desiredCount=1)
        profile = load_profile("composex-ecs")
        verdicts = {}
        for cluster in ("rendered", got["cluster"]):
            target = Target.model_validate({"name": "t", "aws": {"region": cx.REGION, "endpoint_url": endpoint},
                                            "ecs": {"cluster": cluster}, "allowed_networks": ["127.0.0.0/8"]})
            reader = EcsReader(AwsProbe(target.aws, allowed_networks=target.allowed_networks), target.ecs)
            verdicts[cluster] = unit("CPX-02").decide(reader.credential_items(), profile, "live")
        assert verdicts["rendered"].status == verdicts[got["cluster"]].status == "pass", \
            {k: v.message for k, v in verdicts.items()}
