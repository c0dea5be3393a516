"""The estate model: what every reader (AWS API, Terraform, plan JSON, CloudFormation, manifests,
Kubernetes API) fills, and every control reads. A field holds a value or an ``Unknown``."""
