@conncentric_aws
Feature: The platform topics survive the loss of a broker
  MSK delivers the adapters' messages "reliably, even when traffic spikes": the platform
  topics are replicated over the brokers and writes wait for enough in-sync replicas.

  @HA_07
  Scenario: The platform topics are replicated with enough in-sync replicas
    Given the platform topics on the Kafka cluster
    Then each is replicated with enough in-sync replicas
