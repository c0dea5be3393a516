@conncentric_aws
Feature: Security groups let the EKS nodes, and only them, reach the database and the brokers
  "EKS nodes must have network access to the RDS instance (security group rules allowing port
  5432)" and "to MSK brokers (security group rules allowing port 9092 or 9094 for TLS)".
  The rules are read as AWS evaluates them: group references, IPv4 and IPv6 ranges, prefix
  lists, port ranges and "all traffic".

  @NET_01
  Scenario: The database security group admits PostgreSQL from the EKS nodes
    Given the platform database
    Then its security group admits PostgreSQL from the EKS nodes

  @NET_02
  Scenario: The MSK security group admits the broker ports from the EKS nodes
    Given the MSK cluster of the deployment
    Then its security group admits the broker ports from the EKS nodes

  @NET_03
  Scenario: The database and broker security groups are closed to the internet and to other ports
    Given the platform database
    And the MSK cluster of the deployment
    Then their security groups admit nothing from the internet and no other port
