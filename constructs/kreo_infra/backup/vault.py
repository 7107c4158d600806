"""AWS Backup: encrypted vaults, optionally locked, and the plans that fill them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.backup_plan import (
    BackupPlan,
    BackupPlanRule,
    BackupPlanRuleCopyAction,
    BackupPlanRuleCopyActionLifecycle,
    BackupPlanRuleLifecycle,
)
from cdktf_cdktf_provider_aws.backup_selection import (
    BackupSelection,
    BackupSelectionCondition,
    BackupSelectionConditionStringEquals,
)
from cdktf_cdktf_provider_aws.backup_vault import BackupVault
from cdktf_cdktf_provider_aws.backup_vault_lock_configuration import (
    BackupVaultLockConfiguration,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.kms import RotatingKey

HOURLY = "cron(0 * ? * * *)"
"""Every hour, on the hour (UTC)."""

DAILY = "cron(0 6 ? * * *)"
"""Every day at 06:00 UTC: after the database's own backup and maintenance windows
(03:00-04:00, Sunday 04:30-05:30 in config), still off-peak for Europe and the Americas."""

START_WINDOW_MINUTES = 60
"""The shortest start window AWS Backup allows."""

COMPLETION_WINDOW_MINUTES = 180


@dataclass(frozen=True)
class VaultLock:
    """Compliance-mode lock: after ``changeable_for_days`` nobody (root included)
    can delete recovery points younger than ``min_retention_days``."""

    min_retention_days: int
    changeable_for_days: int
    max_retention_days: int


class EncryptedVault(Construct):
    """A backup vault encrypted with a rotating key of its own, never force-destroyed.

    With ``lock`` the vault is locked in compliance mode (decisions.md).
    ``provider`` places it in another region (the DR region).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        account: AwsAccount,
        lock: VaultLock | None = None,
        provider: TerraformProvider | None = None,
    ) -> None:
        if lock is not None and lock.changeable_for_days < 3:
            raise PropsError(
                "EncryptedVault", "lock.changeable_for_days", lock.changeable_for_days,
                "use 3 or more (AWS's minimum grace period)",
            )  # fmt: skip
        if lock is not None and lock.min_retention_days > lock.max_retention_days:
            raise PropsError(
                "EncryptedVault", "lock.min_retention_days", lock.min_retention_days,
                f"use at most max_retention_days ({lock.max_retention_days})",
            )  # fmt: skip
        super().__init__(scope, id)
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}-backup",
            description=f"Encrypts the recovery points of backup vault {name}",
            account=account,
            provider=provider,
        )
        self.vault = BackupVault(
            self,
            "vault",
            name=name,
            kms_key_arn=self.key.arn,
            force_destroy=False,
            provider=provider,
        )
        self.lock = None
        if lock is not None:
            self.lock = BackupVaultLockConfiguration(
                self,
                "lock",
                backup_vault_name=self.vault.name,
                min_retention_days=lock.min_retention_days,
                max_retention_days=lock.max_retention_days,
                changeable_for_days=lock.changeable_for_days,
                provider=provider,
            )

    @property
    def arn(self) -> str:
        return self.vault.arn

    @property
    def name(self) -> str:
        return self.vault.name


@dataclass(frozen=True)
class Schedule:
    """One rule of a plan: when, and how long its recovery points are kept."""

    name: str
    cron: str
    retention_days: int


class BackupSchedule(Construct):
    """A backup plan of ``schedules`` into ``vault``, copying each recovery point to
    ``copy_to`` (a vault ARN, e.g. in the DR region) with the same retention, for
    the resources ``selection`` picks: ``resources`` (ARNs) filtered by ``tags``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        vault_name: str,
        role_arn: str,
        schedules: Sequence[Schedule],
        resources: Sequence[str],
        tags: Mapping[str, str] | None = None,
        copy_to: str | None = None,
    ) -> None:
        if not schedules:
            raise PropsError("BackupSchedule", "schedules", [], "give at least one schedule")
        if not resources:
            raise PropsError("BackupSchedule", "resources", [], "select at least one resource")
        super().__init__(scope, id)
        self.plan = BackupPlan(
            self,
            "plan",
            name=name,
            rule=[
                BackupPlanRule(
                    rule_name=schedule.name,
                    target_vault_name=vault_name,
                    schedule=schedule.cron,
                    start_window=START_WINDOW_MINUTES,
                    completion_window=COMPLETION_WINDOW_MINUTES,
                    lifecycle=BackupPlanRuleLifecycle(delete_after=schedule.retention_days),
                    copy_action=[
                        BackupPlanRuleCopyAction(
                            destination_vault_arn=copy_to,
                            lifecycle=BackupPlanRuleCopyActionLifecycle(
                                delete_after=schedule.retention_days
                            ),
                        )
                    ]
                    if copy_to
                    else None,
                )
                for schedule in schedules
            ],
        )
        self.selection = BackupSelection(
            self,
            "selection",
            name=name,
            plan_id=self.plan.id,
            iam_role_arn=role_arn,
            resources=list(resources),
            condition=[
                BackupSelectionCondition(
                    string_equals=[
                        BackupSelectionConditionStringEquals(key=f"aws:ResourceTag/{k}", value=v)
                        for k, v in sorted(tags.items())
                    ]
                )
            ]
            if tags
            else None,
        )
