terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Remote state in S3 with S3-native locking (`use_lockfile`, Terraform >= 1.10).
  # The bucket, key and region come from `terraform init -backend-config=backend.hcl`
  # (see backend.hcl.example and infra/README.md), so no account detail lives here.
  backend "s3" {}
}
