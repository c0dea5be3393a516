@conncentric_aws
Feature: Kubernetes workloads of the platform
  "EKS runs the Orchestrator, Adapter, and Portal pods", and the ALB in front of the Portal and
  the Orchestrator API is "provisioned automatically by the AWS Load Balancer Controller", which
  the Kubernetes Tooling section requires "installed in the cluster (for automatic ALB
  provisioning via Ingress resources)". Read through the Kubernetes API, nothing is changed.

  @K8S_01
  Scenario: Orchestrator, Adapter and Portal are deployed and Available
    Given the platform's Deployments in the release namespace
    Then Orchestrator, Adapter and Portal each have an Available Deployment

  # A component that must run alone says so on its Deployment with the annotation
  # asbuilt.dev/single-replica-reason: "<why>" (HA-05: "or documented as single by design").
  @HA_05
  Scenario: Each component keeps more than one ready replica
    Given the platform's Deployments in the release namespace
    Then each component has at least the profile's number of ready replicas

  @K8S_02
  Scenario: An ALB Ingress with TLS routes to the Portal and the Orchestrator API
    Given the Ingresses of the release namespace
    Then an alb Ingress with TLS routes to the portal and orchestrator services

  @K8S_03
  Scenario: Every container sets resource requests and limits
    Given the workloads of the release namespace
    Then every container sets cpu and memory requests and limits

  @K8S_04
  Scenario: Containers run non-root, unprivileged and without privilege escalation
    Given the workloads of the release namespace
    Then every container runs non-root, unprivileged, without escalation, on a read-only root filesystem

  @K8S_05
  Scenario: No credential is written as a literal in a Pod spec, a ConfigMap or the release values
    Given the workloads, ConfigMaps and release values of the platform
    Then no credential appears as a literal value

  @K8S_06
  Scenario: The AWS Load Balancer Controller is installed and running
    Given the AWS Load Balancer Controller of the cluster
    Then the controller is running
