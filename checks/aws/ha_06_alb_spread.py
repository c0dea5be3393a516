"""HA-06: ALB subnets span availability zones (Terraform and CloudFormation).

Anchors: "aws_lb", "aws_alb" / "AWS::ElasticLoadBalancingV2::LoadBalancer". Facts: asbuilt.static.facts.alb_spread; rule: asbuilt.rules.ha.

The control (rule, thresholds, judgement) is asbuilt/controls/ha.py: HA_06.
"""

from asbuilt.controls.ha import HA_06
from asbuilt.static.checkbase import control_check

CONTROL = "HA-06"

control_check(
    HA_06,
    terraform=["aws_lb", "aws_alb"],
    cloudformation=["AWS::ElasticLoadBalancingV2::LoadBalancer"],
)
