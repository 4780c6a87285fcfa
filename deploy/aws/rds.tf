# PostgreSQL: a Multi-AZ primary (a synchronous standby in another zone, failed over to automatically)
# and `db_replica_count` read replicas, each in its own zone. TLS is forced (rds.force_ssl).

resource "aws_db_subnet_group" "main" {
  name       = local.name
  subnet_ids = aws_subnet.stores[*].id
}

resource "aws_db_parameter_group" "main" {
  name   = local.name
  family = "postgres16"
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "250"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
}

resource "aws_db_instance" "primary" {
  identifier                            = "${local.name}-primary"
  engine                                = "postgres"
  engine_version                        = "16.4"
  instance_class                        = var.db_instance_class
  allocated_storage                     = 200
  max_allocated_storage                 = 2000
  storage_type                          = "gp3"
  storage_encrypted                     = true
  kms_key_id                            = aws_kms_key.main.arn
  db_name                               = "myclothes"
  username                              = "myclothes_owner"
  password                              = random_password.db_master.result
  multi_az                              = true
  db_subnet_group_name                  = aws_db_subnet_group.main.name
  parameter_group_name                  = aws_db_parameter_group.main.name
  vpc_security_group_ids                = [aws_security_group.postgres.id]
  backup_retention_period               = 14
  deletion_protection                   = true
  copy_tags_to_snapshot                 = true
  auto_minor_version_upgrade            = true
  iam_database_authentication_enabled   = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  final_snapshot_identifier             = "${local.name}-final"
  skip_final_snapshot                   = false
}

resource "aws_db_instance" "replica" {
  count                               = var.db_replica_count
  identifier                          = "${local.name}-replica-${count.index + 1}"
  replicate_source_db                 = aws_db_instance.primary.identifier
  instance_class                      = var.db_instance_class
  availability_zone                   = local.zones[(count.index + 1) % local.zone_count]
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.main.arn
  parameter_group_name                = aws_db_parameter_group.main.name
  vpc_security_group_ids              = [aws_security_group.postgres.id]
  auto_minor_version_upgrade          = true
  iam_database_authentication_enabled = true
  performance_insights_enabled        = true
  performance_insights_kms_key_id     = aws_kms_key.main.arn
  monitoring_interval                 = 30
  monitoring_role_arn                 = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  deletion_protection                 = true
  copy_tags_to_snapshot               = true
  skip_final_snapshot                 = true
  # checkov:skip=CKV_AWS_157:A read replica is not Multi-AZ: the primary is, and the replicas sit in other zones than each other.
}

resource "aws_iam_role" "rds_monitoring" {
  name = "${local.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "monitoring.rds.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}
