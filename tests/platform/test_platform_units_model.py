"""The platform controls as units (asbuilt.controls: INST, BNDL-02/03, MSG-01, NET-04/05, SUITE):
each is found from its ID, reads the model objects of asbuilt.model.platform, and gives the
verdict its rule gives, message for message, through the one judgement every control takes."""

from __future__ import annotations

import json

import pytest

from asbuilt.catalogue import load_profile
from asbuilt.controls import unit
from asbuilt.model.platform import InstallerLog, MessageExchange, PlatformState
from asbuilt.rules import bundle_roundtrip, installer, messaging, reachability
from asbuilt import suite_controls
from tests.platform.test_platform_units import RUN, _msg, _row, _trip

PROFILE = load_profile("conncentric-aws")
LINES = ["Pass 1: Applying Conncentric Essentials...", "Pass 1: Complete.",
         "Pass 2: Downloading Custom Bundle from https://b.s3.amazonaws.com/custom-bundle-v1.0.0.zip?X-Amz-Signature=x",
         "Pass 2: Applying Custom Bundle...", "Pass 2: Complete.", "Installer finished successfully."]


def _same(unit_verdict, rule_verdict):
    assert (unit_verdict.control, unit_verdict.status, unit_verdict.message) == \
        (rule_verdict.control, rule_verdict.status, rule_verdict.message)
    assert [(f.resource, f.what) for f in unit_verdict.findings] == [(f.resource, f.what) for f in rule_verdict.findings]


@pytest.mark.parametrize("lines, paths, outcome", [
    (LINES, ["/custom-bundle-v1.0.0.zip"], "complete"),
    ([LINES[0], LINES[1], LINES[5], LINES[2], LINES[3], LINES[4]], None, "complete"),
    (LINES, ["/other-bundle.zip"], "complete"),
    (LINES, None, "failed"),
    (LINES, None, None),
])
def test_inst_01_unit_reads_the_installer_log(lines, paths, outcome):
    job = {"resource": "Job conncentric/conncentric-installer-3", "outcome": outcome, "state": "ok"}
    log = InstallerLog("pod conncentric/conncentric-installer-3-abc", "kubernetes", lines)
    v = unit("INST-01").decide([{"resource": job["resource"], "job": job, "log": log, "bundle_paths": paths}], PROFILE)
    _same(v, installer.installer_job_log(job, log.as_evidence(), paths))
    missing = {"resource": "Job x", "missing": True}
    v = unit("INST-01").decide([{"resource": "Job x", "job": missing, "log": None, "bundle_paths": None}], PROFILE)
    assert v.status == "fail"


def test_inst_02_03_04_units_read_the_platform_state():
    before = {"adapter_configurations": [_row("a"), _row("b", "2")], "pipeline_definitions": [_row("p", "3")]}
    after = json.loads(json.dumps(before))
    after["adapter_configurations"][0].update(version=2, updated_at="t2", xmin="11")
    after["pipeline_definitions"].append(_row("q", "4"))
    b, a = PlatformState("postgres db/platform", before), PlatformState("postgres db/platform", after)
    for old, new in ((b, b), (b, a)):
        v = unit("INST-02").decide([{"resource": b.resource, "before": old, "after": new, "run": RUN}], PROFILE)
        _same(v, installer.idempotent(old.tables, new.tables, RUN))
    assert "adapter_configurations/a: version 1 -> 2" in v.message

    before3 = {"adapter_configurations": [_row("m", "1", "a" * 64), _row("other", "2")]}
    after3 = {"adapter_configurations": [_row("m", "1", "b" * 64, 2, "t2", "11"), _row("other", "2"),
                                         _row("n", "3", "c" * 64)]}
    mod = {"table": "adapter_configurations", "name": "m", "sha256": "b" * 64}
    new = {"table": "adapter_configurations", "name": "n", "sha256": "c" * 64}
    v = unit("INST-03").decide([{"resource": "run", "before": PlatformState("db", before3),
                                 "after": PlatformState("db", after3), "run": RUN, "modified": mod, "new": new}], PROFILE)
    _same(v, installer.converges(before3, after3, RUN, mod, new))

    restarted = [{"resource": "Deployment conncentric/orchestrator", "pods_before": ["o-1"], "pods_after": ["o-2"]}]
    gone = PlatformState("db", {"adapter_configurations": [], "pipeline_definitions": []})
    v = unit("INST-04").decide([{"resource": "db", "before": b, "after": gone, "restarts": restarted}], PROFILE)
    _same(v, installer.state_survives(before, gone.tables, restarted))
    assert v.status == "fail" and "adapter_configurations/a: gone after the restart" in v.message


def test_bndl_02_03_units():
    limit = int(PROFILE.params("IAM-06")["max_expiry_seconds"])  # BNDL-02 takes IAM-06's limit
    for facts in (_trip(), _trip(s3_download_sha256="3" * 64),
                  _trip(presigned={"expires_seconds": 700000, "signature_version": "v4", "download_sha256": "2" * 64})):
        _same(unit("BNDL-02").decide([facts], PROFILE), bundle_roundtrip.round_trip(facts, limit))
    entries = [{"name": "manifests/a.json", "kind": "manifest", "table": "adapter_configurations", "item_name": "a",
                "sha256": "a" * 64}]
    bundle = {"resource": "bundle", "entries": entries}
    for snap in ({"adapter_configurations": [_row("a", sha="a" * 64)]}, {}):
        v = unit("BNDL-03").decide([{"resource": "bundle", "bundle": bundle, "state": PlatformState("db", snap)}],
                                   PROFILE)
        _same(v, bundle_roundtrip.bundle_in_state(bundle, snap))


def test_msg_01_unit_reads_the_message_exchange():
    ok = _msg({"ok": True, "partition": 0, "offset": 1},
              {"found": True, "key_matches": True, "payload_matches": True, "header_matches": True, "seconds": 0.1})
    altered = _msg({"ok": True}, {"found": True, "key_matches": True, "payload_matches": False, "header_matches": True})
    for facts in (ok, altered, _msg({"ok": False, "timed_out": True, "error": "x"}, {})):
        ex = MessageExchange(facts["resource"], facts)
        _same(unit("MSG-01").decide([{"resource": ex.resource, "exchange": ex}], PROFILE),
              messaging.message_round_trip(facts))


def test_net_04_05_units_bind_their_connect_timeouts():
    probes = [{"vantage": "node", "role": "inside", "kind": "netns", "service": "RDS", "host": "10.0.1.5", "port": 5432,
               "resource": "arn:db", "connected": False, "detail": "timed out"},
              {"vantage": "outside", "role": "outside", "kind": "netns", "service": "RDS", "host": "10.0.1.5",
               "port": 5432, "resource": "arn:db", "connected": True, "detail": "connected"}]
    t4 = float(PROFILE.params("NET-04")["connect_timeout_seconds"])
    t5 = float(PROFILE.params("NET-05")["connect_timeout_seconds"])
    _same(unit("NET-04").decide(probes, PROFILE), reachability.reachable_from_inside(probes, t4))
    _same(unit("NET-05").decide(probes, PROFILE), reachability.unreachable_from_outside(probes, t5))


def test_suite_units_are_the_suite_controls():
    calls = {"ec2:DescribeSubnets": {"read_only": 2}, "s3:PutObject": {"read_only": 1}}
    _same(unit("SUITE-01").decide([{"resource": "the run", "calls": calls}], PROFILE), suite_controls.read_only(calls))
    _same(unit("SUITE-02").decide([{"resource": "the run", "read_only_ops": ["ec2:DescribeSubnets"],
                                    "mutating_ops": []}], PROFILE),
          suite_controls.policy_coverage(["ec2:DescribeSubnets"], []))
    _same(unit("SUITE-03").decide([{"resource": "report-dir", "findings": [], "files": 3, "redactions": 1}], PROFILE),
          suite_controls.secrets([], 3, 1))


def test_every_control_of_the_profile_is_a_unit():
    from asbuilt.catalogue import load_catalogue

    missing = []
    for control in load_catalogue().controls:
        if control.profile == "conncentric-aws":
            try:
                unit(control.id)
            except KeyError:
                missing.append(control.id)
    assert not missing, missing


def test_the_installer_log_reader_says_why_a_log_cannot_be_read():
    """Before any read: a Job gone from the cluster has no pod log, and CloudWatch needs its log group."""
    from types import SimpleNamespace

    from asbuilt.probes import ProbeError
    from asbuilt.readers.platform import installer_log

    job = {"resource": "Job conncentric/inst-3", "name": "inst-3", "job": None}
    with pytest.raises(ProbeError, match="no longer exists, so its pod log cannot be read"):
        installer_log(job, SimpleNamespace(installer=None), None, None)
    cloudwatch = SimpleNamespace(installer=SimpleNamespace(logs=SimpleNamespace(source="cloudwatch", log_group=None,
                                                                              stream_prefix=None)))
    with pytest.raises(ProbeError, match="log_group is not set"):
        installer_log(job, cloudwatch, None, lambda: pytest.fail("the AWS probe is made only with a log group"))
