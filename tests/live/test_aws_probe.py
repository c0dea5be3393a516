"""AwsProbe facts and the live evidence shaping (asbuilt.readers.aws_api), with botocore's Stubber (no endpoint needed):
broker zones from ListNodes, security groups as AWS evaluates them (group references, v4/v6,
prefix lists, port ranges, all traffic), each object fetched once."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from asbuilt.probes.aws import AwsProbe
from asbuilt.rules import network
from asbuilt.target import AwsResources, AwsSection
from asbuilt.readers.aws_api import AwsApiReader


def security_group_evidence(probe, ids):
    """The groups as the live steps judge them: read into the model by the AWS API reader."""
    reader = getattr(probe, "_test_reader", None) or AwsApiReader(probe)
    probe._test_reader = reader
    reader.security_groups(ids)
    return reader.estate.groups(ids)

ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/c/1"


def _probe(**resources) -> AwsProbe:
    return AwsProbe(AwsSection(region="us-east-1", endpoint_url="http://127.0.0.1:9",
                               resources=AwsResources(**resources)))


def _subnets(*pairs):
    return {"Subnets": [{"SubnetId": s, "AvailabilityZone": az, "VpcId": "vpc-1", "CidrBlock": f"10.0.{i}.0/24"}
                        for i, (s, az) in enumerate(pairs)]}


def test_broker_zones_come_from_list_nodes_where_answered():
    probe = _probe(msk_cluster=ARN)
    kafka, ec2 = probe.client("kafka"), probe.client("ec2")
    with Stubber(kafka) as ks, Stubber(ec2) as es:
        ks.add_response("describe_cluster", {"ClusterInfo": {
            "ClusterArn": ARN, "ClusterName": "c", "NumberOfBrokerNodes": 3,
            "BrokerNodeGroupInfo": {"InstanceType": "kafka.m5.large", "ClientSubnets": ["s-a", "s-b", "s-c"]}}})
        es.add_response("describe_subnets", _subnets(("s-a", "az-a"), ("s-b", "az-b"), ("s-c", "az-c")))
        ks.add_response("list_nodes", {"NodeInfoList": [
            {"BrokerNodeInfo": {"BrokerId": float(i), "ClientSubnet": s}} for i, s in enumerate(["s-a", "s-a", "s-b"])]})
        (fact,) = probe.msk_broker_spread()
    assert fact["zones_from"] == "broker nodes (kafka:ListNodes)"
    assert fact["zones"] == ["az-a", "az-b"] and fact["listed_brokers"] == 3
    assert probe.recorder.calls["ec2:DescribeSubnets"] == 1  # the brokers' subnets were already known


def _group(gid, perms):
    return {"GroupId": gid, "GroupName": gid, "VpcId": "vpc-1", "IpPermissions": perms}


def _evidence(probe, groups, prefix_lists=None):
    ec2 = probe.client("ec2")
    with Stubber(ec2) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": groups})
        for pl, cidrs in (prefix_lists or {}).items():
            stub.add_response("get_managed_prefix_list_entries", {"Entries": [{"Cidr": c} for c in cidrs]},
                              {"PrefixListId": pl})
        out = security_group_evidence(probe, [g["GroupId"] for g in groups])
        again = security_group_evidence(probe, [g["GroupId"] for g in groups])  # cached: no new call
    assert again == out
    return out


@pytest.mark.parametrize("perms, closed", [
    ([{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": "sg-nodes"}]}], True),
    ([{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-nodes"}]}], False),          # all traffic
    ([{"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 6000, "UserIdGroupPairs": [{"GroupId": "sg-nodes"}]}], False),
    ([{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}], False),
    ([{"IpProtocol": "6", "FromPort": 5432, "ToPort": 5432, "PrefixListIds": [{"PrefixListId": "pl-world"}]}], False),
    ([{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "PrefixListIds": [{"PrefixListId": "pl-vpn"}]}], True),
    ([{"IpProtocol": "udp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}], False),
])
def test_security_groups_are_read_as_aws_evaluates_them(perms, closed):
    probe = _probe()
    lists = {"pl-world": ["0.0.0.0/0"], "pl-vpn": ["10.8.0.0/16"]}
    used = {pl["PrefixListId"] for p in perms for pl in p.get("PrefixListIds", [])}
    groups = _evidence(probe, [_group("sg-db", perms)], {k: v for k, v in lists.items() if k in used})
    v = network.no_open_ingress([{"resource": "arn:db", "allowed_ports": [5432], "security_groups": groups}])
    assert (v.status == "pass") is closed, v.message
    if not closed:
        assert "Fix:" in v.message and "sg-db" in v.message


def test_node_access_by_group_reference_or_node_cidr():
    probe = _probe()
    by_ref = _evidence(probe, [_group("sg-db", [
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": "sg-nodes"}]}])])
    item = {"resource": "arn:db", "security_groups": by_ref, "node_security_groups": ["sg-nodes"], "node_cidrs": []}
    assert network.rds_admits_nodes([item], 5432).status == "pass"
    assert network.rds_admits_nodes([{**item, "node_security_groups": ["sg-other"]}], 5432).status == "fail"
    probe = _probe()
    by_cidr = _evidence(probe, [_group("sg-db2", [
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])])
    item = {"resource": "arn:db", "security_groups": by_cidr, "node_security_groups": ["sg-nodes"],
            "node_cidrs": ["10.0.1.0/24"]}
    assert network.rds_admits_nodes([item], 5432).status == "pass"
    # nodes in an unpeered VPC: their CIDRs are not passed on, so the rule does not count them
    assert network.rds_admits_nodes([{**item, "node_cidrs": []}], 5432).status == "fail"
