# Every credential in Secrets Manager; the tasks receive them as environment variables from there and
# nowhere else. The database URLs carry the api roles' passwords: `myclothes_writer` and
# `myclothes_reader` are created in the database (CREATE ROLE … PASSWORD from these secrets) before the
# first migration, since Terraform has no PostgreSQL connection of its own here.

resource "random_password" "db_master" {
  length  = 40
  special = false
}

resource "random_password" "db_writer" {
  length  = 40
  special = false
}

resource "random_password" "db_reader" {
  length  = 40
  special = false
}

resource "random_password" "redis_auth" {
  length  = 64
  special = false
}

resource "random_password" "jwt" {
  length  = 64
  special = false
}

locals {
  db_tls   = "sslmode=verify-full&sslrootcert=${urlencode(var.database_ca_file)}"
  writer   = "postgres://myclothes_writer:${random_password.db_writer.result}@${aws_db_instance.primary.address}:5432/myclothes?${local.db_tls}"
  owner    = "postgres://myclothes_owner:${random_password.db_master.result}@${aws_db_instance.primary.address}:5432/myclothes?${local.db_tls}"
  replicas = join(",", [for r in aws_db_instance.replica : "postgres://myclothes_reader:${random_password.db_reader.result}@${r.address}:5432/myclothes?${local.db_tls}"])
  store    = "rediss://:${random_password.redis_auth.result}@${aws_elasticache_replication_group.redis["store"].primary_endpoint_address}:6379/0"
  cache    = "rediss://:${random_password.redis_auth.result}@${aws_elasticache_replication_group.redis["cache"].primary_endpoint_address}:6379/0"
  setting_values = {
    MYCLOTHES_DATABASE_URL          = local.writer
    MYCLOTHES_OWNER_DATABASE_URL    = local.owner
    MYCLOTHES_REPLICA_URLS          = local.replicas
    MYCLOTHES_REDIS_URL             = local.store
    MYCLOTHES_CACHE_REDIS_URL       = local.cache
    MYCLOTHES_JWT_KEYS              = "k1:${random_password.jwt.result}"
    MYCLOTHES_STRIPE_SECRET_KEY     = var.stripe_secret_key
    MYCLOTHES_STRIPE_WEBHOOK_SECRET = var.stripe_webhook_secret
    MYCLOTHES_SMTP_URL              = var.smtp_url
  }
}

# The names alone: the values are sensitive, and Terraform iterates over nothing sensitive.
locals {
  setting_names = toset([
    "MYCLOTHES_DATABASE_URL", "MYCLOTHES_OWNER_DATABASE_URL", "MYCLOTHES_REPLICA_URLS", "MYCLOTHES_REDIS_URL",
    "MYCLOTHES_CACHE_REDIS_URL", "MYCLOTHES_JWT_KEYS", "MYCLOTHES_STRIPE_SECRET_KEY",
    "MYCLOTHES_STRIPE_WEBHOOK_SECRET", "MYCLOTHES_SMTP_URL",
  ])
}

resource "aws_secretsmanager_secret" "setting" {
  for_each   = local.setting_names
  name       = "${local.name}/${each.key}"
  kms_key_id = aws_kms_key.main.arn
  # checkov:skip=CKV2_AWS_57:Rotation is a redeploy: a new password in the database and here, then a rolling restart; a Lambda rotator for URLs that hold several credentials would rotate one half of a pair.
}

resource "aws_secretsmanager_secret_version" "setting" {
  for_each      = local.setting_names
  secret_id     = aws_secretsmanager_secret.setting[each.key].id
  secret_string = local.setting_values[each.key]
}
