"""K8S-04: containers run non-root, unprivileged, without privilege escalation, read-only root.

The effective security context is the container's, falling back to the pod's for the fields a
pod may set (runAsNonRoot, runAsUser).
"""

from asbuilt.rules import k8s
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "K8S-04"

control_check(
    CONTROL, "Containers run non-root, unprivileged, read-only root filesystem",
    kubernetes=list(facts.WORKLOADS),
    k8s=facts.container_security,
    rule=lambda items, p, profile: k8s.container_security(items),
)
