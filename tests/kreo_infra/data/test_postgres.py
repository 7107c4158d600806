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
