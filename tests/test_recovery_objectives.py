"""Recovery points, derived from what each environment actually synthesizes.

The seed asks for RPO < 1 hour; tests/test_seed.py asserts it for the environment
it describes, with the derivation below. For each failure the data must survive,
the recovery point is the newest copy that failure leaves intact; its age at
worst is the mechanism's interval plus its delay. The test reads the mechanisms
from the synthesized stacks (backup schedules and windows, point-in-time
recovery, replication), so removing or slowing one changes the result. The
figures AWS publishes (or that we budget where AWS publishes none) are
constants below, explained in docs/runbooks/disaster-recovery.md.
"""

from __future__ import annotations

import math
import re

from kreo_infra.config import EnvironmentConfig
from tests.conftest import Synthesis

RPO_LIMIT_MINUTES = 60
"""The seed: RPO < 1 hour."""

RDS_LOG_UPLOAD_MINUTES = 5
"""RDS uploads transaction logs for point-in-time recovery every 5 minutes."""

RDS_BACKUP_REPLICATION_DELAY_MINUTES = 15
"""Budget for replicated automated backups to reach the DR region (no AWS SLA)."""

S3_REPLICATION_MINUTES = 15
"""S3 replication: most objects within 15 minutes (the RTC figure, budgeted)."""


def cron_interval_minutes(expression: str) -> int:
    """The interval of the AWS cron expressions the backup plans use (hourly/daily)."""
    minutes, hours = re.match(r"^cron\((\S+) (\S+) ", expression).groups()
    assert minutes.isdigit(), expression
    if hours == "*":
        return 60
    assert hours.isdigit(), expression
    return 24 * 60


def database_mechanisms(
    synthesis: Synthesis, config: EnvironmentConfig
) -> dict[str, dict[str, float]]:
    """Worst-case data loss (minutes) of each mechanism, per failure it survives."""
    data = f"{config.stack_prefix}-data"
    backup = f"{config.stack_prefix}-backup"
    primary = synthesis.resources(data, "aws_db_instance")["postgres/primary"]
    found: dict[str, dict[str, float]] = {
        "availability-zone loss": {},
        "region loss": {},
        "deleted or corrupted data": {},
    }
    if primary.get("multi_az"):
        found["availability-zone loss"]["synchronous standby"] = 0
    if primary.get("backup_retention_period", 0) >= 1:
        found["availability-zone loss"]["point-in-time restore"] = RDS_LOG_UPLOAD_MINUTES
        found["deleted or corrupted data"]["point-in-time restore"] = RDS_LOG_UPLOAD_MINUTES
    for replication in synthesis.resources(
        backup, "aws_db_instance_automated_backups_replication"
    ).values():
        if "postgres_primary" in replication["source_db_instance_arn"]:
            found["region loss"]["replicated point-in-time restore"] = (
                RDS_LOG_UPLOAD_MINUTES + RDS_BACKUP_REPLICATION_DELAY_MINUTES
            )
    plan = synthesis.resources(backup, "aws_backup_plan")["database/plan"]
    elsewhere = vaults_outside_the_region(synthesis, backup, config.region)
    for rule in plan["rule"]:
        worst = (
            cron_interval_minutes(rule["schedule"])
            + rule["start_window"]
            + rule["completion_window"]
        )
        name = f"AWS Backup {rule['rule_name']}"
        found["deleted or corrupted data"][name] = worst
        # A copy to another region survives its loss; one to a vault of this region
        # (the logically air-gapped vault) does not.
        if any(c["destination_vault_arn"] in elsewhere for c in rule.get("copy_action", [])):
            found["region loss"][f"{name}, DR copy"] = worst
    return found


def vaults_outside_the_region(synthesis: Synthesis, stack: str, region: str) -> set[str]:
    """The ARN expressions of the stack's backup vaults in a region other than ``region``
    (by their provider's region)."""
    providers = synthesis.stack(stack)["provider"]["aws"]
    regions = {f"aws.{p['alias']}" if "alias" in p else "aws": p["region"] for p in providers}
    found = set()
    for vault_type in ("aws_backup_vault", "aws_backup_logically_air_gapped_vault"):
        for path, vault in synthesis.resources(stack, vault_type).items():
            if regions[vault.get("provider", "aws")] != region:
                found.add(synthesis.ref(stack, vault_type, path, "arn"))
    return found


def worst_case_rpo(mechanisms: dict[str, dict[str, float]]) -> tuple[float, str]:
    """The largest, over failures, of the best recovery point each failure leaves."""
    per_failure = {
        failure: min(options.values(), default=math.inf) for failure, options in mechanisms.items()
    }
    failure = max(per_failure, key=per_failure.__getitem__)
    return per_failure[failure], failure


def test_each_failure_is_survived_as_the_config_says(synthesis: Synthesis, env_name: str) -> None:
    """A synchronous standby with ``multi_az``, a copy outside the region with
    ``backup.copy_to_dr_region``; point-in-time restore and AWS Backup always."""
    config = synthesis.environment(env_name)
    mechanisms = database_mechanisms(synthesis, config)
    zone_loss = mechanisms["availability-zone loss"]
    assert ("synchronous standby" in zone_loss) is config.database.multi_az
    assert "point-in-time restore" in zone_loss
    region_loss = mechanisms["region loss"]
    assert bool(region_loss) is config.backup.copy_to_dr_region
    if config.backup.copy_to_dr_region:
        assert "replicated point-in-time restore" in region_loss
    assert "point-in-time restore" in mechanisms["deleted or corrupted data"]
    assert any(k.startswith("AWS Backup") for k in mechanisms["deleted or corrupted data"])


def test_hourly_backups_alone_would_not_meet_the_rpo(synthesis: Synthesis, env_name: str) -> None:
    """Why replication matters: a snapshot schedule alone exceeds the hour."""
    mechanisms = database_mechanisms(synthesis, synthesis.environment(env_name))
    only_snapshots = {
        failure: {k: v for k, v in options.items() if k.startswith("AWS Backup")}
        for failure, options in mechanisms.items()
    }
    rpo, _ = worst_case_rpo(only_snapshots)
    assert rpo >= RPO_LIMIT_MINUTES


def test_media_and_secrets_survive_the_region_as_the_config_says(
    synthesis: Synthesis, env_name: str
) -> None:
    config = synthesis.environment(env_name)
    data = f"{config.stack_prefix}-data"
    replications = synthesis.resources(data, "aws_s3_bucket_replication_configuration")
    assert len(replications) == int(config.storage.replicate_to_dr_region)
    for replication in replications.values():
        (rule,) = replication["rule"]
        assert rule["status"] == "Enabled"
        assert rule["delete_marker_replication"]["status"] == "Enabled"
    assert S3_REPLICATION_MINUTES < RPO_LIMIT_MINUTES
    secrets = synthesis.resources(data, "aws_secretsmanager_secret")
    replicated = config.secrets.replicate_to_dr_region
    assert all(bool(s.get("replica")) is replicated for s in secrets.values())
    # A recovery environment's secrets are the recovered environment's replicas
    # (test_a_recovery_rebuilds_from_what_the_recovered_environment_replicates).
    assert bool(secrets) is (config.recovery_of is None)


def test_a_recovery_rebuilds_from_what_the_recovered_environment_replicates(
    synthesis: Synthesis, recovery_name: str
) -> None:
    """Its media bucket is the recovered environment's DR copy, its secrets that
    environment's replicas, and its database is restored from that environment's
    automated backups, all replicated into the recovery's region."""
    config = synthesis.environment(recovery_name)
    assert config.recovery_of is not None
    recovered = synthesis.environment(config.recovery_of)
    assert recovered.dr_region == config.region
    mine, theirs = f"{config.stack_prefix}-data", f"{recovered.stack_prefix}-data"
    regions = {
        f"aws.{p['alias']}" if "alias" in p else "aws": p["region"]
        for p in synthesis.stack(theirs)["provider"]["aws"]
    }
    # The media: the replication's destination, in this region, is what it serves.
    buckets = synthesis.resources(theirs, "aws_s3_bucket")
    copies = {
        b["bucket"] for b in buckets.values() if regions[b.get("provider", "aws")] == config.region
    }
    assert config.storage.media_bucket in copies
    # The secrets: each one it reads is replicated here.
    replicas = {
        s["name"]
        for s in synthesis.resources(theirs, "aws_secretsmanager_secret").values()
        if config.region in {r["region"] for r in s.get("replica", [])}
    }
    read = {s["name"] for s in synthesis.stack(mine)["data"]["aws_secretsmanager_secret"].values()}
    assert read
    assert read <= replicas
    # The database: restored from the automated backups replicated here (the ARN is
    # the recovered backup stack's output, copied into the config), never created empty.
    primary = synthesis.resources(mine, "aws_db_instance")["postgres/primary"]
    assert config.restore is not None
    restore = primary["restore_to_point_in_time"]
    assert restore["source_db_instance_automated_backups_arn"] == (
        config.restore.automated_backups_arn
    )
    assert synthesis.resources(
        f"{recovered.stack_prefix}-backup", "aws_db_instance_automated_backups_replication"
    )


def test_worst_case_derivation_is_what_the_runbook_states(synthesis: Synthesis) -> None:
    """The runbook states the worst case of every environment that survives the loss of
    the region (those that do not, say so in their config)."""
    from tests.conftest import PROJECT_ROOT

    runbook = (PROJECT_ROOT / "docs" / "runbooks" / "disaster-recovery.md").read_text()
    surviving = [c for c in synthesis.configs if c.backup.copy_to_dr_region]
    assert surviving
    for config in surviving:
        rpo, failure = worst_case_rpo(database_mechanisms(synthesis, config))
        assert f"worst case: {failure}, {rpo:g} minutes" in runbook
