"""RotatingKey and EncryptedLogGroup: defaults and input validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")


def test_key_defaults(stack: Any) -> None:
    from kreo_infra.security.kms import RotatingKey

    RotatingKey(stack, "key", alias="alias/x", description="x", account=ACCOUNT)
    (key,) = synth_stack(stack)["resource"]["aws_kms_key"].values()
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 30
    (admin,) = json.loads(key["policy"])["Statement"]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}


@pytest.mark.parametrize("alias", ["x", "alias/aws/x"])
def test_key_alias_validated(stack: Any, alias: str) -> None:
    from kreo_infra.security.kms import RotatingKey

    with pytest.raises(PropsError, match=r"RotatingKey: alias=.* use alias/<name>"):
        RotatingKey(stack, "key", alias=alias, description="x", account=ACCOUNT)


def test_key_deletion_window_validated(stack: Any) -> None:
    from kreo_infra.security.kms import RotatingKey

    with pytest.raises(PropsError, match="deletion_window_days=3 is not allowed; use 7 to 30"):
        RotatingKey(
            stack, "key", alias="alias/x", description="x", deletion_window_days=3, account=ACCOUNT
        )


def test_log_group_retention_validated(stack: Any) -> None:
    from kreo_infra.security.log_group import EncryptedLogGroup

    with pytest.raises(PropsError, match="retention_days=45 is not allowed"):
        EncryptedLogGroup(
            stack,
            "logs",
            name="/x",
            retention_days=45,
            key_alias="alias/x",
            description="x",
            account=ACCOUNT,
        )


def test_log_group_key_serves_only_its_group(stack: Any) -> None:
    from kreo_infra.security.log_group import EncryptedLogGroup

    EncryptedLogGroup(
        stack,
        "logs",
        name="/x/y",
        retention_days=30,
        key_alias="alias/x",
        description="x",
        account=ACCOUNT,
    )
    body = synth_stack(stack)["resource"]
    (key,) = body["aws_kms_key"].values()
    _, logs = json.loads(key["policy"])["Statement"]
    assert logs["Condition"]["ArnEquals"] == {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:/x/y"
    }
    (group,) = body["aws_cloudwatch_log_group"].values()
    assert group["retention_in_days"] == 30


def test_key_without_guard_has_no_bypass_or_tags(stack: Any) -> None:
    from kreo_infra.security.kms import RotatingKey

    RotatingKey(stack, "key", alias="alias/x", description="x", account=ACCOUNT)
    (key,) = synth_stack(stack)["resource"]["aws_kms_key"].values()
    assert "bypass_policy_lockout_safety_check" not in key
    assert "tags" not in key


def test_key_that_guards_recovery(stack: Any) -> None:
    from kreo_infra.security.kms import RotatingKey

    RotatingKey(
        stack, "key", alias="alias/x", description="x", account=ACCOUNT, guards_recovery=True
    )
    (key,) = synth_stack(stack)["resource"]["aws_kms_key"].values()
    assert key["bypass_policy_lockout_safety_check"] is True
    assert key["tags"] == {"kreo:guards": "recovery"}
    admin, guard = json.loads(key["policy"])["Statement"]
    assert admin["Sid"] == "AccountAdministersThroughIam"
    assert guard["Effect"] == "Deny"
    assert guard["Principal"] == {"AWS": "*"}
    assert set(guard["Action"]) >= {"kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"}
    assert guard["Condition"] == {
        "ArnNotEquals": {
            "aws:PrincipalArn": [
                "arn:aws:iam::123456789012:role/kreo-break-glass",
                "arn:aws:iam::123456789012:root",
            ]
        }
    }
