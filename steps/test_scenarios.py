"""The one test module of the live suite: every scenario under features/ (pytest-bdd).

Step definitions are registered by steps/conftest.py (pytest_plugins = steps.PLUGINS).
"""

from pytest_bdd import scenarios

scenarios("../features")
