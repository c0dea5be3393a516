"""K8S-05: no credential is written as a literal in a Pod spec, a ConfigMap, a values file or a
compose file's environment. Facts carry key names and value kinds, never the values.

The control (rule, thresholds, judgement) is asbuilt/controls/k8s.py: K8S_05.
"""

from asbuilt.controls.k8s import K8S_05
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "K8S-05"

control_check(
    K8S_05,
    kubernetes=[*facts.WORKLOADS, "ConfigMap"],
    k8s=facts.literal_settings,
    files={"values": facts.values_literals, "compose": facts.compose_literals},
)
