# Internet-facing Application Load Balancer in the public subnets. HTTPS when certificate_arn is
# set (port 80 then only redirects); plain HTTP forwarding otherwise.

locals {
  https_enabled = var.certificate_arn != ""
}

resource "aws_lb" "main" {
  name                       = local.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = aws_subnet.public[*].id
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection
  # Below the app's keep-alive timeout (72 s) so the ALB never reuses a socket
  # the target has already closed.
  idle_timeout = 60
}

resource "aws_lb_target_group" "app" {
  name                 = local.name
  port                 = local.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.main.id
  deregistration_delay = 30

  health_check {
    path                = "/healthz"
    matcher             = "200"
    protocol            = "HTTP"
    port                = "traffic-port"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  count = local.https_enabled ? 1 : 0

  load_balancer_arn = aws_lb.main.arn
  port              = local.https_port
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}

resource "aws_lb_listener" "http_redirect" {
  count = local.https_enabled ? 1 : 0

  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener" "http_forward" {
  count = local.https_enabled ? 0 : 1

  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}

# /metrics has no authentication: the public listeners answer it with a fixed 404 before any
# forwarding, so only scrapers inside the VPC reach it, on the task's own address and port (see
# var.metrics_scraper_security_group_ids). The service decodes percent-escapes in the path
# (GET /%6detrics is /metrics to it), so a second rule turns away every path holding a "%": no
# route of the API has one (query strings are not part of a path pattern).
locals {
  public_forward_listener_arn = local.https_enabled ? aws_lb_listener.https[0].arn : aws_lb_listener.http_forward[0].arn

  # The body the service itself gives an unknown URL (DRF's 404).
  not_found_body = jsonencode({ detail = "Not found." })
}

resource "aws_lb_listener_rule" "metrics_not_found" {
  listener_arn = local.public_forward_listener_arn
  priority     = 10

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      status_code  = "404"
      message_body = local.not_found_body
    }
  }
}

resource "aws_lb_listener_rule" "percent_encoded_not_found" {
  listener_arn = local.public_forward_listener_arn
  priority     = 11

  condition {
    path_pattern {
      values = ["*%*"]
    }
  }

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      status_code  = "404"
      message_body = local.not_found_body
    }
  }
}
