"""K8S-02: an Ingress of class alb, with TLS, routes to the Portal and the Orchestrator API.

Judged over every Ingress of the chart / manifests (a stack-level control); a rendered chart
without any such Ingress fails.
"""

from asbuilt.rules import k8s
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "K8S-02"

control_check(
    CONTROL, "An ALB Ingress with TLS routes to the Portal and the Orchestrator API",
    scope="stack",
    required=("helm",),
    kubernetes=["Ingress"],
    k8s=facts.ingresses,
    rule=lambda items, p, profile: k8s.ingress_routes(items),
)
