"""SUITE-03 building blocks: redaction and the scan over written files."""

from __future__ import annotations

from asbuilt.secrets_guard import REDACTED, known_secrets, redact, scan, scrub_file
from asbuilt.target import Target


def test_redacts_target_secrets_and_presigned_signatures(tmp_path, monkeypatch):
    monkeypatch.setenv("PG_PW", "s3cr3t-db-password")
    secret_file = tmp_path / "sasl"
    secret_file.write_text("kafka-sasl-secret-value\n")
    target = Target.model_validate({
        "name": "t",
        "postgres": {"host": "h", "dbname": "d", "user": "u", "password": {"env": "PG_PW"}},
        "kafka": {"sasl_password": {"file": str(secret_file)}},
    })
    secrets = known_secrets(target, extra=["AWS-SECRET-KEY-123"])
    evidence = {
        "message": "login as u with s3cr3t-db-password failed",
        "urls": ["https://b.s3.amazonaws.com/x.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2026"
                 "&X-Amz-Expires=3600&X-Amz-Signature=abcdef0123"],
        "nested": [{"k": "kafka-sasl-secret-value"}, 5, None],
    }
    clean, n = redact(evidence, secrets)
    text = str(clean)
    assert "s3cr3t-db-password" not in text and "kafka-sasl-secret-value" not in text
    assert "abcdef0123" not in text and "AKIA%2F2026" not in text
    assert "X-Amz-Expires=3600" in text  # the expiry is evidence (IAM-06), not a secret
    assert n == 4 and REDACTED in text


def test_scan_finds_a_leak_and_scrub_removes_it(tmp_path):
    report = tmp_path / "cucumber.json"
    report.write_text('{"error": "password AWS-SECRET-KEY-123 rejected"}')
    clean = tmp_path / "results.json"
    clean.write_text('{"ok": true}')
    secrets = ["AWS-SECRET-KEY-123"]
    assert [f["resource"] for f in scan([report, clean], secrets)] == [str(report)]
    assert scrub_file(report, secrets) == 1
    assert scan([report, clean], secrets) == []
