"""SDK-02: Gradle builds take the SDK as compileOnly from a private Maven registry whose
credentials come from the environment.

checkov has no runner for Kotlin script (or Groovy) build files: asbuilt.static.files reads the
declarative subset the seed documents (dependencies, repositories, credentials) with line numbers.
"""

from asbuilt.rules import sdk
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "SDK-02"

control_check(
    CONTROL, "Gradle builds take the SDK compileOnly from a private registry",
    files={"gradle": facts.gradle_builds},
    rule=lambda items, p, profile: sdk.sdk_from_registry(items),
)
