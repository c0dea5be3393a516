"""K8S-03: every container (and init container) sets resource requests and limits.

The control (rule, thresholds, judgement) is asbuilt/controls/k8s.py: K8S_03.
"""

from asbuilt.controls.k8s import K8S_03
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "K8S-03"

control_check(
    K8S_03,
    kubernetes=list(facts.WORKLOADS),
    k8s=facts.container_resources,
)
