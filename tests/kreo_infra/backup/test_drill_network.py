"""DrillNetwork: where the recovery drill restores, closed, in the DR region."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.errors import PropsError
from tests.conftest import Synthesis, synth_stack


def test_a_network_smaller_than_two_subnets_is_refused(stack: Any) -> None:
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from kreo_infra.backup.drill_network import DrillNetwork

    provider = AwsProvider(stack, "dr", region="us-west-2", alias="dr")
    with pytest.raises(PropsError, match=r"cidr='10\.0\.0\.0/28'.*/27 or larger"):
        DrillNetwork(
            stack, "drill", name="d", cidr="10.0.0.0/28", zone_ids=["a1", "a2"], provider=provider
        )


def test_two_different_zones_are_required(stack: Any) -> None:
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from kreo_infra.backup.drill_network import DrillNetwork

    provider = AwsProvider(stack, "dr", region="us-west-2", alias="dr")
    with pytest.raises(PropsError, match=r"zone_ids=\['a1', 'a1'\].*2 different zones"):
        DrillNetwork(
            stack, "drill", name="d", cidr="10.0.0.0/24", zone_ids=["a1", "a1"], provider=provider
        )


def test_two_zones_no_rule_no_way_out(stack: Any) -> None:
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from kreo_infra.backup.drill_network import DrillNetwork

    provider = AwsProvider(stack, "dr", region="us-west-2", alias="dr")
    DrillNetwork(
        stack, "drill", name="kreo-drill-x", cidr="10.9.0.0/24",
        zone_ids=["usw2-az1", "usw2-az2"], provider=provider,
    )  # fmt: skip
    resources = synth_stack(stack)["resource"]
    assert not {
        "aws_internet_gateway", "aws_nat_gateway", "aws_route", "aws_vpc_endpoint",
        "aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
    } & set(resources)  # fmt: skip
    subnets = resources["aws_subnet"].values()
    assert sorted(s["cidr_block"] for s in subnets) == ["10.9.0.0/25", "10.9.0.128/25"]
    assert sorted(s["availability_zone_id"] for s in subnets) == ["usw2-az1", "usw2-az2"]
    assert all(s["map_public_ip_on_launch"] is False for s in subnets)
    (group,) = resources["aws_security_group"].values()
    # "When creating a new Security Group inside a VPC, Terraform will remove this
    # default [allow-all egress] rule" (aws provider docs, resource security_group).
    assert "ingress" not in group
    assert "egress" not in group
    (default,) = resources["aws_default_security_group"].values()
    assert "ingress" not in default  # the resource's rules replace the default's
    assert "egress" not in default
    (subnet_group,) = resources["aws_db_subnet_group"].values()
    assert subnet_group["name"] == group["name"] == "kreo-drill-x"
    assert len(subnet_group["subnet_ids"]) == 2
    everything = [r for items in resources.values() for r in items.values()]
    assert all(r["provider"] == "aws.dr" for r in everything)


def test_where_backups_replicate_the_drill_network_is_the_backup_stacks(
    synthesis: Synthesis, env_name: str
) -> None:
    config = synthesis.environment(env_name)
    stack = f"{config.stack_prefix}-backup"
    vpcs = synthesis.resources(stack, "aws_vpc")
    outputs = synthesis.stack(stack)["output"]
    if not config.backup.copy_to_dr_region:
        assert vpcs == {}
        assert "drill-subnet-group" not in outputs
        return
    assert vpcs["drill-network/vpc"]["cidr_block"] == config.backup.drill_network_cidr
    assert vpcs["drill-network/vpc"]["provider"] == "aws.dr"
    subnets = synthesis.resources(stack, "aws_subnet").values()
    assert sorted(s["availability_zone_id"] for s in subnets) == sorted(
        config.backup.drill_zone_ids
    )
    (dr,) = [p for p in synthesis.stack(stack)["provider"]["aws"] if p.get("alias") == "dr"]
    assert dr["region"] == config.dr_region
    group = synthesis.resources(stack, "aws_db_subnet_group")["drill-network/subnet-group"]
    assert group["name"] == f"kreo-drill-{config.name}"
    assert outputs["drill-subnet-group"]["value"] == synthesis.ref(
        stack, "aws_db_subnet_group", "drill-network/subnet-group", "name"
    )
    assert "drill-security-group-id" in outputs
