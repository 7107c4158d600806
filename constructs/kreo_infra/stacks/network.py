"""``kreo-<env>-network``: the VPC every other layer runs in."""

from __future__ import annotations

from constructs import Construct

from kreo_infra.config import EnvironmentConfig
from kreo_infra.network.endpoints import PrivateEndpoints
from kreo_infra.network.flow_logs import EncryptedFlowLogs
from kreo_infra.network.vpc import TieredVpc
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.outputs import NetworkOutputs


class NetworkStack(KreoStack):
    """VPC over the configured availability zones with public, private and database subnets, NAT,
    flow logs and VPC endpoints.

    Later stacks read :class:`NetworkOutputs` (``outputs``) only.
    """

    layer = "network"

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, config=config)
        name = config.stack_prefix
        network = config.network
        plan = network.subnet_plan()
        self.network = TieredVpc(
            self,
            "vpc",
            name=name,
            cidr=network.vpc_cidr,
            subnets=plan,
            availability_zone_ids=network.availability_zone_ids,
            cluster_name=config.cluster_name,
            single_nat_gateway=network.single_nat_gateway,
        )
        self.flow_logs = EncryptedFlowLogs(
            self,
            "flow-logs",
            name=name,
            vpc_id=self.network.vpc.id,
            retention_days=network.flow_log_retention_days,
            account=self.account,
        )
        self.endpoints = PrivateEndpoints(
            self,
            "endpoints",
            name=name,
            region=config.region,
            vpc_id=self.network.vpc.id,
            vpc_cidr=network.vpc_cidr,
            subnet_ids=[s.id for s in self.network.private_subnets],
            route_table_ids=[t.id for t in self.network.private_route_tables],
        )

        self.publish(
            NetworkOutputs(
                vpc_id=self.network.vpc.id,
                vpc_cidr=network.vpc_cidr,
                availability_zone_ids=network.availability_zone_ids,
                public_subnet_ids=[s.id for s in self.network.public_subnets],
                private_subnet_ids=[s.id for s in self.network.private_subnets],
                database_subnet_ids=[s.id for s in self.network.database_subnets],
                public_subnet_cidrs=list(plan.public),
                private_subnet_cidrs=list(plan.private),
                database_subnet_cidrs=list(plan.database),
                endpoint_security_group_id=self.endpoints.security_group.id,
            )
        )
