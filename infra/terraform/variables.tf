# Inputs. Every variable says what it is, its unit and why its default; each has a validation
# block so a wrong value fails at `terraform plan`, not half-way through an apply.

variable "project_name" {
  description = "Short name used as the prefix of every resource name (lowercase letters, digits, hyphens; with environment it must fit the ALB's 32-character name limit)."
  type        = string
  default     = "itemstore"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,10}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 3-12 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment stage, part of every resource name and tag (e.g. production, staging)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,14}[a-z0-9]$", var.environment))
    error_message = "environment must be 2-16 characters: lowercase letters, digits and hyphens."
  }
}

variable "aws_region" {
  description = "AWS Region for every regional resource (the cost table in infra/README.md assumes us-east-1)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC; the four /24 subnets are carved from it with cidrsubnet()."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && can(regex("/([89]|1[0-9]|20)$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block of /20 or larger."
  }
}

variable "github_owner" {
  description = "GitHub user or organisation owning the repository whose main-branch deploy job may assume the deploy role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", var.github_owner))
    error_message = "github_owner must be a GitHub user or organisation name (no wildcards)."
  }
}

variable "github_repo" {
  description = "GitHub repository name (without the owner) whose deploy job may assume the deploy role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_repo))
    error_message = "github_repo must be a repository name (letters, digits, '.', '_', '-'; no wildcards)."
  }
}

variable "github_environment" {
  description = "GitHub Actions environment of the deploy job. A job that names an environment gets the OIDC subject repo:OWNER/REPO:environment:NAME, so the deploy role trusts exactly that subject (restrict the environment's deployment branches to main). Empty string: trust repo:OWNER/REPO:ref:refs/heads/main instead, for a deploy job without an environment."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^([A-Za-z0-9_-]{1,255})?$", var.github_environment))
    error_message = "github_environment must be empty or an environment name without wildcards."
  }
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC provider. Set false when the account already has one (there can be only one per URL)."
  type        = bool
  default     = true
}

variable "image_tag" {
  description = "Image tag (the git commit SHA) the task definition starts with. Deploys after the first one come from the workflow, which registers new task definition revisions."
  type        = string
  default     = "bootstrap"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid Docker tag and not \"latest\" (the repository is immutable)."
  }
}

variable "task_cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU)."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.task_cpu)
    error_message = "task_cpu must be one of 256, 512, 1024, 2048, 4096."
  }
}

variable "task_memory" {
  description = "Fargate task memory in MiB; must be a valid pairing with task_cpu (256 CPU: 512-2048)."
  type        = number
  default     = 512

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 30720 && var.task_memory % 512 == 0
    error_message = "task_memory must be a multiple of 512 MiB from 512 to 30720."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the image and the Fargate task: X86_64 (what GitHub's ubuntu runners build) or ARM64 (about 20 % cheaper)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "web_concurrency" {
  description = "Node.js worker processes per task (WEB_CONCURRENCY). One per vCPU is the usual rule."
  type        = number
  default     = 1

  validation {
    condition     = var.web_concurrency >= 1 && var.web_concurrency <= 16 && floor(var.web_concurrency) == var.web_concurrency
    error_message = "web_concurrency must be an integer from 1 to 16."
  }
}

variable "db_pool_max" {
  description = "Most PostgreSQL connections one worker opens (DB_POOL_MAX). Without the proxy, 2 x autoscaling_max_capacity (a rollout runs old and new tasks side by side) x web_concurrency x db_pool_max, plus the migration task, must stay under the instance's max_connections: see the budget in infra/README.md."
  type        = number
  default     = 5

  validation {
    condition     = var.db_pool_max >= 1 && var.db_pool_max <= 100
    error_message = "db_pool_max must be from 1 to 100."
  }
}

variable "cors_origins" {
  description = "Comma-separated origins allowed by CORS (CORS_ORIGINS); empty string allows none."
  type        = string
  default     = ""

  validation {
    condition     = var.cors_origins == "" || alltrue([for o in split(",", var.cors_origins) : can(regex("^https?://[^/,\\s]+$", trimspace(o)))])
    error_message = "cors_origins must be empty or a comma-separated list of origins like https://app.example.com."
  }
}

variable "db_tls_mode" {
  description = "PGSSLMODE for the app's pg client; RDS has rds.force_ssl = 1, so plain connections are refused. verify-full: TLS with the server certificate checked against the RDS CA bundle, which the image must hold at the NODE_EXTRA_CA_CERTS path (see infra/README.md). no-verify: TLS without checking the certificate (encrypted, server not authenticated)."
  type        = string
  default     = "verify-full"

  validation {
    condition     = contains(["verify-full", "no-verify"], var.db_tls_mode)
    error_message = "db_tls_mode must be verify-full or no-verify (never disable, allow or prefer)."
  }
}

variable "desired_count" {
  description = "Tasks the service starts with; autoscaling moves it between autoscaling_min_capacity and autoscaling_max_capacity."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 1 && var.desired_count <= 20
    error_message = "desired_count must be from 1 to 20."
  }
}

variable "autoscaling_min_capacity" {
  description = "Fewest running tasks (2 keeps one task per Availability Zone)."
  type        = number
  default     = 2

  validation {
    condition     = var.autoscaling_min_capacity >= 1
    error_message = "autoscaling_min_capacity must be at least 1."
  }
}

variable "autoscaling_max_capacity" {
  description = "Most running tasks; must be greater than autoscaling_min_capacity."
  type        = number
  default     = 6

  validation {
    condition     = var.autoscaling_max_capacity >= 2 && var.autoscaling_max_capacity <= 50
    error_message = "autoscaling_max_capacity must be from 2 to 50."
  }
}

variable "autoscaling_cpu_target" {
  description = "Average service CPU utilisation, in percent, that target tracking holds."
  type        = number
  default     = 60

  validation {
    condition     = var.autoscaling_cpu_target >= 20 && var.autoscaling_cpu_target <= 90
    error_message = "autoscaling_cpu_target must be from 20 to 90 (percent)."
  }
}

variable "autoscaling_requests_per_target" {
  description = "ALB requests per task per minute that target tracking holds (ALBRequestCountPerTarget)."
  type        = number
  default     = 1000

  validation {
    condition     = var.autoscaling_requests_per_target >= 10
    error_message = "autoscaling_requests_per_target must be at least 10."
  }
}

variable "certificate_arn" {
  description = "ACM certificate ARN for HTTPS on the ALB. Empty: HTTP only on port 80. Set: HTTPS on 443 and port 80 redirects to it."
  type        = string
  default     = ""

  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be empty or an ACM certificate ARN."
  }
}

variable "alb_deletion_protection" {
  description = "Refuse to delete the load balancer (turn off before `terraform destroy`)."
  type        = bool
  default     = true
}

variable "db_engine_version" {
  description = "PostgreSQL major version on RDS; minor versions are upgraded automatically. Also selects the parameter group family."
  type        = string
  default     = "17"

  validation {
    condition     = contains(["15", "16", "17"], var.db_engine_version)
    error_message = "db_engine_version must be a supported PostgreSQL major version: 15, 16 or 17."
  }
}

variable "db_instance_class" {
  description = "RDS instance class (db.t4g.micro: 2 vCPU burstable, 1 GiB)."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must look like db.t4g.micro."
  }
}

variable "db_allocated_storage" {
  description = "Initial gp3 storage in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20 && var.db_allocated_storage <= 65536
    error_message = "db_allocated_storage must be from 20 to 65536 GiB."
  }
}

variable "db_max_allocated_storage" {
  description = "Ceiling in GiB for RDS storage autoscaling; must be greater than db_allocated_storage."
  type        = number
  default     = 100

  validation {
    condition     = var.db_max_allocated_storage >= 21 && var.db_max_allocated_storage <= 65536
    error_message = "db_max_allocated_storage must be from 21 to 65536 GiB."
  }
}

variable "db_name" {
  description = "Name of the application database created on the instance (DB_NAME)."
  type        = string
  default     = "itemstore"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must start with a letter and hold only lowercase letters, digits and underscores."
  }
}

variable "db_username" {
  description = "Master user name (DB_USER). Its password is generated and rotated by RDS in Secrets Manager."
  type        = string
  default     = "itemstore"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.db_username)) && !contains(["admin", "postgres", "rdsadmin"], var.db_username)
    error_message = "db_username must be 1-16 lowercase letters, digits or underscores, starting with a letter, and not a reserved name."
  }
}

variable "db_multi_az" {
  description = "Run a synchronous standby in the second AZ (doubles the instance cost; recommended once the service carries real traffic)."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Days of automated RDS backups (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 7 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be from 7 to 35."
  }
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database (turn off before `terraform destroy`)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the service's log lines."
  type        = number
  default     = 30

  validation {
    condition     = contains([14, 30], var.log_retention_days)
    error_message = "log_retention_days must be 14 or 30."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (CloudWatch alarms and budget alerts). AWS sends a confirmation mail first."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address."
  }
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget for the account in US dollars; alerts at 80 % actual and 100 % forecast."
  type        = number
  default     = 200

  validation {
    condition     = var.monthly_budget_usd > 0
    error_message = "monthly_budget_usd must be positive."
  }
}

variable "alarm_p95_response_time_seconds" {
  description = "Target response time p95, in seconds, above which the latency alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.alarm_p95_response_time_seconds > 0
    error_message = "alarm_p95_response_time_seconds must be positive."
  }
}

variable "alarm_5xx_per_minute" {
  description = "5xx responses per minute (load balancer or targets) above which the 5xx alarms fire."
  type        = number
  default     = 5

  validation {
    condition     = var.alarm_5xx_per_minute >= 1
    error_message = "alarm_5xx_per_minute must be at least 1."
  }
}

variable "metrics_scraper_security_group_ids" {
  description = "Security groups, in this VPC, of Prometheus scrapers allowed to reach each task's container port directly to read GET /metrics (the public ALB answers /metrics with 404). Empty: nothing but the ALB reaches the tasks."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.metrics_scraper_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "metrics_scraper_security_group_ids must hold security group ids like sg-0123456789abcdef0."
  }
}

variable "db_proxy_enabled" {
  description = "Put an RDS Proxy between the web tasks and PostgreSQL: DATABASE_URL then names the proxy, while MIGRATION_DATABASE_URL (the migration task) keeps the instance. Adds about $22 a month on a 2-vCPU class (infra/README.md)."
  type        = bool
  default     = false
}

variable "db_proxy_max_connections_percent" {
  description = "With the proxy: percentage of the instance's max_connections the proxy may open (RDS Proxy MaxConnectionsPercent); the rest stays for the direct migration task and operators."
  type        = number
  default     = 70

  validation {
    condition     = var.db_proxy_max_connections_percent >= 10 && var.db_proxy_max_connections_percent <= 90 && floor(var.db_proxy_max_connections_percent) == var.db_proxy_max_connections_percent
    error_message = "db_proxy_max_connections_percent must be an integer from 10 to 90."
  }
}
