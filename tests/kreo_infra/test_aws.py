"""AwsAccount: the one value constructs take for account, partition and region."""

from __future__ import annotations

import dataclasses

import pytest

from kreo_infra.aws import AwsAccount


def test_iam_role_arn() -> None:
    account = AwsAccount(account_id="123456789012", partition="aws-us-gov", region="us-gov-west-1")
    assert account.iam_role_arn("admin") == "arn:aws-us-gov:iam::123456789012:role/admin"


def test_is_immutable() -> None:
    account = AwsAccount(account_id="1", partition="aws", region="us-east-1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        account.region = "us-west-2"  # type: ignore[misc]
