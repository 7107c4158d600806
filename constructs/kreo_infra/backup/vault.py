"""AWS Backup: encrypted vaults, optionally locked, guarded by a vault access policy,
a logically air-gapped vault, and the plans that fill them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.backup_logically_air_gapped_vault import (
    BackupLogicallyAirGappedVault,
)
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
from cdktf_cdktf_provider_aws.backup_vault_policy import BackupVaultPolicy
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.guards import BREAK_GLASS_ROLE
from kreo_infra.security.iam import Statement, policy_document
from kreo_infra.security.kms import RotatingKey

HOURLY = "cron(0 * ? * * *)"
"""Every hour, on the hour (UTC)."""

DAILY = "cron(0 6 ? * * *)"
"""Every day at 06:00 UTC: after the database's own backup and maintenance windows
(03:00-04:00, Sunday 04:30-05:30 in config), still off-peak for Europe and the Americas."""

START_WINDOW_MINUTES = 60
"""The shortest start window AWS Backup allows."""

COMPLETION_WINDOW_MINUTES = 180

RECOVERY_TAMPERING_ACTIONS = (
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:DeleteBackupVault",
    "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:PutBackupVaultLockConfiguration",
)
"""What a vault access policy denies to all but the break-glass role: every way to
destroy recovery points early or to remove the guard itself."""

AIR_GAPPED_MIN_RETENTION_DAYS = 7
"""The smallest ``MinRetentionDays`` CreateLogicallyAirGappedBackupVault accepts
(https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateLogicallyAirGappedBackupVault.html)."""

VAULT_NAME = re.compile(r"^[a-zA-Z0-9_-]{2,50}$")
"""A logically air-gapped vault's name (same API reference: ``^[a-zA-Z0-9\\-\\_]{2,50}$``)."""


def replica_key_alias(stack_prefix: str) -> str:
    """The alias of the DR region's key of ``kreo-<env>``'s replicated automated
    backups: the backup stack makes it, the recovery drill's role (bootstrap) is
    granted its use by this alias, and a recovery's restore reads it."""
    return f"alias/{stack_prefix}-postgres-backups-dr"


def recovery_guard(*, break_glass_role_arn: str) -> Statement:
    """Vault-access-policy statement: nobody but ``break_glass_role_arn`` deletes
    recovery points, shortens their lifecycle, deletes the vault or changes its
    lock or this policy.

    The shape is AWS's documented "deny deletion of recovery points" access policy
    (principal ``*``, Deny; https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault-access-policy.html)
    with an exception on ``aws:PrincipalArn``, which for an assumed role is the
    role's ARN, not the session's
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
    A Deny in a resource policy wins over any Allow, AdministratorAccess included:
    this is the guardrail the deploy role cannot lift, since lifting it
    (``PutBackupVaultAccessPolicy``) is itself denied.
    """
    return {
        "Sid": "OnlyBreakGlassDestroysRecoveryPoints",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": list(RECOVERY_TAMPERING_ACTIONS),
        # A vault access policy applies to its own vault only; "*" stands for the
        # vault and its recovery points, whose ARNs belong to their services
        # (an RDS snapshot, an EBS snapshot) and cannot be listed in advance.
        "Resource": "*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": break_glass_role_arn}},
    }


@dataclass(frozen=True)
class VaultLock:
    """Compliance-mode lock: after ``changeable_for_days`` nobody (root included)
    can delete recovery points younger than ``min_retention_days``."""

    min_retention_days: int
    changeable_for_days: int
    max_retention_days: int


class EncryptedVault(Construct):
    """A backup vault encrypted with a rotating key of its own, never force-destroyed,
    whose recovery points only the break-glass role can destroy.

    With ``lock`` the vault is locked in compliance mode (decisions.md).
    ``provider`` places it in another region (the DR region). The key guards
    recovery (``RotatingKey(guards_recovery=True)``: only the break-glass role
    may schedule its deletion, disable it or change its policy), and a vault
    access policy (:func:`recovery_guard`) denies deleting recovery points,
    shortening their lifecycle and removing the vault, its lock or the policy
    itself to every principal but ``break_glass_role`` (default
    ``kreo-break-glass``; None leaves the vault without an access policy). The
    policy is written after the lock, because it denies
    ``PutBackupVaultLockConfiguration`` to the deploying role too: once
    applied, changing the lock or the policy takes the break-glass role.
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
        break_glass_role: str | None = BREAK_GLASS_ROLE,
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
        if break_glass_role is not None and not break_glass_role:
            raise PropsError(
                "EncryptedVault", "break_glass_role", break_glass_role,
                "name the break-glass role, or None for no access policy",
            )  # fmt: skip
        super().__init__(scope, id)
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}-backup",
            description=f"Encrypts the recovery points of backup vault {name}",
            account=account,
            provider=provider,
            guards_recovery=True,
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
        self.policy = None
        if break_glass_role is not None:
            self.policy = BackupVaultPolicy(
                self,
                "policy",
                backup_vault_name=self.vault.name,
                policy=policy_document(
                    [recovery_guard(break_glass_role_arn=account.iam_role_arn(break_glass_role))]
                ),
                # After the lock: the policy denies PutBackupVaultLockConfiguration.
                depends_on=[self.lock] if self.lock is not None else None,
                provider=provider,
            )

    @property
    def arn(self) -> str:
        return self.vault.arn

    @property
    def name(self) -> str:
        return self.vault.name


class AirGappedVault(Construct):
    """An AWS Backup logically air-gapped vault: the copy that survives the account.

    Its recovery points live in an account AWS Backup owns, not in ours; the
    vault is always locked in compliance mode with ``min_retention_days`` and
    ``max_retention_days`` (nobody, root or break-glass included, deletes a
    point younger than the minimum), and encrypted with an AWS-owned key
    (https://docs.aws.amazon.com/aws-backup/latest/devguide/logicallyairgappedvault.html).
    The AWS-owned key is chosen on purpose: a customer-managed key would live in
    this account, where whoever controls the account could disable it and make
    the copies unrestorable; the AWS-owned one has no policy anyone here can edit.
    Restoring from it after losing the account: share the vault through AWS RAM
    with a recovery account and restore there (docs/runbooks/disaster-recovery.md).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        min_retention_days: int,
        max_retention_days: int,
        provider: TerraformProvider | None = None,
    ) -> None:
        if not VAULT_NAME.match(name):
            raise PropsError(
                "AirGappedVault", "name", name, "use 2 to 50 letters, digits, '-' or '_'"
            )
        if min_retention_days < AIR_GAPPED_MIN_RETENTION_DAYS:
            raise PropsError(
                "AirGappedVault", "min_retention_days", min_retention_days,
                f"use {AIR_GAPPED_MIN_RETENTION_DAYS} or more (AWS's minimum)",
            )  # fmt: skip
        if max_retention_days < min_retention_days:
            raise PropsError(
                "AirGappedVault", "max_retention_days", max_retention_days,
                f"use at least min_retention_days ({min_retention_days})",
            )  # fmt: skip
        super().__init__(scope, id)
        self.min_retention_days = min_retention_days
        self.max_retention_days = max_retention_days
        self.vault = BackupLogicallyAirGappedVault(
            self,
            "vault",
            name=name,
            min_retention_days=min_retention_days,
            max_retention_days=max_retention_days,
            provider=provider,
        )

    @property
    def arn(self) -> str:
        return self.vault.arn

    @property
    def name(self) -> str:
        return self.vault.name

    def accepts(self, retention_days: int) -> bool:
        """Whether a copy kept ``retention_days`` fits the vault's lock."""
        return self.min_retention_days <= retention_days <= self.max_retention_days


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

    With ``air_gapped`` every schedule whose retention fits that vault's lock
    (:meth:`AirGappedVault.accepts`) is also copied there, with the same
    retention; a copy kept shorter than the vault's minimum would be refused,
    so the hourly points are not copied. None (default) copies nowhere else.
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
        air_gapped: AirGappedVault | None = None,
    ) -> None:
        if not schedules:
            raise PropsError("BackupSchedule", "schedules", [], "give at least one schedule")
        if not resources:
            raise PropsError("BackupSchedule", "resources", [], "select at least one resource")
        if air_gapped is not None and not any(
            air_gapped.accepts(s.retention_days) for s in schedules
        ):
            raise PropsError(
                "BackupSchedule", "air_gapped", air_gapped.name,
                "keep at least one schedule within the air-gapped vault's "
                f"{air_gapped.min_retention_days}-{air_gapped.max_retention_days} retention days",
            )  # fmt: skip
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
                    copy_action=self._copies(schedule, copy_to, air_gapped) or None,
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

    @staticmethod
    def _copies(
        schedule: Schedule, copy_to: str | None, air_gapped: AirGappedVault | None
    ) -> list[BackupPlanRuleCopyAction]:
        destinations = [copy_to] if copy_to else []
        if air_gapped is not None and air_gapped.accepts(schedule.retention_days):
            destinations.append(air_gapped.arn)
        return [
            BackupPlanRuleCopyAction(
                destination_vault_arn=destination,
                lifecycle=BackupPlanRuleCopyActionLifecycle(delete_after=schedule.retention_days),
            )
            for destination in destinations
        ]
