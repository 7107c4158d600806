"""Where the recovery drill restores: a closed network in the DR region, made in peacetime."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from kreo_infra.errors import PropsError

DRILL_ZONES = 2
"""RDS requires a subnet group to span two availability zones."""


class DrillNetwork(Construct):
    """The network the quarterly recovery drill restores its throwaway instance into
    (``python -m kreo_infra.recovery drill``), in the DR region, before any disaster:
    the recovery environment's own network does not exist until one.

    A VPC of ``cidr`` (at least a /27) with one subnet in each of two zones
    (``zone_ids``, by id: a lookup's result would change as AWS adds zones), no
    internet or NAT gateway and no route out; the DB subnet group and a security
    group, both named ``name``, with no rule at all: the restored instance is
    reachable by nothing and reaches nothing (the drill checks it through the RDS
    API). The VPC's default security group is emptied too. Everything is free of
    charge while no drill runs."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        cidr: str,
        zone_ids: Sequence[str],
        provider: TerraformProvider,
    ) -> None:
        if len(set(zone_ids)) != DRILL_ZONES:
            raise PropsError(
                "DrillNetwork", "zone_ids", list(zone_ids),
                f"name {DRILL_ZONES} different zones (ids: RDS wants two; ids pin them)",
            )  # fmt: skip
        network = ipaddress.IPv4Network(cidr)
        if network.prefixlen > 27:
            raise PropsError("DrillNetwork", "cidr", cidr, "use a /27 or larger (two /28 subnets)")
        super().__init__(scope, id)
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": name},
            provider=provider,
        )
        # No rules: nothing in the VPC gets the default group's allow-all.
        DefaultSecurityGroup(self, "default-security-group", vpc_id=self.vpc.id, provider=provider)
        self.subnets = [
            Subnet(
                self,
                f"subnet-{index}",
                vpc_id=self.vpc.id,
                cidr_block=str(list(network.subnets(prefixlen_diff=1))[index]),
                availability_zone_id=zone_id,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-{index}"},
                provider=provider,
            )
            for index, zone_id in enumerate(zone_ids)
        ]
        self.subnet_group = DbSubnetGroup(
            self,
            "subnet-group",
            name=name,
            description="Throwaway instances of the recovery drill (no route out)",
            subnet_ids=[s.id for s in self.subnets],
            provider=provider,
        )
        self.security_group = SecurityGroup(
            self,
            "security-group",
            name=name,
            description="Throwaway instances of the recovery drill: no rule, reachable by nothing",
            vpc_id=self.vpc.id,
            tags={"Name": name},
            provider=provider,
        )
