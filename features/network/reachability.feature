@conncentric_aws
Feature: The database and the brokers are reachable from the cluster, and only from there
  What the security groups say is proven by real TCP connections, made from the vantage
  points the target names: one inside the cluster network, one outside the VPC.

  @NET_04
  Scenario: From inside the cluster network the database and the brokers answer
    Given the data endpoints of the platform
    Then from inside the cluster network the database and every bootstrap broker accept TCP connections

  @NET_05
  Scenario: From outside the VPC the database and the brokers do not answer
    Given the data endpoints of the platform
    Then from outside the VPC neither the database nor any broker port accepts a TCP connection
