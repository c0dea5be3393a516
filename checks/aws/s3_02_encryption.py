"""S3-02: The bundle bucket uses SSE-KMS and blocks public access (Terraform and CloudFormation).

Anchors: "aws_s3_bucket" / "AWS::S3::Bucket". Facts: asbuilt.static.facts.bucket_protection; rule: asbuilt.rules.storage.
"""

from asbuilt.rules import storage
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "S3-02"

control_check(
    CONTROL, "The bundle bucket uses SSE-KMS and blocks public access",
    terraform=["aws_s3_bucket"],
    cloudformation=["AWS::S3::Bucket"],
    aws=facts.bucket_protection,
    rule=lambda items, p, profile: storage.bucket_protection(items),
)
