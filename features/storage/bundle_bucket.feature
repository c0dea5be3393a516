@conncentric_aws
Feature: The custom bundle bucket and the private registry
  S3 "hosts custom bundles for the installer" in a standard bucket with versioning enabled,
  encrypted with SSE-KMS (recommended); ECR, when used, has one repository per image
  (orchestrator, adapter, portal).

  @S3_01
  Scenario: The bundle bucket keeps every version of the bundles
    Given the bundle bucket
    Then it keeps every version of the bundles

  @S3_02
  Scenario: The bundle bucket is encrypted with KMS and blocks public access
    Given the bundle bucket
    Then it is encrypted with KMS and closed to the public

  @ECR_01
  Scenario: ECR holds one repository per platform image
    Given the ECR repositories of the deployment
    Then there is one repository per platform image
