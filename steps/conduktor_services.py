"""Steps for CDK-DB-01/02 (the Console database, reached as the Console reaches it) and CDK-SEC-05
(the Gateway's Kafka principal, its ACLs read from the cluster). Probe -> model -> unit."""

from __future__ import annotations

import pytest
from pytest_bdd import given, then

from asbuilt.probes import ProbeError


def _conduktor(target):
    if target.conduktor is None:
        pytest.skip("the target file has no conduktor section")
    return target.conduktor


@pytest.fixture(scope="session")
def console_database(target, asbuilt_run, kube):
    """The Console database as a DatabaseServer: host, port, database and user from the Console's
    Deployment (env, envFrom ConfigMaps/Secrets: the database keys only, never the password), the
    password and CA from the target (references), the HA/backup evidence from the RDS instance the
    target names or from the server's replication state plus the backup evidence it names."""
    from asbuilt.readers import postgres_server as ps

    cdk = _conduktor(target)  # ``kube``: steps/platform.py's probe (skips a target without kubernetes)
    found, where = ps.console_database_settings(kube, target.kubernetes.conduktor_namespace)
    db = cdk.database
    settings = ps.ConnectionSettings(host=found["host"], port=found["port"], dbname=found["dbname"],
                                     user=found["user"], password=db.password, sslrootcert=db.sslrootcert,
                                     settings_from=f"{found['deployment']}: " + "; ".join(where))
    server = ps.read_server(settings, target.allowed_networks, backup_evidence=db.backup_evidence)
    server.context["console_sslmode"] = found.get("sslmode")
    server.context["password_in_url"] = found.get("password_in_url", False)
    if db.rds_instance:
        if target.aws is None:
            return ps.from_rds(server, None, "the target names an RDS instance but has no aws section")
        aws = asbuilt_run.aws()
        try:
            got = aws.call("rds", "describe_db_instances", DBInstanceIdentifier=db.rds_instance)
            instances = (got or {}).get("DBInstances") or []
            ps.from_rds(server, instances[0] if instances else None,
                        f"RDS instance {db.rds_instance} not found")
        except ProbeError as exc:
            ps.from_rds(server, None, str(exc))
    return server


@given("the Console database, reached with the Console's own settings", target_fixture="console_db")
def console_db(console_database):
    return console_database


@then("it is PostgreSQL at the minimum version and refuses connections without TLS")
def console_db_tls(console_db, decide, verdict):
    from asbuilt.rules.conduktor import database_items

    verdict(decide("CDK-DB-01", database_items([console_db])))


@then("it is highly available and backed up")
def console_db_ha(console_db, decide, verdict):
    from asbuilt.rules.conduktor import database_items

    verdict(decide("CDK-DB-02", database_items([console_db])))


@given("the Gateway's Kafka principal and its ACLs on the cluster", target_fixture="gateway_principals")
def gateway_principals(target, conduktor_estate):
    """The principal the target names for role gateway; its cluster id and group as the Gateway's
    Deployment states them (documented defaults otherwise: asbuilt.rules.conduktor), over what
    the target's context says."""
    from asbuilt.readers.kafka_acls import read_principals
    from asbuilt.rules.conduktor import gateway_principal_context

    if target.kafka is None:
        pytest.skip("the target file has no kafka section")
    named = [p for p in target.kafka.principals if p.role == "gateway"]
    if not named:
        raise ProbeError("the target names no Kafka principal with role gateway (kafka.principals)")
    deployed = gateway_principal_context(conduktor_estate)
    context = {k: v for k, v in (deployed[0] if deployed else {}).items()
               if k in ("cluster_id", "cluster_id_from", "group_id", "group_id_from") and v is not None}
    return read_principals(target, [{"principal": p.principal, "role": p.role,
                                     "role_source": "target file kafka.principals",
                                     "context": {**p.context, **context}} for p in named])


@then("its ACLs are the documented ones and nothing broader")
def gateway_acls(gateway_principals, decide, verdict):
    from asbuilt.rules.conduktor import principal_items

    verdict(decide("CDK-SEC-05", principal_items(gateway_principals)))
