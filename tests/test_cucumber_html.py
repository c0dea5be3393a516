"""cucumber.json as its consumers take it: a real live run's file (against a real moto server)
rendered by `multiple-cucumber-html-reporter` (npm), the HTML report CI dashboards publish.

The reporter is installed once into the shared cache (~/.cache/asbuilt, keyed by its version); a
second run only renders. 3.11.0 is pinned: 4.x depends on `env-interpolation`, which the npm
registry does not serve. Only a machine without node/npm skips this test.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers import asbuilt

REPORTER = "multiple-cucumber-html-reporter"
VERSION = "3.11.0"

_RENDER_JS = """
import {pathToFileURL} from 'node:url';
const {generate} = await import(pathToFileURL(process.argv[4] + '/multiple-cucumber-html-reporter/dist/generate-report.js').href);
await generate({
  jsonDir: process.argv[2],
  reportPath: process.argv[3],
  reportName: 'asbuilt live run',
  pageTitle: 'asbuilt',
  displayDuration: true,
  disableLog: true,
  metadata: {device: 'asbuilt', platform: {name: 'linux'}},
});
"""


@pytest.fixture(scope="module")
def reporter() -> Path:
    """node_modules holding the reporter, from the npm registry once, then from the cache."""
    from asbuilt.paths import cache_dir

    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node/npm not installed: the Cucumber HTML reporter is an npm package")
    home = cache_dir() / f"npm-{REPORTER}-{VERSION}"
    if not (home / "node_modules" / REPORTER / "package.json").is_file():
        # installed beside the cache entry and renamed into place: a half-done install is never cached
        tmp = Path(tempfile.mkdtemp(prefix=f".npm-{REPORTER}-", dir=cache_dir()))
        res = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(tmp),
                              f"{REPORTER}@{VERSION}"], capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, f"npm install {REPORTER}@{VERSION} failed: {res.stderr[-1500:]}"
        try:
            tmp.rename(home)
        except OSError:  # another session cached it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    return home / "node_modules"


@pytest.fixture(scope="module")
def live_cucumber(moto_endpoint, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("cuke")
    target = tmp / "t.yaml"
    target.write_text(f"name: cuke-html\nprofile: conncentric-aws\nallowed_networks: [127.0.0.0/8]\n"
                      f"aws:\n  region: us-east-1\n  endpoint_url: {moto_endpoint}\n")
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto's; module scope has no autouse
    res = asbuilt("run", "--target", target, "--live-only", "-o", "cucumber", "--report-dir", tmp / "r", "-q",
                  env=creds)
    path = tmp / "r" / "cucumber.json"
    assert res.code in (0, 1, 2) and path.is_file(), res.stdout[-1000:] + res.stderr[-1000:]
    return path


def test_the_html_reporter_renders_every_scenario(reporter, live_cucumber, tmp_path):
    doc = json.loads(live_cucumber.read_text())
    scenarios = {e["name"] for f in doc for e in f.get("elements", []) if e.get("type") == "scenario"}
    assert len(scenarios) >= 5, scenarios  # a run that ran nothing proves nothing
    statuses = {s["result"]["status"] for f in doc for e in f.get("elements", []) for s in e.get("steps", [])}
    assert "passed" in statuses, statuses

    json_dir = tmp_path / "json"
    json_dir.mkdir()
    shutil.copy(live_cucumber, json_dir / "cucumber.json")
    script = tmp_path / "render.mjs"  # the reporter is an ES module (3.x)
    script.write_text(_RENDER_JS)
    out = tmp_path / "html"
    res = subprocess.run(["node", str(script), str(json_dir), str(out), str(reporter)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-1500:] + res.stderr[-1500:]

    index = (out / "index.html").read_text()
    for feature in {f["name"] for f in doc}:
        assert html.escape(feature, quote=False) in index or feature in index, feature
    pages = "".join(p.read_text() for p in (out / "features").glob("*.html"))
    assert len(list((out / "features").glob("*.html"))) == len(doc)  # one page per feature
    missing = [s for s in scenarios if html.escape(s, quote=False) not in pages and html.escape(s) not in pages]
    assert not missing, f"scenarios the HTML report does not name: {missing[:5]}"
    print(f"rendered {len(doc)} features, {len(scenarios)} scenarios")
