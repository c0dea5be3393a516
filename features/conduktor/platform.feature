@conduktor_k8s
Feature: The Conduktor platform on Kubernetes
  Conduktor's recommended architecture: "Deploy in a high availability configuration with at least
  2 instances of Console", "Gateway: Deploy in a high availability configuration with 3 instances",
  and "conduktor-console-cortex only supports a single instance". Read through the Kubernetes API
  in the target's Conduktor namespace (kubernetes.conduktor_namespace); nothing is changed. Where
  the target gives no endpoint to probe, the security scenarios judge the API objects and say so.

  @CDK_HA_01
  Scenario: Console runs at least two instances
    Given the Conduktor objects of the Conduktor namespace
    Then the Console runs at least the profile's number of replicas

  @CDK_HA_02
  Scenario: Gateway runs three instances
    Given the Conduktor objects of the Conduktor namespace
    Then the Gateway runs at least the profile's number of replicas

  @CDK_HA_03
  Scenario: Console Cortex runs a single instance
    Given the Conduktor objects of the Conduktor namespace
    Then Console Cortex runs exactly one replica

  @CDK_ST_01
  Scenario: Console and Cortex have enough ephemeral storage, the Gateway no volume it does not use
    Given the Conduktor objects of the Conduktor namespace
    Then the Console and Cortex request their minimum ephemeral storage and the Gateway mounts no unneeded volume

  @CDK_SEC_01
  Scenario: Console on https, Gateway admin API on https and SASL_SSL for Kafka clients
    Given the Conduktor objects of the Conduktor namespace
    Then the Console and the Gateway admin API are served over HTTPS and Gateway clients use SASL_SSL

  @CDK_SEC_02
  Scenario: Sensitive data is stored in Kubernetes Secrets
    Given the Conduktor objects of the Conduktor namespace
    Then every sensitive Conduktor setting comes from a Kubernetes Secret

  @CDK_SEC_03
  Scenario: A root account and Single Sign-On, OIDC rather than LDAP
    Given the Conduktor objects of the Conduktor namespace
    Then the Console has a root account and OIDC single sign-on

  @CDK_SEC_04
  Scenario: Containers run as a non-root user, non-privileged, with read-only filesystems
    Given the Conduktor objects of the Conduktor namespace
    Then every Conduktor container runs non-root, unprivileged, on a read-only root filesystem

  @CDK_OPS_01
  Scenario: Resource requests and limits are defined for all components
    Given the Conduktor objects of the Conduktor namespace
    Then every Conduktor container sets cpu and memory requests and limits

  @CDK_OPS_02
  Scenario: Prometheus monitoring and alerting rules
    Given the Conduktor objects of the Conduktor namespace
    Then the Console and the Gateway are scraped by Prometheus and have alerting rules

  @CDK_OPS_03
  Scenario: JSON structured logging and audit logs exported to Kafka
    Given the Conduktor objects of the Conduktor namespace
    Then the Console and the Gateway log JSON and export audit logs to Kafka

  @CDK_NET_01
  Scenario: SNI routing for the Gateway behind a load balancer
    Given the Conduktor objects of the Conduktor namespace
    Then the Gateway routes by SNI behind a LoadBalancer Service
