# Bundle bucket: versioned (S3-01, BNDL-02 keeps the previous bundle),
# SSE-KMS with its own key and no public access (S3-02).

resource "aws_kms_key" "bundles" {
  description             = "Encrypts Conncentric custom bundles in ${var.bundle_bucket_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_kms_alias" "bundles" {
  name          = "alias/${local.name_prefix}-bundles"
  target_key_id = aws_kms_key.bundles.key_id
}

resource "aws_s3_bucket" "bundles" {
  bucket = var.bundle_bucket_name
}

resource "aws_s3_bucket_ownership_controls" "bundles" {
  bucket = aws_s3_bucket.bundles.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "bundles" {
  bucket = aws_s3_bucket.bundles.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "bundles" {
  bucket = aws_s3_bucket.bundles.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.bundles.arn
    }
    # Fewer KMS calls per object; the installer's kms:Decrypt still applies.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "bundles" {
  bucket = aws_s3_bucket.bundles.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
