"""The moto server part: a real ``python -m moto.server`` on 127.0.0.1, used through boto3."""

from __future__ import annotations

import time

import pytest

from asbuilt_sandbox.parts.base import PartError, port_open
from asbuilt_sandbox.parts.moto_server import MotoPart, _alive

pytestmark = pytest.mark.sandbox


@pytest.fixture
def moto(tmp_path, monkeypatch):
    monkeypatch.setenv("ASBUILT_STATE", str(tmp_path))
    part = MotoPart()
    yield part
    part.stop()


def ec2_client(endpoint_url: str):
    import boto3
    from botocore.config import Config

    return boto3.client("ec2", endpoint_url=endpoint_url, region_name="eu-west-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(proxies={}, retries={"max_attempts": 1}))


def test_start_create_a_vpc_and_stop(moto):
    t = time.monotonic()
    facts = moto.start()
    started = time.monotonic() - t
    assert started < 30
    url = facts["endpoint_url"]
    assert url == f"http://127.0.0.1:{facts['port']}"
    assert moto.status()["up"] and moto.status()["address"] == url

    ec2 = ec2_client(url)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]
    assert vpc["VpcId"].startswith("vpc-")
    assert "10.20.0.0/16" in {v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"]}

    # idempotent: the same server (and so the same account state) is kept
    assert moto.start() == facts
    assert moto.start(port=facts["port"])["pid"] == facts["pid"]
    assert vpc["VpcId"] in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}

    moto.stop()
    moto.stop()
    assert not moto.status()["up"]
    assert not port_open("127.0.0.1", facts["port"])
    assert not _alive(facts["pid"])


def test_orphan_from_a_crashed_up_is_replaced(moto):
    facts = moto.start()
    moto.proc.pidfile.unlink()  # the pid file is lost, the server still runs on its port
    again = moto.start(port=facts["port"])
    assert again["port"] == facts["port"] and again["pid"] != facts["pid"]
    assert moto.status()["up"]


def test_a_port_held_by_another_program_is_reported(moto):
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        with pytest.raises(PartError, match="already in use"):
            moto.start(port=other.getsockname()[1])
