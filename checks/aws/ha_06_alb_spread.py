"""HA-06: ALB subnets span availability zones (Terraform and CloudFormation).

Anchors: "aws_lb", "aws_alb" / "AWS::ElasticLoadBalancingV2::LoadBalancer". Facts: asbuilt.static.facts.alb_spread; rule: asbuilt.rules.ha.
"""

from asbuilt.rules import ha
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "HA-06"

control_check(
    CONTROL, "ALB subnets span availability zones",
    terraform=["aws_lb", "aws_alb"],
    cloudformation=["AWS::ElasticLoadBalancingV2::LoadBalancer"],
    aws=facts.alb_spread,
    rule=lambda items, p, profile: ha.alb_spread(items, int(p["min_zones"])),
)
