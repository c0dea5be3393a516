@conncentric_aws
Feature: Custom bundles through the bucket and into the platform
  Chapter 2 of the Plugin Pipeline: CI packages the custom bundle, uploads it with
  "aws s3 cp ... s3://your-conncentric-bundles/..." and, if the bucket is not public, makes a
  pre-signed URL ("aws s3 presign ... --expires-in 604800"); the bucket is a "standard bucket
  with versioning enabled". Chapter 4: the installer applies "manifests, plugins, and artifacts".

  @BNDL_01
  Scenario: The bundle the release installs holds only manifests, plugins and artifacts
    Given the custom bundle zips the release installs
    Then each is a well-formed custom bundle

  @BNDL_03
  Scenario: Every item of the release's bundle is in the platform state with its checksum
    Given the custom bundles of the deployed release
    Then every manifest, plugin and artifact of them is in the platform state with a matching checksum

  @BNDL_02 @mutating
  Scenario: A bundle round-trips through the bucket and its pre-signed URL unchanged
    Given a new bundle with unique content
    When it is uploaded twice under the selftest prefix of the bundle bucket
    And it is downloaded through S3 and through a SigV4 pre-signed URL
    Then the downloads have the uploaded SHA-256 and the bucket kept the previous version

  @BNDL_03 @mutating
  Scenario: A freshly uploaded bundle is applied completely by the installer
    Given a new bundle with unique content
    When it is uploaded twice under the selftest prefix of the bundle bucket
    And the installer applies it from its pre-signed URL
    Then every manifest, plugin and artifact of the new bundle is in the platform state with a matching checksum
