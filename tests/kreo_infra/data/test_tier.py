"""The data-tier scaffold: DataPlacement, ServiceSecurityGroup and DataTier."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.errors import PropsError
from tests.conftest import synth_stack
from tests.kreo_infra.data.conftest import CLIENTS, data_placement


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        ("subnet_ids", (), r"subnet_ids=\[\] .* at least 2 subnets"),
        ("subnet_ids", ("subnet-a",), r"subnet_ids=\['subnet-a'\] .* at least 2 subnets"),
        ("log_retention_days", 31, r"log_retention_days=31 .* CloudWatch's periods"),
    ],
)
def test_placement_validated(providers: None, prop: str, value: Any, message: str) -> None:
    with pytest.raises(PropsError, match=f"DataPlacement: {message}"):
        data_placement(**{prop: value})


def test_security_group_needs_a_client(stack: Any) -> None:
    from kreo_infra.data.tier import ServiceSecurityGroup

    with pytest.raises(PropsError, match=r"clients=.* admit at least one group"):
        ServiceSecurityGroup(
            stack, "sg", name="n", description="d", vpc_id="vpc-1", port=5432, clients={}
        )


def test_security_group_admits_its_port_from_each_client_by_reference(stack: Any) -> None:
    from kreo_infra.data.tier import ServiceSecurityGroup

    ServiceSecurityGroup(
        stack,
        "sg",
        name="n",
        description="d",
        vpc_id="vpc-1",
        port=5432,
        clients={"apps": "sg-apps", "proxy": "sg-proxy"},
    )
    resources = synth_stack(stack)["resource"]
    (group,) = resources["aws_security_group"].values()
    assert (group["name"], group["tags"]) == ("n", {"Name": "n"})
    assert "egress" not in group
    rules = resources["aws_vpc_security_group_ingress_rule"].values()
    assert sorted(
        (r["referenced_security_group_id"], r["from_port"], r["to_port"]) for r in rules
    ) == [
        ("sg-apps", 5432, 5432),
        ("sg-proxy", 5432, 5432),
    ]
    assert all("cidr_ipv4" not in r for r in rules)


def tier(stack: Any, placement: Any) -> Any:
    from constructs import Construct

    from kreo_infra.data.tier import DataTier

    return DataTier(
        Construct(stack, "store"), name="env", store="db", port=5432, placement=placement
    )


def test_tier_builds_children_of_the_store_with_its_ids(stack: Any, placement: Any) -> None:
    from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup

    scaffold = tier(stack, placement)
    built = [
        scaffold.key(description="Encrypts the store"),
        scaffold.subnet_group(DbSubnetGroup),
        scaffold.security_group(description="From the clients"),
        scaffold.security_group(id="proxy-security-group", name="p", description="d"),
        scaffold.log_group("slow-logs", name="/store/slow", key_alias="alias/s", description="d"),
    ]
    assert [construct.node.path for construct in built] == [
        "test/store/key",
        "test/store/subnet-group",
        "test/store/security-group",
        "test/store/proxy-security-group",
        "test/store/slow-logs",
    ]


def test_tier_names_resources_after_environment_and_store(stack: Any, placement: Any) -> None:
    from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup

    scaffold = tier(stack, placement)
    scaffold.key(description="Encrypts the store")
    scaffold.subnet_group(DbSubnetGroup)
    scaffold.security_group(description="From the clients")
    resources = synth_stack(stack)["resource"]
    (alias,) = resources["aws_kms_alias"].values()
    (subnets,) = resources["aws_db_subnet_group"].values()
    (group,) = resources["aws_security_group"].values()
    assert alias["name"] == "alias/env-db"
    assert (subnets["name"], subnets["description"]) == ("env-db", "Database subnets of env")
    assert subnets["subnet_ids"] == list(placement.subnet_ids)
    assert group["name"] == "env-db"


def test_tier_key_does_not_guard_recovery_by_default(stack: Any, placement: Any) -> None:
    tier(stack, placement).key(description="Encrypts the store")
    (key,) = synth_stack(stack)["resource"]["aws_kms_key"].values()
    sids = {s["Sid"] for s in json.loads(key["policy"])["Statement"]}
    assert "OnlyBreakGlassDestroysRecovery" not in sids


def test_tier_key_guards_recovery_when_asked(stack: Any, placement: Any) -> None:
    tier(stack, placement).key(description="Encrypts the store", guards_recovery=True)
    (key,) = synth_stack(stack)["resource"]["aws_kms_key"].values()
    sids = {s["Sid"] for s in json.loads(key["policy"])["Statement"]}
    assert "OnlyBreakGlassDestroysRecovery" in sids


def ingress_sources(stack: Any) -> dict[str, str]:
    return {
        r["description"]: r["referenced_security_group_id"]
        for r in synth_stack(stack)["resource"]["aws_vpc_security_group_ingress_rule"].values()
    }


def test_tier_security_group_admits_the_data_clients_only_by_default(
    stack: Any, placement: Any
) -> None:
    tier(stack, placement).security_group(description="From the clients")
    assert ingress_sources(stack) == {"5432/tcp from data-clients": CLIENTS}


def test_tier_security_group_also_admits(stack: Any, placement: Any) -> None:
    tier(stack, placement).security_group(description="d", also_admit={"proxy": "sg-proxy"})
    assert ingress_sources(stack) == {
        "5432/tcp from data-clients": CLIENTS,
        "5432/tcp from proxy": "sg-proxy",
    }


def test_tier_log_group_keeps_the_placement_retention(stack: Any, placement: Any) -> None:
    tier(stack, placement).log_group("logs", name="/store/x", key_alias="alias/x", description="d")
    (group,) = synth_stack(stack)["resource"]["aws_cloudwatch_log_group"].values()
    assert (group["name"], group["retention_in_days"]) == ("/store/x", 30)
