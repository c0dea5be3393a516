@conncentric_aws
Feature: Instance sizes of the building, the filing cabinet and the mailroom
  The guide's recommended configuration: a managed node group of m6i.xlarge instances
  (minimum 2 nodes), RDS PostgreSQL on db.r6g.large, MSK brokers on kafka.m5.large.

  @SIZE_01
  Scenario: The EKS managed node group runs the recommended instance type with at least two nodes
    Given the EKS managed node group of the deployment
    Then its instance type and minimum size meet the profile

  @SIZE_02
  Scenario: The platform database runs on the recommended instance class or larger
    Given the platform database
    Then its instance class is the profile's or larger

  @SIZE_03
  Scenario: The MSK brokers run on the recommended broker type or larger
    Given the MSK cluster of the deployment
    Then its broker type is the profile's or larger
