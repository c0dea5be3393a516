"""Report formats as their consumers take them: SARIF for code scanning, JUnit with times, OCSF."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from asbuilt.report.controls_doc import help_uri
from tests.helpers import ROOT, asbuilt
from tests.static.helpers import FIXTURES

SCHEMA = json.loads((FIXTURES / "sarif-2.1.0-subset.schema.json").read_text())


def _repo_with_broken_s3(tmp_path):
    """A git repository holding the reference Terraform in infra/tf/, S3-01 broken (versioning)."""
    repo = tmp_path / "repo"
    tf = repo / "infra" / "tf"
    shutil.copytree(ROOT / "examples" / "reference" / "terraform", tf)
    s3 = tf / "s3.tf"
    s3.write_text(s3.read_text().replace('status = "Enabled"', 'status = "Suspended"'))
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo, tf


def _s3_results(report_dir):
    sarif = json.loads((report_dir / "results.sarif").read_text())
    jsonschema.validate(sarif, SCHEMA)
    run = sarif["runs"][0]
    return run, [r for r in run["results"] if r["ruleId"] == "S3-01"]


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sarif")
    repo, tf = _repo_with_broken_s3(tmp)
    first = asbuilt("static", "tf", "--control", "S3-01", "--report-dir", tmp / "r1", cwd=repo / "infra")
    outside = asbuilt("static", tf, "--control", "S3-01", "--report-dir", tmp / "r2", cwd=tmp)
    # the code moves: five lines above the versioning resource
    s3 = tf / "s3.tf"
    s3.write_text("# moved\n" * 5 + s3.read_text())
    moved = asbuilt("static", tf, "--control", "S3-01", "--report-dir", tmp / "r3", cwd=repo)
    other_root = asbuilt("static", tf, "--control", "S3-01", "--source-root", repo / "infra",
                         "--report-dir", tmp / "r4", cwd=tmp)
    return tmp, repo, tf, [first, outside, moved, other_root]


def test_sarif_for_code_scanning(scans):
    tmp, repo, tf, runs = scans
    assert [r.code for r in runs] == [1, 1, 1, 1], [r.stdout[-500:] + r.stderr for r in runs]
    run, (res,) = _s3_results(tmp / "r1")
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "S3-01")
    assert rule["helpUri"] == help_uri("S3-01") and rule["helpUri"].endswith("docs/controls.md#s3-01")
    assert rule["properties"]["security-severity"] == "8.0"  # must -> high
    assert run["automationDetails"]["id"].startswith("asbuilt/conncentric-aws/")
    # relative to the git top level, scanned from a subfolder
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == repo.resolve().as_uri() + "/"
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "infra/tf/s3.tf", "uriBaseId": "SRCROOT"}
    # the region and the message name the same line: the versioning resource's
    line = loc["region"]["startLine"]
    assert (tf / "s3.tf").read_text().splitlines()[line - 1 + 5].startswith('resource "aws_s3_bucket_versioning"')
    assert f"s3.tf:{line} " in res["message"]["text"]


def test_sarif_paths_and_fingerprints_are_stable(scans):
    tmp, repo, tf, _ = scans
    _, (first,) = _s3_results(tmp / "r1")
    _, (outside,) = _s3_results(tmp / "r2")
    _, (moved,) = _s3_results(tmp / "r3")
    run4, (rooted,) = _s3_results(tmp / "r4")
    uri = lambda r: r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]  # noqa: E731
    assert uri(first) == uri(outside) == uri(moved) == "infra/tf/s3.tf"  # scanned from outside the repo too
    line = lambda r: r["locations"][0]["physicalLocation"]["region"]["startLine"]  # noqa: E731
    assert line(moved) == line(first) + 5 and f"s3.tf:{line(moved)} " in moved["message"]["text"]
    assert first["partialFingerprints"] == outside["partialFingerprints"] == moved["partialFingerprints"]
    assert uri(rooted) == "tf/s3.tf" and run4["originalUriBaseIds"]["SRCROOT"]["uri"].endswith("/repo/infra/")


def test_junit_has_times(scans):
    tmp, *_ = scans
    root = ET.parse(tmp / "r1" / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert float(suite.get("time")) >= 0 and root.get("time") == suite.get("time")
    assert all(float(c.get("time")) >= 0 for c in root.iter("testcase"))


_CHECK_JS = r"""
const fs = require('fs');
const Ajv = require('ajv');
const base = process.argv[2] + '/node_modules/@cucumber/cucumber-json-converter/dist/cjs/src/';
const doc = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const v = new Ajv().compile(require(base + 'cucumber-js/CucumberJsSchema.js').default);
const out = {js: v(doc) ? 'valid' : v.errors.slice(0, 3)};
try { require(base + 'index.js').convert(doc); out.convert = 'ok'; } catch (e) { out.convert = String(e.message).slice(0, 500); }
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def cucumber_json_converter():
    """@cucumber/cucumber-json-converter from the npm registry, once, in the shared cache."""
    from asbuilt.paths import cache_dir

    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node/npm not installed")
    home = cache_dir() / "npm-cucumber-json-converter-0.0.3"
    if not (home / "node_modules" / "@cucumber" / "cucumber-json-converter").is_dir():
        home.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(home),
                              "@cucumber/cucumber-json-converter@0.0.3"], capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            pytest.skip(f"npm could not fetch the converter: {res.stderr[-300:]}")
    return home


def test_cucumber_json_is_cucumber_js_json(cucumber_json_converter, moto_endpoint, tmp_path):
    target = tmp_path / "t.yaml"
    target.write_text(f"name: cuke\nprofile: conncentric-aws\nallowed_networks: [127.0.0.0/8]\n"
                      f"aws:\n  region: us-east-1\n  endpoint_url: {moto_endpoint}\n")
    res = asbuilt("run", "--target", target, "--live-only", "--report-dir", tmp_path / "r", "-q")
    assert res.code in (0, 1, 2) and (tmp_path / "r" / "cucumber.json").is_file(), res.stderr
    doc = json.loads((tmp_path / "r" / "cucumber.json").read_text())
    assert doc and all("language" not in f for f in doc)
    script = tmp_path / "check.cjs"
    script.write_text(_CHECK_JS)
    out = subprocess.run(["node", str(script), str(cucumber_json_converter), str(tmp_path / "r" / "cucumber.json")],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "NODE_PATH": str(
                             cucumber_json_converter / "node_modules")})
    assert json.loads(out.stdout) == {"js": "valid", "convert": "ok"}, out.stdout + out.stderr
