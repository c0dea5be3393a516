"""Secrets never reach a report, as a user meets it: `asbuilt run --target FILE` on real files.

Credentials in a URL of the target, a secret pasted as a key, a secret too short to redact:
each is exit 2 with one line naming the field (never the value), and the value appears in no
file the run wrote and not on stdout/stderr. SUITE-03 judges what the run printed as well as
what it wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asbuilt.secrets_guard import MIN_SECRET_LEN, ConsoleGuard
from tests.helpers import asbuilt, by_id

SECRET = "Zq9-S3cretValue-77"


def _run(tmp_path: Path, text: str, *extra: str, env: dict | None = None):
    target = tmp_path / "target.yaml"
    target.write_text(text)
    out = tmp_path / "out"
    return asbuilt("run", "--target", target, "--report-dir", out, *extra, env=env, timeout=300), out


def _nowhere(tmp_path: Path, res, secret: str = SECRET) -> None:
    assert secret not in res.stdout + res.stderr
    for f in tmp_path.rglob("*"):
        if f.is_file() and f.name != "target.yaml" and not f.name.startswith("secret"):
            assert secret not in f.read_text(errors="replace"), f


def _one_line(res, *words: str) -> str:
    assert res.code == 2, (res.code, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stdout + res.stderr, res.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("text, field", [
    (f"name: t\naws:\n  region: us-east-1\n  endpoint_url: http://admin:{SECRET}@127.0.0.1:1\n", "aws.endpoint_url"),
    (f"name: t\naws:\n  region: us-east-1\n  service_endpoints: {{s3: 'https://u:{SECRET}@127.0.0.1:9'}}\n",
     "aws.service_endpoints.s3"),
    (f"name: t\nkafka:\n  bootstrap_servers: 'user:{SECRET}@127.0.0.1:9092'\n", "kafka.bootstrap_servers"),
    (f"name: t\nvantage_points: [{{name: a, role: inside, kind: ssh, host: 'ops:{SECRET}@127.0.0.1'}}]\n",
     "vantage_points.0"),
], ids=["endpoint_url", "service_endpoint", "kafka", "ssh"])
def test_credentials_in_a_url_are_refused_without_echo(tmp_path, text, field):
    res, _ = _run(tmp_path, text)
    line = _one_line(res, field, "credentials")
    assert "admin" not in line
    _nowhere(tmp_path, res)


def test_unknown_key_is_quoted_only_when_it_looks_like_an_identifier(tmp_path):
    res, _ = _run(tmp_path, f"name: t\naws:\n  region: us-east-1\n  'password={SECRET}': 1\n")
    assert _one_line(res).endswith("target.yaml: aws: unknown key #2")
    _nowhere(tmp_path, res)
    res, _ = _run(tmp_path, f"name: t\n'{SECRET} x': 1\n")
    assert _one_line(res).endswith("target.yaml: (top level): unknown key #2")
    _nowhere(tmp_path, res)
    res, _ = _run(tmp_path, "name: t\naws:\n  region: us-east-1\n  regoin: eu-west-1\n")
    assert _one_line(res).endswith("target.yaml: aws.regoin: unknown key")  # an identifier: quoted


@pytest.mark.parametrize("where", ["env", "file"])
def test_a_secret_too_short_to_redact_is_refused_at_load(tmp_path, where):
    short = "k7" + "x" * (MIN_SECRET_LEN - 3)
    assert len(short) == MIN_SECRET_LEN - 1
    (tmp_path / "secret-pw").write_text(short + "\n")
    ref = "{env: ASBUILT_TEST_PW}" if where == "env" else f"{{file: {tmp_path / 'secret-pw'}}}"
    res, out = _run(tmp_path, f"name: t\npostgres: {{host: 127.0.0.1, dbname: d, user: u, password: {ref}}}\n",
                    "--static-only", env={"ASBUILT_TEST_PW": short})
    _one_line(res, "postgres.password", f"shorter than {MIN_SECRET_LEN} characters")
    assert not (out / "results.json").exists()
    _nowhere(tmp_path, res, short)


def test_suite03_scans_what_the_run_prints(tmp_path):
    """A secret that reaches stdout (here: in the target's name, printed when the live run starts) is
    redacted before it is printed, and SUITE-03 fails naming the stream; no file holds it."""
    res, out = _run(tmp_path, f"name: deploy-{SECRET}\nallowed_networks: [127.0.0.0/8]\n"
                              "postgres: {host: 127.0.0.1, port: 9, dbname: d, user: u, password: {env: ASBUILT_PW}}\n",
                    "--live-only", env={"ASBUILT_PW": SECRET})
    assert res.code in (1, 2), (res.code, res.stderr)
    assert "deploy-[REDACTED]" in res.stdout
    suite03 = by_id(res.results(out))["SUITE-03"]
    assert suite03["status"] == "fail" and "console output: stdout" in suite03["message"]
    assert {"resource": "console", "streams_scanned": ["stdout", "stderr"], "secret_values_known": 1,
            "source": "live"} in suite03["evidence"]
    _nowhere(tmp_path, res)


def test_console_guard_redacts_and_records(capsys):
    import sys

    with ConsoleGuard([SECRET]) as console:
        print(f"token {SECRET} here")
        print("nothing", file=sys.stderr)
        sys.stderr.write(f"again {SECRET}\n")
    out, err = capsys.readouterr()
    assert SECRET not in out + err and "token [REDACTED] here" in out
    assert [f["resource"] for f in console.findings] == ["stdout", "stderr"]


@pytest.mark.parametrize("section", ["aws:\n  region: us-east-1\n  ca_bundle: {f}\n",
                                     "kafka:\n  bootstrap_servers: 127.0.0.1:9\n  ssl_cafile: {f}\n"])
def test_a_tls_file_the_target_names_and_that_is_missing_is_one_line(tmp_path, section):
    missing = tmp_path / "no-such-ca.pem"
    res, _ = _run(tmp_path, "name: t\nallowed_networks: [127.0.0.0/8]\n" + section.format(f=missing))
    _one_line(res, str(missing), "no such file")
