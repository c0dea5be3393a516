"""NET-06: the ALB's scheme is the declared posture, it serves HTTPS on 443, HTTP 80 only redirects.

Anchors: aws_lb / aws_alb, AWS::ElasticLoadBalancingV2::LoadBalancer (listeners and the 443
sources of its security groups are read across resources), and ALB Ingresses of the AWS Load
Balancer Controller (scheme, listen-ports and ssl-redirect annotations).

The control (rule, thresholds, judgement) is asbuilt/controls/net.py: NET_06.
"""

from asbuilt.controls.net import NET_06
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "NET-06"

control_check(
    NET_06,
    terraform=["aws_lb", "aws_alb"],
    cloudformation=["AWS::ElasticLoadBalancingV2::LoadBalancer"],
    kubernetes=["Ingress"],
    k8s=facts.ingress_posture,
)
