@conncentric_aws
Feature: The front desk receptionist and the mailroom's envelopes
  The ALB "greets" users of Portal and the Orchestrator API over HTTPS, with the declared
  scheme; clients reach the MSK brokers over TLS (port 9094).

  @NET_06
  Scenario: The load balancer serves HTTPS with the declared scheme and port 80 only redirects
    Given the application load balancer in front of Portal and the Orchestrator API
    Then it serves HTTPS with the declared scheme and HTTP only redirects

  @NET_07
  Scenario: MSK client traffic is encrypted with TLS
    Given the MSK cluster of the deployment
    Then its clients reach the brokers over TLS only
