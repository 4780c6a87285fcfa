# The api (behind the balancer, scaled on requests per task), the worker, and the migration, which a
# deployment runs to completion (`aws ecs run-task --task-definition <migrate>`) before it rolls the
# api and worker onto a new image. Every task runs the image's `myclothes` as a non-root user on a
# read-only root file system, with its settings from Secrets Manager.

resource "aws_ecs_cluster" "main" {
  name = local.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "tasks" {
  name              = "/${local.name}/tasks"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.main.arn
}

locals {
  task_environment = [
    { name = "MYCLOTHES_PROFILE", value = "production" },
    { name = "MYCLOTHES_LISTEN", value = "0.0.0.0:8080" },
    { name = "MYCLOTHES_PAYMENT_PROVIDER", value = "stripe" },
    { name = "MYCLOTHES_STOREFRONT_URL", value = var.storefront_url },
    { name = "MYCLOTHES_TRUSTED_PROXIES", value = var.vpc_cidr },
    # The balancer stops sending before the listener closes; the deregistration delay covers both.
    { name = "MYCLOTHES_SHUTDOWN_DELAY", value = "5s" },
    { name = "MYCLOTHES_DRAIN_TIMEOUT", value = "${var.drain_seconds - 5}s" },
  ]
  task_secrets = [for name, secret in aws_secretsmanager_secret.setting : { name = name, valueFrom = secret.arn }]
  container = {
    image                  = var.image
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    environment            = local.task_environment
    secrets                = local.task_secrets
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.tasks.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "myclothes"
      }
    }
  }
}

# The api listens on 8080; every task gets the drain's time to stop.
locals {
  tasks = {
    api     = { cpu = 1024, memory = 2048, command = ["serve"], port = 8080 }
    worker  = { cpu = 512, memory = 1024, command = ["worker"], port = null }
    migrate = { cpu = 256, memory = 512, command = ["migrate"], port = null }
  }
}

resource "aws_ecs_task_definition" "task" {
  for_each                 = local.tasks
  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([merge(local.container, {
    name         = each.key
    command      = each.value.command
    essential    = true
    portMappings = each.value.port == null ? [] : [{ containerPort = each.value.port, protocol = "tcp" }]
    stopTimeout  = var.drain_seconds + 5
  })])
}

resource "aws_ecs_service" "api" {
  name            = "api"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.task["api"].arn
  desired_count   = var.api_min_tasks
  launch_type     = "FARGATE"
  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.api.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 8080
  }
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  lifecycle {
    ignore_changes = [desired_count]
  }
}

resource "aws_ecs_service" "worker" {
  name            = "worker"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.task["worker"].arn
  desired_count   = 2
  launch_type     = "FARGATE"
  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.api.id]
    assign_public_ip = false
  }
}

resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.api.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.api_min_tasks
  max_capacity       = var.api_max_tasks
}

resource "aws_appautoscaling_policy" "api_requests" {
  name               = "${local.name}-requests-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value = var.requests_per_task
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.main.arn_suffix}/${aws_lb_target_group.api.arn_suffix}"
    }
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
  }
}

resource "aws_iam_role" "execution" {
  name = "${local.name}-task-execution"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The execution role reads exactly the shop's secrets, and decrypts them with the shop's key.
resource "aws_iam_role_policy" "execution_secrets" {
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = "secretsmanager:GetSecretValue", Resource = [for s in aws_secretsmanager_secret.setting : s.arn] },
      { Effect = "Allow", Action = "kms:Decrypt", Resource = aws_kms_key.main.arn },
    ]
  })
}

# The tasks themselves call no AWS API.
resource "aws_iam_role" "task" {
  name = "${local.name}-task"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}
