@conncentric_aws
Feature: The platform database survives the loss of an availability zone
  Every adapter configuration, pipeline definition and plugin record lives in RDS
  ("the filing cabinet"), so it must be Multi-AZ and backed up.

  @HA_01
  Scenario: The platform database has a standby in another availability zone
    Given the platform database
    Then it survives the loss of an availability zone
