"""A VPC with public, private and isolated database subnets in every AZ."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from kreo_infra.config.subnets import SubnetPlan
from kreo_infra.errors import PropsError

ANYWHERE = "0.0.0.0/0"


def discovery_tags(cluster_name: str, *, tier: str) -> dict[str, str]:
    """Tags the AWS Load Balancer Controller and EKS discover subnets by.

    Public subnets take internet-facing load balancers, private subnets internal
    ones; database subnets take neither. The node autoscaler (Cluster Autoscaler)
    discovers node groups by their Auto Scaling group tags, which EKS managed
    node groups set themselves, so it needs no subnet tag.
    """
    cluster = {f"kubernetes.io/cluster/{cluster_name}": "shared"}
    if tier == "public":
        return {**cluster, "kubernetes.io/role/elb": "1"}
    if tier == "private":
        return {**cluster, "kubernetes.io/role/internal-elb": "1"}
    return {}


class TieredVpc(Construct):
    """VPC, subnets, gateways and routes for a three-tier network.

    * **public** subnets route to the internet gateway; they hold load balancers
      and the NAT gateways, and never assign public IPs to instances;
    * **private** subnets (nodes and pods) route to a NAT gateway: the one in
      their own AZ, or the single one when ``single_nat_gateway`` (an AZ outage
      then cuts every AZ's egress: staging's trade-off, not production's);
    * **database** subnets have a route table with no route out of the VPC.

    The VPC's default security group is taken over with no rules, so nothing
    that falls back to it gets any traffic.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        cidr: str,
        subnets: SubnetPlan,
        availability_zone_ids: Sequence[str],
        cluster_name: str,
        single_nat_gateway: bool = False,
    ) -> None:
        super().__init__(scope, id)
        az_count = len(availability_zone_ids)
        if not az_count or {len(subnets.public), len(subnets.private), len(subnets.database)} != {
            az_count
        }:
            raise PropsError(
                "TieredVpc", "subnets", subnets, f"give every tier one CIDR per AZ ({az_count})"
            )
        self.availability_zone_ids = list(availability_zone_ids)
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": name},
        )
        DefaultSecurityGroup(
            self, "default-security-group", vpc_id=self.vpc.id, tags={"Name": f"{name}-default"}
        )

        self.public_subnets = self._subnets(name, "public", subnets.public, cluster_name)
        self.private_subnets = self._subnets(name, "private", subnets.private, cluster_name)
        self.database_subnets = self._subnets(name, "database", subnets.database, cluster_name)

        self.internet_gateway = InternetGateway(
            self, "internet-gateway", vpc_id=self.vpc.id, tags={"Name": name}
        )
        public_routes = self._route_table(name, "public", self.public_subnets)
        Route(
            self,
            "public-default-route",
            route_table_id=public_routes.id,
            destination_cidr_block=ANYWHERE,
            gateway_id=self.internet_gateway.id,
        )

        self.nat_gateways = []
        for index in range(1 if single_nat_gateway else az_count):
            address = Eip(
                self, f"nat-ip-{index}", domain="vpc", tags={"Name": f"{name}-nat-{index}"}
            )
            self.nat_gateways.append(
                NatGateway(
                    self,
                    f"nat-{index}",
                    allocation_id=address.allocation_id,
                    subnet_id=self.public_subnets[index].id,
                    tags={"Name": f"{name}-nat-{index}"},
                    depends_on=[self.internet_gateway],
                )
            )

        self.private_route_tables = []
        for index, subnet in enumerate(self.private_subnets):
            table = self._route_table(name, f"private-{index}", [subnet])
            nat = self.nat_gateways[0 if single_nat_gateway else index]
            Route(
                self,
                f"private-{index}-default-route",
                route_table_id=table.id,
                destination_cidr_block=ANYWHERE,
                nat_gateway_id=nat.id,
            )
            self.private_route_tables.append(table)

        # Local routes only: the data tier is reachable from inside the VPC and
        # can reach nothing outside it.
        self.database_route_table = self._route_table(name, "database", self.database_subnets)

    def _subnets(
        self, name: str, tier: str, cidrs: tuple[str, ...], cluster_name: str
    ) -> list[Subnet]:
        return [
            Subnet(
                self,
                f"{tier}-{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone_id=self.availability_zone_ids[index],
                map_public_ip_on_launch=False,
                tags={
                    "Name": f"{name}-{tier}-{index}",
                    "Tier": tier,
                    **discovery_tags(cluster_name, tier=tier),
                },
            )
            for index, cidr in enumerate(cidrs)
        ]

    def _route_table(self, name: str, id: str, subnets: list[Subnet]) -> RouteTable:
        table = RouteTable(self, f"{id}-routes", vpc_id=self.vpc.id, tags={"Name": f"{name}-{id}"})
        for index, subnet in enumerate(subnets):
            RouteTableAssociation(
                self,
                f"{id}-routes-{index}",
                subnet_id=subnet.id,
                route_table_id=table.id,
            )
        return table
