# IAM: the task execution role (pull the image, write logs, read the DB secret), the task role
# (the app calls no AWS API, so it has no permissions), and the GitHub Actions deploy role that
# only this repository's main-branch deploy job can assume through OIDC. No IAM users, no keys.

locals {
  db_secret_arn    = aws_db_instance.main.master_user_secret[0].secret_arn
  ecs_service_arn  = "arn:${local.partition}:ecs:${var.aws_region}:${local.account_id}:service/${aws_ecs_cluster.main.name}/${aws_ecs_service.app.name}"
  task_family_arn  = "arn:${local.partition}:ecs:${var.aws_region}:${local.account_id}:task-definition/${aws_ecs_task_definition.app.family}:*"
  ecs_task_arns    = "arn:${local.partition}:ecs:${var.aws_region}:${local.account_id}:task/${aws_ecs_cluster.main.name}/*"
  github_oidc_url  = "token.actions.githubusercontent.com"
  github_oidc_arn  = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
  github_oidc_sub  = var.github_environment != "" ? "repo:${var.github_owner}/${var.github_repo}:environment:${var.github_environment}" : "repo:${var.github_owner}/${var.github_repo}:ref:refs/heads/main"
  task_role_arns   = [aws_iam_role.execution.arn, aws_iam_role.task.arn]
  log_group_arn    = aws_cloudwatch_log_group.app.arn
  log_streams_arn  = "${aws_cloudwatch_log_group.app.arn}:*"
  ecr_repo_arn     = aws_ecr_repository.app.arn
  ecs_cluster_arn  = aws_ecs_cluster.main.arn
  ecs_tasks_source = "ecs-tasks.amazonaws.com"
}

# --- Execution role (used by the ECS agent, not by the app) ----------------------------

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    sid     = "EcsTasksAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [local.ecs_tasks_source]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  description        = "ECS task execution role of ${local.name}: image pull, awslogs, DB secret"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrAuthToken"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid    = "EcrPull"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [local.ecr_repo_arn]
  }

  statement {
    sid       = "AwsLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.log_streams_arn]
  }

  statement {
    sid       = "DbPassword"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.db_secret_arn]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "task-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- Task role (what the app's own code may do: nothing) -------------------------------

resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  description        = "Role of the ${local.name} application containers; the app calls no AWS API"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

# --- GitHub Actions OIDC ---------------------------------------------------------------

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 0 : 1

  url = "https://token.actions.githubusercontent.com"
}

data "aws_iam_policy_document" "github_trust" {
  statement {
    sid     = "GitHubDeployJob"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Exactly one repository and its main branch (or its protected deploy environment).
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [local.github_oidc_sub]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = "${local.name}-github-deploy"
  description          = "Assumed by GitHub Actions (OIDC) from ${var.github_owner}/${var.github_repo} main to push images and deploy"
  assume_role_policy   = data.aws_iam_policy_document.github_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "deploy" {
  # GetAuthorizationToken has no resource-level permissions.
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid    = "EcrPush"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [local.ecr_repo_arn]
  }

  # Register/DescribeTaskDefinition have no resource-level permissions.
  statement {
    sid       = "EcsTaskDefinitions"
    effect    = "Allow"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid       = "EcsDeployService"
    effect    = "Allow"
    actions   = ["ecs:UpdateService", "ecs:DescribeServices"]
    resources = [local.ecs_service_arn]
  }

  # The one-off migration task: this family, on this cluster only.
  statement {
    sid       = "EcsRunMigration"
    effect    = "Allow"
    actions   = ["ecs:RunTask"]
    resources = [local.task_family_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.ecs_cluster_arn]
    }
  }

  statement {
    sid       = "EcsWatchMigration"
    effect    = "Allow"
    actions   = ["ecs:DescribeTasks"]
    resources = [local.ecs_task_arns]
  }

  # Tags that RegisterTaskDefinition and RunTask attach on creation.
  statement {
    sid       = "EcsTagOnCreate"
    effect    = "Allow"
    actions   = ["ecs:TagResource"]
    resources = [local.task_family_arn, local.ecs_task_arns]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RegisterTaskDefinition", "RunTask"]
    }
  }

  statement {
    sid       = "PassTaskRoles"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = local.task_role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = [local.ecs_tasks_source]
    }
  }

  # Read the migration task's log lines to show them in the workflow run.
  statement {
    sid       = "ReadMigrationLogs"
    effect    = "Allow"
    actions   = ["logs:GetLogEvents", "logs:FilterLogEvents"]
    resources = [local.log_group_arn, local.log_streams_arn]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
