"""HELM-01: the release values: installer enabled, https bundle URLs, brokers on the MSK ports.
One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.static import facts
from asbuilt.rules import helm

# The broker ports are NET-02's threshold: a user who moves MSK to other ports moves both checks.
HELM_01 = Unit("HELM-01", helm.release_values,
               bind=lambda profile: {"ports": [int(x) for x in profile.params("NET-02")["ports"]]},
               files={"values": facts.release_values})
