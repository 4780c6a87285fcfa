# The seeds' AWS architecture for MyClothes: an Application Load Balancer over two or more Availability
# Zones in front of the api on ECS Fargate (target tracking on requests per target), the worker beside
# it, RDS for PostgreSQL Multi-AZ with read replicas, ElastiCache for Redis (replication groups, Multi-AZ,
# automatic failover, TLS and AUTH), security groups ALB → api → stores only, and every secret in
# Secrets Manager. It is checked here with checkov and parsed with python-hcl2 (scripts/check-deploy);
# it has never been applied from this repository, which has no AWS account to apply it to.

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { Application = "myclothes", Environment = var.environment }
  }
}

data "aws_caller_identity" "current" {}

locals {
  name  = "myclothes-${var.environment}"
  zones      = var.zones
  zone_count = length(var.zones)
}
