"""Registers the live suite's plugins when `asbuilt run` runs steps/test_scenarios.py.

It sits beside the scenario module so the live suite is whole in steps/ (the wheel ships steps/
inside the package, asbuilt/_suite/steps/); pytest loads it as an initial conftest of that module.
"""

from steps import PLUGINS

pytest_plugins = list(PLUGINS)
