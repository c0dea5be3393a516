"""Step definitions for features/: thin glue from Gherkin to probes and rules."""

# The pytest plugins of the live suite: asbuilt's plugin and the step modules. Registered by
# steps/conftest.py (what `asbuilt run` loads, in a checkout and in an installed wheel alike) and by
# the repository's root conftest.py (the project's own tests see the same plugin, inert there).
PLUGINS = [
    "asbuilt.pytest_plugin",
    "steps.aws_estate",
    "steps.network_reachability",
    "steps.kafka_topics",
    "steps.platform",
    "steps.helm_version",
    "steps.conduktor",
    "steps.conduktor_services",
    "steps.composex",
]
