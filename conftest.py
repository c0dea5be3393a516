"""Root conftest: registers the asbuilt pytest plugin and the step definitions of steps/.

`asbuilt run` runs steps/test_scenarios.py, whose steps/conftest.py registers the same plugins
(steps.PLUGINS); the project's own tests (tests/) see them through this file, and the plugin stays
inert without --asbuilt-target.
"""

from steps import PLUGINS

pytest_plugins = list(PLUGINS)
