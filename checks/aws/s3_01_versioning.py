"""S3-01: The bundle bucket has versioning enabled (Terraform and CloudFormation).

Anchors: "aws_s3_bucket" / "AWS::S3::Bucket". Facts: asbuilt.static.facts.bucket_versioning; rule: asbuilt.rules.storage.

The control (rule, thresholds, judgement) is asbuilt/controls/s3.py: S3_01.
"""

from asbuilt.controls.s3 import S3_01
from asbuilt.static.checkbase import control_check

CONTROL = "S3-01"

control_check(
    S3_01,
    terraform=["aws_s3_bucket"],
    cloudformation=["AWS::S3::Bucket"],
)
