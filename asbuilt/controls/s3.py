"""S3-*: the bundle bucket: versioning, encryption, public access. One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import storage
from asbuilt.static import facts


S3_01 = Unit("S3-01", storage.bucket_versioning, evidence=facts.bucket_versioning,
             terraform=("aws_s3_bucket",),
             cloudformation=("AWS::S3::Bucket",))

S3_02 = Unit("S3-02", storage.bucket_protection, evidence=facts.bucket_protection,
             terraform=("aws_s3_bucket",),
             cloudformation=("AWS::S3::Bucket",))
