# Installer access to the bundle bucket through IRSA: the seed's policy,
# scoped to this bucket and its key (IAM-01), assumable only by the
# installer's service account (IAM-03).

locals {
  # Issuer host and path without the scheme, as IAM condition keys spell it.
  oidc_issuer = replace(aws_iam_openid_connect_provider.eks.url, "https://", "")
}

resource "aws_iam_policy" "installer_bundles" {
  name        = "${local.name_prefix}-installer-bundles"
  description = "Read-only access of the Conncentric installer to the bundle bucket"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "AllowBundleDownload"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${aws_s3_bucket.bundles.arn}/*"
      },
      {
        Sid      = "AllowBucketListing"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = aws_s3_bucket.bundles.arn
      },
      {
        # Needed only because the bucket uses SSE-KMS.
        Sid      = "AllowKMSDecrypt"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = aws_kms_key.bundles.arn
      },
    ]
  })
}

data "aws_iam_policy_document" "installer_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.k8s_namespace}:${var.installer_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

# The chart's values name this role in installer.roleArn (IAM-02).
resource "aws_iam_role" "installer" {
  name               = "${var.project}-installer-s3-read"
  description        = "IRSA role of the ${var.installer_service_account} service account"
  assume_role_policy = data.aws_iam_policy_document.installer_trust.json
}

resource "aws_iam_role_policy_attachment" "installer_bundles" {
  role       = aws_iam_role.installer.name
  policy_arn = aws_iam_policy.installer_bundles.arn
}
