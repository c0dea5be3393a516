"""NET-07: MSK client traffic is TLS (Terraform and CloudFormation).

Anchors: "aws_msk_cluster" / "AWS::MSK::Cluster". Facts: asbuilt.static.facts.msk_tls; rule: asbuilt.rules.network.

The control (rule, thresholds, judgement) is asbuilt/controls/net.py: NET_07.
"""

from asbuilt.controls.net import NET_07
from asbuilt.static.checkbase import control_check

CONTROL = "NET-07"

control_check(
    NET_07,
    terraform=["aws_msk_cluster"],
    cloudformation=["AWS::MSK::Cluster"],
)
