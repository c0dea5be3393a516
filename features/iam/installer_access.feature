@conncentric_aws
Feature: The installer reads the custom bundles with least privilege
  "Attach this policy to an IAM Role for Service Accounts (IRSA) associated with the
  installer's service account in the conncentric namespace, or to the EKS node IAM role if IRSA
  is not available" (Custom Bundle S3 IAM Policy). Pre-signed URLs, when used instead, are
  valid for at most 7 days.

  @IAM_01
  Scenario: The installer's policies grant exactly the seed's read access to the bundle bucket
    Given the installer's IAM role
    Then its policies grant exactly the seed's bundle read access

  @IAM_02
  Scenario: The installer's service account carries the IRSA role annotation
    Given the installer's Kubernetes service account
    Then it is annotated with the installer's IAM role

  @IAM_03
  Scenario: The installer role trusts only the installer service account of this cluster
    Given the installer's IAM role
    Then its trust allows only the installer service account through the cluster's OIDC provider

  @IAM_04
  Scenario: The EKS node role does not carry the bundle policy
    Given the installer's IAM role
    Then the bundle policy is not attached to the EKS node role

  @IAM_05
  Scenario: The installer can read the bundles and do nothing more with them
    Given the installer's IAM role
    Then it can read the bundles and cannot write, delete or read other buckets

  @IAM_06
  Scenario: Pre-signed bundle URLs expire within seven days
    Given the bundle URLs of the helm release
    Then every pre-signed bundle URL expires within the profile's limit
