"""NET-06: the ALB's scheme is the declared posture, it serves HTTPS on 443, HTTP 80 only redirects.

Anchors: aws_lb / aws_alb, AWS::ElasticLoadBalancingV2::LoadBalancer (listeners and the 443
sources of its security groups are read across resources), and ALB Ingresses of the AWS Load
Balancer Controller (scheme, listen-ports and ssl-redirect annotations).
"""

from asbuilt.rules import network
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "NET-06"

control_check(
    CONTROL, "The ALB's scheme is the declared posture, HTTPS on 443, HTTP only redirects",
    terraform=["aws_lb", "aws_alb"],
    cloudformation=["AWS::ElasticLoadBalancingV2::LoadBalancer"],
    aws=facts.alb_posture,
    kubernetes=["Ingress"],
    k8s=facts.ingress_posture,
    rule=lambda items, p, profile: network.alb_posture(items, p["scheme"]),
)
