"""K8S-*: the platform's workloads, ingress, security contexts and credentials on Kubernetes.
One unit per control (see asbuilt.controls). K8S-01 and K8S-06 take the namespace and the
ingress classes read live as context."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.static import facts
from asbuilt.rules import k8s, k8s_live

K8S_01 = Unit("K8S-01", k8s_live.deployments_available)  # context: namespace

K8S_02 = Unit("K8S-02", k8s.ingress_routes,
              scope="stack",
              required=("helm",),
              kubernetes=("Ingress",),
              k8s=facts.ingresses)

K8S_03 = Unit("K8S-03", k8s.container_resources,
              kubernetes=facts.WORKLOADS,
              k8s=facts.container_resources)

K8S_04 = Unit("K8S-04", k8s.container_security,
              kubernetes=facts.WORKLOADS,
              k8s=facts.container_security)

K8S_05 = Unit("K8S-05", k8s.no_literal_credentials,
              kubernetes=(*facts.WORKLOADS, "ConfigMap", "HelmChart", "HelmRelease", "Application"),
              k8s=facts.literal_settings,
              files={"values": facts.values_literals, "compose": facts.compose_literals})

K8S_06 = Unit("K8S-06", k8s_live.lb_controller_running)  # context: ingress_classes
