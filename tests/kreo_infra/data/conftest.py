"""What the data constructs' tests share: one account and a placement in it."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.aws import AwsAccount

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")
CLIENTS = "sg-clients"


def data_placement(**overrides: Any) -> Any:
    """Three database subnets of one VPC, clients in ``CLIENTS``, logs kept 30 days."""
    from kreo_infra.data.tier import DataPlacement

    props: dict[str, Any] = {
        "vpc_id": "vpc-1",
        "subnet_ids": ("subnet-a", "subnet-b", "subnet-c"),
        "client_group_id": CLIENTS,
        "log_retention_days": 30,
        "account": ACCOUNT,
    }
    return DataPlacement(**{**props, **overrides})


@pytest.fixture
def placement(providers: None) -> Any:
    return data_placement()


def synth_construct(build: Any) -> dict[str, Any]:
    """The Terraform JSON of a throwaway stack holding what ``build(stack)`` adds."""
    from cdktf import TerraformStack
    from cdktf import Testing as CdktfTesting

    from tests.conftest import synth_stack

    stack = TerraformStack(CdktfTesting.app(), "test")
    build(stack)
    return synth_stack(stack)
