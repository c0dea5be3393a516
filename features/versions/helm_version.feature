@conncentric_aws
Feature: The release is deployed with a supported helm
  The Conncentric AWS guide's Kubernetes Tooling asks for helm 4.1+; what a release record
  says about the helm that wrote it is the evidence.

  @VER_04
  Scenario: The platform release was written by a supported helm
    Given the helm release of the platform
    Then it was deployed with helm at least at the profile minimum
