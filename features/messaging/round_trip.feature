@conncentric_aws
Feature: Messaging through MSK
  "Amazon MSK is the mailroom. When adapters need to pass messages between systems, MSK sorts
  and delivers those messages reliably." A message goes through the platform's path: the
  bootstrap brokers, with the client security the target describes (TLS on 9094, a client
  certificate or SASL).

  @MSG_01
  Scenario: A message produced to a platform topic is consumed back intact
    Given a platform topic of the target
    When a message with a unique id is produced to it and consumed back
    Then the consumed message is the produced one
