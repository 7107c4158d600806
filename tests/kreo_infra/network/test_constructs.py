"""Network constructs: input validation (the stack tests cover their output)."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.config.subnets import SubnetPlan, plan_subnets
from kreo_infra.errors import PropsError


def test_vpc_needs_one_subnet_per_zone_and_tier(stack: Any) -> None:
    from kreo_infra.network.vpc import TieredVpc

    plan = plan_subnets("10.0.0.0/16", 3)
    short = SubnetPlan(plan.public[:2], plan.private, plan.database)
    with pytest.raises(PropsError, match=r"give every tier one CIDR per AZ \(3\)"):
        TieredVpc(
            stack,
            "vpc",
            name="n",
            cidr="10.0.0.0/16",
            subnets=short,
            availability_zone_ids=["use1-az1", "use1-az2", "use1-az4"],
            cluster_name="c",
        )


def test_endpoints_listed_once(stack: Any) -> None:
    from kreo_infra.network.endpoints import PrivateEndpoints

    with pytest.raises(PropsError, match="list each once"):
        PrivateEndpoints(
            stack,
            "e",
            name="n",
            region="us-east-1",
            vpc_id="v",
            vpc_cidr="10.0.0.0/16",
            subnet_ids=["s"],
            route_table_ids=["r"],
            interface_services=["sts", "sts"],
        )


def test_endpoint_defaults_cover_what_nodes_call() -> None:
    from kreo_infra.network.endpoints import DEFAULT_INTERFACE_SERVICES

    assert set(DEFAULT_INTERFACE_SERVICES) == {
        "ecr.api",
        "ecr.dkr",
        "sts",
        "logs",
        "secretsmanager",
        "ec2",
    }
