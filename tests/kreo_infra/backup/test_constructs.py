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
