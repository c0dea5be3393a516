"""The one test module of the live suite: every scenario under features/ (pytest-bdd).

Step definitions are registered through the root conftest.py (pytest_plugins).
"""

from pytest_bdd import scenarios

scenarios("../features")
