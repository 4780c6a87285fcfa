variable "region" {
  type    = string
  default = "eu-west-3"
}

variable "environment" {
  type    = string
  default = "production"
}

variable "zones" {
  description = "The Availability Zones the VPC spans, named so that the set never changes under it (at least two, for Multi-AZ stores and the balancer)."
  type        = list(string)
  default     = ["eu-west-3a", "eu-west-3b", "eu-west-3c"]
  validation {
    condition     = length(var.zones) >= 2
    error_message = "MyClothes needs at least two Availability Zones."
  }
}

variable "vpc_cidr" {
  type    = string
  default = "10.40.0.0/16"
}

variable "image" {
  description = "The MyClothes OCI image (scripts/package), pushed to a registry ECS can pull from."
  type        = string
}

variable "certificate_arn" {
  description = "The ACM certificate of the shop's domain, for the balancer's HTTPS listener."
  type        = string
}

variable "storefront_url" {
  description = "The storefront's address, to which the mails' links point (MYCLOTHES_STOREFRONT_URL)."
  type        = string
}

variable "api_min_tasks" {
  type    = number
  default = 3
}

variable "api_max_tasks" {
  type    = number
  default = 30
}

variable "requests_per_task" {
  description = "Target requests per api task per minute for the target-tracking policy (docs/capacity.md)."
  type        = number
  default     = 60000
}

variable "drain_seconds" {
  description = "MYCLOTHES_SHUTDOWN_DELAY + MYCLOTHES_DRAIN_TIMEOUT: the balancer's deregistration delay."
  type        = number
  default     = 25
}

variable "db_instance_class" {
  type    = string
  default = "db.r6g.large"
}

variable "db_replica_count" {
  type    = number
  default = 2
}

variable "redis_node_type" {
  type    = string
  default = "cache.r6g.large"
}

variable "database_ca_file" {
  description = "Where the image keeps RDS's certificate bundle (MYCLOTHES_DATABASE_CA_FILE)."
  type        = string
  default     = "/etc/myclothes/rds-global-bundle.pem"
}

variable "stripe_secret_key" {
  description = "Stripe's secret key (sk_live_…), kept in Secrets Manager as MYCLOTHES_STRIPE_SECRET_KEY."
  type        = string
  sensitive   = true
}

variable "stripe_webhook_secret" {
  description = "The signing secret of the Stripe webhook endpoint (whsec_…)."
  type        = string
  sensitive   = true
}

variable "smtp_url" {
  description = "The mail relay the worker sends through (smtp://user:password@host:587?tls=required)."
  type        = string
  sensitive   = true
}
