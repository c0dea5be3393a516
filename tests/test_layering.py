"""The product does not depend on the embedded sandbox: nothing under asbuilt/, steps/ or checks/
imports ``asbuilt_sandbox`` (or runs it as a module), except the command line dispatching
``asbuilt sandbox ...``. ``--target sandbox`` finds the sandbox's target file through
``asbuilt.paths``, which the sandbox imports in turn."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

PRODUCT = ("asbuilt", "steps", "checks")
ALLOWED = {Path("asbuilt/cli.py")}  # `asbuilt sandbox up/down/status/drifts`


def _uses_of_the_sandbox(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            names = [node.value]  # importlib.import_module("..."), ["python", "-m", "..."]
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names
                  if n == "asbuilt_sandbox" or n.startswith("asbuilt_sandbox.")]
    return found


def test_no_product_module_imports_the_sandbox():
    offenders = []
    for pkg in PRODUCT:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path.relative_to(ROOT) not in ALLOWED:
                offenders += _uses_of_the_sandbox(path)
    assert not offenders, "the product reaches into the sandbox:\n" + "\n".join(offenders)


def test_the_check_sees_an_import(tmp_path, monkeypatch):
    """The scan above is not vacuous: each way of reaching the sandbox is caught."""
    import tests.test_layering as me

    monkeypatch.setattr(me, "ROOT", tmp_path)
    f = tmp_path / "m.py"
    f.write_text('"""Mentions asbuilt_sandbox.agent in prose only."""\n'
                 "import asbuilt_sandbox.manager\n"
                 "from asbuilt_sandbox.parts import kube\n"
                 "import importlib\n"
                 "importlib.import_module('asbuilt_sandbox.platform')\n"
                 "argv = ['python', '-m', 'asbuilt_sandbox.installer']\n")
    assert [x.split(": ", 1)[1] for x in _uses_of_the_sandbox(f)] == [
        "asbuilt_sandbox.manager", "asbuilt_sandbox.parts", "asbuilt_sandbox.platform", "asbuilt_sandbox.installer"]


def test_the_cli_still_dispatches_the_sandbox():
    assert _uses_of_the_sandbox(ROOT / "asbuilt" / "cli.py"), "asbuilt/cli.py no longer runs `asbuilt sandbox`?"


def test_the_sandbox_ships_in_the_distribution():
    """The wheel's file selection (hatchling) takes the whole asbuilt_sandbox package, its data files
    included; tests/test_wheel.py builds the real wheel and runs it."""
    import subprocess
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert {"asbuilt", "asbuilt_sandbox"} <= set(wheel["only-include"])
    assert not any(x.startswith("asbuilt_sandbox") for x in wheel.get("exclude", []))
    pkg = ROOT / "asbuilt_sandbox"
    assert (pkg / "platform_schema.sql").is_file() and (pkg / "parts" / "kafka_pom.xml").is_file()
    # hatchling honours .gitignore: the sandbox's and the product's data files must not be ignored
    data = ["asbuilt_sandbox/platform_schema.sql", "asbuilt_sandbox/parts/kafka_pom.xml", "asbuilt/helm_build"]
    ignored = subprocess.run(["git", "check-ignore", *data], cwd=ROOT, capture_output=True, text=True).stdout
    assert not ignored.strip(), f"ignored by .gitignore, so left out of the wheel: {ignored}"
