"""S3-02: The bundle bucket uses SSE-KMS and blocks public access (Terraform and CloudFormation).

Anchors: "aws_s3_bucket" / "AWS::S3::Bucket". Facts: asbuilt.static.facts.bucket_protection; rule: asbuilt.rules.storage.

The control (rule, thresholds, judgement) is asbuilt/controls/s3.py: S3_02.
"""

from asbuilt.controls.s3 import S3_02
from asbuilt.static.checkbase import control_check

CONTROL = "S3-02"

control_check(
    S3_02,
    terraform=["aws_s3_bucket"],
    cloudformation=["AWS::S3::Bucket"],
)
