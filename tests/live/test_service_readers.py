"""The Kafka ACL reader and the PostgreSQL server reader, without a cluster: how kafka-python's
ACL objects become the model's AclEntry, what is Unknown when nothing may or can be asked, how the
server's answer to a connection without TLS is read, and how the Console's database URL is read.
(On the real sandbox: tests/live/test_profile_drifts.py and tests/sandbox/test_kafka_part.py.)"""

from __future__ import annotations

import socket

from asbuilt.model.facts import Unknown
from asbuilt.model.kafka import AclEntry
from asbuilt.readers import postgres_server as ps
from asbuilt.readers.kafka_acls import acl_entry, read_principals
from asbuilt.target import KafkaSection, Target


def test_acl_entry_speaks_kafkas_enum_names():
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

    acl = ACL(principal="User:connect-worker", host="*", operation=ACLOperation.DESCRIBE_CONFIGS,
              permission_type=ACLPermissionType.ALLOW,
              resource_pattern=ResourcePattern(ResourceType.TOPIC, "orders.", ACLResourcePatternType.PREFIXED))
    assert acl_entry(acl) == AclEntry("User:connect-worker", "TOPIC", "orders.", "PREFIXED", "DESCRIBE_CONFIGS")


def test_a_cluster_outside_allowed_networks_is_unknown_for_every_principal_and_never_dialled():
    with socket.socket() as s:  # a port nothing listens on: a connect would fail differently
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = Target(name="t", allowed_networks=["10.99.0.0/16"],
                    kafka=KafkaSection(bootstrap_servers=f"127.0.0.1:{port}", security_protocol="PLAINTEXT",
                                       request_timeout=2))
    got = read_principals(target, [{"principal": "User:a", "role": "connect-worker", "role_source": "target"},
                                   {"principal": "b", "role": "connect-producer"}])
    assert [p.principal for p in got] == ["User:a", "User:b"]  # a bare name gets the User: prefix
    for p in got:
        assert isinstance(p.acls, Unknown) and "allowed_networks" in p.acls.reason, p.acls
    assert got[0].role_source == "target"


def test_a_principal_without_name_or_role_is_unknown_not_empty():
    target = Target(name="t", allowed_networks=["10.99.0.0/16"],
                    kafka=KafkaSection(bootstrap_servers="127.0.0.1:1", security_protocol="PLAINTEXT"))
    got = read_principals(target, [{"principal": "", "role": ""}])
    assert isinstance(got[0].acls, Unknown) and isinstance(got[0].role, Unknown)


def test_the_servers_answer_without_tls_decides_refused_or_accepted():
    refused = ('connection failed: FATAL: pg_hba.conf rejects connection for host "198.18.254.1", '
               'user "conduktor", database "conduktor", no encryption')
    assert ps._refusal_kind(refused) is True
    assert ps._refusal_kind('FATAL: no pg_hba.conf entry for host "10.0.0.1", user "c", database "c", no encryption')
    assert ps._refusal_kind("fe_sendauth: no password supplied") is False  # the server went on to authenticate
    assert ps._refusal_kind('FATAL: password authentication failed for user "c"') is False
    assert ps._refusal_kind("timeout expired") is None


def test_console_database_url_is_read_without_its_password():
    got = ps._parse_url("jdbc:postgresql://u:hunter2-not-kept@db.internal:6432/conduktor?sslmode=require")
    assert got == {"host": "db.internal", "port": 6432, "dbname": "conduktor", "user": "u", "sslmode": "require",
                   "password_in_url": True}
    assert "hunter2-not-kept" not in repr(got)
    assert ps._parse_url("postgresql://db/conduktor")["port"] == 5432  # PostgreSQL's default port
    assert ps._parse_url("mysql://db/x") == {}
    assert ps.is_console_image("registry.example/conduktor/conduktor-console:1.32.0")
    assert not ps.is_console_image("conduktor/conduktor-console-cortex:1.32.0")


def test_unstated_settings_are_unknown_and_nothing_is_dialled():
    server = ps.read_server(ps.ConnectionSettings(host="127.0.0.1", port=Unknown("not stated"), dbname="c",
                                                  user="c", settings_from="Deployment conduktor/console"))
    for fact in (server.version, server.session_ssl, server.non_tls_refused, server.streaming_replicas):
        assert isinstance(fact, Unknown) and "port" in fact.reason


def test_a_database_outside_allowed_networks_is_unknown():
    server = ps.read_server(ps.ConnectionSettings(host="127.0.0.1", port=5432, dbname="c", user="c"),
                            allowed_networks=["10.99.0.0/16"])
    assert isinstance(server.non_tls_refused, Unknown) and "allowed_networks" in server.non_tls_refused.reason


def test_rds_fields_come_from_the_instance_or_are_unknown():
    server = ps.read_server(ps.ConnectionSettings(host="127.0.0.1", port=Unknown("x"), dbname="c", user="c"))
    ps.from_rds(server, {"DBInstanceArn": "arn:aws:rds:us-east-1:1:db:x", "MultiAZ": True, "BackupRetentionPeriod": 7})
    assert (server.rds_instance, server.multi_az, server.backup_retention_days) == ("arn:aws:rds:us-east-1:1:db:x", True, 7)
    ps.from_rds(server, None, "RDS instance x not found")
    assert isinstance(server.multi_az, Unknown) and server.multi_az.reason == "RDS instance x not found"
