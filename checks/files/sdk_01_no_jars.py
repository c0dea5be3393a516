"""SDK-01: no *.jar (conncentric-sdk*.jar above all) is tracked by Git.

Read from `git ls-files` of the scanned repository (the whole repository for a target's
`repos:`, the scanned folder otherwise): untracked or ignored JARs are fine.

The control (rule, thresholds, judgement) is asbuilt/controls/sdk.py: SDK_01.
"""

from asbuilt.controls.sdk import SDK_01
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "SDK-01"

control_check(
    SDK_01,
    files={"git": facts.tracked_jars},
)
