@conncentric_aws
Feature: The message streaming engine version
  Amazon MSK is the mailroom that sorts and delivers the messages adapters pass between
  systems; the guide asks for Apache Kafka 3.5+ (Cloud Prerequisites).

  @VER_03
  Scenario: The MSK cluster runs a supported Apache Kafka version
    Given the MSK cluster of the deployment
    Then it runs Apache Kafka at least at the profile minimum
