"""S3-01: The bundle bucket has versioning enabled (Terraform and CloudFormation).

Anchors: "aws_s3_bucket" / "AWS::S3::Bucket". Facts: asbuilt.static.facts.bucket_versioning; rule: asbuilt.rules.storage.
"""

from asbuilt.rules import storage
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "S3-01"

control_check(
    CONTROL, "The bundle bucket has versioning enabled",
    terraform=["aws_s3_bucket"],
    cloudformation=["AWS::S3::Bucket"],
    aws=facts.bucket_versioning,
    rule=lambda items, p, profile: storage.bucket_versioning(items),
)
