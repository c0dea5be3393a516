"""Fixtures for the project's own tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory) -> str:
    """A real moto server on loopback (the same way a user points the suite at LocalStack)."""
    from tests.moto_local import moto_server

    try:
        with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch):
    # moto accepts any credentials; never let a test pick up a developer's real ones.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def sandbox():
    """Bring the embedded sandbox up with the given drifts, holding the machine-wide sandbox lock
    for the whole test (other test sessions wait): `target = sandbox("rds-single-az")`."""
    import os

    from asbuilt_sandbox import manager

    if os.geteuid() != 0:
        pytest.skip("the sandbox needs root")
    stack = []

    def bring_up(*drifts: str, aws: str = "moto"):
        if not stack:
            cm = manager.exclusive()
            cm.__enter__()
            stack.append(cm)
        return manager.up(list(drifts), aws=aws)

    yield bring_up
    for cm in stack:
        cm.__exit__(None, None, None)


# The test-session network guard (tests/netguard_plugin.py): any connect outside loopback, ::1,
# the sandbox's 198.18.0.0/15 and Unix sockets fails the test that made it. It guards this
# process only: child processes are out of its reach (see child_connect_log for Python children).
def pytest_configure(config):
    from tests import netguard_plugin

    if not config.pluginmanager.is_registered(netguard_plugin):
        config.pluginmanager.register(netguard_plugin, "asbuilt-test-netguard")


@pytest.fixture
def child_connect_log(tmp_path):
    """(env, log): run a Python child with env and it installs the same guard; log lists each connect
    it refused (one JSON line each). For CLI tests that must prove nothing left the machine."""
    from tests import netguard_plugin
    from tests.helpers import ROOT

    return netguard_plugin.child_env(tmp_path / "child-guard", ROOT)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns xdist_group marks into scheduling groups
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (scripts/test.sh runs `-n 2 --dist loadgroup`), every test that needs the
    embedded sandbox (or, in tests/sandbox/, its lock) goes to one worker, so the one sandbox is brought up once and shared, while
    the other worker runs the tests that need none of it (static checks, reports, rules)."""
    sandbox_parts = Path(__file__).parent / "sandbox"  # its conftest holds the sandbox lock for every test
    for item in items:
        if item.get_closest_marker("sandbox") is not None or sandbox_parts in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.xdist_group("sandbox"))
