"""NET-07: MSK client traffic is TLS (Terraform and CloudFormation).

Anchors: "aws_msk_cluster" / "AWS::MSK::Cluster". Facts: asbuilt.static.facts.msk_tls; rule: asbuilt.rules.network.
"""

from asbuilt.rules import network
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "NET-07"

control_check(
    CONTROL, "MSK client traffic is TLS",
    terraform=["aws_msk_cluster"],
    cloudformation=["AWS::MSK::Cluster"],
    aws=facts.msk_tls,
    rule=lambda items, p, profile: network.msk_client_tls(items),
)
