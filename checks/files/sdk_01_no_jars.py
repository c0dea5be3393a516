"""SDK-01: no *.jar (conncentric-sdk*.jar above all) is tracked by Git.

Read from `git ls-files` of the scanned repository (the whole repository for a target's
`repos:`, the scanned folder otherwise): untracked or ignored JARs are fine.
"""

from asbuilt.rules import sdk
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "SDK-01"

control_check(
    CONTROL, "No SDK JAR (or any JAR) is committed to Git",
    files={"git": facts.tracked_jars},
    rule=lambda items, p, profile: sdk.no_committed_jars(items),
)
