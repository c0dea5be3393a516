"""K8S-02: an Ingress of class alb, with TLS, routes to the Portal and the Orchestrator API.

Judged over every Ingress of the chart / manifests (a stack-level control); a rendered chart
without any such Ingress fails.

The control (rule, thresholds, judgement) is asbuilt/controls/k8s.py: K8S_02.
"""

from asbuilt.controls.k8s import K8S_02
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "K8S-02"

control_check(
    K8S_02,
    scope="stack",
    required=("helm",),
    kubernetes=["Ingress"],
    k8s=facts.ingresses,
)
