# ECS on Fargate: the cluster, the task definition (container definition kept as an HCL object
# in locals so tests can read it), the service behind the ALB and its target-tracking autoscaling.
# Deploys after the first apply come from the GitHub workflow, which registers new revisions of
# the task definition family with the new image; the service ignores those changes here.

locals {
  container_name = "app"

  # Where the image keeps Amazon RDS's CA bundle when db_tls_mode = "verify-full" (Node reads
  # NODE_EXTRA_CA_CERTS at start-up; a missing file only logs a warning).
  rds_ca_bundle_path = "/app/certs/rds-global-bundle.pem"

  # Connection URLs without a password: node-postgres, like libpq, takes a password missing from
  # the URL from PGPASSWORD, which `secrets` fills from the RDS-managed secret. The web tasks go
  # through the RDS Proxy when there is one; migrations always go straight to the instance.
  migration_database_url = "postgres://${var.db_username}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/${var.db_name}"
  database_url           = var.db_proxy_enabled ? "postgres://${var.db_username}@${aws_db_proxy.main[0].endpoint}:${local.postgres_port}/${var.db_name}" : local.migration_database_url

  # Probe run inside the container: node, because slim images have no curl or wget.
  container_health_command = [
    "CMD",
    "node",
    "-e",
    "fetch('http://127.0.0.1:${local.container_port}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))",
  ]

  container_definitions = [
    {
      name                   = local.container_name
      image                  = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"
      essential              = true
      user                   = "1000:1000"
      readonlyRootFilesystem = true
      stopTimeout            = 30

      portMappings = [
        {
          name          = "http"
          containerPort = local.container_port
          protocol      = "tcp"
        },
      ]

      environment = [
        { name = "NODE_ENV", value = "production" },
        { name = "HOST", value = "0.0.0.0" },
        { name = "PORT", value = tostring(local.container_port) },
        { name = "LOG_LEVEL", value = "info" },
        { name = "LOG_DIR", value = "" },
        { name = "TRUST_PROXY", value = "true" },
        { name = "WEB_CONCURRENCY", value = tostring(var.web_concurrency) },
        { name = "CORS_ORIGINS", value = var.cors_origins },
        { name = "DATABASE_URL", value = local.database_url },
        { name = "MIGRATION_DATABASE_URL", value = local.migration_database_url },
        # The deploy workflow runs the migrations as a one-off task before every rollout.
        { name = "MIGRATE_ON_START", value = "false" },
        { name = "DB_POOL_MAX", value = tostring(var.db_pool_max) },
        { name = "PGSSLMODE", value = var.db_tls_mode },
        { name = "NODE_EXTRA_CA_CERTS", value = local.rds_ca_bundle_path },
      ]

      secrets = [
        {
          name      = "PGPASSWORD"
          valueFrom = "${aws_db_instance.main.master_user_secret[0].secret_arn}:password::"
        },
      ]

      # Read-only root filesystem: give Node a writable /tmp on the task's ephemeral storage.
      mountPoints = [
        {
          sourceVolume  = "tmp"
          containerPath = "/tmp"
          readOnly      = false
        },
      ]

      healthCheck = {
        command     = local.container_health_command
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 20
      }

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          "awslogs-group"         = aws_cloudwatch_log_group.app.name
          "awslogs-region"        = var.aws_region
          "awslogs-stream-prefix" = local.container_name
          "mode"                  = "non-blocking"
          "max-buffer-size"       = "25m"
        }
      }
    },
  ]
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/ecs/${local.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "app" {
  family                   = local.name
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  cpu                      = tostring(var.task_cpu)
  memory                   = tostring(var.task_memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.container_definitions)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }
}

resource "aws_ecs_service" "app" {
  name                              = local.name
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.app.arn
  desired_count                     = var.desired_count
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 60
  enable_ecs_managed_tags           = true
  propagate_tags                    = "SERVICE"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.app.arn
    container_name   = local.container_name
    container_port   = local.container_port
  }

  # The workflow deploys new task definition revisions and autoscaling moves desired_count.
  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_lb_listener.http_forward, aws_lb_listener.https]
}

resource "aws_appautoscaling_target" "ecs" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.app.name}"
  min_capacity       = var.autoscaling_min_capacity
  max_capacity       = var.autoscaling_max_capacity

  lifecycle {
    precondition {
      condition     = var.autoscaling_max_capacity > var.autoscaling_min_capacity
      error_message = "autoscaling_max_capacity must be greater than autoscaling_min_capacity."
    }
  }
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${local.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.ecs.service_namespace
  scalable_dimension = aws_appautoscaling_target.ecs.scalable_dimension
  resource_id        = aws_appautoscaling_target.ecs.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  name               = "${local.name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.ecs.service_namespace
  scalable_dimension = aws_appautoscaling_target.ecs.scalable_dimension
  resource_id        = aws_appautoscaling_target.ecs.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_requests_per_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.main.arn_suffix}/${aws_lb_target_group.app.arn_suffix}"
    }
  }
}
