"""kreo_infra.recovery.drill: restore, check and teardown against a stubbed RDS API
(botocore's Stubber checks every call against the real API model; no network).
moto cannot stand in: it ignores SourceDBInstanceAutomatedBackupsArn and has no
replicated backups (docs/design/region-recovery-research.md)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from kreo_infra.recovery.drill import (
    DRILL_PREFIX,
    DrillError,
    DrillSettings,
    find_replicated_backups,
    run_drill,
    sweep,
    target_identifier,
    tear_down,
)

SOURCE = "kreo-source-postgres"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
BACKUPS = "arn:aws:rds:us-west-2:111122223333:auto-backup:ab-abc123"
TARGET = f"{DRILL_PREFIX}{SOURCE}-202611301200"
SETTINGS = DrillSettings(
    source_identifier=SOURCE, subnet_group="kreo-drill-subnets", security_group_ids=("sg-1",)
)


@pytest.fixture
def rds() -> Any:
    client = boto3.client(
        "rds",
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stub:
        client.stub = stub
        yield client
        stub.assert_no_pending_responses()


def backups_entry(region: str, latest: datetime, arn: str = BACKUPS) -> dict[str, Any]:
    return {
        "DBInstanceAutomatedBackupsArn": arn,
        "DBInstanceIdentifier": SOURCE,
        "Region": region,
        "Status": "replicating",
        "RestoreWindow": {"EarliestTime": latest - timedelta(days=7), "LatestTime": latest},
    }


def expect_backups(rds: Any, *entries: dict[str, Any]) -> None:
    rds.stub.add_response(
        "describe_db_instance_automated_backups",
        {"DBInstanceAutomatedBackups": list(entries)},
        {"DBInstanceIdentifier": SOURCE},
    )


def instance(status: str = "available", *, name: str = TARGET, **extra: Any) -> dict[str, Any]:
    return {"DBInstances": [{"DBInstanceIdentifier": name, "DBInstanceStatus": status, **extra}]}


def expect_teardown(rds: Any, name: str = TARGET) -> None:
    rds.stub.add_response(
        "delete_db_instance",
        {"DBInstance": {"DBInstanceIdentifier": name}},
        {"DBInstanceIdentifier": name, "SkipFinalSnapshot": True, "DeleteAutomatedBackups": True},
    )
    rds.stub.add_client_error(
        "describe_db_instances", service_error_code="DBInstanceNotFound", http_status_code=404
    )


def expect_restore(rds: Any) -> None:
    rds.stub.add_response(
        "restore_db_instance_to_point_in_time",
        {"DBInstance": {"DBInstanceIdentifier": TARGET}},
        {
            "SourceDBInstanceAutomatedBackupsArn": BACKUPS,
            "TargetDBInstanceIdentifier": TARGET,
            "UseLatestRestorableTime": True,
            "DBInstanceClass": "db.t3.medium",
            "DBSubnetGroupName": "kreo-drill-subnets",
            "VpcSecurityGroupIds": ["sg-1"],
            "MultiAZ": False,
            "PubliclyAccessible": False,
            "DeletionProtection": False,
            "EnableIAMDatabaseAuthentication": True,
            "CopyTagsToSnapshot": False,
            "Tags": ANY,
        },
    )


def ticking() -> Any:
    """A clock that advances 10 s per reading."""
    counter = itertools.count(step=10)
    return lambda: float(next(counter))


def test_find_takes_the_newest_replicated_copy(rds: Any) -> None:
    """The DR region's own backups (Region = us-west-2) are not the replicated ones."""
    newest = NOW - timedelta(minutes=7)
    expect_backups(
        rds,
        backups_entry("us-west-2", NOW, arn="arn:aws:rds:us-west-2:1:auto-backup:ab-own"),
        backups_entry("us-east-1", newest - timedelta(days=1), arn=BACKUPS + "old"),
        backups_entry("us-east-1", newest),
    )
    found = find_replicated_backups(rds, SOURCE)
    assert (found.arn, found.latest_restorable) == (BACKUPS, newest)


def test_find_without_replicated_backups_is_one_line(rds: Any) -> None:
    expect_backups(rds)
    with pytest.raises(DrillError, match="no replicated automated backups of kreo-source"):
        find_replicated_backups(rds, SOURCE)


def test_drill_restores_checks_tears_down_and_times_each_step(rds: Any) -> None:
    expect_backups(rds, backups_entry("us-east-1", NOW - timedelta(minutes=7)))
    expect_restore(rds)
    rds.stub.add_response("describe_db_instances", instance("creating"))
    rds.stub.add_response("describe_db_instances", instance())
    rds.stub.add_response("describe_db_instances", instance(StorageEncrypted=True))
    expect_teardown(rds)
    report = run_drill(rds, SETTINGS, now=lambda: NOW, clock=ticking(), wait_delay=0)
    assert report.passed
    assert report.target_identifier == TARGET
    assert report.replication_lag_seconds == 7 * 60
    assert list(report.steps) == [
        "find-backups",
        "restore-requested",
        "restore-available",
        "check",
        "teardown",
    ]
    assert all(seconds == 10 for seconds in report.steps.values())
    assert report.as_dict()["total_seconds"] == 50


def test_a_failed_check_still_tears_down(rds: Any) -> None:
    expect_backups(rds, backups_entry("us-east-1", NOW))
    expect_restore(rds)
    rds.stub.add_response("describe_db_instances", instance())
    rds.stub.add_response("describe_db_instances", instance(StorageEncrypted=False))
    expect_teardown(rds)
    with pytest.raises(DrillError, match="is not encrypted"):
        run_drill(rds, SETTINGS, now=lambda: NOW, clock=ticking(), wait_delay=0)


def test_teardown_refuses_anything_but_a_drill_instance(rds: Any) -> None:
    with pytest.raises(DrillError, match="not a drill instance"):
        tear_down(rds, SOURCE)


def test_teardown_of_a_restore_that_never_started(rds: Any) -> None:
    rds.stub.add_client_error(
        "delete_db_instance", service_error_code="DBInstanceNotFound", http_status_code=404
    )
    tear_down(rds, TARGET, wait_delay=0)


def test_sweep_removes_only_old_drill_instances(rds: Any) -> None:
    old = f"{DRILL_PREFIX}{SOURCE}-202611280000"
    rds.stub.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {"DBInstanceIdentifier": SOURCE, "InstanceCreateTime": NOW - timedelta(days=400)},
                {"DBInstanceIdentifier": old, "InstanceCreateTime": NOW - timedelta(days=2)},
                {"DBInstanceIdentifier": TARGET, "InstanceCreateTime": NOW - timedelta(hours=1)},
            ]
        },
    )
    expect_teardown(rds, old)
    assert sweep(rds, now=NOW) == [old]


def test_target_names_fit_rds() -> None:
    name = target_identifier("x" * 80, NOW)
    assert len(name) <= 63
    assert name.startswith(DRILL_PREFIX)
    assert not name.endswith("-")
