"""PostgresDatabase: its defaults and input validation (the stack tests cover the rest)."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.errors import PropsError
from tests.kreo_infra.data.conftest import data_placement, synth_construct

REQUIRED: dict[str, Any] = {
    "name": "env",
    "engine_version": "17",
    "instance_class": "db.t3.small",
    "allocated_storage_gb": 20,
    "max_allocated_storage_gb": 100,
    "database_name": "app",
    "master_username": "admin_user",
    "master_secret_name": "env/database/master",
    "proxy_users": ["app"],
}
"""The props without a default."""

ABSENT = object()


def database(stack: Any, **overrides: Any) -> Any:
    from kreo_infra.data.postgres import PostgresDatabase

    return PostgresDatabase(
        stack, "postgres", placement=data_placement(), **{**REQUIRED, **overrides}
    )


@pytest.fixture(scope="module")
def defaults(providers: None) -> dict[str, Any]:
    """The Terraform JSON of a PostgresDatabase given its required props only."""
    return synth_construct(database)


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("password_wo_version", 1),  # master_password_version
        ("multi_az", True),
        ("deletion_protection", True),
        ("backup_retention_period", 7),
        ("backup_window", ABSENT),  # RDS picks one
        ("maintenance_window", ABSENT),  # RDS picks one
        ("monitoring_interval", 60),
        ("performance_insights_retention_period", 7),
    ],
)
def test_instance_default(defaults: dict[str, Any], attribute: str, expected: Any) -> None:
    (primary,) = defaults["resource"]["aws_db_instance"].values()
    assert primary.get(attribute, ABSENT) == expected


def test_no_read_replicas_by_default(defaults: dict[str, Any]) -> None:
    assert len(defaults["resource"]["aws_db_instance"]) == 1
    assert "data" not in defaults


def test_slow_queries_logged_from_a_second_by_default(defaults: dict[str, Any]) -> None:
    (group,) = defaults["resource"]["aws_db_parameter_group"].values()
    parameters = {p["name"]: p["value"] for p in group["parameter"]}
    assert parameters["log_min_duration_statement"] == "1000"


def test_master_secret_not_replicated_by_default(defaults: dict[str, Any]) -> None:
    (secret,) = defaults["resource"]["aws_secretsmanager_secret"].values()
    assert "replica" not in secret


def test_replicas_spread_over_the_zones(stack: Any) -> None:
    from tests.conftest import synth_stack

    database(stack, read_replicas=2, availability_zone_ids=["use1-az1", "use1-az2", "use1-az4"])
    zones = synth_stack(stack)["data"]["aws_availability_zone"].values()
    assert [zone["zone_id"] for zone in zones] == ["use1-az2", "use1-az4"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"proxy_users": []}, r"proxy_users=\[\] .* application roles", id="no-users"),
        pytest.param(
            {"proxy_users": ["app", "admin_user"]},
            r"proxy_users=.* \(not the master user 'admin_user'\)",
            id="master-user-proxied",
        ),
        pytest.param(
            {"engine_version": "17.2"}, "engine_version='17.2' .* major version only", id="minor"
        ),
        pytest.param(
            {"max_allocated_storage_gb": 10},
            r"max_allocated_storage_gb=10 .* at least allocated_storage_gb \(20\)",
            id="storage-shrinks",
        ),
        pytest.param(
            {"backup_retention_days": 0}, "backup_retention_days=0 .* 1 to 35", id="no-backups"
        ),
        pytest.param(
            {"backup_retention_days": 36}, "backup_retention_days=36 .* 1 to 35", id="long-backups"
        ),
        pytest.param(
            {"monitoring_interval_seconds": 2},
            r"monitoring_interval_seconds=2 .* one of \(1, 5, 10, 15, 30, 60\)",
            id="monitoring-interval",
        ),
        pytest.param(
            {"performance_insights_retention_days": 30},
            "performance_insights_retention_days=30 .* 7, a multiple of 31",
            id="insights-retention",
        ),
        pytest.param(
            {"read_replicas": 1},
            r"availability_zone_ids=\[\] .* zones to spread the 1 read replicas",
            id="replicas-without-zones",
        ),
    ],
)
def test_props_validated(stack: Any, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PropsError, match=f"^PostgresDatabase: {message}"):
        database(stack, **overrides)


# --- a point-in-time restore (a region's recovery) ---------------------------------------------

BACKUPS = "arn:aws:rds:us-west-2:111122223333:auto-backup:ab-abc123"
BACKUPS_KEY = "arn:aws:kms:us-west-2:111122223333:key/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"


def restore(**overrides: Any) -> Any:
    from kreo_infra.data.postgres import PointInTimeRestore

    return PointInTimeRestore(
        **{
            "automated_backups_arn": BACKUPS,
            "key_arn": BACKUPS_KEY,
            "master_secret_name": "kreo/source/database/master",
            **overrides,
        }
    )


@pytest.fixture(scope="module")
def restored(providers: None) -> dict[str, Any]:
    """A PostgresDatabase restored from replicated automated backups, with a replica."""
    return synth_construct(
        lambda stack: database(
            stack, restore=restore(), read_replicas=1, availability_zone_ids=["a", "b"]
        )
    )


def test_restore_starts_from_the_latest_restorable_time(restored: dict[str, Any]) -> None:
    primary = restored["resource"]["aws_db_instance"]
    (body,) = (b for b in primary.values() if "replicate_source_db" not in b)
    assert body["restore_to_point_in_time"] == {
        "source_db_instance_automated_backups_arn": BACKUPS,
        "use_latest_restorable_time": True,
    }
    # Under the deploy job's 4-hour session: Terraform gives up first and records
    # the instance (tainted), which the runbook resumes.
    assert body["timeouts"] == {"create": "3h"}
    assert body["deletion_protection"] is True


def test_a_restored_instance_ignores_how_it_began(restored: dict[str, Any]) -> None:
    """An instance imported after a vault restore or a timed-out apply has no restore
    block in state and may have another key: both would force a new instance
    (hashicorp/terraform-provider-aws#34522), which deletion protection refuses."""
    primary = restored["resource"]["aws_db_instance"]
    (body,) = (b for b in primary.values() if "replicate_source_db" not in b)
    assert body["lifecycle"]["ignore_changes"] == ["restore_to_point_in_time", "kms_key_id"]
    (replica,) = (b for b in primary.values() if "replicate_source_db" in b)
    assert "lifecycle" not in replica


def test_restore_keeps_the_sources_password_and_key(restored: dict[str, Any]) -> None:
    """No generated password, user or database name (the restore brings them); storage
    stays on the backups' key, for the primary and its replica (RDS allows no other)."""
    for body in restored["resource"]["aws_db_instance"].values():
        assert not {"password_wo", "password_wo_version", "username", "db_name"} & set(body)
        assert body["kms_key_id"] == BACKUPS_KEY
    assert "aws_secretsmanager_secret" not in restored["resource"]
    assert "ephemeral" not in restored
    (secret,) = restored["data"]["aws_secretsmanager_secret"].values()
    assert secret["name"] == "kreo/source/database/master"


def test_restore_to_a_named_time() -> None:
    assert restore(restore_time="2026-11-30T03:15:00Z").restore_time == "2026-11-30T03:15:00Z"


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        ("automated_backups_arn", "arn:aws:rds:us-west-2:1:db:x", "auto-backup:ab-"),
        ("key_arn", "alias/kreo-source-postgres-backups-dr", r"key/<id>"),
        ("restore_time", "2026-11-30 03:15", "YYYY-MM-DDTHH:MM:SSZ"),
        ("create_timeout", "forever", "minutes or hours"),
    ],
)
def test_restore_validated(prop: str, value: str, message: str) -> None:
    with pytest.raises(PropsError, match=rf"PointInTimeRestore: {prop}=.*{message}"):
        restore(**{prop: value})


def test_a_restored_instance_keeps_deletion_protection(stack: Any) -> None:
    with pytest.raises(PropsError, match=r"deletion_protection=False .* restore block replaces"):
        database(stack, restore=restore(), deletion_protection=False)
