"""NET-02: MSK security group admits Kafka from the EKS nodes (Terraform and CloudFormation).

Anchors: "aws_msk_cluster" / "AWS::MSK::Cluster". Facts: asbuilt.static.facts.msk_ingress; rule: asbuilt.rules.network.

The control (rule, thresholds, judgement) is asbuilt/controls/net.py: NET_02.
"""

from asbuilt.controls.net import NET_02
from asbuilt.static.checkbase import control_check

CONTROL = "NET-02"

control_check(
    NET_02,
    terraform=["aws_msk_cluster"],
    cloudformation=["AWS::MSK::Cluster"],
)
