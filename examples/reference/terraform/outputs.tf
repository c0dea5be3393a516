# What the Helm values need from this stack.

output "installer_role_arn" {
  description = "installer.roleArn in the chart values"
  value       = aws_iam_role.installer.arn
}

output "kafka_bootstrap_brokers_tls" {
  description = "env.KAFKA_BOOTSTRAP_SERVERS in the chart values"
  value       = aws_msk_cluster.main.bootstrap_brokers_tls
}

output "db_endpoint" {
  description = "Host of the PostgreSQL instance"
  value       = aws_db_instance.main.address
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret holding the generated master password"
  value       = aws_db_instance.main.master_user_secret[0].secret_arn
}

output "bundle_bucket" {
  description = "Where CI uploads custom bundles"
  value       = aws_s3_bucket.bundles.bucket
}

output "ecr_repository_urls" {
  description = "Image repositories for the chart values"
  value       = { for name, repo in aws_ecr_repository.images : name => repo.repository_url }
}
