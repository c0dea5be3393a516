"""K8S-04: containers run non-root, unprivileged, without privilege escalation, read-only root.

The effective security context is the container's, falling back to the pod's for the fields a
pod may set (runAsNonRoot, runAsUser).

The control (rule, thresholds, judgement) is asbuilt/controls/k8s.py: K8S_04.
"""

from asbuilt.controls.k8s import K8S_04
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "K8S-04"

control_check(
    K8S_04,
    kubernetes=list(facts.WORKLOADS),
    k8s=facts.container_security,
)
