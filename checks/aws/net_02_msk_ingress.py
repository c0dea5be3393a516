"""NET-02: MSK security group admits Kafka from the EKS nodes (Terraform and CloudFormation).

Anchors: "aws_msk_cluster" / "AWS::MSK::Cluster". Facts: asbuilt.static.facts.msk_ingress; rule: asbuilt.rules.network.
"""

from asbuilt.rules import network
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "NET-02"

control_check(
    CONTROL, "MSK security group admits Kafka from the EKS nodes",
    terraform=["aws_msk_cluster"],
    cloudformation=["AWS::MSK::Cluster"],
    aws=facts.msk_ingress,
    rule=lambda items, p, profile: network.msk_admits_nodes(items, [int(x) for x in p["ports"]]),
)
