@conncentric_aws
Feature: Engine versions
  The platform runs on the engine versions the Conncentric AWS guide asks for
  (Cloud Prerequisites: Kubernetes 1.30+, PostgreSQL 15+, Apache Kafka 3.5+).

  @VER_01
  Scenario: The EKS control plane runs a supported Kubernetes version
    Given the EKS cluster of the deployment
    Then its Kubernetes version is at least the profile minimum

  @VER_02
  Scenario: The platform database is PostgreSQL at a supported version
    Given the platform database
    Then it runs PostgreSQL at least at the profile minimum
