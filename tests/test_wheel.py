"""The wheel is the tool: built from the checkout, installed into a fresh venv, run from elsewhere.

The venv gets the wheel only (``--no-deps``); its dependencies come from the project's venv through
a ``.pth`` line (a plain path: that venv's editable finder is not loaded, so ``asbuilt`` can only be
the installed wheel). Building needs hatchling: pip fetches it into an isolated build env (cached).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    (whl,) = out.glob("asbuilt-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel; returns its bin/ folder."""
    env_dir = tmp_path_factory.mktemp("venv") / "v"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                          "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return env_dir / "bin"


def _run(bin_dir: Path, *args, cwd: Path, env: dict | None = None, timeout: float = 600):
    full = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    full.update(env or {})
    return subprocess.run([str(bin_dir / "asbuilt"), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=full, timeout=timeout)


def test_the_wheel_holds_the_suite_inside_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"asbuilt", "asbuilt_sandbox", "asbuilt-" + wheel.name.split("-")[1] + ".dist-info"}, top
    for member in ("asbuilt/_suite/steps/test_scenarios.py", "asbuilt/_suite/steps/conftest.py",
                   "asbuilt/_suite/checks/aws/asbuilt_aws.py", "asbuilt/_suite/deploy/aws/asbuilt-readonly-policy.json",
                   "asbuilt/_suite/examples/reference/chart/conncentric/Chart.yaml",
                   "asbuilt/catalogue/controls.yaml", "asbuilt_sandbox/platform_schema.sql"):
        assert member in names, member
    tracked = subprocess.run(["git", "ls-files", "features", "deploy"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert {f"asbuilt/_suite/{t}" for t in tracked} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_installed_wheel_runs_outside_the_checkout(installed, tmp_path, moto_endpoint):
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([installed / "python", "-c", "import asbuilt.paths as p; print(p.suite_root())"],
                           capture_output=True, text=True, cwd=work, check=True).stdout.strip()
    assert where.endswith("site-packages/asbuilt/_suite") and not where.startswith(str(ROOT)), where

    res = _run(installed, "controls", "--format", "json", cwd=work)
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)) > 50

    # static, on a folder outside the checkout
    subprocess.run(["cp", "-r", ROOT / "examples" / "reference", work / "reference"], check=True)
    res = _run(installed, "static", work / "reference" / "terraform", "--report-dir", work / "static", cwd=work)
    assert res.returncode == 0, res.stdout[-1500:] + res.stderr[-1500:]
    doc = json.loads((work / "static" / "results.json").read_text())
    assert sum(c["status"] == "pass" and c["source"] != "live" for c in doc["controls"]) >= 10

    # run, a live target against a real moto server: the scenarios (steps/, features/) and
    # SUITE-02's shipped policy (deploy/) come from the installed package
    target = work / "live.yaml"
    target.write_text(f"name: wheel-live\nprofile: conncentric-aws\nallowed_networks: [127.0.0.0/8]\n"
                      f"aws:\n  region: us-east-1\n  endpoint_url: {moto_endpoint}\n")
    res = _run(installed, "run", "--target", target, "--live-only", "--report-dir", work / "live", cwd=work)
    assert res.returncode in (0, 1, 2), res.stderr[-1500:]
    assert "unrecognized arguments" not in res.stderr and "could not run" not in res.stderr, res.stderr
    doc = json.loads((work / "live" / "results.json").read_text())
    by = {c["id"]: c for c in doc["controls"]}
    assert doc["run"]["aws_api_calls"] > 0
    assert by["SUITE-02"]["status"] == "pass", by["SUITE-02"]
    assert (work / "live" / "cucumber.json").is_file()


# What `asbuilt sandbox up` reads from the package, by the names its modules give them: the Go
# module files of the kube-apiserver/etcd build, the Maven POM of Kafka's jars, the platform's SQL
# schema, the reference chart/values/bundle it installs, the Conduktor reference, the helm build.
_SANDBOX_PATHS = """
import json, sys
from asbuilt import tools
from asbuilt.suite import ROOT
from asbuilt_sandbox import conduktor_reference as cdk, manager, platform
from asbuilt_sandbox.parts import kafka, kube, postgres
paths = {
    "kube_build/kube/go.mod": kube.BUILD_SRC / "kube" / "go.mod",
    "kube_build/kube/go.sum": kube.BUILD_SRC / "kube" / "go.sum",
    "kube_build/etcd/go.mod": kube.BUILD_SRC / "etcd" / "go.mod",
    "kube_build/etcd/go.sum": kube.BUILD_SRC / "etcd" / "go.sum",
    "kafka pom": kafka.POM,
    "platform sql": postgres.SCHEMA_FILE,
    "helm build": tools.HELM_SOURCE / "go.mod",
    "reference chart": platform.CHART / "Chart.yaml",
    "production values": platform.PRODUCTION_VALUES,
    "bundle source": platform.BUNDLE_SOURCE,
    "conduktor chart": cdk.CHART,
    **{f"conduktor values {v.name}": v for v in cdk.VALUES},
    **{f"static {k}": __import__("pathlib").Path(p) for k, ps in manager.static_section().items()
       if isinstance(ps, list) for p in ps if isinstance(p, str)},
}
print(json.dumps({k: [str(p), p.exists()] for k, p in paths.items()}))
"""


def test_sandbox_files_resolve_from_the_installed_wheel(installed, tmp_path):
    """`asbuilt sandbox up` from the wheel finds what it builds and deploys inside the installed
    package (not the checkout); checked without starting anything (the sandbox is not brought up)."""
    work = tmp_path / "elsewhere"
    work.mkdir()
    res = _run(installed, "sandbox", "--help", cwd=work)
    assert res.returncode == 0 and all(a in res.stdout for a in ("up", "down", "status", "drifts")), res.stderr
    res = _run(installed, "sandbox", "up", "--help", cwd=work)
    assert res.returncode == 0 and "--drift" in res.stdout, res.stderr
    res = _run(installed, "sandbox", "drifts", "--format", "json", cwd=work)
    assert res.returncode == 0 and len(json.loads(res.stdout)) > 10, res.stderr

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run([installed / "python", "-c", _SANDBOX_PATHS], capture_output=True, text=True, cwd=work,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout)
    assert len(found) >= 14, sorted(found)
    missing = {k: p for k, (p, exists) in found.items() if not exists}
    assert not missing, missing
    outside = {k: p for k, (p, _) in found.items() if "site-packages" not in p or p.startswith(str(ROOT) + "/")}
    assert not outside, f"resolved outside the installed package: {outside}"
