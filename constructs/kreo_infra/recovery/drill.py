"""The recovery drill: restore the newest replicated automated backup of a database
into a throwaway instance in the DR region, check it, time every step, tear it down.

It calls only the DR region's RDS API, as a real recovery would with the primary
region down. Every step's duration and the replication lag (how old the newest
restorable moment was: the RPO actually met) go into a :class:`DrillReport`, which
the workflow keeps as an artifact and the runbook's RTO table is computed from.

The throwaway instance has no deletion protection and is deleted with its
automated backups and no final snapshot, in a ``finally``: a failed check or
wait still tears it down. Its name starts with :data:`DRILL_PREFIX`, so a sweep
(:func:`sweep`) removes what an interrupted drill left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DRILL_PREFIX = "kreo-drill-"
"""Names of the drill's throwaway instances: ``kreo-drill-<source>-<UTC timestamp>``."""

WAIT_DELAY_SECONDS = 60
WAIT_MAX_ATTEMPTS = 360
"""Six hours of polling, once a minute: a restore replays up to a day of logs."""


class DrillError(Exception):
    """The drill could not run or its instance failed its check (one line)."""


@dataclass(frozen=True)
class ReplicatedBackups:
    """The DR region's copy of a database's automated backups."""

    arn: str
    latest_restorable: datetime
    status: str


@dataclass(frozen=True)
class DrillSettings:
    """Where the throwaway instance goes: ``subnet_group`` and ``security_group_ids``
    of the DR region (the drill network's: kreo_infra.backup.drill_network), as
    ``instance_class`` (default the smallest class that runs the marketplace's
    database: a drill measures the restore, not the load)."""

    source_identifier: str
    subnet_group: str
    security_group_ids: tuple[str, ...]
    instance_class: str = "db.t3.medium"


@dataclass
class DrillReport:
    """What one drill measured: each step's seconds, in order, and the lag."""

    source_identifier: str
    target_identifier: str
    started: datetime
    replication_lag_seconds: float | None = None
    steps: dict[str, float] = field(default_factory=dict)
    passed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source_identifier,
            "target": self.target_identifier,
            "started": self.started.isoformat(),
            "replication_lag_seconds": self.replication_lag_seconds,
            "steps": dict(self.steps),
            "total_seconds": sum(self.steps.values()),
            "passed": self.passed,
        }


def find_replicated_backups(rds: Any, source_identifier: str) -> ReplicatedBackups:
    """The replicated automated backups of ``source_identifier`` in ``rds``'s region
    (the entry whose ``Region`` is another region: replicated, not the DR region's own)."""
    response = rds.describe_db_instance_automated_backups(DBInstanceIdentifier=source_identifier)
    region = rds.meta.region_name
    found = [
        b
        for b in response.get("DBInstanceAutomatedBackups", [])
        if b.get("Region") != region and b.get("RestoreWindow", {}).get("LatestTime")
    ]
    if not found:
        raise DrillError(
            f"no replicated automated backups of {source_identifier} in {region} "
            "(is the backup stack's replication on?)"
        )
    newest = max(found, key=lambda b: b["RestoreWindow"]["LatestTime"])
    return ReplicatedBackups(
        arn=newest["DBInstanceAutomatedBackupsArn"],
        latest_restorable=newest["RestoreWindow"]["LatestTime"],
        status=newest.get("Status", ""),
    )


def target_identifier(source_identifier: str, now: datetime) -> str:
    """The throwaway instance's name (at most 63 characters, as RDS allows)."""
    return f"{DRILL_PREFIX}{source_identifier}-{now:%Y%m%d%H%M}"[:63].rstrip("-")


def new_report(settings: DrillSettings, started: datetime) -> DrillReport:
    """The empty report of a drill started at ``started`` (its target's name fixed)."""
    return DrillReport(
        source_identifier=settings.source_identifier,
        target_identifier=target_identifier(settings.source_identifier, started),
        started=started,
    )


def run_drill(
    rds: Any,
    settings: DrillSettings,
    *,
    check: Callable[[dict[str, Any]], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    clock: Callable[[], float] = time.monotonic,
    wait_delay: int = WAIT_DELAY_SECONDS,
    max_attempts: int = WAIT_MAX_ATTEMPTS,
    report: DrillReport | None = None,
) -> DrillReport:
    """Restore, wait, check, tear down; the report says how long each took.

    ``check`` gets the restored instance (``describe_db_instances``' entry) and
    raises to fail the drill; by default the instance must be available and
    encrypted. The row counts are a one-shot job inside the VPC that the
    workflow runs against the endpoint in the report (the RDS Data API is
    Aurora's only).

    ``max_attempts`` bounds the wait for the restore (``wait_delay`` apart): a
    restore slower than that fails the drill and is torn down. A caller that
    passes ``report`` (:func:`new_report`) keeps what was measured when the
    drill raises.
    """
    report = report or new_report(settings, now())
    started = report.started

    @contextmanager
    def step(name: str) -> Iterator[None]:
        begin = clock()
        try:
            yield
        finally:
            report.steps[name] = round(clock() - begin, 1)

    with step("find-backups"):
        backups = find_replicated_backups(rds, settings.source_identifier)
    report.replication_lag_seconds = (started - backups.latest_restorable).total_seconds()
    try:
        with step("restore-requested"):
            rds.restore_db_instance_to_point_in_time(
                SourceDBInstanceAutomatedBackupsArn=backups.arn,
                TargetDBInstanceIdentifier=report.target_identifier,
                UseLatestRestorableTime=True,
                DBInstanceClass=settings.instance_class,
                DBSubnetGroupName=settings.subnet_group,
                VpcSecurityGroupIds=list(settings.security_group_ids),
                MultiAZ=False,
                PubliclyAccessible=False,
                DeletionProtection=False,
                EnableIAMDatabaseAuthentication=True,
                CopyTagsToSnapshot=False,
                Tags=[{"Key": "kreo:drill", "Value": settings.source_identifier}],
            )
        with step("restore-available"):
            rds.get_waiter("db_instance_available").wait(
                DBInstanceIdentifier=report.target_identifier,
                WaiterConfig={"Delay": wait_delay, "MaxAttempts": max_attempts},
            )
        with step("check"):
            (instance,) = rds.describe_db_instances(DBInstanceIdentifier=report.target_identifier)[
                "DBInstances"
            ]
            (check or _default_check)(instance)
        report.passed = True
    finally:
        with step("teardown"):
            tear_down(rds, report.target_identifier, wait_delay=wait_delay)
    return report


def _default_check(instance: dict[str, Any]) -> None:
    if instance.get("DBInstanceStatus") != "available":
        raise DrillError(
            f"{instance['DBInstanceIdentifier']} is {instance.get('DBInstanceStatus')}"
        )
    if not instance.get("StorageEncrypted"):
        raise DrillError(f"{instance['DBInstanceIdentifier']} is not encrypted")


def tear_down(rds: Any, identifier: str, *, wait_delay: int = WAIT_DELAY_SECONDS) -> None:
    """Delete a drill instance, its automated backups and no final snapshot, and wait.

    Refuses any instance not named like a drill's: the drill's credentials could
    delete production's database otherwise (they cannot: deletion protection;
    this is the second lock)."""
    if not identifier.startswith(DRILL_PREFIX):
        raise DrillError(f"{identifier} is not a drill instance ({DRILL_PREFIX}*): not deleting")
    try:
        rds.delete_db_instance(
            DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
        )
    except rds.exceptions.DBInstanceNotFoundFault:
        return  # the restore never started
    rds.get_waiter("db_instance_deleted").wait(
        DBInstanceIdentifier=identifier,
        WaiterConfig={"Delay": wait_delay, "MaxAttempts": WAIT_MAX_ATTEMPTS},
    )


def sweep(rds: Any, *, older_than_hours: float = 24, now: datetime | None = None) -> list[str]:
    """Delete the drill instances an interrupted drill left (older than
    ``older_than_hours``); return their names."""
    now = now or datetime.now(UTC)
    swept = []
    for page in rds.get_paginator("describe_db_instances").paginate():
        for instance in page["DBInstances"]:
            name = instance["DBInstanceIdentifier"]
            created = instance.get("InstanceCreateTime")
            old = created is not None and (now - created).total_seconds() > older_than_hours * 3600
            if name.startswith(DRILL_PREFIX) and old:
                tear_down(rds, name)
                swept.append(name)
    return swept
