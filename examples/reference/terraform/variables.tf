variable "project" {
  description = "Name used as the prefix of every resource."
  type        = string
  default     = "conncentric"
}

variable "environment" {
  description = "Deployment stage, part of resource names."
  type        = string
  default     = "prod"
}

variable "region" {
  description = "AWS region; the reference uses three of its AZs."
  type        = string
  default     = "us-east-1"
}

# Listed literally (not from data.aws_availability_zones) so a plan is
# reproducible and a static reader sees the AZs. Three: MSK needs one broker
# per AZ (HA-03); the node group and the ALB must span at least two (HA-04,
# HA-06).
variable "availability_zones" {
  description = "AZs of var.region that the VPC spans."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b", "us-east-1c"]

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "MSK takes one client subnet per broker AZ: give exactly three AZs."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the single VPC that holds EKS, RDS and MSK (NET-08)."
  type        = string
  default     = "10.0.0.0/16"
}

# --- EKS -------------------------------------------------------------------

variable "eks_version" {
  description = "Kubernetes version of the EKS control plane (VER-01: >= 1.30)."
  type        = string
  default     = "1.31"
}

variable "node_instance_type" {
  description = "Instance type of the managed node group (SIZE-01)."
  type        = string
  default     = "m6i.xlarge"
}

variable "node_min_size" {
  description = "Minimum nodes (SIZE-01, HA-04: >= 2)."
  type        = number
  default     = 2
}

variable "node_desired_size" {
  description = "Desired nodes: one per AZ."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Maximum nodes the autoscaler may reach."
  type        = number
  default     = 6
}

# --- RDS -------------------------------------------------------------------

variable "db_engine_version" {
  description = "PostgreSQL version (VER-02: >= 15)."
  type        = string
  default     = "16.4"
}

variable "db_instance_class" {
  description = "RDS instance class (SIZE-02)."
  type        = string
  default     = "db.r6g.large"
}

variable "db_backup_retention_days" {
  description = "Automated backup retention in days (HA-02)."
  type        = number
  default     = 7
}

variable "db_username" {
  description = "Master user name. The password is generated and kept in Secrets Manager by RDS."
  type        = string
  default     = "conncentric"
}

# --- MSK -------------------------------------------------------------------

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster (VER-03: >= 3.5)."
  type        = string
  default     = "3.6.0"
}

variable "kafka_broker_instance_type" {
  description = "MSK broker instance type (SIZE-03)."
  type        = string
  default     = "kafka.m5.large"
}

variable "kafka_broker_count" {
  description = "Number of brokers; one per AZ (HA-03)."
  type        = number
  default     = 3
}

# --- ALB / ingress ---------------------------------------------------------

variable "alb_certificate_arn" {
  description = "ACM certificate for the HTTPS listener."
  type        = string
  default     = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
}

# --- Bundles / installer ---------------------------------------------------

variable "bundle_bucket_name" {
  description = "S3 bucket that hosts custom bundles for the installer."
  type        = string
  default     = "conncentric-bundles-reference"
}

variable "k8s_namespace" {
  description = "Namespace the Helm release is installed in."
  type        = string
  default     = "conncentric"
}

variable "installer_service_account" {
  description = "Service account of the installer Job (IAM-02, IAM-03)."
  type        = string
  default     = "conncentric-installer"
}

variable "ecr_repositories" {
  description = "One ECR repository per platform image (ECR-01)."
  type        = list(string)
  default     = ["orchestrator", "adapter", "portal"]
}
