"""SearchDomain: its defaults and input validation."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.errors import PropsError
from tests.kreo_infra.data.conftest import data_placement, synth_construct

REQUIRED: dict[str, Any] = {
    "name": "env",
    "engine_version": "OpenSearch_2.19",
    "instance_type": "t3.medium.search",
    "volume_size_gb": 20,
    "master_role_arn": "arn:aws:iam::123456789012:role/admin",
    "client_role_arns": ["arn:aws:iam::123456789012:role/product"],
}
"""The props without a default."""


def search(stack: Any, placement: Any = None, **overrides: Any) -> Any:
    from kreo_infra.data.search import SearchDomain

    return SearchDomain(
        stack, "search", placement=placement or data_placement(), **{**REQUIRED, **overrides}
    )


@pytest.fixture(scope="module")
def cluster(providers: None) -> dict[str, Any]:
    """The cluster and VPC settings of a SearchDomain given its required props only."""
    (domain,) = synth_construct(search)["resource"]["aws_opensearch_domain"].values()
    return {**domain["cluster_config"], "subnet_ids": domain["vpc_options"]["subnet_ids"]}


def test_three_data_nodes_by_default(cluster: dict[str, Any]) -> None:
    assert cluster["instance_count"] == 3


def test_zone_aware_over_three_zones_by_default(cluster: dict[str, Any]) -> None:
    assert cluster["zone_awareness_enabled"] is True
    assert cluster["zone_awareness_config"] == {"availability_zone_count": 3}
    assert cluster["subnet_ids"] == ["subnet-a", "subnet-b", "subnet-c"]


def test_no_dedicated_masters_by_default(cluster: dict[str, Any]) -> None:
    assert cluster["dedicated_master_enabled"] is False
    assert "dedicated_master_type" not in cluster


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"instance_count": 4},
            "instance_count=4 .* positive multiple of 3",
            id="uneven-over-zones",
        ),
        pytest.param(
            {"instance_count": 0, "zone_awareness": False},
            "instance_count=0 .* positive multiple of 1",
            id="no-nodes",
        ),
    ],
)
def test_props_validated(stack: Any, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PropsError, match=f"^SearchDomain: {message}"):
        search(stack, **overrides)


def test_zone_aware_domain_needs_three_subnets(stack: Any) -> None:
    with pytest.raises(PropsError, match=r"placement.subnet_ids=.* give 3 subnets"):
        search(stack, data_placement(subnet_ids=("subnet-a", "subnet-b")))
