"""IAM-06: pre-signed bundle URLs in the release values expire within the limit.

Only the URL's shape is kept as evidence (scheme, host, path, expiry): a pre-signed URL is a
bearer credential and never reaches a report.

The control (rule, thresholds, judgement) is asbuilt/controls/iam.py: IAM_06.
"""

from asbuilt.controls.iam import IAM_06
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "IAM-06"

control_check(
    IAM_06,
    files={"values": facts.bundle_urls},
)
