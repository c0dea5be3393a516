"""SDK-02: Gradle builds take the SDK as compileOnly from a private Maven registry whose
credentials come from the environment.

checkov has no runner for Kotlin script (or Groovy) build files: asbuilt.static.files reads the
declarative subset the seed documents (dependencies, repositories, credentials) with line numbers.

The control (rule, thresholds, judgement) is asbuilt/controls/sdk.py: SDK_02.
"""

from asbuilt.controls.sdk import SDK_02
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "SDK-02"

control_check(
    SDK_02,
    files={"gradle": facts.gradle_builds},
)
