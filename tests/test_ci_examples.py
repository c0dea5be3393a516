"""examples/ci/ and .pre-commit-hooks.yaml: the workflow files validate against the schemas
check-jsonschema ships (GitHub workflows, GitLab CI), and `pre-commit try-repo .` runs the hook on
a broken fixture and fails it (and passes the conforming one).

The tools live in their own venv in the shared cache (fetched from PyPI once), not in the
project's venv: pre-commit and check-jsonschema pin packaging versions checkov does not accept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT

TOOLS = ("check-jsonschema==0.39.0", "pre-commit==4.7.0")


@pytest.fixture(scope="module")
def ci_tools() -> Path:
    from asbuilt.paths import cache_dir

    home = cache_dir() / "ci-tools-1"
    if not (home / "bin" / "pre-commit").exists() or not (home / "bin" / "check-jsonschema").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        res = subprocess.run([home / "bin" / "python", "-m", "pip", "install", "-q", *TOOLS],
                             capture_output=True, text=True, timeout=600)
        if res.returncode != 0:
            pytest.skip(f"could not install {', '.join(TOOLS)}: {res.stderr[-300:]}")
    return home / "bin"


@pytest.mark.parametrize("schema,path", [
    ("vendor.github-workflows", "examples/ci/github/asbuilt.yml"),
    ("vendor.gitlab-ci", "examples/ci/gitlab/.gitlab-ci.yml"),
])
def test_ci_files_validate(ci_tools, schema, path):
    res = subprocess.run([ci_tools / "check-jsonschema", "--builtin-schema", schema, ROOT / path],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_github_workflow_gates_as_documented():
    wf = yaml.safe_load((ROOT / "examples/ci/github/asbuilt.yml").read_text())
    jobs = wf["jobs"]
    assert set(jobs) == {"static-gate", "live-gate", "drift-audit"}
    static_steps = " ".join(str(s) for s in jobs["static-gate"]["steps"])
    assert "github/codeql-action/upload-sarif" in static_steps and "results.sarif" in static_steps
    assert jobs["static-gate"]["permissions"]["security-events"] == "write"
    audit = " ".join(str(s) for s in jobs["drift-audit"]["steps"])
    assert "--baseline baseline/results.json" in audit and "asbuilt-baseline" in audit and '= 3' in audit


def test_pre_commit_hook_definition():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "asbuilt-static" and hook["language"] == "python"
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[hook["entry"]] == "asbuilt.precommit:main"


@pytest.mark.slow
def test_pre_commit_try_repo_fails_a_broken_fixture(ci_tools, tmp_path):
    """Real pre-commit: it builds the hook's environment (pip install of this checkout, several
    minutes the first time for a new commit) and runs the hook on every file of the fixture."""
    from asbuilt.paths import cache_dir

    repo = tmp_path / "fixture"
    shutil.copytree(ROOT / "examples" / "reference" / "terraform", repo / "infra" / "tf")
    git = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(cache_dir() / "pre-commit"), "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)

    def try_repo():
        subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
        subprocess.run([*git, "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
        return subprocess.run([ci_tools / "pre-commit", "try-repo", str(ROOT), "asbuilt-static", "--all-files",
                               "--color", "never"], capture_output=True, text=True, cwd=repo, env=env, timeout=1500)

    good = try_repo()
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr[-1000:]
    s3 = repo / "infra" / "tf" / "s3.tf"
    s3.write_text(s3.read_text().replace('status = "Enabled"', 'status = "Suspended"'))
    bad = try_repo()
    assert bad.returncode == 1, bad.stdout[-2000:] + bad.stderr[-1000:]
    assert "asbuilt static checks" in bad.stdout and "Failed" in bad.stdout
    assert "S3-01" in bad.stdout and "infra/tf/s3.tf:" in bad.stdout
    assert sys.executable  # the hook ran in pre-commit's own environment, not this one
