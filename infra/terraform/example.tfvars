# Copy to terraform.tfvars (not committed) and fill in.
github_owner = "your-github-org"
github_repo  = "itemstore"
alarm_email  = "ops@example.com"

# certificate_arn         = "arn:aws:acm:us-east-1:123456789012:certificate/..."
# alb_deletion_protection = true
# db_multi_az             = false
