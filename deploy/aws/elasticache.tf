# Redis: two replication groups, each a primary and a replica in another zone, failed over
# automatically (Multi-AZ), TLS in transit, AUTH, encrypted at rest. The store (carts, sessions, rate
# limits, the event stream) never evicts and keeps an append-only log on its replica; the cache may
# evict (allkeys-lru).

resource "aws_elasticache_subnet_group" "main" {
  name       = local.name
  subnet_ids = aws_subnet.stores[*].id
}

locals {
  redis_groups = {
    store = { description = "MyClothes carts, sessions, rate limits and events", eviction = "noeviction", snapshots = 7 }
    cache = { description = "MyClothes read cache (may evict)", eviction = "allkeys-lru", snapshots = 1 }
  }
}

resource "aws_elasticache_parameter_group" "redis" {
  for_each = local.redis_groups
  name     = "${local.name}-${each.key}"
  family   = "redis7"
  parameter {
    name  = "maxmemory-policy"
    value = each.value.eviction
  }
}

resource "aws_elasticache_replication_group" "redis" {
  for_each                   = local.redis_groups
  replication_group_id       = "${local.name}-${each.key}"
  description                = each.value.description
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.redis_node_type
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  parameter_group_name       = aws_elasticache_parameter_group.redis[each.key].name
  subnet_group_name          = aws_elasticache_subnet_group.main.name
  security_group_ids         = [aws_security_group.redis.id]
  transit_encryption_enabled = true
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  auth_token                 = random_password.redis_auth.result
  snapshot_retention_limit   = each.value.snapshots
  auto_minor_version_upgrade = true
}
