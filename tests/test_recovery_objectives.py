"""The seed's RPO < 1 hour, derived from what production actually synthesizes.

For each failure the data must survive, the recovery point is the newest copy
that failure leaves intact; its age at worst is the mechanism's interval plus
its delay. The test reads the mechanisms from the synthesized stacks (backup
schedules and windows, point-in-time recovery, replication), so removing or
slowing one changes the result. The figures AWS publishes (or that we budget
where AWS publishes none) are constants below, explained in
docs/runbooks/disaster-recovery.md.
"""

from __future__ import annotations

import math
import re

from tests.conftest import Synthesis

RPO_LIMIT_MINUTES = 60
"""The seed: RPO < 1 hour."""

RDS_LOG_UPLOAD_MINUTES = 5
"""RDS uploads transaction logs for point-in-time recovery every 5 minutes."""

RDS_BACKUP_REPLICATION_DELAY_MINUTES = 15
"""Budget for replicated automated backups to reach the DR region (no AWS SLA)."""

S3_REPLICATION_MINUTES = 15
"""S3 replication: most objects within 15 minutes (the RTC figure, budgeted)."""

ENV = "production"


def cron_interval_minutes(expression: str) -> int:
    """The interval of the AWS cron expressions the backup plans use (hourly/daily)."""
    minutes, hours = re.match(r"^cron\((\S+) (\S+) ", expression).groups()
    assert minutes.isdigit(), expression
    if hours == "*":
        return 60
    assert hours.isdigit(), expression
    return 24 * 60


def database_mechanisms(synthesis: Synthesis) -> dict[str, dict[str, float]]:
    """Worst-case data loss (minutes) of each mechanism, per failure it survives."""
    data = f"kreo-{ENV}-data"
    backup = f"kreo-{ENV}-backup"
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
    for rule in plan["rule"]:
        worst = (
            cron_interval_minutes(rule["schedule"])
            + rule["start_window"]
            + rule["completion_window"]
        )
        name = f"AWS Backup {rule['rule_name']}"
        found["deleted or corrupted data"][name] = worst
        if rule.get("copy_action"):
            found["region loss"][f"{name}, DR copy"] = worst
    return found


def worst_case_rpo(mechanisms: dict[str, dict[str, float]]) -> tuple[float, str]:
    """The largest, over failures, of the best recovery point each failure leaves."""
    per_failure = {
        failure: min(options.values(), default=math.inf) for failure, options in mechanisms.items()
    }
    failure = max(per_failure, key=per_failure.__getitem__)
    return per_failure[failure], failure


def test_database_rpo_is_under_an_hour(synthesis: Synthesis) -> None:
    mechanisms = database_mechanisms(synthesis)
    rpo, failure = worst_case_rpo(mechanisms)
    assert rpo < RPO_LIMIT_MINUTES, f"{failure}: {rpo} minutes ({mechanisms[failure]})"
    assert mechanisms["region loss"], "nothing survives the loss of the region"


def test_hourly_backups_alone_would_not_meet_the_rpo(synthesis: Synthesis) -> None:
    """Why replication matters: a snapshot schedule alone exceeds the hour."""
    mechanisms = database_mechanisms(synthesis)
    only_snapshots = {
        failure: {k: v for k, v in options.items() if k.startswith("AWS Backup")}
        for failure, options in mechanisms.items()
    }
    rpo, _ = worst_case_rpo(only_snapshots)
    assert rpo >= RPO_LIMIT_MINUTES


def test_media_and_secrets_survive_the_region(synthesis: Synthesis) -> None:
    data = f"kreo-{ENV}-data"
    (replication,) = synthesis.resources(data, "aws_s3_bucket_replication_configuration").values()
    (rule,) = replication["rule"]
    assert rule["status"] == "Enabled"
    assert rule["delete_marker_replication"]["status"] == "Enabled"
    assert S3_REPLICATION_MINUTES < RPO_LIMIT_MINUTES
    secrets = synthesis.resources(data, "aws_secretsmanager_secret")
    assert secrets
    assert all(s.get("replica") for s in secrets.values())


def test_worst_case_derivation_is_what_the_runbook_states(synthesis: Synthesis) -> None:
    from tests.conftest import PROJECT_ROOT

    rpo, failure = worst_case_rpo(database_mechanisms(synthesis))
    runbook = (PROJECT_ROOT / "docs" / "runbooks" / "disaster-recovery.md").read_text()
    assert f"worst case: {failure}, {rpo:g} minutes" in runbook
