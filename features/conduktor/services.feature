@conduktor_k8s
Feature: Conduktor's own services: the Console database and the Gateway's Kafka principal
  The Console keeps its state in PostgreSQL, reached with the settings its Deployment states;
  the Gateway talks to Kafka as a principal of its own, whose ACLs the cluster holds.

  @CDK_DB_01
  Scenario: The Console database is a current PostgreSQL that requires TLS
    Given the Console database, reached with the Console's own settings
    Then it is PostgreSQL at the minimum version and refuses connections without TLS

  @CDK_DB_02
  Scenario: The Console database is highly available and backed up
    Given the Console database, reached with the Console's own settings
    Then it is highly available and backed up

  @CDK_SEC_05
  Scenario: The Gateway's Kafka principal holds the documented ACLs and nothing broader
    Given the Gateway's Kafka principal and its ACLs on the cluster
    Then its ACLs are the documented ones and nothing broader
