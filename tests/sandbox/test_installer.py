"""The reference installer against a real PostgreSQL (the sandbox's part, on 127.0.0.1 with TLS)
and a real moto server holding the bundles in a versioned bucket, downloaded through boto3
pre-signed URLs.

The comparisons INST-01 (log lines in order), INST-02 (same inputs -> identical snapshot),
INST-03 (one manifest modified, one added -> in place / created / others untouched) and BNDL-03
(every bundle entry in platform state with its checksum) are written out below as plain
functions; each fault mode of the installer must be caught by exactly the comparison meant for
it and pass the others.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from asbuilt import bundle
from asbuilt.probes.platform_state import TABLES, changed_fields, diff, snapshot
from asbuilt_sandbox.installer import essentials

pytestmark = [pytest.mark.sandbox]

ROOT = Path(__file__).resolve().parent.parent.parent
REFERENCE = ROOT / "examples" / "reference" / "bundle"
BUCKET = "conncentric-bundles"
LOG_GROUP = "/conncentric/installer"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}

SEED_LINES = [
    "Pass 1: Applying Conncentric Essentials...",
    "Pass 1: Complete.",
    "Pass 2: Downloading Custom Bundle from {url}...",
    "Pass 2: Applying Custom Bundle...",
    "Pass 2: Complete.",
    "Installer finished successfully.",
]


# --------------------------------------------------------------------------- the comparisons


def inst01(lines: list[str]) -> list[str]:
    """The seed's lines in order (the URL line by prefix)."""
    want = [line.split("{url}")[0] for line in SEED_LINES]
    i = 0
    for line in lines:
        if i < len(want) and line.startswith(want[i]):
            i += 1
    return [] if i == len(want) else [f"missing or out of order: {SEED_LINES[i]!r}"]


def inst02(before: dict, after: dict) -> list[str]:
    return diff(before, after)


def inst03(before: dict, after: dict, modified: tuple[str, str], added: tuple[str, str]) -> list[str]:
    problems = []
    m = changed_fields(before, after, *modified)
    if not {"sha256", "version", "updated_at"} <= m or {"id", "created_at", "added", "removed"} & m:
        problems.append(f"{modified[1]}: not updated in place (changed: {sorted(m)})")
    if changed_fields(before, after, *added) != {"added"}:
        problems.append(f"{added[1]}: not created")
    others = [line for line in diff(before, after)
              if not line.startswith((f"{modified[0]}/{modified[1]}:", f"{added[0]}/{added[1]}:"))]
    return problems + [f"touched: {line}" for line in others]


def bndl03(zip_path: Path, snap: dict) -> list[str]:
    rows = {(t, r["name"]): r["sha256"] for t, rs in snap.items() for r in rs}
    return [f"{e.name}: {'missing' if (e.table, e.item_name) not in rows else 'checksum differs'}"
            for e in bundle.inspect(zip_path) if e.kind != "directory" and rows.get((e.table, e.item_name)) != e.sha256]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    """The sandbox's PostgreSQL part on 127.0.0.1 (TLS, SCRAM), own state directory."""
    from asbuilt_sandbox.parts.base import free_port
    from asbuilt_sandbox.parts.postgres import PostgresPart, pg_bindir

    if os.geteuid() != 0:
        pytest.skip("the PostgreSQL part needs root (it runs the cluster as the postgres user)")
    if pg_bindir() is None and not shutil.which("apt-get"):
        pytest.skip("no PostgreSQL under /usr/lib/postgresql and no apt-get")
    old = os.environ.get("ASBUILT_STATE")
    os.environ["ASBUILT_STATE"] = str(tmp_path_factory.mktemp("state"))
    part = PostgresPart()
    try:
        t = time.monotonic()
        facts = part.start(listen_addr="127.0.0.1", port=free_port())
        facts["start_seconds"] = time.monotonic() - t
        yield facts
    finally:
        part.destroy()
        if old is None:
            os.environ.pop("ASBUILT_STATE", None)
        else:
            os.environ["ASBUILT_STATE"] = old


def connect(facts: dict):
    import psycopg

    return psycopg.connect(host=facts["host"], port=facts["port"], dbname=facts["dbname"], user=facts["user"],
                           password=Path(facts["password_file"]).read_text().strip(), sslmode="verify-full",
                           sslrootcert=facts["ca_file"], connect_timeout=5, autocommit=True)


@pytest.fixture
def db(pg):
    """A connection to an empty platform schema."""
    with connect(pg) as conn:
        conn.execute("TRUNCATE " + ", ".join(TABLES))
        yield conn


@pytest.fixture(scope="module")
def aws(moto_endpoint):
    import boto3
    from botocore.config import Config

    from tests.helpers import reset_moto

    reset_moto(moto_endpoint)  # the session's moto server is shared with other test modules
    kw = dict(endpoint_url=moto_endpoint, region_name="us-east-1",
              aws_access_key_id="testing", aws_secret_access_key="testing")
    s3 = boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}), **kw)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    logs = boto3.client("logs", **kw)
    logs.create_log_group(logGroupName=LOG_GROUP)
    return {"endpoint": moto_endpoint, "s3": s3, "logs": logs}


def bundle_source(tmp: Path, name: str) -> Path:
    src = tmp / name
    shutil.copytree(REFERENCE, src)
    (src / "plugins" / "README.md").unlink()
    with zipfile.ZipFile(src / "plugins" / "my-custom-processor-1.0.0.jar", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        z.writestr("com/example/conncentric/MyCustomProcessor.class", b"\xca\xfe\xba\xbe\x00\x00\x00\x3d")
    return src


def publish(aws, zip_path: Path, key: str) -> str:
    """Upload and return a SigV4 pre-signed GET URL (1 hour)."""
    aws["s3"].upload_file(str(zip_path), BUCKET, key)
    url = aws["s3"].generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600)
    assert "X-Amz-Signature=" in url and "X-Amz-Credential=" in url
    return url


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, aws):
    """v1: the reference bundle. v2: market-data modified, a new pipeline manifest added."""
    tmp = tmp_path_factory.mktemp("bundles")
    v1 = bundle.build(bundle_source(tmp, "v1"), tmp / "custom-bundle-v1.0.0.zip").path
    src2 = bundle_source(tmp, "v2")
    doc = json.loads((src2 / "manifests" / "market-data.json").read_text())
    doc["config"]["symbols"].append("GOOG")
    (src2 / "manifests" / "market-data.json").write_text(json.dumps(doc, indent=2) + "\n")
    (src2 / "manifests" / "orders-pipeline.json").write_text(json.dumps(
        {"name": "orders-pipeline", "type": "pipeline", "version": "1.0.0",
         "steps": ["fix-gateway", "essentials-kafka-bridge"]}, indent=2) + "\n")
    v2 = bundle.build(src2, tmp / "custom-bundle-v1.1.0.zip").path
    return {"v1": v1, "v2": v2, "url1": publish(aws, v1, "custom-bundle-v1.0.0.zip"),
            "url2": publish(aws, v2, "custom-bundle-v1.1.0.zip")}


MODIFIED = ("adapter_configurations", "market-data")
ADDED = ("pipeline_definitions", "orders-pipeline")


def install(pg, aws, *urls: str, fault: str | None = None, stream: str | None = None,
            extra: tuple[str, ...] = (), dsn_file: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installer as the sandbox does: a separate process, secrets only in files."""
    argv = [sys.executable, "-m", "asbuilt_sandbox.installer"]
    if dsn_file:
        argv += ["--dsn-file", str(dsn_file)]
    else:
        argv += ["--pg-host", pg["host"], "--pg-port", str(pg["port"]), "--pg-db", pg["dbname"],
                 "--pg-user", pg["user"], "--pg-password-file", pg["password_file"], "--pg-sslrootcert", pg["ca_file"]]
    for url in urls:
        argv += ["--bundle-url", url]
    if fault:
        argv += ["--fault", fault]
    if stream:
        argv += ["--log-group", LOG_GROUP, "--log-stream", stream, "--aws-endpoint", aws["endpoint"]]
    env = {**os.environ, **AWS_ENV}
    return subprocess.run([*argv, *extra], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


def no_secret(text: str, url: str) -> bool:
    """SUITE-03: neither the signature, the credential nor any part of the query string is printed."""
    query = url.split("?", 1)[1]
    return "?" not in text and "X-Amz-" not in text and all(v not in text for kv in query.split("&")
                                                             for v in kv.split("=")[1:] if len(v) > 8)


def expected_lines(url: str) -> list[str]:
    bare = url.split("?", 1)[0]
    return [line.format(url=bare) for line in SEED_LINES]


# --------------------------------------------------------------------------- the contract


def test_first_run_creates_everything_and_prints_the_seed_lines(pg, aws, bundles, db):
    t = time.monotonic()
    res = install(pg, aws, bundles["url1"], stream="first-run")
    took = time.monotonic() - t
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines() == expected_lines(bundles["url1"])
    assert no_secret(res.stdout + res.stderr, bundles["url1"])
    assert inst01(res.stdout.splitlines()) == []

    events = aws["logs"].get_log_events(logGroupName=LOG_GROUP, logStreamName="first-run", startFromHead=True)
    assert [e["message"] for e in events["events"]] == expected_lines(bundles["url1"])

    snap = snapshot(db)
    names = {t: [r["name"] for r in rows] for t, rows in snap.items()}
    assert names == {
        "adapter_configurations": sorted(["essentials-audit-log", "essentials-kafka-bridge", "essentials-rest-gateway",
                                          "fix-gateway", "market-data"]),
        "pipeline_definitions": ["essentials-dead-letter", "essentials-default-pipeline"],
        "plugin_records": ["my-custom-processor-1.0.0.jar"],
        "artifacts": ["FIX44.xml"],
    }
    assert {r["version"] for rows in snap.values() for r in rows} == {1}
    assert bndl03(bundles["v1"], snap) == []
    # the artifact's stored bytes are the bundle's (server-side digest of the content column)
    fix = next(r for r in snap["artifacts"] if r["name"] == "FIX44.xml")
    assert fix["content_sha256"] == fix["sha256"]
    assert took < 30, f"installer run took {took:.1f}s"


def test_second_run_with_the_same_bundle_changes_nothing(pg, aws, bundles, db):
    assert install(pg, aws, bundles["url1"]).returncode == 0
    before = snapshot(db)
    res = install(pg, aws, bundles["url1"], extra=("--verbose",))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "installer: pass 1: 0 created, 0 updated, 5 unchanged" in res.stderr
    assert "installer: pass 2: 0 created, 0 updated, 4 unchanged" in res.stderr
    after = snapshot(db)
    assert inst02(before, after) == []
    assert after == before  # ids, hashes, versions, timestamps and xmin: not one row was written


def test_modified_and_new_manifest_update_in_place_and_create(pg, aws, bundles, db):
    assert install(pg, aws, bundles["url1"]).returncode == 0
    before = snapshot(db)
    res = install(pg, aws, bundles["url2"])
    assert res.returncode == 0, res.stdout + res.stderr
    after = snapshot(db)
    assert inst03(before, after, MODIFIED, ADDED) == []
    old = {r["name"]: r for r in before["adapter_configurations"]}["market-data"]
    new = {r["name"]: r for r in after["adapter_configurations"]}["market-data"]
    assert (new["id"], new["version"], new["created_at"]) == (old["id"], old["version"] + 1, old["created_at"])
    assert new["updated_at"] > old["updated_at"]
    assert sorted(diff(before, after)) == sorted([
        line for line in diff(before, after) if line.startswith(("adapter_configurations/market-data:",
                                                                   "pipeline_definitions/orders-pipeline:"))])
    assert bndl03(bundles["v2"], after) == []


def test_multiple_bundle_urls_are_applied_in_order(pg, aws, bundles, db):
    res = install(pg, aws, bundles["url1"], bundles["url2"])
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert [line for line in lines if line.startswith("Pass 2: Downloading")] == [
        expected_lines(bundles["url1"])[2], expected_lines(bundles["url2"])[2]]
    assert lines[-2:] == ["Pass 2: Complete.", "Installer finished successfully."]
    assert bndl03(bundles["v2"], snapshot(db)) == []


# --------------------------------------------------------------------------- faulty modes: each caught by its comparison


def test_fault_not_idempotent_is_caught_by_inst02_only(pg, aws, bundles, db):
    assert install(pg, aws, bundles["url1"]).returncode == 0
    before = snapshot(db)
    res = install(pg, aws, bundles["url1"], fault="not-idempotent")
    assert res.returncode == 0
    after = snapshot(db)
    assert inst01(res.stdout.splitlines()) == []            # the log looks fine
    assert bndl03(bundles["v1"], after) == []                # so does the content
    problems = inst02(before, after)                         # but every item was rewritten
    assert len(problems) == sum(len(rows) for rows in before.values()) == 9
    assert all("version 1 -> 2" in p and "updated_at" in p for p in problems)


def test_fault_skip_pass_2_is_caught_by_inst01_and_bndl03(pg, aws, bundles, db):
    res = install(pg, aws, bundles["url1"], fault="skip-pass-2")
    assert res.returncode == 0
    assert res.stdout.splitlines() == [SEED_LINES[0], SEED_LINES[1], SEED_LINES[5]]
    assert inst01(res.stdout.splitlines()) == ["missing or out of order: 'Pass 2: Downloading Custom Bundle from {url}...'"]
    snap = snapshot(db)
    assert sorted(bndl03(bundles["v1"], snap)) == sorted([
        "artifacts/FIX44.xml: missing", "manifests/fix-gateway.json: missing", "manifests/market-data.json: missing",
        "plugins/my-custom-processor-1.0.0.jar: missing"])
    # and the convergence check sees the new bundle ignored
    assert install(pg, aws, bundles["url1"]).returncode == 0
    before = snapshot(db)
    assert install(pg, aws, bundles["url2"], fault="skip-pass-2").returncode == 0
    assert inst03(before, snapshot(db), MODIFIED, ADDED) == [
        "market-data: not updated in place (changed: [])", "orders-pipeline: not created"]


def test_fault_ignore_modified_is_caught_by_inst03_only(pg, aws, bundles, db):
    assert install(pg, aws, bundles["url1"]).returncode == 0
    before = snapshot(db)
    res = install(pg, aws, bundles["url2"], fault="ignore-modified")
    assert res.returncode == 0
    after = snapshot(db)
    assert inst01(res.stdout.splitlines()) == []
    assert inst03(before, after, MODIFIED, ADDED) == ["market-data: not updated in place (changed: [])"]
    assert bndl03(bundles["v2"], after) == ["manifests/market-data.json: checksum differs"]
    again = install(pg, aws, bundles["url2"], fault="ignore-modified")  # same inputs again: still idempotent
    assert again.returncode == 0 and inst02(after, snapshot(db)) == []


def test_the_conforming_installer_passes_every_comparison(pg, aws, bundles, db):
    res = install(pg, aws, bundles["url1"])
    assert inst01(res.stdout.splitlines()) == []
    s1 = snapshot(db)
    install(pg, aws, bundles["url1"])
    s2 = snapshot(db)
    install(pg, aws, bundles["url2"])
    s3 = snapshot(db)
    assert (inst02(s1, s2), inst03(s2, s3, MODIFIED, ADDED), bndl03(bundles["v2"], s3)) == ([], [], [])


# --------------------------------------------------------------------------- failures


def test_download_failure_stops_without_the_success_line(pg, aws, bundles, db):
    url = aws["s3"].generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "no-such.zip"}, ExpiresIn=60)
    res = install(pg, aws, url, stream="download-failure")
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    assert lines[-1] == "Pass 2: Failed: download failed: HTTP 404 Not Found"
    assert "Installer finished successfully." not in lines
    assert no_secret(res.stdout + res.stderr, url)
    events = aws["logs"].get_log_events(logGroupName=LOG_GROUP, logStreamName="download-failure", startFromHead=True)
    assert [e["message"] for e in events["events"]] == lines


def test_invalid_bundle_is_not_applied(pg, aws, tmp_path, db):
    bad = tmp_path / "evil.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("manifests/a.json", '{"name": "a"}')
        z.writestr("../../etc/cron.d/evil", "* * * * * root sh")
    url = publish(aws, bad, "evil.zip")
    res = install(pg, aws, url)
    assert res.returncode == 1
    assert res.stdout.splitlines()[-1] == \
        "Pass 2: Failed: invalid bundle: ../../etc/cron.d/evil: path traversal ('..' component)"
    snap = snapshot(db)
    assert "a" not in [r["name"] for r in snap["adapter_configurations"]]


def test_urls_outside_the_sandbox_are_refused_before_any_connection(pg, aws, db):
    res = install(pg, aws, "https://your-conncentric-bundles.s3.amazonaws.com/custom-bundle-v1.0.0.zip?X-Amz-Signature=abc")
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr == ("installer: error: refusing to connect to your-conncentric-bundles.s3.amazonaws.com: "
                          "not loopback or the sandbox network (pass --allow-any-host to lift this)\n")
    assert snapshot(db) == {t: [] for t in TABLES}  # not even pass 1 ran


def test_dsn_file_connects_and_keeps_the_password_off_the_command_line(pg, aws, bundles, db, tmp_path):
    from psycopg.conninfo import make_conninfo

    password = Path(pg["password_file"]).read_text().strip()
    dsn = tmp_path / "dsn"
    dsn.write_text(make_conninfo(host=pg["host"], port=pg["port"], dbname=pg["dbname"], user=pg["user"],
                                 password=password, sslmode="verify-full", sslrootcert=pg["ca_file"]))
    dsn.chmod(0o600)
    res = install(pg, aws, bundles["url1"], dsn_file=dsn)
    assert res.returncode == 0, res.stdout + res.stderr
    assert password not in res.stdout + res.stderr
    assert bndl03(bundles["v1"], snapshot(db)) == []


def test_database_outside_the_sandbox_is_refused(pg, aws, tmp_path):
    dsn = tmp_path / "dsn"
    dsn.write_text("host=db.example.com port=5432 dbname=conncentric user=conncentric password=hunter2hunter2")
    res = install(pg, aws, dsn_file=dsn)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith("installer: error: refusing to connect to database host db.example.com")
    assert "hunter2" not in res.stderr


def test_redact_url_drops_every_secret_part():
    from asbuilt_sandbox.installer import redact_url

    assert redact_url("https://user:pw@b.s3.amazonaws.com:8443/k/x.zip?X-Amz-Signature=s#frag") == \
        "https://b.s3.amazonaws.com:8443/k/x.zip"
    assert redact_url("http://[::1]:9000/b/k.zip?a=b") == "http://[::1]:9000/b/k.zip"


def test_essentials_are_fixed():
    assert essentials() == essentials()
    assert {(i.table, i.name) for i in essentials()} >= {("pipeline_definitions", "essentials-default-pipeline")}
