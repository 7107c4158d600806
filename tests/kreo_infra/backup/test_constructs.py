"""EncryptedVault and BackupSchedule: defaults and input validation."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")


def test_vault_defaults_to_unlocked(stack: Any) -> None:
    from kreo_infra.backup.vault import EncryptedVault

    EncryptedVault(stack, "vault", name="v", account=ACCOUNT)
    resources = synth_stack(stack)["resource"]
    assert "aws_backup_vault_lock_configuration" not in resources
    (vault,) = resources["aws_backup_vault"].values()
    assert vault["force_destroy"] is False


@pytest.mark.parametrize(
    ("lock", "message"),
    [
        (
            {"min_retention_days": 1, "max_retention_days": 35, "changeable_for_days": 1},
            "3 or more",
        ),
        ({"min_retention_days": 40, "max_retention_days": 35, "changeable_for_days": 3}, "at most"),
    ],
)
def test_vault_lock_validated(stack: Any, lock: dict[str, int], message: str) -> None:
    from kreo_infra.backup.vault import EncryptedVault, VaultLock

    with pytest.raises(PropsError, match=message):
        EncryptedVault(stack, "vault", name="v", account=ACCOUNT, lock=VaultLock(**lock))


def schedule(stack: Any, **overrides: Any) -> Any:
    from kreo_infra.backup.vault import HOURLY, BackupSchedule, Schedule

    props: dict[str, Any] = {
        "name": "p",
        "vault_name": "v",
        "role_arn": "arn:aws:iam::123456789012:role/backup",
        "schedules": [Schedule("hourly", HOURLY, 2)],
        "resources": ["arn:aws:rds:us-east-1:123456789012:db:x"],
    }
    return BackupSchedule(stack, "plan", **{**props, **overrides})


def test_schedule_defaults_copy_nothing_and_select_by_arn(stack: Any) -> None:
    schedule(stack)
    resources = synth_stack(stack)["resource"]
    (plan,) = resources["aws_backup_plan"].values()
    (rule,) = plan["rule"]
    assert "copy_action" not in rule
    assert (rule["start_window"], rule["completion_window"]) == (60, 180)
    (selection,) = resources["aws_backup_selection"].values()
    assert "condition" not in selection


@pytest.mark.parametrize(
    ("prop", "message"), [("schedules", "schedule"), ("resources", "resource")]
)
def test_schedule_needs_schedules_and_resources(stack: Any, prop: str, message: str) -> None:
    with pytest.raises(PropsError, match=f"{prop}=.* {message}"):
        schedule(stack, **{prop: []})


BREAK_GLASS = "arn:aws:iam::123456789012:role/kreo-break-glass"


def test_vault_key_guards_recovery(stack: Any) -> None:
    import json

    from kreo_infra.backup.vault import EncryptedVault

    EncryptedVault(stack, "vault", name="v", account=ACCOUNT)
    (key,) = synth_stack(stack)["resource"]["aws_kms_key"].values()
    sids = {s["Sid"] for s in json.loads(key["policy"])["Statement"]}
    assert "OnlyBreakGlassDestroysRecovery" in sids


def test_vault_access_policy_denies_all_but_break_glass(stack: Any) -> None:
    import json

    from kreo_infra.backup.vault import EncryptedVault

    EncryptedVault(stack, "vault", name="v", account=ACCOUNT)
    resources = synth_stack(stack)["resource"]
    (policy,) = resources["aws_backup_vault_policy"].values()
    (vault_key,) = resources["aws_backup_vault"]
    assert policy["backup_vault_name"] == f"${{aws_backup_vault.{vault_key}.name}}"
    (deny,) = json.loads(policy["policy"])["Statement"]
    assert deny["Effect"] == "Deny"
    # AWS Config's backup-recovery-point-manual-deletion-disabled wants wildcards here.
    assert (deny["Principal"], deny["Resource"]) == ({"AWS": "*"}, "*")
    assert set(deny["Action"]) == {
        "backup:DeleteRecoveryPoint",
        "backup:UpdateRecoveryPointLifecycle",
        "backup:DeleteBackupVault",
        "backup:PutBackupVaultAccessPolicy",
        "backup:DeleteBackupVaultAccessPolicy",
        "backup:DeleteBackupVaultLockConfiguration",
        "backup:PutBackupVaultLockConfiguration",
    }
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": BREAK_GLASS}}
    assert "depends_on" not in policy


def test_vault_access_policy_comes_after_the_lock(stack: Any) -> None:
    from kreo_infra.backup.vault import EncryptedVault, VaultLock

    EncryptedVault(
        stack,
        "vault",
        name="v",
        account=ACCOUNT,
        lock=VaultLock(min_retention_days=1, max_retention_days=35, changeable_for_days=3),
    )
    resources = synth_stack(stack)["resource"]
    (policy,) = resources["aws_backup_vault_policy"].values()
    (lock,) = resources["aws_backup_vault_lock_configuration"]
    assert policy["depends_on"] == [f"aws_backup_vault_lock_configuration.{lock}"]


def test_vault_access_policy_can_be_left_out(stack: Any) -> None:
    from kreo_infra.backup.vault import EncryptedVault

    EncryptedVault(stack, "vault", name="v", account=ACCOUNT, break_glass_role=None)
    assert "aws_backup_vault_policy" not in synth_stack(stack)["resource"]


def test_vault_break_glass_role_validated(stack: Any) -> None:
    from kreo_infra.backup.vault import EncryptedVault

    with pytest.raises(PropsError, match="break_glass_role=''"):
        EncryptedVault(stack, "vault", name="v", account=ACCOUNT, break_glass_role="")


def test_air_gapped_vault(stack: Any) -> None:
    from kreo_infra.backup.vault import AirGappedVault

    vault = AirGappedVault(
        stack, "lag", name="v-air-gapped", min_retention_days=7, max_retention_days=35
    )
    (body,) = synth_stack(stack)["resource"]["aws_backup_logically_air_gapped_vault"].values()
    assert (body["name"], body["min_retention_days"], body["max_retention_days"]) == (
        "v-air-gapped",
        7,
        35,
    )
    # The AWS-owned key: no key in this account that could be disabled.
    assert "encryption_key_arn" not in body
    assert [vault.accepts(days) for days in (2, 7, 35, 36)] == [False, True, True, False]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"name": "v!"}, "name='v!'"),
        ({"min_retention_days": 6}, "min_retention_days=6 .* 7 or more"),
        ({"max_retention_days": 6, "min_retention_days": 7}, "max_retention_days=6"),
    ],
)
def test_air_gapped_vault_validated(stack: Any, props: dict[str, Any], message: str) -> None:
    from kreo_infra.backup.vault import AirGappedVault

    defaults = {"name": "vv", "min_retention_days": 7, "max_retention_days": 35}
    with pytest.raises(PropsError, match=message):
        AirGappedVault(stack, "lag", **{**defaults, **props})


def test_schedule_copies_to_the_air_gapped_vault_what_it_accepts(stack: Any) -> None:
    from kreo_infra.backup.vault import DAILY, HOURLY, AirGappedVault, Schedule

    lag = AirGappedVault(stack, "lag", name="lag", min_retention_days=7, max_retention_days=35)
    schedule(
        stack,
        schedules=[Schedule("hourly", HOURLY, 2), Schedule("daily", DAILY, 35)],
        copy_to="arn:aws:backup:us-west-2:123456789012:backup-vault:dr",
        air_gapped=lag,
    )
    resources = synth_stack(stack)["resource"]
    (lag_key,) = resources["aws_backup_logically_air_gapped_vault"]
    (plan,) = resources["aws_backup_plan"].values()
    rules = {r["rule_name"]: r for r in plan["rule"]}
    hourly = [c["destination_vault_arn"] for c in rules["hourly"]["copy_action"]]
    assert hourly == ["arn:aws:backup:us-west-2:123456789012:backup-vault:dr"]
    daily = {c["destination_vault_arn"]: c for c in rules["daily"]["copy_action"]}
    lag_copy = daily[f"${{aws_backup_logically_air_gapped_vault.{lag_key}.arn}}"]
    assert lag_copy["lifecycle"] == {"delete_after": 35}
    assert len(daily) == 2


def test_schedule_needs_a_schedule_the_air_gapped_vault_accepts(stack: Any) -> None:
    from kreo_infra.backup.vault import AirGappedVault

    lag = AirGappedVault(stack, "lag", name="lag", min_retention_days=7, max_retention_days=35)
    with pytest.raises(PropsError, match=r"air_gapped=.* 7-35 retention days"):
        schedule(stack, air_gapped=lag)
