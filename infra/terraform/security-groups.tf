# Four security groups chained by reference: internet -> ALB -> task -> RDS, and task -> VPC
# endpoints. Rules are separate resources so each has its own description and a test can read it.

locals {
  container_port = 8000
  postgres_port  = 5432
  https_port     = 443
}

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Application Load Balancer: HTTP/HTTPS from the internet, forwards to the tasks"
  vpc_id      = aws_vpc.main.id

  tags = {
    Name = "${local.name}-alb"
  }
}

resource "aws_security_group" "task" {
  name        = "${local.name}-task"
  description = "Fargate tasks: the container port from the ALB (and from optional metrics scrapers in the VPC)"
  vpc_id      = aws_vpc.main.id

  tags = {
    Name = "${local.name}-task"
  }
}

resource "aws_security_group" "rds" {
  name        = "${local.name}-rds"
  description = "RDS PostgreSQL: port 5432 from the tasks only"
  vpc_id      = aws_vpc.main.id

  tags = {
    Name = "${local.name}-rds"
  }
}

resource "aws_security_group" "endpoints" {
  name        = "${local.name}-endpoints"
  description = "VPC interface endpoints: HTTPS from the tasks only"
  vpc_id      = aws_vpc.main.id

  tags = {
    Name = "${local.name}-endpoints"
  }
}

# --- ALB ---------------------------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from the internet (forwarded, or redirected to HTTPS when a certificate is set)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from the internet"
  ip_protocol       = "tcp"
  from_port         = local.https_port
  to_port           = local.https_port
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_task" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Requests and health checks to the tasks' container port"
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = aws_security_group.task.id
}

# --- Tasks -------------------------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "task_from_alb" {
  security_group_id            = aws_security_group.task.id
  description                  = "Container port from the ALB only"
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = aws_security_group.alb.id
}

# /metrics on each task's private address, for Prometheus scrapers inside the VPC only (the public
# listeners answer /metrics with 404, alb.tf).
resource "aws_vpc_security_group_ingress_rule" "task_from_metrics_scrapers" {
  for_each = toset(var.metrics_scraper_security_group_ids)

  security_group_id            = aws_security_group.task.id
  description                  = "Container port (GET /metrics) from a Prometheus scraper in the VPC"
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_egress_rule" "task_to_endpoints" {
  security_group_id            = aws_security_group.task.id
  description                  = "HTTPS to the interface endpoints (ECR, CloudWatch Logs, Secrets Manager)"
  ip_protocol                  = "tcp"
  from_port                    = local.https_port
  to_port                      = local.https_port
  referenced_security_group_id = aws_security_group.endpoints.id
}

resource "aws_vpc_security_group_egress_rule" "task_to_s3" {
  security_group_id = aws_security_group.task.id
  description       = "HTTPS to S3 through the gateway endpoint (ECR image layers)"
  ip_protocol       = "tcp"
  from_port         = local.https_port
  to_port           = local.https_port
  prefix_list_id    = aws_vpc_endpoint.s3.prefix_list_id
}

resource "aws_vpc_security_group_egress_rule" "task_to_rds" {
  security_group_id            = aws_security_group.task.id
  description                  = "PostgreSQL to the database"
  ip_protocol                  = "tcp"
  from_port                    = local.postgres_port
  to_port                      = local.postgres_port
  referenced_security_group_id = aws_security_group.rds.id
}

# --- RDS (no egress rules: the database opens no connections) ---------------------------

resource "aws_vpc_security_group_ingress_rule" "rds_from_task" {
  security_group_id            = aws_security_group.rds.id
  description                  = "PostgreSQL from the tasks only"
  ip_protocol                  = "tcp"
  from_port                    = local.postgres_port
  to_port                      = local.postgres_port
  referenced_security_group_id = aws_security_group.task.id
}

# --- VPC endpoints (no egress rules) -----------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_task" {
  security_group_id            = aws_security_group.endpoints.id
  description                  = "HTTPS from the tasks only"
  ip_protocol                  = "tcp"
  from_port                    = local.https_port
  to_port                      = local.https_port
  referenced_security_group_id = aws_security_group.task.id
}
