"""K8S-05: no credential is written as a literal in a Pod spec, a ConfigMap, a values file or a
compose file's environment. Facts carry key names and value kinds, never the values.
"""

from asbuilt.rules import k8s
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "K8S-05"

control_check(
    CONTROL, "No credential literal in Pod specs, ConfigMaps or values",
    kubernetes=[*facts.WORKLOADS, "ConfigMap"],
    k8s=facts.literal_settings,
    files={"values": facts.values_literals, "compose": facts.compose_literals},
    rule=lambda items, p, profile: k8s.no_literal_credentials(items),
)
