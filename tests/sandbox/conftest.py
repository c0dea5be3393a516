"""Tests of the sandbox's parts share the machine-wide sandbox lock: network namespaces, the
service addresses and the sandbox's ports are global, so another test session (or a user's
`asbuilt sandbox up`) must not run at the same time."""

import pytest


@pytest.fixture(autouse=True)
def _sandbox_lock():
    from asbuilt_sandbox import manager

    with manager.exclusive():
        yield
