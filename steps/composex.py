"""Steps for composex-ecs (CPX-02 live, CPX-03/04/06): ECS task definitions read by
asbuilt.readers.ecs_api; Kafka principals and their ACLs read by
asbuilt.readers.kafka_acls.read_principals (imported where used, so this module imports
cleanly without it). Probe -> unit -> verdict."""

from __future__ import annotations

import pytest
from pytest_bdd import given, then

from asbuilt.probes import ProbeError


@pytest.fixture(scope="session")
def ecs_reader(target, asbuilt_run):
    if target.ecs is None:
        pytest.skip("the target file has no ecs section")
    from asbuilt.readers.ecs_api import EcsReader

    return EcsReader(asbuilt_run.aws(), target.ecs)


@given("the ECS task definitions of the ComposeX services", target_fixture="ecs_credentials")
def ecs_credentials(ecs_reader):
    return ecs_reader.credential_items()


@then("each passes its Kafka credentials from AWS Secrets Manager, none as a literal")
def credentials_from_secrets_manager(ecs_credentials, decide, verdict):
    verdict(decide("CPX-02", ecs_credentials))


@given("the Kafka principals of the Connect cluster and Control Center", target_fixture="kafka_principals")
def kafka_principals(ecs_reader, target):
    if target.kafka is None:
        raise ProbeError("the target file has no kafka section: the ACLs cannot be read")
    try:
        from asbuilt.readers.kafka_acls import read_principals
    except ImportError:
        raise ProbeError("the Kafka ACL reader (asbuilt.readers.kafka_acls) is not installed") from None
    from asbuilt.rules.composex import principal_item

    return [principal_item(p) for p in read_principals(target, ecs_reader.principals())]


@then("the Connect principals hold no wildcard or broad-prefix grant")
def connect_least_privilege(kafka_principals, decide, verdict):
    verdict(decide("CPX-03", kafka_principals))


@then("the worker, producer and consumer principals are different")
def connect_distinct_principals(kafka_principals, decide, verdict):
    verdict(decide("CPX-04", kafka_principals))


@then("Control Center's cluster-level rights are recorded as evidence")
def control_center_rights(kafka_principals, decide, verdict):
    verdict(decide("CPX-06", kafka_principals))
