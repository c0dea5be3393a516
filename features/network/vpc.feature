@conncentric_aws
Feature: The building, the filing cabinet and the mailroom share one network
  "Same VPC or peered VPC": EKS, RDS and MSK are in one VPC, or in VPCs that are peered and
  routed to each other.

  @NET_08
  Scenario: EKS, RDS and MSK are in the same VPC or in peered, routed VPCs
    Given the EKS cluster, the platform database and the MSK cluster
    Then they share a VPC, or their VPCs are peered and routed
