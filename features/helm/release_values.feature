@conncentric_aws
Feature: The helm release's values
  Chapter 3 of the Plugin Pipeline: "Update your Helm values.yaml with the bundle URL" --
  installer.enabled: true, installer.customBundleUrls (an https S3 object URL or a pre-signed
  URL), env.KAFKA_BOOTSTRAP_SERVERS (the MSK brokers on 9092, or 9094 for TLS) -- then
  "helm upgrade conncentric ./deployment/charts/conncentric -n conncentric -f values.yaml".
  The values are read from the deployed release itself (its helm storage Secret).

  @HELM_01
  Scenario: The deployed release turns the installer on, with https bundle URLs and the MSK brokers
    Given the values of the deployed helm release
    Then the installer is enabled, every bundle URL is https and the bootstrap servers are the MSK brokers
