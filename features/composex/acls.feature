@composex_ecs
Feature: Least-privilege Kafka ACLs for Connect and Control Center
  "Least privileges is one of my most important must-have in technical evaluations." The
  connect cluster can use three different service accounts: one for the connect cluster itself,
  one for the producers and one for the consumers. Control Center must have admin level access
  to the Kafka cluster: that exception is recorded, with its waiver.

  Background:
    Given the Kafka principals of the Connect cluster and Control Center

  @CPX_03
  Scenario: The Connect principals hold only named or narrowly prefixed grants
    Then the Connect principals hold no wildcard or broad-prefix grant

  @CPX_04
  Scenario: The worker, its producers and its consumers use different principals
    Then the worker, producer and consumer principals are different

  @CPX_06
  Scenario: Control Center's cluster-level admin access is recorded as an exception
    Then Control Center's cluster-level rights are recorded as evidence
