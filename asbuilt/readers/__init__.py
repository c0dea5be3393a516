"""Readers: each fills the estate model (asbuilt.static.estate, asbuilt.model) from one source.
The Terraform, CloudFormation and Kubernetes readers live in asbuilt.static (they run inside
checkov's runners); the live AWS reader is asbuilt.readers.aws_api. Readers only read."""
