@conncentric_aws
Feature: The two-pass installer
  Chapter 4 of the Plugin Pipeline: "After the platform pods start, the installer job runs
  automatically: Pass 1 (Essentials) applies the base Conncentric distribution; Pass 2 (Custom
  Bundle) downloads the .zip from the configured URL, extracts it, and applies manifests,
  plugins, and artifacts on top of the base. The installer is idempotent. Unchanged items are
  left alone, new items are created, and modified items are updated in place." And RDS "is the
  filing cabinet ... If a worker forgets what they were doing, they check the filing cabinet".

  The scenarios tagged @mutating run the installer again (as target.installer.trigger says) or
  restart pods; they write only items named asbuilt-selftest-* and objects under the bucket
  prefix asbuilt-selftest/, and remove them afterwards (see deploy/sandbox-installer-job.md).

  @INST_01
  Scenario: The installer Job of the current revision completed both passes
    Given the installer Job of the release's current revision
    When its log is read from where the target ships it
    Then the log shows Pass 1 complete, Pass 2 download and apply complete, and success, in that order

  @INST_02 @mutating
  Scenario: Running the installer again with the same inputs changes nothing
    Given a snapshot of the platform state
    When the installer runs again with the release's inputs
    Then every stored item is byte-for-byte unchanged, with no new rows and no bumped versions or timestamps

  @INST_03 @mutating
  Scenario: A bundle with one manifest modified and one new converges in place
    Given the release's bundle with a selftest manifest applied by the installer
    When the installer applies the bundle with that manifest modified and one new manifest added
    Then the modified item is updated in place, the new one is created and all others are untouched

  @INST_04 @mutating
  Scenario: Platform state survives a restart of the Orchestrator and the Adapter
    Given a snapshot of the platform state
    When the Orchestrator and Adapter Deployments are restarted and Ready again
    Then the adapter configurations and pipeline definitions are still in PostgreSQL, unchanged
