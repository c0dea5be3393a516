"""K8S-03: every container (and init container) sets resource requests and limits."""

from asbuilt.rules import k8s
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "K8S-03"

control_check(
    CONTROL, "Every container sets resource requests and limits",
    kubernetes=list(facts.WORKLOADS),
    k8s=facts.container_resources,
    rule=lambda items, p, profile: k8s.container_resources(items),
)
