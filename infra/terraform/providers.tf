# Credentials come from the environment (an operator's SSO session, or the GitHub OIDC role in CI):
# never a profile name or access keys in this configuration.
provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = var.project_name
      Environment = var.environment
      ManagedBy   = "terraform"
      Repository  = "${var.github_owner}/${var.github_repo}"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  # Resource name prefix, e.g. "itemstore-production".
  name       = "${var.project_name}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Two distinct Availability Zones: the first two the region offers without opt-in.
  azs = slice(data.aws_availability_zones.available.names, 0, 2)
}
