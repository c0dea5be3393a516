"""Root conftest: registers the asbuilt pytest plugin and the step definitions of steps/.

`asbuilt run` runs steps/test_scenarios.py with this file as its conftest; the project's
own tests (tests/) see the same plugin, which stays inert without --asbuilt-target.
"""

pytest_plugins = [
    "asbuilt.pytest_plugin",
    "steps.aws_estate",
    "steps.network_reachability",
    "steps.kafka_topics",
    "steps.platform",
    "steps.helm_version",
    "steps.composex",
]
