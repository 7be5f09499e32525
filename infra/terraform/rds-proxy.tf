# Optional RDS Proxy between the service and PostgreSQL (var.db_proxy_enabled, off by default).
# When on, the web tasks' DATABASE_URL names the proxy and MIGRATION_DATABASE_URL keeps naming the
# instance, so the migration task talks to PostgreSQL directly (ecs.tf). The proxy logs in with
# the RDS-managed master secret, read through its own IAM role, and requires TLS from clients.
# Sizing and the session-pinning rules: infra/README.md, "Sizing the connection pool".

locals {
  proxy_count = var.db_proxy_enabled ? 1 : 0
}

resource "aws_db_proxy" "main" {
  count = local.proxy_count

  name                   = "${local.name}-db"
  engine_family          = "POSTGRESQL"
  role_arn               = aws_iam_role.db_proxy[0].arn
  vpc_subnet_ids         = aws_subnet.private[*].id
  vpc_security_group_ids = [aws_security_group.proxy[0].id]
  require_tls            = true
  idle_client_timeout    = 1800
  debug_logging          = false

  auth {
    description               = "RDS-managed master user secret"
    auth_scheme               = "SECRETS"
    secret_arn                = local.db_secret_arn
    iam_auth                  = "DISABLED"
    client_password_auth_type = "POSTGRES_SCRAM_SHA_256"
  }
}

resource "aws_db_proxy_default_target_group" "main" {
  count = local.proxy_count

  db_proxy_name = aws_db_proxy.main[0].name

  connection_pool_config {
    # Share of the instance's max_connections the proxy may open; the rest stays for the direct
    # migration task and operators.
    max_connections_percent      = var.db_proxy_max_connections_percent
    max_idle_connections_percent = floor(var.db_proxy_max_connections_percent / 2)
    # Seconds a client transaction waits for a database connection before the proxy errors.
    connection_borrow_timeout = 5
  }
}

resource "aws_db_proxy_target" "main" {
  count = local.proxy_count

  db_proxy_name          = aws_db_proxy.main[0].name
  target_group_name      = aws_db_proxy_default_target_group.main[0].name
  db_instance_identifier = aws_db_instance.main.identifier
}

# --- IAM: the proxy reads the one DB secret ---------------------------------------------

data "aws_iam_policy_document" "db_proxy_trust" {
  statement {
    sid     = "RdsAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "db_proxy" {
  count = local.proxy_count

  name               = "${local.name}-db-proxy"
  description        = "RDS Proxy of ${local.name}: reads the RDS-managed DB secret"
  assume_role_policy = data.aws_iam_policy_document.db_proxy_trust.json
}

# The RDS-managed secret is encrypted with the account's aws/secretsmanager key, whose key policy
# already lets principals of the account decrypt through Secrets Manager: no kms statement here.
data "aws_iam_policy_document" "db_proxy" {
  statement {
    sid       = "DbSecret"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.db_secret_arn]
  }
}

resource "aws_iam_role_policy" "db_proxy" {
  count = local.proxy_count

  name   = "db-secret"
  role   = aws_iam_role.db_proxy[0].id
  policy = data.aws_iam_policy_document.db_proxy.json
}

# --- Network: task -> proxy -> RDS, all on 5432 ------------------------------------------

resource "aws_security_group" "proxy" {
  count = local.proxy_count

  name        = "${local.name}-proxy"
  description = "RDS Proxy: PostgreSQL from the tasks, to the database"
  vpc_id      = aws_vpc.main.id

  tags = {
    Name = "${local.name}-proxy"
  }
}

resource "aws_vpc_security_group_ingress_rule" "proxy_from_task" {
  count = local.proxy_count

  security_group_id            = aws_security_group.proxy[0].id
  description                  = "PostgreSQL from the tasks only"
  ip_protocol                  = "tcp"
  from_port                    = local.postgres_port
  to_port                      = local.postgres_port
  referenced_security_group_id = aws_security_group.task.id
}

resource "aws_vpc_security_group_egress_rule" "proxy_to_rds" {
  count = local.proxy_count

  security_group_id            = aws_security_group.proxy[0].id
  description                  = "PostgreSQL to the database"
  ip_protocol                  = "tcp"
  from_port                    = local.postgres_port
  to_port                      = local.postgres_port
  referenced_security_group_id = aws_security_group.rds.id
}

resource "aws_vpc_security_group_ingress_rule" "rds_from_proxy" {
  count = local.proxy_count

  security_group_id            = aws_security_group.rds.id
  description                  = "PostgreSQL from the RDS Proxy"
  ip_protocol                  = "tcp"
  from_port                    = local.postgres_port
  to_port                      = local.postgres_port
  referenced_security_group_id = aws_security_group.proxy[0].id
}

resource "aws_vpc_security_group_egress_rule" "task_to_proxy" {
  count = local.proxy_count

  security_group_id            = aws_security_group.task.id
  description                  = "PostgreSQL to the RDS Proxy"
  ip_protocol                  = "tcp"
  from_port                    = local.postgres_port
  to_port                      = local.postgres_port
  referenced_security_group_id = aws_security_group.proxy[0].id
}
