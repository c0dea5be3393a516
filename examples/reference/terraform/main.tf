# Conncentric on AWS: the conforming reference for the conncentric-aws profile.
#
# No backend block on purpose: this is an example a scanner reads, not a stack
# anyone applies from this repository. Copy it and add your own backend.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.x for aws_vpc_security_group_ingress_rule and
      # manage_master_user_password; since 5.40 an OIDC provider needs no
      # thumbprint_list.
      version = "~> 5.60"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

locals {
  name_prefix = "${var.project}-${var.environment}"

  # One private subnet per AZ, for the resources that take a list.
  private_subnet_ids = values(aws_subnet.private)[*].id

  tags = {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  }
}
