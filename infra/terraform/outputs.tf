# What the deploy workflow and the operator need after `terraform apply`
# (`terraform output -json`; infra/README.md maps them to GitHub repository variables).

output "alb_url" {
  description = "Public URL of the service (HTTPS when certificate_arn is set; point your DNS name at alb_dns_name)."
  value       = "${local.https_enabled ? "https" : "http"}://${aws_lb.main.dns_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer, for a CNAME/alias record."
  value       = aws_lb.main.dns_name
}

output "aws_region" {
  description = "Region of every resource (GitHub variable AWS_REGION)."
  value       = var.aws_region
}

output "ecr_repository_url" {
  description = "Repository URL to tag and push images to (registry/name)."
  value       = aws_ecr_repository.app.repository_url
}

output "ecr_repository_name" {
  description = "ECR repository name (GitHub variable ECR_REPOSITORY)."
  value       = aws_ecr_repository.app.name
}

output "ecs_cluster_name" {
  description = "ECS cluster name (GitHub variable ECS_CLUSTER)."
  value       = aws_ecs_cluster.main.name
}

output "ecs_service_name" {
  description = "ECS service name (GitHub variable ECS_SERVICE)."
  value       = aws_ecs_service.app.name
}

output "ecs_task_family" {
  description = "Task definition family the workflow downloads, renders and registers (GitHub variable ECS_TASK_FAMILY)."
  value       = aws_ecs_task_definition.app.family
}

output "container_name" {
  description = "Name of the app container in the task definition (GitHub variable ECS_CONTAINER_NAME)."
  value       = local.container_name
}

output "private_subnet_ids" {
  description = "Subnets for the one-off migration task's awsvpc configuration (GitHub variable ECS_SUBNETS, comma-joined)."
  value       = aws_subnet.private[*].id
}

output "task_security_group_id" {
  description = "Security group for the migration task (GitHub variable ECS_SECURITY_GROUP)."
  value       = aws_security_group.task.id
}

output "deploy_role_arn" {
  description = "Role the deploy job assumes through OIDC (GitHub variable AWS_DEPLOY_ROLE_ARN)."
  value       = aws_iam_role.deploy.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the service and the migration task."
  value       = aws_cloudwatch_log_group.app.name
}

output "db_endpoint" {
  description = "RDS endpoint host:port (private; reachable from the tasks only)."
  value       = aws_db_instance.main.endpoint
}

output "db_proxy_endpoint" {
  description = "RDS Proxy endpoint host the web tasks connect to (null when db_proxy_enabled = false)."
  value       = var.db_proxy_enabled ? aws_db_proxy.main[0].endpoint : null
}

output "db_master_user_secret_arn" {
  description = "Secrets Manager secret holding the RDS-managed master password."
  value       = local.db_secret_arn
}

output "alerts_topic_arn" {
  description = "SNS topic receiving alarms and budget alerts."
  value       = aws_sns_topic.alerts.arn
}

output "github_actions_variables" {
  description = "Repository variables for the deploy workflow, ready to set with `gh variable set`."
  value = {
    AWS_REGION          = var.aws_region
    AWS_DEPLOY_ROLE_ARN = aws_iam_role.deploy.arn
    ECR_REPOSITORY      = aws_ecr_repository.app.name
    ECS_CLUSTER         = aws_ecs_cluster.main.name
    ECS_SERVICE         = aws_ecs_service.app.name
    ECS_TASK_FAMILY     = aws_ecs_task_definition.app.family
    ECS_CONTAINER_NAME  = local.container_name
    ECS_SUBNETS         = join(",", aws_subnet.private[*].id)
    ECS_SECURITY_GROUP  = aws_security_group.task.id
  }
}
