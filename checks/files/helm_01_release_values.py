"""HELM-01: the release values enable the installer, give https bundle URLs and MSK brokers on
9092/9094 (9094 only when the scanned MSK cluster is TLS-only).

No checkov runner reads Helm values with their origin, so this check runs on the merged values
(the chart's values.yaml and each --values file, as helm merges them) and names the file and line
each value comes from.

The control (rule, thresholds, judgement) is asbuilt/controls/helm.py: HELM_01.
"""

from asbuilt.controls.helm import HELM_01
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "HELM-01"

control_check(
    HELM_01,
    files={"values": facts.release_values},
)
