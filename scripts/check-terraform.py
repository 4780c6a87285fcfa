"""Parses deploy/aws with python-hcl2 and checks the wiring that checkov cannot know of: the balancer's
health check and drain, scaling on requests per target, Multi-AZ stores reached over TLS, security
groups that let only the api and worker reach the stores, and that every MYCLOTHES_ setting the tasks
are given is one the README documents.

    python3 scripts/check-terraform.py deploy/aws README.md
"""

import glob
import re
import sys

import hcl2

from deploy_checks import Findings


def load(directory):
    """Every resource by (type, name), every local by name, and the whole text."""
    resources, local_values, text = {}, {}, ""
    for path in sorted(glob.glob(f"{directory}/*.tf")):
        with open(path, encoding="utf-8") as file:
            source = file.read()
        text += source
        document = hcl2.loads(source)
        for block in document.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    resources[(kind, name)] = body
        for block in document.get("locals", []):
            for name in block:
                if name in local_values and not name.startswith("__"):
                    raise SystemExit(f"[check-terraform] FAILED: local.{name} is defined twice")
            local_values.update(block)
    return resources, local_values, text


def value(body, *path):
    """The value at `path`, without the one-element lists python-hcl2 wraps attributes and blocks in."""
    for key in path:
        body = body[key]
        while isinstance(body, list) and len(body) == 1:
            body = body[0]
    return body


def main(directory, readme_path):
    resources, local_values, text = load(directory)
    findings = Findings("check-terraform", readme_path)
    expect = findings.expect
    target_group = resources[("aws_lb_target_group", "api")]
    expect(value(target_group, "health_check", "path") == "/health/ready", "the target group checks /health/ready")
    expect(value(target_group, "deregistration_delay") == "${var.drain_seconds}", "deregistration takes the drain")
    scaling = value(resources[("aws_appautoscaling_policy", "api_requests")], "target_tracking_scaling_policy_configuration")
    metric = value(scaling, "predefined_metric_specification", "predefined_metric_type")
    expect(metric == "ALBRequestCountPerTarget", "the api scales on requests per target")
    api = resources[("aws_ecs_service", "api")]
    expect(value(api, "load_balancer", "target_group_arn") == "${aws_lb_target_group.api.arn}", "the api is behind the balancer")
    expect(value(resources[("aws_db_instance", "primary")], "multi_az") is True, "PostgreSQL is Multi-AZ")
    replica = resources[("aws_db_instance", "replica")]
    expect(value(replica, "replicate_source_db") == "${aws_db_instance.primary.identifier}", "read replicas of the primary")
    redis = resources[("aws_elasticache_replication_group", "redis")]
    for setting in ("automatic_failover_enabled", "multi_az_enabled", "transit_encryption_enabled"):
        expect(value(redis, setting) is True, f"the Redis groups have {setting}")
    expect("auth_token" in redis, "the Redis groups require AUTH")
    groups = value(local_values, "redis_groups")
    expect(value(groups, "store", "eviction") == "noeviction", "the store Redis never evicts")
    expect(value(groups, "cache", "eviction") == "allkeys-lru", "the cache Redis evicts the least used")
    for store in ("postgres", "redis"):
        rules = [body for (kind, _), body in resources.items()
                 if kind == "aws_vpc_security_group_ingress_rule" and value(body, "security_group_id") == f"${{aws_security_group.{store}.id}}"]
        expect(len(rules) == 1, f"one way into {store}")
        expect(all(value(r, "referenced_security_group_id") == "${aws_security_group.api.id}" and "cidr_ipv4" not in r for r in rules),
               f"only the api and worker reach {store}")
    secrets = value(local_values, "setting_values")
    names = set(re.findall(r"MYCLOTHES_[A-Z_]+", value(local_values, "setting_names")))
    expect(names == {key for key in secrets if key.startswith("MYCLOTHES_")}, "every secret's value has its name listed")
    for setting in ("MYCLOTHES_DATABASE_URL", "MYCLOTHES_REPLICA_URLS", "MYCLOTHES_REDIS_URL", "MYCLOTHES_JWT_KEYS"):
        expect(setting in secrets, f"{setting} comes from Secrets Manager")
    def resolved(setting):
        """A secret's value, through one `${local.…}` reference."""
        text = value(secrets, setting)
        reference = re.fullmatch(r"\$\{local\.(\w+)\}", text)
        text = value(local_values, reference.group(1)) if reference else text
        # python-hcl2 writes a string that holds quotes as the expression ${"…"}.
        return text.removeprefix('${"').removesuffix('"}')

    for setting in ("MYCLOTHES_REDIS_URL", "MYCLOTHES_CACHE_REDIS_URL"):
        expect(resolved(setting).startswith("rediss://"), f"{setting} is reached over TLS")
    expect("sslmode=verify-full" in value(local_values, "db_tls"), "PostgreSQL verified over TLS")
    findings.documented(set(re.findall(r"\bMYCLOTHES_[A-Z_]+\b", text)))
    findings.report(f"{len(resources)} resources parsed; the wiring holds")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
