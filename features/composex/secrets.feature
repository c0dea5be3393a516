@composex_ecs
Feature: Kafka credentials of the ComposeX services come from AWS Secrets Manager
  "Now, we have credentials. So let's use AWS Secrets manager, given ECS integrates very well
  with it." Each Connect and Control Center task definition passes its Kafka credentials as
  secrets whose valueFrom names a Secrets Manager secret that exists, never as a literal.

  @CPX_02
  Scenario: The task definitions take their Kafka credentials from Secrets Manager
    Given the ECS task definitions of the ComposeX services
    Then each passes its Kafka credentials from AWS Secrets Manager, none as a literal
