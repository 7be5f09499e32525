terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Remote state in S3 with native locking (Terraform >= 1.10 uses `use_lockfile`).
  # The bucket, key and region come from `terraform init -backend-config=backend.hcl`
  # (see backend.hcl.example and infra/README.md), so no account detail lives here.
  backend "s3" {}
}
