"""kreo-<env>-data, asserted on the synthesized JSON of every environment.

A recovery environment's data layer restores its primary from the recovered
environment's replicated automated backups (no generated master password), reads
the recovered environment's secret replicas instead of creating secrets, and
makes no media buckets (it serves the recovered environment's DR copy): the
tests of what it does not make are ``own_environments``, and
test_recovery_modes.py asserts what it does instead.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.backup.vault import replica_key_alias
from kreo_infra.config import EnvironmentConfig
from tests.conftest import Synthesis

Env = tuple[Synthesis, str, EnvironmentConfig]


@pytest.fixture
def env(env_name: str, synthesis: Synthesis) -> Env:
    config = synthesis.environment(env_name)
    return synthesis, f"{config.stack_prefix}-data", config


def by_path(synthesis: Synthesis, stack: str, kind: str, path: str) -> dict[str, Any]:
    return synthesis.resources(stack, kind)[path]


def lookup(synthesis: Synthesis, stack: str, kind: str, path: str) -> tuple[str, dict[str, Any]]:
    """A data source by construct path: its expression prefix and body."""
    for name, body in synthesis.stack(stack).get("data", {}).get(kind, {}).items():
        if body["//"]["metadata"]["path"] == f"{stack}/{path}":
            return f"data.{kind}.{name}", body
    raise KeyError(path)


def storage_key(
    synthesis: Synthesis, stack: str, config: EnvironmentConfig
) -> tuple[str, dict[str, Any]]:
    """The key the primary's and replicas' storage is encrypted with (its ARN
    expression) and that key's resource: the database's own rotating key, or, for a
    primary restored from replicated automated backups, the key of those backups,
    which RDS keeps; the recovered environment's backup stack makes it, in its DR
    region (this environment's region)."""
    if config.restore is None:
        path = "postgres/key/key"
        return synthesis.ref(stack, "aws_kms_key", path, "arn"), by_path(
            synthesis, stack, "aws_kms_key", path
        )
    assert config.recovery_of is not None
    recovered = synthesis.environment(config.recovery_of)
    alias_name = replica_key_alias(recovered.stack_prefix)
    read, body = lookup(synthesis, stack, "aws_kms_key", "restored-backups-key")
    assert body["key_id"] == alias_name
    backup = f"{recovered.stack_prefix}-backup"
    (alias,) = [
        a for a in synthesis.resources(backup, "aws_kms_alias").values() if a["name"] == alias_name
    ]
    (key,) = [
        k
        for name, k in synthesis.stack(backup)["resource"]["aws_kms_key"].items()
        if alias["target_key_id"] == f"${{aws_kms_key.{name}.key_id}}"
    ]
    (dr,) = [p for p in synthesis.stack(backup)["provider"]["aws"] if p.get("alias") == "dr"]
    assert alias["provider"] == key["provider"] == "aws.dr"
    assert dr["region"] == recovered.dr_region == config.region
    return f"${{{read}.arn}}", key


def ingress_of(synthesis: Synthesis, stack: str, group_path: str) -> list[dict[str, Any]]:
    group = synthesis.ref(stack, "aws_security_group", group_path, "id")
    return [
        r
        for r in synthesis.resources(stack, "aws_vpc_security_group_ingress_rule").values()
        if r["security_group_id"] == group
    ]


def data_clients(config: EnvironmentConfig) -> str:
    return f"cross-stack-reference-input-{config.stack_prefix}-cluster"


# --- PostgreSQL -----------------------------------------------------------------------------


def test_primary_from_config(env: Env) -> None:
    synthesis, stack, config = env
    db = config.database
    primary = by_path(synthesis, stack, "aws_db_instance", "postgres/primary")
    assert (primary["engine"], primary["engine_version"]) == ("postgres", db.engine_version)
    assert int(db.engine_version.split(".")[0]) >= 15
    assert primary["instance_class"] == db.instance_class
    assert primary["multi_az"] is db.multi_az
    assert (primary["storage_type"], primary["allocated_storage"]) == (
        "gp3",
        db.allocated_storage_gb,
    )
    assert primary["max_allocated_storage"] == db.max_allocated_storage_gb
    assert primary["publicly_accessible"] is False


def test_primary_and_replicas_are_sized_and_protected_alike(env: Env) -> None:
    synthesis, stack, config = env
    db = config.database
    instances = synthesis.resources(stack, "aws_db_instance")
    assert instances["postgres/primary"]["multi_az"] is db.multi_az
    assert len(instances) == 1 + db.read_replicas
    for path, instance in instances.items():
        assert instance["deletion_protection"] is db.deletion_protection, path
        assert instance["instance_class"] == db.instance_class, path


def test_primary_encrypted_with_a_rotating_key(env: Env) -> None:
    synthesis, stack, config = env
    primary = by_path(synthesis, stack, "aws_db_instance", "postgres/primary")
    key = synthesis.ref(stack, "aws_kms_key", "postgres/key/key", "arn")
    storage, storage_key_body = storage_key(synthesis, stack, config)
    assert primary["storage_encrypted"] is True
    assert primary["kms_key_id"] == storage
    assert storage_key_body["enable_key_rotation"] is True
    assert primary["performance_insights_kms_key_id"] == key
    assert by_path(synthesis, stack, "aws_kms_key", "postgres/key/key")["enable_key_rotation"]


def test_no_password_anywhere_near_the_database(env: Env) -> None:
    # RDS refuses read replicas of an instance with an RDS-managed master
    # password (InvalidParameterValue; terraform-aws-modules/terraform-aws-rds
    # #512, #532): no instance has one, nor a password in JSON or state. The
    # master secret is the environment's (created, or a restored primary's:
    # the recovered environment's replica, read).
    synthesis, stack, config = env
    for path, instance in synthesis.resources(stack, "aws_db_instance").items():
        assert "manage_master_user_password" not in instance, path
        assert "password" not in instance, path
    for version in synthesis.resources(stack, "aws_secretsmanager_secret_version").values():
        assert "secret_string" not in version
    primary = by_path(synthesis, stack, "aws_db_instance", "postgres/primary")
    assert primary["iam_database_authentication_enabled"] is True
    if config.restore is None:
        master = by_path(synthesis, stack, "aws_secretsmanager_secret", "postgres/master-secret")
        arn = synthesis.ref(stack, "aws_secretsmanager_secret", "postgres/master-secret", "arn")
    else:
        read, master = lookup(
            synthesis, stack, "aws_secretsmanager_secret", "postgres/master-secret"
        )
        arn = f"${{{read}.arn}}"
    assert master["name"] == f"{config.secrets_prefix}database/master"
    assert synthesis.stack(stack)["output"]["database-master-secret-arn"]["value"] == arn


@pytest.mark.own_environments
def test_the_master_password_is_generated_write_only(env: Env) -> None:
    # The password is generated at apply time by an ephemeral resource and given
    # only to write-only arguments, never to JSON or state. (A recovery's restored
    # primary keeps the recovered database's password: test_recovery_modes.py.)
    synthesis, stack, config = env
    data = synthesis.stack(stack)
    primary = by_path(synthesis, stack, "aws_db_instance", "postgres/primary")
    key = synthesis.ref(stack, "aws_kms_key", "postgres/key/key", "arn")
    ephemeral = data["ephemeral"]["aws_secretsmanager_random_password"]["postgres_master_password"]
    assert ephemeral["password_length"] >= 32
    generated = "ephemeral.aws_secretsmanager_random_password.postgres_master_password"
    assert primary["password_wo"] == "${" + generated + ".random_password}"
    assert primary["password_wo_version"] == config.database.master_password_version
    (version,) = [
        v
        for p, v in synthesis.resources(stack, "aws_secretsmanager_secret_version").items()
        if p.startswith("postgres/")
    ]
    assert version["secret_id"] == synthesis.ref(
        stack, "aws_secretsmanager_secret", "postgres/master-secret", "id"
    )
    assert f"{generated}.random_password" in version["secret_string_wo"]
    assert f'"username" = "{config.database.master_username}"' in version["secret_string_wo"]
    assert version["secret_string_wo_version"] == config.database.master_password_version
    assert "secret_string" not in version
    master = by_path(synthesis, stack, "aws_secretsmanager_secret", "postgres/master-secret")
    assert master["name"] == f"{config.secrets_prefix}database/master"
    assert master["kms_key_id"] == key


def test_replicas_of_a_primary_without_a_managed_password(env: Env) -> None:
    synthesis, stack, config = env
    instances = synthesis.resources(stack, "aws_db_instance")
    replicas = {p: i for p, i in instances.items() if "replicate_source_db" in i}
    assert len(replicas) == config.database.read_replicas
    for replica in replicas.values():
        assert replica["replicate_source_db"] == synthesis.ref(
            stack, "aws_db_instance", "postgres/primary", "identifier"
        )
        assert "manage_master_user_password" not in instances["postgres/primary"]


def test_minor_versions_are_rds_to_apply(env: Env) -> None:
    synthesis, stack, config = env
    primary = by_path(synthesis, stack, "aws_db_instance", "postgres/primary")
    assert primary["engine_version"] == config.database.engine_version
    assert primary["engine_version"].isdigit()  # "17", never "17.6"
    assert primary["auto_minor_version_upgrade"] is True


def test_backups_snapshots_and_windows(env: Env) -> None:
    synthesis, stack, config = env
    db = config.database
    primary = by_path(synthesis, stack, "aws_db_instance", "postgres/primary")
    assert primary["backup_retention_period"] == db.backup_retention_days >= 7
    assert (primary["backup_window"], primary["maintenance_window"]) == (
        db.backup_window,
        db.maintenance_window,
    )
    assert primary["skip_final_snapshot"] is False
    assert primary["final_snapshot_identifier"] == f"{config.stack_prefix}-postgres-final"
    assert primary["copy_tags_to_snapshot"] is True
    assert primary["delete_automated_backups"] is False
    assert primary["deletion_protection"] is db.deletion_protection


def test_insights_monitoring_and_logs(env: Env) -> None:
    synthesis, stack, config = env
    primary = by_path(synthesis, stack, "aws_db_instance", "postgres/primary")
    assert primary["performance_insights_enabled"] is True
    assert primary["monitoring_interval"] == config.database.monitoring_interval_seconds
    assert primary["monitoring_role_arn"] == synthesis.ref(
        stack, "aws_iam_role", "postgres/monitoring-role", "arn"
    )
    assert primary["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
    groups = synthesis.resources(stack, "aws_cloudwatch_log_group")
    for log in ("postgresql", "upgrade"):
        group = groups[f"postgres/{log}-logs/group"]
        assert group["name"] == f"/aws/rds/instance/{config.stack_prefix}-postgres/{log}"


def test_parameter_group_forces_ssl_and_logs(env: Env) -> None:
    synthesis, stack, config = env
    group = by_path(synthesis, stack, "aws_db_parameter_group", "postgres/parameters")
    assert group["family"] == "postgres" + config.database.engine_version.split(".")[0]
    parameters = {p["name"]: p["value"] for p in group["parameter"]}
    assert parameters == {
        "rds.force_ssl": "1",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_min_duration_statement": str(config.database.slow_query_ms),
    }
    primary = by_path(synthesis, stack, "aws_db_instance", "postgres/primary")
    assert primary["parameter_group_name"] == synthesis.ref(
        stack, "aws_db_parameter_group", "postgres/parameters", "name"
    )


def test_database_subnets_and_data_clients_only(env: Env) -> None:
    synthesis, stack, config = env
    subnets = by_path(synthesis, stack, "aws_db_subnet_group", "postgres/subnet-group")[
        "subnet_ids"
    ]
    assert len(subnets) == config.network.az_count
    assert all("database" in s and f"{config.stack_prefix}-network" in s for s in subnets)
    rules = ingress_of(synthesis, stack, "postgres/security-group/group")
    assert len(rules) == 2
    for rule in rules:
        assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (5432, 5432, "tcp")
        assert "cidr_ipv4" not in rule
    sources = {r["referenced_security_group_id"] for r in rules}
    proxy = synthesis.ref(stack, "aws_security_group", "postgres/proxy-security-group/group", "id")
    assert proxy in sources
    (cluster_ref,) = sources - {proxy}
    assert data_clients(config) in cluster_ref


def test_read_replicas_in_other_zones(env: Env) -> None:
    synthesis, stack, config = env
    db = config.database
    replicas = {
        p: r for p, r in synthesis.resources(stack, "aws_db_instance").items() if "replica" in p
    }
    assert len(replicas) == db.read_replicas
    primary_id = synthesis.ref(stack, "aws_db_instance", "postgres/primary", "identifier")
    zones = synthesis.stack(stack).get("data", {}).get("aws_availability_zone", {})
    for index in range(db.read_replicas):
        replica = replicas[f"postgres/replica-{index}"]
        assert replica["replicate_source_db"] == primary_id
        assert replica["storage_encrypted"] is True
        assert replica["kms_key_id"] == storage_key(synthesis, stack, config)[0]
        (zone,) = [
            z
            for z in zones.values()
            if z["//"]["metadata"]["path"].endswith(f"replica-{index}-zone")
        ]
        zone_ids = config.network.availability_zone_ids
        assert zone["zone_id"] == zone_ids[(index + 1) % len(zone_ids)]


def test_one_reader_endpoint_per_replica(env: Env) -> None:
    synthesis, stack, config = env
    readers = synthesis.stack(stack)["output"]["database-reader-endpoints"]["value"]
    assert readers == [
        synthesis.ref(stack, "aws_db_instance", f"postgres/replica-{index}", "address")
        for index in range(config.database.read_replicas)
    ]


def test_proxy_pools_with_tls_and_iam(env: Env) -> None:
    synthesis, stack, config = env
    proxy = by_path(synthesis, stack, "aws_db_proxy", "postgres/proxy")
    assert proxy["engine_family"] == "POSTGRESQL"
    assert proxy["require_tls"] is True
    # End-to-end IAM: clients and the proxy itself log in with IAM; no secret.
    assert proxy["default_auth_scheme"] == "IAM_AUTH"
    assert "auth" not in proxy
    target = by_path(synthesis, stack, "aws_db_proxy_target", "postgres/proxy-target")
    assert target["db_instance_identifier"] == synthesis.ref(
        stack, "aws_db_instance", "postgres/primary", "identifier"
    )
    (policy,) = [
        json.loads(p["policy"])
        for path, p in synthesis.resources(stack, "aws_iam_role_policy").items()
        if path.startswith("postgres/")
    ]
    (connect,) = policy["Statement"]
    assert connect["Action"] == ["rds-db:connect"]
    resource_id = synthesis.ref(stack, "aws_db_instance", "postgres/primary", "resource_id")
    users = sorted(r.rsplit("/", 1)[1] for r in connect["Resource"])
    from kreo_infra.marketplace.database_users import database_reader, database_user

    assert users == sorted(
        u for s in config.services for u in (database_user(s), database_reader(s))
    )
    assert config.database.master_username not in users
    assert all(f":dbuser:{resource_id}/" in r for r in connect["Resource"])


# --- Cache ----------------------------------------------------------------------------------


def test_cache_is_valkey_with_tls_and_encryption(env: Env) -> None:
    synthesis, stack, config = env
    group = by_path(
        synthesis, stack, "aws_elasticache_replication_group", "cache/replication-group"
    )
    assert (group["engine"], group["engine_version"]) == ("valkey", config.cache.engine_version)
    assert group["node_type"] == config.cache.node_type
    assert group["transit_encryption_enabled"] is True
    assert group["transit_encryption_mode"] == "required"
    assert group["at_rest_encryption_enabled"] == "true"
    assert group["kms_key_id"] == synthesis.ref(stack, "aws_kms_key", "cache/key/key", "arn")
    assert "auth_token" not in group
    assert group["snapshot_retention_limit"] == config.cache.snapshot_retention_days
    assert group["final_snapshot_identifier"] == f"{config.stack_prefix}-cache-final"
    assert {c["log_type"] for c in group["log_delivery_configuration"]} == {
        "slow-log",
        "engine-log",
    }


def test_cache_fails_over_across_zones_when_replicated(env: Env) -> None:
    synthesis, stack, config = env
    group = by_path(
        synthesis, stack, "aws_elasticache_replication_group", "cache/replication-group"
    )
    replicated = config.cache.replicas_per_shard > 0
    assert group["num_cache_clusters"] == 1 + config.cache.replicas_per_shard
    assert group["automatic_failover_enabled"] is replicated
    assert group["multi_az_enabled"] is replicated


def test_cache_users_default_off_app_by_iam(env: Env) -> None:
    synthesis, stack, _ = env
    users = synthesis.resources(stack, "aws_elasticache_user")
    default, app = users["cache/default-user"], users["cache/app-user"]
    assert (default["user_name"], default["access_string"]) == ("default", "off -@all")
    assert app["authentication_mode"] == {"type": "iam"}
    assert app["user_id"] == app["user_name"]
    assert "passwords" not in app
    assert "passwords" not in default


def test_cache_admits_data_clients_only(env: Env) -> None:
    synthesis, stack, config = env
    (rule,) = ingress_of(synthesis, stack, "cache/security-group/group")
    assert (rule["from_port"], rule["to_port"]) == (6379, 6379)
    assert data_clients(config) in rule["referenced_security_group_id"]


# --- OpenSearch -----------------------------------------------------------------------------


def test_search_domain_encrypted_and_https_only(env: Env) -> None:
    synthesis, stack, config = env
    domain = by_path(synthesis, stack, "aws_opensearch_domain", "search/domain")
    assert domain["engine_version"] == config.search.engine_version
    assert domain["encrypt_at_rest"] == {
        "enabled": True,
        "kms_key_id": synthesis.ref(stack, "aws_kms_key", "search/key/key", "arn"),
    }
    assert domain["node_to_node_encryption"] == {"enabled": True}
    assert domain["domain_endpoint_options"] == {
        "enforce_https": True,
        "tls_security_policy": "Policy-Min-TLS-1-2-PFS-2023-10",
    }
    assert "automated_snapshot_start_hour" in domain["snapshot_options"]
    assert {o["log_type"] for o in domain["log_publishing_options"]} == {
        "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS",
    }  # fmt: skip


def test_search_spans_three_zones_when_zone_aware(env: Env) -> None:
    synthesis, stack, config = env
    search = config.search
    domain = by_path(synthesis, stack, "aws_opensearch_domain", "search/domain")
    cluster = domain["cluster_config"]
    assert (cluster["instance_type"], cluster["instance_count"]) == (
        search.instance_type,
        search.instance_count,
    )
    assert cluster["zone_awareness_enabled"] is search.zone_awareness
    zones = 3 if search.zone_awareness else 1
    if search.zone_awareness:
        assert cluster["zone_awareness_config"] == {"availability_zone_count": zones}
    else:
        assert "zone_awareness_config" not in cluster
    assert len(domain["vpc_options"]["subnet_ids"]) == zones
    masters = search.dedicated_master_type is not None
    assert cluster["dedicated_master_enabled"] is masters
    assert cluster.get("dedicated_master_type") == search.dedicated_master_type
    assert cluster.get("dedicated_master_count") == (3 if masters else None)
    assert domain["ebs_options"]["volume_size"] == search.volume_size_gb


def test_search_access_through_iam_roles_only(env: Env) -> None:
    synthesis, stack, config = env
    domain = by_path(synthesis, stack, "aws_opensearch_domain", "search/domain")
    security = domain["advanced_security_options"]
    assert security["enabled"] is True
    assert security["internal_user_database_enabled"] is False
    master = security["master_user_options"]
    assert set(master) == {"master_user_arn"}
    assert master["master_user_arn"].endswith(f":role/{config.cluster.admin_role_names[0]}")
    (statement,) = json.loads(domain["access_policies"])["Statement"]
    principals = statement["Principal"]["AWS"]
    assert principals[0] == master["master_user_arn"]
    assert len(principals) == 2
    assert f"{config.stack_prefix}-cluster" in principals[1]
    assert statement["Resource"].endswith(f":domain/{config.stack_prefix}-search/*")


# --- Storage --------------------------------------------------------------------------------


def bucket_settings(synthesis: Synthesis, stack: str, prefix: str) -> dict[str, dict[str, Any]]:
    kinds = {
        "bucket": "aws_s3_bucket",
        "public-access-block": "aws_s3_bucket_public_access_block",
        "ownership": "aws_s3_bucket_ownership_controls",
        "versioning": "aws_s3_bucket_versioning",
        "encryption": "aws_s3_bucket_server_side_encryption_configuration",
        "policy": "aws_s3_bucket_policy",
        "lifecycle": "aws_s3_bucket_lifecycle_configuration",
    }
    return {
        part: by_path(synthesis, stack, kind, f"{prefix}/{part}") for part, kind in kinds.items()
    }


@pytest.mark.own_environments
@pytest.mark.parametrize("bucket", ["media", "access-logs"])
def test_buckets_are_private_versioned_and_tls_only(env: Env, bucket: str) -> None:
    synthesis, stack, config = env
    parts = bucket_settings(synthesis, stack, f"storage/{bucket}")
    expected = (
        config.storage.media_bucket if bucket == "media" else config.storage.access_logs_bucket
    )
    assert parts["bucket"]["bucket"] == expected
    assert parts["bucket"]["force_destroy"] is False
    block = parts["public-access-block"]
    assert all(
        block[k] is True
        for k in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    assert parts["ownership"]["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    assert parts["versioning"]["versioning_configuration"] == {"status": "Enabled"}
    deny = json.loads(parts["policy"]["policy"])["Statement"][0]
    assert (deny["Effect"], deny["Condition"]) == (
        "Deny",
        {"Bool": {"aws:SecureTransport": "false"}},
    )
    (rule,) = parts["lifecycle"]["rule"]
    assert rule["noncurrent_version_expiration"] == [
        {"noncurrent_days": config.storage.noncurrent_version_expiry_days}
    ]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]


@pytest.mark.own_environments
def test_media_bucket_uses_kms_with_a_bucket_key_and_logs_access(env: Env) -> None:
    synthesis, stack, _ = env
    (rule,) = bucket_settings(synthesis, stack, "storage/media")["encryption"]["rule"]
    assert rule["bucket_key_enabled"] is True
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": synthesis.ref(stack, "aws_kms_key", "storage/key/key", "arn"),
    }
    logging = by_path(synthesis, stack, "aws_s3_bucket_logging", "storage/media-access-logging")
    assert logging["target_bucket"] == synthesis.ref(
        stack, "aws_s3_bucket", "storage/access-logs/bucket", "id"
    )


def test_media_replicates_to_the_dr_region_when_configured(env: Env) -> None:
    synthesis, stack, config = env
    buckets = synthesis.resources(stack, "aws_s3_bucket")
    replications = synthesis.resources(stack, "aws_s3_bucket_replication_configuration")
    if not config.storage.replicate_to_dr_region:
        assert "storage/replica/bucket" not in buckets
        assert replications == {}
        # Nothing of the DR copy: no bucket, key, replication role or settings.
        paths = [
            body["//"]["metadata"]["path"].removeprefix(f"{stack}/")
            for resources in synthesis.stack(stack)["resource"].values()
            for body in resources.values()
        ]
        assert [p for p in paths if p.startswith("storage/replica")] == []
        return
    (dr,) = [p for p in synthesis.stack(stack)["provider"]["aws"] if p.get("alias") == "dr"]
    assert dr["region"] == config.dr_region != config.region
    replica = buckets["storage/replica/bucket"]
    assert replica["bucket"] == f"{config.storage.media_bucket}-dr"
    assert replica["provider"] == "aws.dr"
    (rule,) = replications["storage/replication"]["rule"]
    assert rule["status"] == "Enabled"
    assert rule["delete_marker_replication"] == {"status": "Enabled"}
    assert rule["destination"]["bucket"] == synthesis.ref(
        stack, "aws_s3_bucket", "storage/replica/bucket", "arn"
    )
    assert rule["destination"]["encryption_configuration"]["replica_kms_key_id"] == synthesis.ref(
        stack, "aws_kms_key", "storage/replica-key/key", "arn"
    )
    assert (
        by_path(synthesis, stack, "aws_kms_key", "storage/replica-key/key")["provider"] == "aws.dr"
    )


# --- Secrets --------------------------------------------------------------------------------


SEED_SECRETS = {
    "stripe/secret-key", "stripe/webhook-secret", "stripe/publishable-key", "sendgrid/api-key",
    "twilio/account-sid", "twilio/auth-token", "shippo/api-key", "jwt/signing-key",
    "jwt/refresh-signing-key", "sentry/dsn", "newrelic/license-key", "datadog/api-key",
}  # fmt: skip


@pytest.mark.own_environments
def test_a_container_for_every_seed_secret(env: Env) -> None:
    synthesis, stack, config = env
    secrets = synthesis.resources(stack, "aws_secretsmanager_secret").values()
    expected = {*SEED_SECRETS, "grafana/admin", "database/master"}
    assert {s["name"] for s in secrets} == {f"{config.secrets_prefix}{n}" for n in expected}
    key = synthesis.ref(stack, "aws_kms_key", "secrets/key/key", "arn")
    for secret in synthesis.resources(stack, "aws_secretsmanager_secret").values():
        if secret["name"].endswith("/database/master"):
            continue  # the database's own key (test_primary_encrypted_with_a_rotating_key)
        assert secret["kms_key_id"] == key
        assert secret["recovery_window_in_days"] == config.secrets.recovery_window_days


def test_terraform_sets_only_generated_values_and_only_write_only(synthesis: Synthesis) -> None:
    # Out-of-band values (API keys) are never Terraform's; the two it generates
    # (the database master password and Grafana's admin password) go through
    # write-only arguments, so neither JSON nor state holds them.
    # A recovery's data layer writes none: it reads the recovered environment's
    # replicas, whose values are the recovered environment's.
    for name in synthesis.stack_names:
        versions = synthesis.resources(name, "aws_secretsmanager_secret_version")
        if not name.endswith("-data") or synthesis.config(name).recovery_of is not None:
            assert versions == {}, name
            continue
        assert sorted(versions) == [
            "postgres/master-secret-value/version",
            "secrets/grafana-admin-value/version",
        ]
        for version in versions.values():
            assert "secret_string" not in version
            assert "secret_binary" not in version
            assert version["secret_string_wo"].startswith("${jsonencode({")
            assert "ephemeral.aws_secretsmanager_random_password." in version["secret_string_wo"]
            assert version["secret_string_wo_version"] >= 1


@pytest.mark.own_environments
def test_grafana_admin_password_is_generated(env: Env) -> None:
    synthesis, stack, _ = env
    version = by_path(
        synthesis, stack, "aws_secretsmanager_secret_version", "secrets/grafana-admin-value/version"
    )
    assert version["secret_id"] == synthesis.ref(
        stack, "aws_secretsmanager_secret", "secrets/grafana-admin", "id"
    )
    # The keys the platform chart's ExternalSecret and Grafana read.
    assert '"admin-user" = "admin"' in version["secret_string_wo"]
    assert '"admin-password" = ephemeral.' in version["secret_string_wo"]


def test_secrets_replicate_to_the_dr_region_when_configured(env: Env) -> None:
    synthesis, stack, config = env
    secrets = synthesis.resources(stack, "aws_secretsmanager_secret").values()
    if not config.secrets.replicate_to_dr_region:
        assert "secrets/replica-key/key" not in synthesis.resources(stack, "aws_kms_key")
        assert all("replica" not in secret for secret in secrets)
        return
    key = synthesis.ref(stack, "aws_kms_key", "secrets/replica-key/key", "arn")
    for secret in secrets:
        assert secret["replica"] == [{"region": config.dr_region, "kms_key_id": key}]


def test_outputs_for_the_app_stack(env: Env) -> None:
    synthesis, stack, config = env
    outputs = synthesis.stack(stack)["output"]
    assert {
        "database-proxy-endpoint", "database-reader-endpoints", "database-master-secret-arn",
        "cache-endpoint", "cache-reader-endpoint", "search-endpoint", "secret-arns",
        "secret-names", "media-bucket",
    } <= set(outputs)  # fmt: skip
    assert sorted(outputs["secret-arns"]["value"]) == sorted(config.secrets.names)
    assert sorted(outputs["secret-names"]["value"]) == sorted(config.secrets.names)
    if config.recovery_of is None:
        media = synthesis.ref(stack, "aws_s3_bucket", "storage/media/bucket", "bucket")
        logs = synthesis.ref(stack, "aws_s3_bucket", "storage/access-logs/bucket", "bucket")
        assert outputs["access-logs-bucket"]["value"] == logs
    else:  # a recovery: the recovered environment's DR copy, and no access logs of its own
        media = config.storage.media_bucket
        assert "access-logs-bucket" not in outputs
    assert outputs["media-bucket"]["value"] == media
