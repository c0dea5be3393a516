"""HA-03: MSK brokers spread over distinct availability zones (Terraform and CloudFormation).

Anchors: "aws_msk_cluster" / "AWS::MSK::Cluster". Facts: asbuilt.static.facts.msk_spread; rule: asbuilt.rules.ha.
"""

from asbuilt.rules import ha
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "HA-03"

control_check(
    CONTROL, "MSK brokers spread over distinct availability zones",
    terraform=["aws_msk_cluster"],
    cloudformation=["AWS::MSK::Cluster"],
    aws=facts.msk_spread,
    rule=lambda items, p, profile: ha.msk_broker_spread(items, int(p["brokers"]), int(p["zones"])),
)
