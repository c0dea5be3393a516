"""Issue 14, items 4, 5 and 7: every file asbuilt reads is bounded, every report refuses what it
should not sign, and bad input is one line (exit 2), never a traceback, a hang or an internal
error. Each test meets the problem as a user would: the real CLI, real files, FIFOs (os.mkfifo),
/dev/zero, a bounded wall time (subprocess ``timeout=``).
"""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, asbuilt, by_id

GOOD = "name: t\naws:\n  region: us-east-1\n"
T = 60  # no command here may take longer: a hang fails the test instead of the job


def one_line(res, *words: str, code: int = 2) -> str:
    assert res.code == code, (res.code, res.stdout[-2000:], res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr + res.stdout and "internal error" not in res.stderr, res.stderr
    assert lines[0].startswith("asbuilt: error: "), lines[0]
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def alias_bomb(levels: int = 9) -> str:
    """The classic "billion laughs": 9 levels of 9 aliases, ~500 bytes, 9**9 nodes once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghijk"[: levels - 1]:
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
        prev = name
    return "\n".join(lines) + "\n"


def run_limited(args: list[str], cwd: Path, mem: int = 1 << 30) -> subprocess.CompletedProcess:
    """The CLI with its address space capped (1 GiB): an unbounded expansion dies instead of passing."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))

    return subprocess.run([sys.executable, "-m", "asbuilt", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=T, preexec_fn=cap)


class _Res:
    def __init__(self, p: subprocess.CompletedProcess):
        self.code, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr


# --------------------------------------------------------------------------- 1. bounded reader


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
def test_target_file_that_is_not_a_regular_file_is_one_line(tmp_path, kind):
    path = {"fifo": tmp_path / "target.yaml", "dev-zero": Path("/dev/zero"), "directory": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    res = asbuilt("run", "--target", path, "--report-dir", tmp_path / "r", timeout=T)
    one_line(res, str(path), "not a regular file")
    assert not (tmp_path / "r").exists()  # refused before anything ran


def test_oversized_target_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "target.yaml"
    with open(big, "w") as fh:
        fh.write(GOOD)
        fh.truncate(200 * 1024 * 1024)  # 200 MB (sparse): the bound is 1 MiB
    one_line(asbuilt("run", "--target", big, timeout=T), "over the 1 MiB limit", "ASBUILT_MAX_CONFIG_BYTES")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "not-utf8"])
def test_secret_file_that_cannot_be_a_secret_is_one_line(tmp_path, kind):
    secret = {"fifo": tmp_path / "key", "dev-zero": Path("/dev/zero"), "not-utf8": tmp_path / "key"}[kind]
    if kind == "fifo":
        os.mkfifo(secret)
    elif kind == "not-utf8":
        secret.write_bytes(b"\xff\xfe\xfa-not-text")
    target = tmp_path / "target.yaml"
    target.write_text(f"name: t\naws:\n  region: us-east-1\n  endpoint_url: http://127.0.0.1:1\n  credentials:\n"
                      f"    access_key_id: {{env: ASB_TEST_KEY_ID}}\n    secret_access_key: {{file: {secret}}}\n")
    res = asbuilt("run", "--target", target, "--live-only", "--report-dir", tmp_path / "r",
                  env={"ASB_TEST_KEY_ID": "AKIAEXAMPLEEXAMPLE01"}, timeout=T)
    one_line(res, "secret file", {"fifo": "FIFO", "dev-zero": "device", "not-utf8": "not UTF-8"}[kind])


def test_billion_laughs_profile_is_refused_fast_and_small(tmp_path):
    bomb = alias_bomb()
    assert len(bomb) < 500
    (tmp_path / "profile.yaml").write_text(bomb)
    res = _Res(run_limited(["controls", "--profile", "profile.yaml"], tmp_path))
    one_line(res, "profile.yaml", "expands to more than")


@pytest.mark.parametrize("name", ["deploy.yaml", "stack.cfn.yaml"])
def test_alias_bomb_in_a_scanned_manifest_or_template_is_one_line(tmp_path, name):
    src = tmp_path / "iac"
    src.mkdir()
    head = "AWSTemplateFormatVersion: '2010-09-09'\n" if "cfn" in name else "kind: ConfigMap\n"
    (src / name).write_text(head + alias_bomb().replace("a: &a", "data: &a", 1))
    res = _Res(run_limited(["static", str(src), "--report-dir", str(tmp_path / "r")], tmp_path))
    one_line(res, name, "expands to more than")


def test_duplicate_keys_are_refused_in_target_and_iac(tmp_path):
    target = tmp_path / "target.yaml"
    target.write_text("name: t\naws:\n  region: us-east-1\n  region: eu-west-1\n")
    one_line(asbuilt("run", "--target", target, timeout=T), "duplicate key 'region'", "line 4")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  app:\n    image: a:1\n  app:\n    image: b:2\n")
    one_line(asbuilt("static", compose, "--report-dir", tmp_path / "r", timeout=T), "duplicate key 'app'")


def test_fifo_in_a_scanned_folder_is_skipped_with_a_note(tmp_path):
    src = tmp_path / "app"
    src.mkdir()
    (src / "docker-compose.yml").write_text("services:\n  app:\n    image: registry.example.com/app:1.2.3\n")
    os.mkfifo(src / "values.yaml")
    res = asbuilt("static", src, "--report-dir", tmp_path / "r", timeout=T)
    assert res.code in (0, 1), res.stderr
    assert "Traceback" not in res.stderr
    notes = json.loads((tmp_path / "r" / "results.json").read_text())["run"]["notes"]
    assert any("values.yaml" in n and "not a regular file" in n for n in notes), notes


def test_fifo_named_tf_in_a_terraform_folder_is_one_line_not_a_hang(tmp_path):
    src = tmp_path / "tf"
    src.mkdir()
    (src / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    os.mkfifo(src / "pipe.tf")  # checkov would open it and block forever
    one_line(asbuilt("static", src, "--report-dir", tmp_path / "r", timeout=T), "pipe.tf", "not a regular file")


def test_oversized_tf_is_one_line_without_checkov_tracebacks(tmp_path):
    src = tmp_path / "tf"
    src.mkdir()
    with open(src / "main.tf", "w") as fh:
        fh.write('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
        fh.truncate(50 * 1024 * 1024)
    line = one_line(asbuilt("static", src, "--report-dir", tmp_path / "r", timeout=T), "main.tf", "20 MiB")
    assert "ASBUILT_MAX_IAC_BYTES" in line
    # the bound is configurable
    res = asbuilt("static", src, "--report-dir", tmp_path / "r", env={"ASBUILT_MAX_IAC_BYTES": "10"}, timeout=T)
    one_line(res, "main.tf", "over the 10 bytes limit")


def test_non_utf8_values_and_compose_files_are_one_line(tmp_path):
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    bad = tmp_path / "prod.yaml"
    bad.write_bytes(b"image:\n  tag: \xff\xfe\n")
    one_line(asbuilt("static", chart, "--values", bad, "--report-dir", tmp_path / "r", timeout=T),
             "prod.yaml", "not UTF-8")
    compose = tmp_path / "compose.yaml"
    compose.write_bytes(b"services:\n  a:\n    image: \xc3\x28\n")
    one_line(asbuilt("static", compose, "--report-dir", tmp_path / "r", timeout=T), "compose.yaml", "not UTF-8")


# --------------------------------------------------------------------------- values in target files


@pytest.mark.parametrize("text, words", [
    ("name: t\naws:\n  region: r\n  timeouts:\n    max_attempts: true\n", ("max_attempts", "expected an integer, got bool")),
    ("name: t\naws:\n  region: r\n  timeouts:\n    connect: true\n", ("connect", "expected a number, got bool")),
    ("name: t\nallowed_networks: [127.0.0.0/8, notacidr]\n", ("allowed_networks", "entry 2 is not a network in CIDR form")),
    ("name: t\nallow_mutating: 'yes please'\n", ("allow_mutating", "expected true or false")),
])
def test_target_values_of_the_wrong_kind_are_refused(tmp_path, text, words):
    target = tmp_path / "target.yaml"
    target.write_text(text)
    one_line(asbuilt("run", "--target", target, timeout=T), *words)


def test_tilde_is_expanded_in_target_paths(tmp_path, monkeypatch):
    from asbuilt.target import load_target

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "key").write_text("s3cr3t-value\n")
    target = tmp_path / "sub" / "target.yaml"
    target.parent.mkdir()
    target.write_text("name: t\nkubernetes:\n  kubeconfig: ~/.kube/config\nstatic:\n  terraform: [~/tf]\n"
                      "postgres:\n  host: 127.0.0.1\n  dbname: d\n  user: u\n  password: {file: ~/key}\n")
    t = load_target(target)
    assert t.kubernetes.kubeconfig == tmp_path / ".kube" / "config"
    assert t.static.terraform == [tmp_path / "tf"]
    assert t.postgres.password.resolve() == "s3cr3t-value"


# --------------------------------------------------------------------------- 2. whole-run deadline


def test_run_timeout_is_documented_with_its_default():
    res = asbuilt("run", "--help", timeout=T)
    assert "--timeout SECONDS" in res.stdout and "1800" in res.stdout


def test_run_deadline_stops_the_run_and_marks_the_rest_error(tmp_path):
    target = tmp_path / "target.yaml"
    # a live part on a loopback port nothing listens on: the deadline stops the run before any call
    target.write_text("name: t\naws:\n  region: us-east-1\n  endpoint_url: http://127.0.0.1:9\n"
                      "allowed_networks: [127.0.0.0/8]\n")
    res = asbuilt("run", "--target", target, "--report-dir", tmp_path / "r", "--timeout", "0.001", timeout=T)
    assert res.code == 2, res.stdout + res.stderr
    assert "run deadline reached" in res.stdout and "Traceback" not in res.stderr
    doc = res.results(tmp_path / "r")
    errors = [c for c in doc["controls"] if c["status"] == "error"]
    assert errors and all("run deadline reached" in c["message"] for c in errors if c["id"] != "SUITE-03")
    assert not [c for c in doc["controls"] if c["status"] == "pass" and c["id"] != "SUITE-03"]
    assert doc["run"]["deadline"]["reached"] is True


def test_run_deadline_is_respected_by_the_static_phase(tmp_path):
    (tmp_path / "tf").mkdir()
    (tmp_path / "tf" / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    target = tmp_path / "target.yaml"
    target.write_text("name: t\nstatic:\n  terraform: [tf]\n")
    res = asbuilt("run", "--target", target, "--static-only", "--report-dir", tmp_path / "r", "--timeout", "0.001",
                  timeout=T)
    assert res.code == 2, res.stdout + res.stderr
    controls = res.results(tmp_path / "r")["controls"]
    stopped = [c for c in controls if "run deadline reached during the static phase" in c["message"]]
    assert stopped and all(c["status"] == "error" for c in stopped)
    assert not [c for c in controls if c["status"] in ("pass", "fail") and not c["id"].startswith("SUITE-")]


@pytest.mark.parametrize("value", ["0", "-5", "soon", "nan"])
def test_bad_timeout_is_a_usage_error(tmp_path, value):
    one_line(asbuilt("run", "--target", "x.yaml", "--timeout", value, timeout=T), "--timeout")


# --------------------------------------------------------------------------- 3. reports


def _results(tmp_path: Path) -> Path:
    from tests.test_report_html import write_results

    path = tmp_path / "results.json"
    write_results(path)
    return path


def _tamper(path: Path, out: Path, change) -> Path:
    doc = json.loads(path.read_text())
    change(doc)
    out.write_text(json.dumps(doc))
    return out


@pytest.mark.parametrize("case, words", [
    ("made-up", ("controls[0].status", "expected one of pass, fail")),
    ("upper", ("controls[0].status",)),
    ("empty", ("controls[0]: missing",)),
    ("source", ("controls[0].source", "live, static, both, none")),
    ("no-evidence", ("controls[0]: missing 'evidence'",)),
])
def test_report_and_drift_refuse_results_that_break_the_contract(tmp_path, case, words):
    good = _results(tmp_path)
    bad = tmp_path / "bad.json"
    if case == "empty":
        bad.write_text('{"run":{},"controls":[{}]}')
    else:
        def change(doc):
            c = doc["controls"][0]
            if case == "made-up":
                c["status"] = "totally-made-up"
            elif case == "upper":
                c["status"] = "PASS"
            elif case == "source":
                c["source"] = "somewhere"
            else:
                del c["evidence"]
        _tamper(good, bad, change)
    html = tmp_path / "report.html"
    one_line(asbuilt("report", bad, "--html", html, timeout=T), "bad.json", "not a valid asbuilt results file", *words)
    assert not html.exists()
    one_line(asbuilt("drift", "--baseline", bad, "--current", good, timeout=T), "bad.json")
    one_line(asbuilt("drift", "--baseline", good, "--current", bad, timeout=T), "bad.json")
    target = tmp_path / "target.yaml"
    target.write_text("name: t\n")
    res = asbuilt("run", "--target", target, "--baseline", bad, "--report-dir", tmp_path / "r", timeout=T)
    one_line(res, "bad.json")
    assert not (tmp_path / "r").exists()


def test_valid_results_still_render(tmp_path):
    res = asbuilt("report", _results(tmp_path), "--html", tmp_path / "report.html", timeout=T)
    assert res.code == 0, res.stderr


def test_cucumber_json_says_what_results_json_says(tmp_path):
    target = tmp_path / "target.yaml"
    # only Kafka described (on a loopback port nothing listens on): the AWS and Kubernetes scenarios
    # skip their controls, the Kafka ones cannot read and error
    target.write_text("name: t\nallowed_networks: [127.0.0.0/8]\n"
                      "kafka:\n  bootstrap_servers: 127.0.0.1:9\n  security_protocol: PLAINTEXT\n"
                      "  topics: [t]\n  request_timeout: 2\n")
    res = asbuilt("run", "--target", target, "--report-dir", tmp_path / "r", timeout=300)
    assert res.code in (0, 1, 2), res.stderr
    controls = by_id(res.results(tmp_path / "r"))
    features = json.loads((tmp_path / "r" / "cucumber.json").read_text())
    checked = 0
    for feature in features:
        for element in feature["elements"]:
            tagged = [controls[t["name"].lstrip("@").replace("_", "-")] for t in element.get("tags", [])
                      if t["name"].lstrip("@").replace("_", "-") in controls]
            statuses = {c["status"] for c in tagged}
            steps = {s["result"]["status"] for s in element["steps"]}
            if not tagged or not steps:
                continue
            checked += 1
            if statuses & {"fail", "error"}:
                assert "failed" in steps, (element["name"], statuses, steps)
            elif statuses <= {"skipped"}:
                assert steps == {"skipped"}, (element["name"], statuses, steps)
            elif statuses <= {"skipped", "pending"}:
                assert steps == {"undefined"}, (element["name"], statuses, steps)
    assert checked >= 10


def test_control_characters_never_reach_junit_or_the_terminal(tmp_path):
    src = tmp_path / "app"
    src.mkdir()
    evil = "docker-compose.yml"
    (src / evil).write_text("services:\n  \"web\\e[31m\\u0007\\u0001\":\n    image: \"nginx\\e[2J\"\n"
                            "    environment:\n      PASSWORD: \"x\\e]0;pwned\\u0007\"\n")
    res = asbuilt("static", src, "--report-dir", tmp_path / "r", timeout=T)
    assert res.code in (0, 1, 2) and "Traceback" not in res.stderr, res.stderr
    assert "\x1b" not in res.stdout + res.stderr and "\x07" not in res.stdout
    if (tmp_path / "r" / "junit.xml").exists():
        ET.parse(tmp_path / "r" / "junit.xml")  # well-formed XML


def test_junit_and_summary_escape_control_characters(tmp_path, capsys):
    from asbuilt.catalogue import load_profile
    from asbuilt.rules import Verdict
    from asbuilt.runner import print_summary
    from asbuilt.report.results import write_junit, write_results_json
    from tests.test_report_html import fabricate

    run, results = fabricate([Verdict("HA-01", "fail", "bucket \x1b[31mred\x1b[0m\x00\x07\x08 \ud800 in a.tf:1", [],
                                      "static")])
    write_junit(tmp_path / "junit.xml", run, results)
    tree = ET.parse(tmp_path / "junit.xml")
    assert "\\x1b[31mred" in ET.tostring(tree.getroot(), encoding="unicode")
    write_results_json(tmp_path / "results.json", run, results)
    assert "\\\\x1b" in (tmp_path / "results.json").read_text()
    print_summary(results, load_profile("conncentric-aws"), 1, tmp_path)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x00" not in out and "\\x1b[31mred" in out


# --------------------------------------------------------------------------- 4. smaller


def _bundle_src(tmp_path: Path) -> Path:
    from tests.test_bundle import reference_source

    return reference_source(tmp_path)


def test_bundle_build_writes_only_to_a_regular_file_or_a_new_path(tmp_path):
    src = _bundle_src(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    one_line(asbuilt("bundle", "build", src, "-o", out_dir, timeout=T), "is a directory")
    fifo = tmp_path / "pipe.zip"
    os.mkfifo(fifo)
    one_line(asbuilt("bundle", "build", src, "-o", fifo, timeout=T), "not a regular file")
    assert Path(fifo).is_fifo() and not list(tmp_path.glob(".bundle-*"))
    existing = tmp_path / "b.zip"
    existing.write_bytes(b"old")
    assert asbuilt("bundle", "build", src, "-o", existing, timeout=T).code == 0
    assert zipfile.is_zipfile(existing)


def test_bundle_with_central_directory_offset_out_of_range_is_invalid(tmp_path):
    src = _bundle_src(tmp_path)
    good = tmp_path / "good.zip"
    assert asbuilt("bundle", "build", src, "-o", good, timeout=T).code == 0
    data = bytearray(good.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, eocd + 16, 0xFFFFFF00)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    res = asbuilt("bundle", "verify", bad, timeout=T)
    assert res.code == 1, (res.stdout, res.stderr)
    assert "INVALID" in res.stdout and "internal error" not in res.stderr and "Traceback" not in res.stderr


def test_report_dir_that_is_a_file_is_one_line(tmp_path):
    target = tmp_path / "target.yaml"
    target.write_text("name: t\n")
    not_dir = tmp_path / "reports"
    not_dir.write_text("a file")
    one_line(asbuilt("run", "--target", target, "--report-dir", not_dir, timeout=T), "--report-dir", "not a directory")
    one_line(asbuilt("static", target, "--report-dir", not_dir, timeout=T), "--report-dir", "not a directory")


def test_stale_drift_and_sarif_reports_are_removed(tmp_path):
    target = tmp_path / "target.yaml"
    target.write_text("name: t\nallowed_networks: [127.0.0.0/8]\n"
                      "kafka:\n  bootstrap_servers: 127.0.0.1:9\n  security_protocol: PLAINTEXT\n  request_timeout: 2\n")
    reports = tmp_path / "r"
    reports.mkdir()
    for name in ("drift.md", "drift.json", "results.sarif"):
        (reports / name).write_text("from an earlier run")
    res = asbuilt("run", "--target", target, "--live-only", "--report-dir", reports, timeout=300)
    assert res.code in (0, 1, 2) and (reports / "results.json").exists(), res.stderr
    assert not [n for n in ("drift.md", "drift.json", "results.sarif") if (reports / n).exists()]


def test_bad_worker_count_is_refused_before_anything_runs(tmp_path):
    target = tmp_path / "target.yaml"
    target.write_text("name: t\nstatic:\n  terraform: [tf]\n")
    res = asbuilt("run", "--target", target, "-n", "banana", "--report-dir", tmp_path / "r", timeout=T)
    one_line(res, "-n", "banana")
    assert "usage:" not in res.stdout and not (tmp_path / "r").exists()
