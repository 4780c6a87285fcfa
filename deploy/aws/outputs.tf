output "load_balancer_dns" {
  value = aws_lb.main.dns_name
}

output "migrate_task_definition" {
  description = "Run to completion before each rollout: aws ecs run-task --task-definition <this>."
  value       = aws_ecs_task_definition.task["migrate"].arn
}
