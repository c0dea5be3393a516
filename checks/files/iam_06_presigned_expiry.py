"""IAM-06: pre-signed bundle URLs in the release values expire within the limit.

Only the URL's shape is kept as evidence (scheme, host, path, expiry): a pre-signed URL is a
bearer credential and never reaches a report.
"""

from asbuilt.rules import iam
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "IAM-06"

control_check(
    CONTROL, "Pre-signed bundle URLs expire within the limit",
    files={"values": facts.bundle_urls},
    rule=lambda items, p, profile: iam.presigned_url_expiry(items, int(p["max_expiry_seconds"])),
)
