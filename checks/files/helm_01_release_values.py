"""HELM-01: the release values enable the installer, give https bundle URLs and MSK brokers on
9092/9094 (9094 only when the scanned MSK cluster is TLS-only).

No checkov runner reads Helm values with their origin, so this check runs on the merged values
(the chart's values.yaml and each --values file, as helm merges them) and names the file and line
each value comes from.
"""

from asbuilt.rules import helm
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "HELM-01"

control_check(
    CONTROL, "Release values: installer enabled, https bundle URLs, MSK brokers",
    files={"values": facts.release_values},
    rule=lambda items, p, profile: helm.release_values(items, [int(x) for x in profile.params("NET-02")["ports"]]),
)
