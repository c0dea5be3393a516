"""Live-only Kubernetes rules: K8S-01 (Deployments Available), HA-05 (ready replicas), K8S-06 (the
AWS Load Balancer Controller). The rules shared with the static checks (K8S-02..05) are in
``asbuilt.rules.k8s``.

Deployments are given as ``asbuilt.probes.k8s.deployment_facts``::

    {"resource": "Deployment conncentric/portal", "name": "portal", "component": "portal",
     "replicas": 2, "ready_replicas": 2, "available_replicas": 2, "available": True,
     "available_reason": "MinimumReplicasAvailable", "single_by_design": None | "reason"}
"""

from __future__ import annotations

from asbuilt.rules import Finding, Verdict, errored, summarise

COMPONENTS = ("orchestrator", "adapter", "portal")


def component_deployments(deployments: list[dict], components: tuple[str, ...] = COMPONENTS) -> dict[str, list[dict]]:
    """Deployments per component: by the app.kubernetes.io/component label, else by name."""
    out: dict[str, list[dict]] = {c: [] for c in components}
    for d in deployments:
        comp = d.get("component")
        if comp in out:
            out[comp].append(d)
            continue
        for c in components:
            if c in str(d.get("name", "")).lower():
                out[c].append(d)
                break
    return out


def deployments_available(deployments: list[dict], namespace: str,
                          components: tuple[str, ...] = COMPONENTS) -> Verdict:
    """K8S-01: a Deployment per component in the namespace, each Available."""
    by = component_deployments(deployments, components)
    findings = []
    for comp, deps in by.items():
        if not deps:
            findings.append(Finding(f"namespace {namespace}", f"no Deployment for {comp}"))
        for d in deps:
            if d.get("available") is not True:
                why = d.get("available_reason") or "no Available condition"
                findings.append(Finding(d['resource'], f"not Available ({why}; {d.get('available_replicas', 0)}/"
                                f"{d.get('replicas')} available)"))
    ok = ", ".join(f"{d['resource']}: Available {d.get('available_replicas')}/{d.get('replicas')}"
                   for deps in by.values() for d in deps)
    return summarise("K8S-01", findings, ok, deployments,
                     f"install or repair the release in namespace {namespace} (helm upgrade --install conncentric "
                     "... -n conncentric); for a Deployment that is not Available, kubectl describe it and read the "
                     "namespace events (image pulls, readiness probes, RDS/MSK connectivity)")


def ready_replicas(deployments: list[dict], min_ready_replicas: int, namespace: str,
                   components: tuple[str, ...] = COMPONENTS) -> Verdict:
    """HA-05: each component has >= min_ready_replicas ready replicas, or is annotated as single by design
    (``asbuilt.dev/single-replica-reason``)."""
    by = component_deployments(deployments, components)
    if not any(by.values()):
        return errored("HA-05", f"namespace {namespace}: no Orchestrator, Adapter or Portal Deployment to check "
                                "(see K8S-01)")
    findings = []
    notes = []
    for comp, deps in by.items():
        if not deps:
            findings.append(Finding(f"namespace {namespace}", f"no Deployment for {comp}, so no ready replica"))
        for d in deps:
            ready = int(d.get("ready_replicas") or 0)
            if d.get("single_by_design") and ready >= 1:
                notes.append(f"{d['resource']}: single by design ({d['single_by_design']})")
                continue
            if ready < min_ready_replicas:
                findings.append(Finding(d['resource'], f"{ready} ready replica(s) (spec.replicas {d.get('replicas')}), "
                                f"below {min_ready_replicas}"))
    ok = ", ".join([f"{d['resource']}: {d.get('ready_replicas')} ready" for deps in by.values() for d in deps
                    if not d.get("single_by_design")] + notes)
    return summarise("HA-05", findings, ok, deployments,
                     f"run at least {min_ready_replicas} replicas of each component (the chart's "
                     "<component>.replicas value) and keep them spread over zones; a component that must run "
                     "alone is annotated asbuilt.dev/single-replica-reason on its Deployment")


def lb_controller_running(deployments: list[dict], ingress_classes: list[dict]) -> Verdict:
    """K8S-06. deployments: deployment_facts of the controller's Deployment(s) (found in kube-system by name
    or label); ingress_classes: [{"name", "controller"}]."""
    findings = []
    running = [d for d in deployments if d.get("available") is True and int(d.get("ready_replicas") or 0) >= 1]
    if not deployments:
        findings.append("no aws-load-balancer-controller Deployment in kube-system (or labelled "
                        "app.kubernetes.io/name=aws-load-balancer-controller anywhere)")
    for d in deployments:
        if d not in running:
            findings.append(Finding(d['resource'], f"not running ({d.get('ready_replicas') or 0} ready of "
                            f"{d.get('replicas')}; {d.get('available_reason') or 'no Available condition'})"))
    if running:
        findings = []  # one running controller is what the cluster needs
    alb = [c for c in ingress_classes if c.get("controller") == "ingress.k8s.aws/alb"]
    evidence = deployments + [{"resource": f"IngressClass {c.get('name')}", **c} for c in ingress_classes]
    ok = ", ".join(f"{d['resource']}: {d.get('ready_replicas')} ready" for d in running) + (
        f"; IngressClass {', '.join(c['name'] for c in alb)} -> ingress.k8s.aws/alb" if alb else "")
    return summarise("K8S-06", findings, ok, evidence,
                     "install the eks/aws-load-balancer-controller Helm chart in kube-system with clusterName set "
                     "and a service account bound by IRSA to the controller's IAM policy; if it is installed but "
                     "not running, its pod logs name the missing permission or wrong cluster/VPC")
