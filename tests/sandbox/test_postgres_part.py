"""The PostgreSQL part, run the way the sandbox runs it: inside asb-vpc on RDS_ADDR, behind the
packet filter that mirrors the RDS security group. Needs root; every connection goes to
198.18.0.0/16."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import time

import pytest

from asbuilt_sandbox import topology as topo
from asbuilt_sandbox.parts.network import (
    NAMESPACES,
    NetworkPart,
    apply_security_groups,
    call_in_netns,
    rules_from_security_group,
    tcp_probe,
)
from asbuilt_sandbox.parts.postgres import PostgresPart, pg_bindir
from asbuilt_sandbox.pki import CA

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"), reason="needs root and iproute2"),
    pytest.mark.skipif(pg_bindir() is None and not shutil.which("apt-get"), reason="no PostgreSQL and no apt-get"),
]

NODE_SG = "sg-0node000000000001"


def rds_sg(*permissions: dict) -> dict:
    return {"GroupId": "sg-0rds0000000000001", "GroupName": "rds", "IpPermissions": list(permissions)}


FROM_NODES = {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
              "UserIdGroupPairs": [{"GroupId": NODE_SG}], "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": []}
FROM_WORLD = {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def apply(sg: dict) -> None:
    apply_security_groups(rules_from_security_group(sg, {NODE_SG: [topo.NODE_SUBNET]}, [topo.RDS_ADDR]))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    old = os.environ.get("ASBUILT_STATE")
    os.environ["ASBUILT_STATE"] = str(tmp_path_factory.mktemp("state"))
    net, pg = NetworkPart(), PostgresPart()
    timings = {}
    try:
        t = time.monotonic()
        net.start()
        timings["network"] = time.monotonic() - t
        t = time.monotonic()
        facts = pg.start(listen_addr=topo.RDS_ADDR, port=topo.RDS_PORT, netns=topo.NS_VPC)
        timings["postgres_cold"] = time.monotonic() - t
        yield net, pg, facts, timings
    finally:
        pg.destroy()
        net.stop()
        if old is None:
            os.environ.pop("ASBUILT_STATE", None)
        else:
            os.environ["ASBUILT_STATE"] = old


def connect(facts: dict, **overrides):
    import psycopg

    password = open(facts["password_file"]).read().strip()
    args = dict(host=facts["host"], port=facts["port"], dbname=facts["dbname"], user=facts["user"],
                password=password, sslmode="verify-full", sslrootcert=facts["ca_file"], connect_timeout=3)
    return psycopg.connect(**{**args, **overrides})


def test_facts(sandbox):
    _, pg, facts, timings = sandbox
    assert facts["host"] == topo.RDS_ADDR and facts["port"] == 5432 and facts["netns"] == topo.NS_VPC
    assert facts["dbname"] == "conncentric" and facts["user"] == "conncentric"
    assert facts["version"].split(".")[0] == pg_bindir().parent.name
    mode = stat.S_IMODE(os.stat(facts["password_file"]).st_mode)
    assert mode == 0o600
    password = open(facts["password_file"]).read().strip()
    assert len(password) >= 24
    assert password not in open(facts["log"]).read()
    status = pg.status()
    assert status["up"] and status["address"] == f"{topo.RDS_ADDR}:5432" and status["netns"] == topo.NS_VPC
    assert timings["postgres_cold"] < 60


def test_host_connects_over_tls_verifying_the_ca(sandbox, tmp_path):
    import psycopg

    facts = sandbox[2]
    with connect(facts) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = 'conncentric'")}
        assert tables >= {"adapter_configurations", "pipeline_definitions", "plugin_records", "artifacts"}
    # no TLS: refused by pg_hba; a wrong password: refused; an unknown CA: verification fails
    with pytest.raises(psycopg.OperationalError, match="pg_hba.conf rejects"):
        connect(facts, sslmode="disable")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(facts, password="wrong")
    CA.create("another CA").write(tmp_path / "other-ca.pem", tmp_path / "other-ca.key")
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        connect(facts, sslrootcert=str(tmp_path / "other-ca.pem"))


def test_platform_schema_upserts_are_idempotent(sandbox):
    facts = sandbox[2]
    upsert = ("INSERT INTO pipeline_definitions AS t (name, content, sha256) VALUES (%s, %s, %s) "
              "ON CONFLICT (name) DO UPDATE SET content = EXCLUDED.content, sha256 = EXCLUDED.sha256, "
              "version = t.version + 1 WHERE t.sha256 IS DISTINCT FROM EXCLUDED.sha256")
    with connect(facts, autocommit=True) as conn:  # one transaction per statement: now() moves on
        for body in (b'{"steps": 1}', b'{"steps": 1}', b'{"steps": 2}'):
            conn.execute(upsert, ("p1", body.decode(), hashlib.sha256(body).hexdigest()))
        version, content, changed = conn.execute(
            "SELECT version, content, updated_at > created_at FROM pipeline_definitions WHERE name = 'p1'").fetchone()
        assert (version, content, changed) == (2, {"steps": 2}, True)
        conn.execute("INSERT INTO artifacts (name, content, sha256) VALUES ('a', %s, %s)",
                     (b"\x00\x01", hashlib.sha256(b"\x00\x01").hexdigest()))
        with pytest.raises(Exception, match="sha256_check"):
            conn.execute("INSERT INTO artifacts (name, content, sha256) VALUES ('b', '', 'nothex')")


def test_reachability_follows_the_security_group(sandbox):
    import psycopg

    facts = sandbox[2]
    password = open(facts["password_file"]).read().strip()

    def query_from(netns):
        def go():
            with psycopg.connect(host=topo.RDS_ADDR, port=5432, dbname="conncentric", user="conncentric",
                                 password=password, sslmode="verify-full", sslrootcert=facts["ca_file"],
                                 connect_timeout=2) as conn:
                return conn.execute("SELECT host(inet_client_addr())").fetchone()[0]
        return call_in_netns(netns, go)

    apply(rds_sg(FROM_NODES))
    assert tcp_probe(topo.NS_NODE, topo.RDS_ADDR, 5432, 1.0)
    assert not tcp_probe(topo.NS_OUTSIDE, topo.RDS_ADDR, 5432, 1.0)
    assert query_from(topo.NS_NODE) == topo.NODE_ADDR  # a real TLS + SCRAM session from the node
    with pytest.raises(psycopg.OperationalError):
        query_from(topo.NS_OUTSIDE)

    apply(rds_sg(FROM_NODES, FROM_WORLD))  # drift: open to the world
    assert tcp_probe(topo.NS_OUTSIDE, topo.RDS_ADDR, 5432, 1.0)
    assert query_from(topo.NS_OUTSIDE) == topo.OUTSIDE_ADDR

    apply(rds_sg())  # no ingress at all: only the bastion (the host) gets through
    assert not tcp_probe(topo.NS_NODE, topo.RDS_ADDR, 5432, 1.0)
    assert tcp_probe(None, topo.RDS_ADDR, 5432, 1.0)
    apply(rds_sg(FROM_NODES))


def test_start_is_idempotent_and_recovers_from_a_crash(sandbox):
    _, pg, facts, _ = sandbox
    pid = pg.status()["pid"]
    t = time.monotonic()
    assert pg.start(listen_addr=topo.RDS_ADDR, port=5432, netns=topo.NS_VPC) == facts
    assert time.monotonic() - t < 5
    assert pg.status()["pid"] == pid

    os.kill(pid, signal.SIGKILL)  # a crash: postmaster.pid and the socket lock stay behind
    time.sleep(0.2)
    assert not pg.status()["up"]
    assert (pg.data_dir / "postmaster.pid").exists()
    assert pg.start(listen_addr=topo.RDS_ADDR, port=5432, netns=topo.NS_VPC)["host"] == topo.RDS_ADDR
    assert pg.status()["up"] and pg.status()["pid"] != pid

    pg.proc.pidfile.unlink()  # a lost pid file: the orphaned postmaster is found and replaced
    orphan = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    pg.start(listen_addr=topo.RDS_ADDR, port=5432, netns=topo.NS_VPC)
    assert pg.status()["up"] and pg.status()["pid"] != orphan
    with connect(facts) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_stop_leaves_no_process_and_no_namespace(sandbox):
    net, pg, _, _ = sandbox
    data_dir = pg.data_dir
    pg.stop()
    pg.stop()
    assert not pg.status()["up"]
    assert pg._cluster_pids() == []
    assert not (data_dir / "postmaster.pid").exists()
    assert not tcp_probe(None, topo.RDS_ADDR, 5432, 0.5)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(data_dir) not in ps
    net.stop()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(ns in listed for ns in NAMESPACES)
