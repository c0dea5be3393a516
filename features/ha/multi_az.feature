@conncentric_aws
Feature: The deployment survives the loss of an availability zone
  RDS with automated backups, MSK with 3 brokers across availability zones, a node group
  over several zones with at least 2 nodes, and an ALB in several zones (Cloud Prerequisites).

  @HA_02
  Scenario: The platform database keeps automated backups
    Given the platform database
    Then its automated backups are kept at least the profile's number of days

  @HA_03
  Scenario: The MSK brokers are spread across availability zones
    Given the MSK cluster of the deployment
    Then its brokers are spread over the profile's number of availability zones

  @HA_04
  Scenario: The EKS node group spans availability zones with enough nodes
    Given the EKS managed node group of the deployment
    Then its subnets span availability zones with enough nodes

  @HA_06
  Scenario: The application load balancer spans availability zones
    Given the application load balancer in front of Portal and the Orchestrator API
    Then it spans at least the profile's number of availability zones
